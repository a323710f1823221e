/**
 * Deterministic pseudo-random content for payload sections. Not cryptographic: the point
 * is that the same (seed, stream) always gives the same bytes, and that different
 * versions in the catalog get different bytes. A small 32-bit mixer (xorshift state,
 * multiply-xorshift output), written for this project.
 */

/** Mix two 32-bit values into one well-spread 32-bit value. */
export function mix32(a: number, b: number): number {
  let h = (a ^ Math.imul(b ^ 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Fill buf[off, off+len) with the byte stream for `seed`. */
export function fillPseudoRandom(buf: Uint8Array, off: number, len: number, seed: number): void {
  let s = mix32(seed, 0x5eed) || 0x6d2b79f5; // xorshift state must not be 0
  const end = off + len;
  let i = off;
  while (i < end) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    let v = Math.imul(s, 0x2545f491) >>> 0;
    v ^= v >>> 15;
    const n = Math.min(4, end - i);
    for (let k = 0; k < n; k++) {
      buf[i + k] = v >>> 24;
      v <<= 8;
    }
    i += n;
  }
}
