/** Big-endian byte helpers and small integer utilities used across the device model. */

export function getU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

export function putU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

export function getU16(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 8) | buf[off + 1]!) >>> 0;
}

export function putU16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 8) & 0xff;
  buf[off + 1] = v & 0xff;
}

export function getU64(buf: Uint8Array, off: number): bigint {
  return (BigInt(getU32(buf, off)) << 32n) | BigInt(getU32(buf, off + 4));
}

export function putU64(buf: Uint8Array, off: number, v: bigint): void {
  putU32(buf, off, Number((v >> 32n) & 0xffffffffn));
  putU32(buf, off + 4, Number(v & 0xffffffffn));
}

/** Bits [hi..lo] of a 32-bit value (bit 31 = MSB). */
export function bits(v: number, hi: number, lo: number): number {
  const width = hi - lo + 1;
  return width >= 32 ? v >>> 0 : (v >>> lo) & ((1 << width) - 1);
}

/** `v` with bits [hi..lo] replaced by `field`. */
export function setBits(v: number, hi: number, lo: number, field: number): number {
  const width = hi - lo + 1;
  const mask = width >= 32 ? 0xffffffff : (((1 << width) - 1) << lo) >>> 0;
  return ((v & ~mask) | ((field << lo) & mask)) >>> 0;
}

export function hex(v: number, width = 0): string {
  return `0x${(v >>> 0).toString(16).padStart(width, '0')}`;
}

/** Byte-swap each 4-byte group of `src` into `dst` (the LE-dword data layout of MFBA / MCDA, §4.3, §3.3). */
export function swap32Groups(src: Uint8Array, dst: Uint8Array): void {
  for (let i = 0; i + 3 < src.length && i + 3 < dst.length; i += 4) {
    dst[i] = src[i + 3]!;
    dst[i + 1] = src[i + 2]!;
    dst[i + 2] = src[i + 1]!;
    dst[i + 3] = src[i]!;
  }
}

/**
 * A small seeded PRNG (mulberry32). Every random choice of the model (fault probabilities,
 * which bit to flip, how much of an interrupted page lands) comes from one of these, so a
 * seed reproduces a run exactly.
 */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  get state(): number {
    return this.s;
  }
  set state(v: number) {
    this.s = v >>> 0;
  }
}

/** A 32-bit mix of a number (splitmix-style), to derive independent seeds from one. */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
