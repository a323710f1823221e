/**
 * Byte stream ↔ dword conversion (§5.3 "buffer byte order"): the device sees each dword as
 * the big-endian value of 4 register-image bytes (`mwrite_buffer` / `mread_buffer`).
 */

/** BE dwords of `bytes`, zero-padded to a whole dword. */
export function bytesToDwordsBE(bytes: Uint8Array): Uint32Array {
  const n = Math.ceil(bytes.length / 4);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    out[i] = (((bytes[o] ?? 0) << 24) | ((bytes[o + 1] ?? 0) << 16) | ((bytes[o + 2] ?? 0) << 8) | (bytes[o + 3] ?? 0)) >>> 0;
  }
  return out;
}

/** Bytes of BE `dwords`, truncated to `length` (default all). */
export function dwordsToBytesBE(dwords: ArrayLike<number>, length = dwords.length * 4): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (dwords[i >>> 2]! >>> (24 - 8 * (i & 3))) & 0xff;
  return out;
}

/** The BE dword at byte `off` of `bytes`. */
export function getBE32(bytes: Uint8Array, off: number): number {
  return ((bytes[off]! << 24) | (bytes[off + 1]! << 16) | (bytes[off + 2]! << 8) | bytes[off + 3]!) >>> 0;
}

/** Store `v` as a BE dword at byte `off` of `bytes`. */
export function setBE32(bytes: Uint8Array, off: number, v: number): void {
  bytes[off] = (v >>> 24) & 0xff;
  bytes[off + 1] = (v >>> 16) & 0xff;
  bytes[off + 2] = (v >>> 8) & 0xff;
  bytes[off + 3] = v & 0xff;
}
