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

/** MFBA header + the largest data block, as register dwords (reused: the layer is synchronous). */
const words = new Uint32Array(3 + MFBA_MAX_DATA / 4);

function header(address: number, size: number, opts: { fs?: number; addCap32b?: boolean }): void {
  const fs = opts.fs ?? 0;
  if (!Number.isInteger(fs) || fs < 0 || fs > 3) {
    throw new Fs3BurnError('REGISTER_ENCODE_INVALID', `MFBA.fs: ${fs} does not fit 2 bits`, { data: { fs } });
  }
  words[0] = (((opts.addCap32b ?? address > 0xffffff) ? 0x80000000 : 0) | (fs << 4)) >>> 0; // dw0: add_cap_32b 31, fs 5:4
  words[1] = size & 0x1ff; // dw1: size 8:0
  words[2] = address >>> 0; // dw2: address
}

/**
 * Read `size` flash bytes at `address` into `out` at `outOffset` (GET sends the header only,
 * §4.3). Data dword i of the register is the LE value of flash bytes 4i..4i+3: its bytes land
 * low byte first. The reply's TLVs and header repeat the request: only the status dword and
 * the data are read.
 */
export function mfbaReadInto(regs: RegisterAccess, address: number, size: number, out: Uint8Array, outOffset: number, opts: { fs?: number; addCap32b?: boolean } = {}): void {
  checkBlock(address, size);
  header(address, size, opts);
  const n = size >>> 2;
  const reply = regs.rawWords({ registerId: RegId.MFBA, method: 'GET', payload: words, payloadWords: 3, readWords: 3 + n, regSize: MFBA_HEADER_SIZE + size, skipWords: 3 });
  for (let i = 0; i < n; i++) {
    const v = reply[3 + i]!;
    const o = outOffset + 4 * i;
    out[o] = v & 0xff;
    out[o + 1] = (v >>> 8) & 0xff;
    out[o + 2] = (v >>> 16) & 0xff;
    out[o + 3] = v >>> 24;
  }
}

/** Read `size` flash bytes at `address` (GET sends the header only, §4.3). */
export function mfbaRead(regs: RegisterAccess, address: number, size: number, opts: { fs?: number; addCap32b?: boolean } = {}): Uint8Array {
  const out = new Uint8Array(size);
  mfbaReadInto(regs, address, size, out, 0, opts);
  return out;
}

/**
 * Program `size` bytes of `data` from `offset` at `address` (flash already erased; §4.3: SET
 * reads back the header only — of that, only the status dword is needed).
 */
export function mfbaWriteFrom(regs: RegisterAccess, address: number, data: Uint8Array, offset: number, size: number, opts: { fs?: number; addCap32b?: boolean } = {}): void {
  checkBlock(address, size);
  header(address, size, opts);
  const n = size >>> 2;
  for (let i = 0; i < n; i++) {
    const o = offset + 4 * i;
    words[3 + i] = (data[o]! | (data[o + 1]! << 8) | (data[o + 2]! << 16) | (data[o + 3]! << 24)) >>> 0;
  }
  regs.rawWords({ registerId: RegId.MFBA, method: 'SET', payload: words, payloadWords: 3 + n, readWords: 3, regSize: MFBA_HEADER_SIZE + size, skipWords: 3 });
}

/** Program `data` at `address` (flash already erased; SET reads back the header only, §4.3). */
export function mfbaWrite(regs: RegisterAccess, address: number, data: Uint8Array, opts: { fs?: number; addCap32b?: boolean } = {}): void {
  mfbaWriteFrom(regs, address, data, 0, data.length, opts);
}
