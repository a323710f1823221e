/**
 * Image format detection (fs3-facts.md §1.2). FS2, FS3 and FS4 share the "MTFW" first
 * dword; FS3 and FS2 share the whole 16-byte magic and differ in the format byte at 0x24.
 * Archives are recognised by their own headers.
 */

/** Image start positions flint probes, in order (§1.2). */
import { be32, toSource, type ByteSource, type ImageInput } from './source.js';

export const IMAGE_STARTS = [
  0, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000, 0x800000, 0x1000000, 0x2000000,
] as const;

/** FS2/FS3 magic, big-endian dwords (§1.2). */
export const FS3_MAGIC = [0x4d544657, 0x8cdfd000, 0xdead9270, 0x4154beef] as const;
/** FS4 magic (facts sheet, "Correction to the brief"). */
export const FS4_MAGIC = [0x4d544657, 0xabcdef00, 0xfade1234, 0x5678dead] as const;

export const MFA1_SIGNATURE = 'MFAR';
export const MFA2_SIGNATURE = 'MLNX.MFA2.XZ.00!';

export type ImageFormat = 'FS3' | 'FS2' | 'FS4' | 'MFA1' | 'MFA2' | 'unknown';

export interface FormatDetection {
  format: ImageFormat;
  /** Offset of the first image start that matched (images only). */
  start?: number;
  /** Every image start whose magic matched (images only). */
  starts?: number[];
}

function matches(src: ByteSource, off: number, magic: readonly number[]): boolean {
  if (off + 16 > src.length) return false;
  const b = src.bytes(off, 16);
  for (let i = 0; i < 4; i++) if (be32(b, i * 4) !== magic[i]) return false;
  return true;
}

function startsWithAscii(src: ByteSource, text: string): boolean {
  if (src.length < text.length) return false;
  const b = src.bytes(0, text.length);
  for (let i = 0; i < text.length; i++) if (b[i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Every probed start holding the FS2/FS3 magic. */
export function findFs3MagicStarts(input: ImageInput): number[] {
  const src = toSource(input);
  return IMAGE_STARTS.filter((s) => matches(src, s, FS3_MAGIC));
}

/** Boot-version dword byte 0x24 is the image format version; 3 means FS3 (§1.2). */
export const FS3_FORMAT_VERSION = 3;

export function detectFormat(input: ImageInput): FormatDetection {
  const src = toSource(input);
  if (startsWithAscii(src, MFA2_SIGNATURE)) return { format: 'MFA2' };
  if (startsWithAscii(src, MFA1_SIGNATURE)) return { format: 'MFA1' };
  const fs3Starts = findFs3MagicStarts(src);
  if (fs3Starts.length > 0) {
    const start = fs3Starts[0]!;
    const fmt = start + 0x24 < src.length ? src.bytes(start + 0x24, 1)[0] : undefined;
    return { format: fmt === FS3_FORMAT_VERSION ? 'FS3' : 'FS2', start, starts: fs3Starts };
  }
  const fs4Starts = IMAGE_STARTS.filter((s) => matches(src, s, FS4_MAGIC));
  if (fs4Starts.length > 0) return { format: 'FS4', start: fs4Starts[0]!, starts: fs4Starts };
  return { format: 'unknown' };
}
