/**
 * MFBA 0x9011, flash block access (§4.3): dw0 add_cap_32b 31, fs 5:4; dw1 size 8:0
 * (bytes); dw2 address; dw3… data, where data dword i is the little-endian value of flash
 * bytes 4i..4i+3 (so each 4-byte group is reversed in the BE image). GET sends only the
 * 12-byte header; SET reads back only the header.
 */
import { Fs3BurnError } from '../errors.js';
import type { RegisterAccess } from './access.js';
import { getField, getFlag, image, setField, setFlag, swapDwordBytes } from './fields.js';
import { RegId } from './ids.js';

export const MFBA_HEADER_SIZE = 12;
/** Largest data block the layout holds (size 8:0 → 256 B). */
export const MFBA_MAX_DATA = 256;
/** CX4LX transfer size: 0x340 − 20 → 256 → capped at 128 (§4.3 update_max_write_size). */
export const MFBA_CX4LX_BLOCK = 128;

export interface Mfba {
  addCap32b: boolean;
  fs: number;
  size: number;
  address: number;
  /** Flash bytes in flash order (length = size). */
  data: Uint8Array;
}

export function encodeMfba(v: Partial<Mfba> & { address: number }): Uint8Array {
  const data = v.data ?? new Uint8Array(0);
  const size = v.size ?? data.length;
  if (data.length > MFBA_MAX_DATA || size > MFBA_MAX_DATA) {
    throw new Fs3BurnError('REGISTER_ENCODE_INVALID', `MFBA: ${Math.max(size, data.length)} bytes exceed the ${MFBA_MAX_DATA}-byte block`, { data: { size } });
  }
  const b = image(MFBA_HEADER_SIZE + data.length);
  setFlag(b, 0, 31, v.addCap32b);
  setField(b, 0, 5, 4, v.fs ?? 0, 'MFBA.fs');
  setField(b, 1, 8, 0, size, 'MFBA.size');
  setField(b, 2, 31, 0, v.address >>> 0, 'MFBA.address');
  if (data.length) b.set(swapDwordBytes(data), MFBA_HEADER_SIZE);
  return b;
}

export function decodeMfba(b: Uint8Array): Mfba {
  const size = getField(b, 1, 8, 0);
  const avail = Math.max(0, Math.min(size, b.length - MFBA_HEADER_SIZE)) & ~3;
  return {
    addCap32b: getFlag(b, 0, 31),
    fs: getField(b, 0, 5, 4),
    size,
    address: getField(b, 2, 31, 0),
    data: swapDwordBytes(b.subarray(MFBA_HEADER_SIZE, MFBA_HEADER_SIZE + avail)),
  };
}

function checkBlock(address: number, size: number): void {
  if (size <= 0 || size > MFBA_MAX_DATA || size % 4 !== 0 || address % 4 !== 0 || address < 0) {
    throw new Fs3BurnError('REGISTER_ENCODE_INVALID', `MFBA: block of ${size} bytes at 0x${address.toString(16)} must be 4-aligned, 4..256 bytes`, {
      data: { address, size },
    });
  }
}

/** Read `size` flash bytes at `address` (GET sends the header only, §4.3). */
export function mfbaRead(regs: RegisterAccess, address: number, size: number, opts: { fs?: number; addCap32b?: boolean } = {}): Uint8Array {
  checkBlock(address, size);
  const payload = encodeMfba({ address, size, fs: opts.fs ?? 0, addCap32b: opts.addCap32b ?? address > 0xffffff });
  const reply = regs.raw({ registerId: RegId.MFBA, method: 'GET', payload, readSize: MFBA_HEADER_SIZE + size, regSize: MFBA_HEADER_SIZE + size });
  return decodeMfba(reply).data;
}

/** Program `data` at `address` (flash already erased; SET reads back the header only, §4.3). */
export function mfbaWrite(regs: RegisterAccess, address: number, data: Uint8Array, opts: { fs?: number; addCap32b?: boolean } = {}): void {
  checkBlock(address, data.length);
  const payload = encodeMfba({ address, data, fs: opts.fs ?? 0, addCap32b: opts.addCap32b ?? address > 0xffffff });
  regs.raw({ registerId: RegId.MFBA, method: 'SET', payload, readSize: MFBA_HEADER_SIZE });
}
