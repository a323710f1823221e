/**
 * Big-endian field writers for building FS3 structures (fs3-facts.md §1.1: every FS3
 * structure is big-endian on flash; char arrays are plain sequential bytes).
 *
 * All writers work on a Uint8Array in place and never grow it; the caller sizes buffers.
 */

export function putU8(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
}

export function putU16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 8) & 0xff;
  buf[off + 1] = v & 0xff;
}

export function putU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

export function getU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

/** A 64-bit big-endian value (GUIDs, MACs). */
export function putU64(buf: Uint8Array, off: number, v: bigint): void {
  const hi = Number((v >> 32n) & 0xffffffffn);
  const lo = Number(v & 0xffffffffn);
  putU32(buf, off, hi);
  putU32(buf, off + 4, lo);
}

/**
 * Set bits [hi..lo] (bit 31 = MSB, as the facts sheet counts them) of the big-endian
 * dword at `off`, leaving the other bits as they are.
 */
export function putBits(buf: Uint8Array, off: number, hi: number, lo: number, v: number): void {
  const width = hi - lo + 1;
  const mask = width >= 32 ? 0xffffffff : ((1 << width) - 1) >>> 0;
  const cur = getU32(buf, off);
  const next = ((cur & ~((mask << lo) >>> 0)) | (((v & mask) << lo) >>> 0)) >>> 0;
  putU32(buf, off, next);
}

/**
 * An ASCII string in a fixed char array of `size` bytes; the rest of the array is zeroed.
 * The caller validates the length (the builder keeps room for a terminating NUL).
 */
export function putAscii(buf: Uint8Array, off: number, size: number, s: string): void {
  buf.fill(0, off, off + size);
  const n = Math.min(s.length, size);
  for (let i = 0; i < n; i++) buf[off + i] = s.charCodeAt(i) & 0x7f;
}

/** Two decimal digits per byte: 2021 → 0x2021, 11 → 0x11 (IMAGE_INFO release date, §1.7). */
export function bcd(n: number): number {
  let out = 0;
  let shift = 0;
  let v = n;
  do {
    out |= (v % 10) << shift;
    shift += 4;
    v = Math.floor(v / 10);
  } while (v > 0);
  return out >>> 0;
}
