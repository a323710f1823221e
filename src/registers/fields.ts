/**
 * Bit fields of a register image (§1.1: fields are counted in BE dwords, bit 31 = MSB),
 * and the byte-group swap of the MFBA / MCDA data areas (§4.3, §3.3).
 */
import { Fs3BurnError } from '../errors.js';

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function mask(hi: number, lo: number): number {
  const width = hi - lo + 1;
  return width >= 32 ? 0xffffffff : ((1 << width) - 1) >>> 0;
}

/** Bits hi..lo of BE dword `dw` (0 when the image is shorter, as a short reply leaves them). */
export function getField(b: Uint8Array, dw: number, hi: number, lo: number): number {
  if (dw * 4 + 4 > b.length) return 0;
  return ((view(b).getUint32(dw * 4, false) >>> lo) & mask(hi, lo)) >>> 0;
}

export function setField(b: Uint8Array, dw: number, hi: number, lo: number, value: number, what = 'field'): void {
  const m = mask(hi, lo);
  if (!Number.isInteger(value) || value < 0 || value > m) {
    throw new Fs3BurnError('REGISTER_ENCODE_INVALID', `${what}: ${value} does not fit in bits ${hi}:${lo}`, {
      data: { field: what, value, hi, lo },
    });
  }
  const dv = view(b);
  const old = dv.getUint32(dw * 4, false);
  dv.setUint32(dw * 4, ((old & ~(m << lo)) | (value << lo)) >>> 0, false);
}

export const getFlag = (b: Uint8Array, dw: number, bit: number): boolean => getField(b, dw, bit, bit) === 1;
export const setFlag = (b: Uint8Array, dw: number, bit: number, on: boolean | undefined): void =>
  setField(b, dw, bit, bit, on ? 1 : 0);

/**
 * Data dword i holds the little-endian value of bytes 4i..4i+3 (MFBA §4.3, MCDA §3.3), so in
 * the BE register image each 4-byte group is reversed. The same swap converts both ways.
 * `data.length` must be a multiple of 4.
 */
export function swapDwordBytes(data: Uint8Array): Uint8Array {
  if (data.length % 4 !== 0) {
    throw new Fs3BurnError('REGISTER_ENCODE_INVALID', `data length ${data.length} is not a multiple of 4`, { data: { length: data.length } });
  }
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += 4) {
    out[i] = data[i + 3]!;
    out[i + 1] = data[i + 2]!;
    out[i + 2] = data[i + 1]!;
    out[i + 3] = data[i]!;
  }
  return out;
}

/** A fresh zeroed register image. */
export const image = (size: number): Uint8Array => new Uint8Array(size);

/** A register's codec: id, size, and plain encode/decode of its BE image. */
export interface RegisterCodec<T> {
  readonly name: string;
  readonly id: number;
  /** Full register size in bytes. */
  readonly size: number;
  encode(value: Partial<T>): Uint8Array;
  decode(bytes: Uint8Array): T;
}
