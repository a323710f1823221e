/**
 * Where image bytes come from. The parser asks for the ranges it needs; a buffer answers
 * with views, a file answers with positioned reads (src/io/file-source.ts), so verifying a
 * 16 MiB file reads the ~2 MiB its structure and sections cover instead of all of it.
 * Still pure: this module does no I/O.
 */
export interface ByteSource {
  /** Total size in bytes. */
  readonly length: number;
  /** `len` bytes at `offset`; the caller keeps within `length`. */
  bytes(offset: number, len: number): Uint8Array;
}

export type ImageInput = Uint8Array | ByteSource;

/** A source over bytes already in memory (views, no copies). */
export function memorySource(buf: Uint8Array): ByteSource {
  return { length: buf.length, bytes: (offset, len) => buf.subarray(offset, offset + len) };
}

export function toSource(input: ImageInput): ByteSource {
  return input instanceof Uint8Array ? memorySource(input) : input;
}

/** The big-endian dword at `off` (FS3 structures are big-endian on flash, §1.1). */
export function be32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}
