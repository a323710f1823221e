/** Argument checks shared by both flash access methods. */
import { Fs3BurnError } from '../errors.js';

export function checkRange(what: string, addr: number, len: number, size: number | undefined): void {
  const bad =
    !Number.isInteger(addr) || !Number.isInteger(len) || addr < 0 || len < 0 || (size !== undefined && addr + len > size) || addr + len > 0x100000000;
  if (bad) {
    throw new Fs3BurnError('FLASH_ADDRESS_INVALID', `${what} of ${len} bytes at 0x${addr.toString(16)} is outside the flash${size !== undefined ? ` (0x${size.toString(16)} bytes)` : ''}`, {
      data: { addr, len, size },
    });
  }
}

export function checkSectorAligned(addr: number, sectorSize: number, size: number | undefined): void {
  checkRange('erase', addr, sectorSize, size);
  if (addr % sectorSize !== 0) {
    throw new Fs3BurnError('FLASH_ADDRESS_INVALID', `erase address 0x${addr.toString(16)} is not ${sectorSize}-byte aligned`, {
      data: { addr, sectorSize },
    });
  }
}

export function closedError(method: string): Fs3BurnError {
  return new Fs3BurnError('FLASH_CLOSED', `flash access (${method}) is closed`);
}

/** Call `fn(windowAddr, offsetInBytes, lengthInWindow)` for each `unit`-aligned window of [addr, addr+len). */
export function forEachWindow(addr: number, len: number, unit: number, fn: (windowAddr: number, from: number, count: number) => void): void {
  let pos = addr;
  const end = addr + len;
  while (pos < end) {
    const w = pos - (pos % unit);
    const count = Math.min(end, w + unit) - pos;
    fn(w, pos - addr, count);
    pos += count;
  }
}
