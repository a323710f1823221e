/**
 * FW access (§4.1, §4.3): the firmware programs the flash for us through the MFBA (read /
 * program, 128 B per block on CX4LX) and MFBE (4 KiB erase) access registers over ICMD.
 * The flash-programming semaphore (space 0xA offset 0x10, 40 tries, §4.3 / §5.3) is taken
 * at the first write or erase and held for the session, until close().
 */
import { Fs3BurnError, isFs3BurnError } from '../errors.js';
import type { RegisterAccess } from '../registers/access.js';
import { MFBA_CX4LX_BLOCK, MFBA_MAX_DATA, mfbaRead, mfbaWrite } from '../registers/mfba.js';
import { mfbeErase } from '../registers/mfbe.js';
import type { AddressSpaceAccess } from '../transport/mst/address-space.js';
import { realClock, type Clock } from '../vsec/clock.js';
import { FLASH_SEMAPHORE, takePidSemaphore, type HeldSemaphore } from '../vsec/pid-semaphore.js';
import { checkRange, checkSectorAligned, closedError, forEachWindow } from './checks.js';
import { emptyFlashStats, SECTOR_SIZE, type FlashAccess, type FlashStats } from './types.js';

export interface FwFlashOptions {
  /** MFBA block (default 128, §4.3 CX4LX). Must be a multiple of 4, at most 256. */
  blockSize?: number;
  /** Flash size, when known (MFPA's JEDEC density). */
  size?: number;
  clock?: Clock;
  /** Owner id for the flash-programming semaphore (default process.pid). */
  ownerId?: number;
  /** Flash-programming semaphore tries (§5.3: 40). */
  semaphoreTries?: number;
  /** Flash select (bank), MFBA / MFBE fs field. */
  fs?: number;
  stats?: FlashStats;
}

/** Re-throw `e` with the flash operation and address in its message and data. */
export function flashOpError(e: unknown, op: string, addr: number, len: number): unknown {
  if (!isFs3BurnError(e)) return e;
  // ICMD status 7 (§6.1) is the FW refusing a write-protected flash: one code for both methods
  const code = e.code === 'ICMD_WRITE_PROTECTED' ? 'FLASH_WRITE_PROTECTED' : e.code;
  const where = op === 'write' ? 'to' : 'at';
  return new Fs3BurnError(code, `Flash ${op} of ${len} bytes ${where} address 0x${addr.toString(16)} failed: ${e.message}`, {
    ...(e.hint !== undefined ? { hint: e.hint } : {}),
    data: { ...e.data, flashOp: op, flashAddress: addr, flashLength: len, ...(code !== e.code ? { causeCode: e.code } : {}) },
    cause: e,
  });
}

export class FwFlashAccess implements FlashAccess {
  readonly method = 'fw' as const;
  readonly blockSize: number;
  readonly sectorSize = SECTOR_SIZE;
  readonly size: number | undefined;
  readonly stats: FlashStats;
  private sem: HeldSemaphore | undefined;
  private closed = false;

  constructor(
    private readonly regs: RegisterAccess,
    private readonly access: AddressSpaceAccess,
    private readonly opts: FwFlashOptions = {},
  ) {
    const bs = opts.blockSize ?? MFBA_CX4LX_BLOCK;
    if (bs <= 0 || bs > MFBA_MAX_DATA || bs % 4 !== 0) throw new RangeError(`MFBA block size ${bs} must be a multiple of 4 in 4..256`);
    this.blockSize = bs;
    this.size = opts.size;
    this.stats = opts.stats ?? emptyFlashStats();
  }

  private get mfbaOpts(): { fs: number } {
    return { fs: this.opts.fs ?? 0 };
  }

  /** Whether the flash-programming semaphore is held now. */
  get sessionOpen(): boolean {
    return this.sem !== undefined;
  }

  /** Take the flash-programming semaphore now (otherwise the first write / erase does). */
  beginWriteSession(): void {
    if (this.closed) throw closedError(this.method);
    if (this.sem) return;
    this.sem = takePidSemaphore(this.access, FLASH_SEMAPHORE, {
      clock: this.opts.clock ?? realClock,
      ...(this.opts.ownerId !== undefined ? { ownerId: this.opts.ownerId } : {}),
      ...(this.opts.semaphoreTries !== undefined ? { tries: this.opts.semaphoreTries } : {}),
    });
  }

  /** Release the flash-programming semaphore (close() does it too). */
  endWriteSession(): void {
    const s = this.sem;
    this.sem = undefined;
    s?.release();
  }

  read(addr: number, len: number): Uint8Array {
    if (this.closed) throw closedError(this.method);
    checkRange('read', addr, len, this.size);
    const out = new Uint8Array(len);
    try {
      forEachWindow(addr, len, this.blockSize, (w, from, count) => {
        const got = mfbaRead(this.regs, w, this.blockSize, this.mfbaOpts);
        this.stats.transfers++;
        out.set(got.subarray(addr + from - w, addr + from - w + count), from);
      });
    } catch (e) {
      throw flashOpError(e, 'read', addr, len);
    }
    this.stats.bytesRead += len;
    return out;
  }

  write(addr: number, bytes: Uint8Array): void {
    if (this.closed) throw closedError(this.method);
    checkRange('write', addr, bytes.length, this.size);
    if (bytes.length === 0) return;
    this.beginWriteSession();
    try {
      forEachWindow(addr, bytes.length, this.blockSize, (w, from, count) => {
        // §4.3 write_chunks: a partial block is padded with 0xFF to the whole aligned block
        const block = new Uint8Array(this.blockSize).fill(0xff);
        block.set(bytes.subarray(from, from + count), addr + from - w);
        mfbaWrite(this.regs, w, block, this.mfbaOpts);
        this.stats.transfers++;
      });
    } catch (e) {
      throw flashOpError(e, 'write', addr, bytes.length);
    }
    this.stats.bytesWritten += bytes.length;
  }

  erase4k(addr: number): void {
    if (this.closed) throw closedError(this.method);
    checkSectorAligned(addr, this.sectorSize, this.size);
    this.beginWriteSession();
    try {
      mfbeErase(this.regs, addr, this.mfbaOpts);
    } catch (e) {
      throw flashOpError(e, 'erase', addr, this.sectorSize);
    }
    this.stats.transfers++;
    this.stats.sectorsErased++;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.endWriteSession();
  }
}
