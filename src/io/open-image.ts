/**
 * Opening a firmware input: a plain FS3 image file, or one image inside an MFA1 archive
 * (selected by PSID). Other formats are recognised and refused with a message naming them.
 */
import { Fs3BurnError } from '../errors.js';
import { detectFormat, type ImageFormat } from '../image/format.js';
import { memorySource, type ByteSource, type ImageInput } from '../image/source.js';
import { openFileSource } from './file-source.js';
import { readInputFile } from './read-file.js';

/** Smallest buffer that can hold an FS3 header up to the boot-version word (§1.2). */
const MIN_IMAGE_BYTES = 0x28;

const UNSUPPORTED: Partial<Record<ImageFormat, string>> = {
  FS2: 'FS2 image (ConnectX-3 / ConnectX-3 Pro generation)',
  FS4: 'FS4 image (ConnectX-5 and later, Spectrum-2 and later)',
  MFA2: 'MFA2 archive',
};

export const SUPPORTED_TEXT = 'fs3burn supports FS3 images (ConnectX-4, ConnectX-4 Lx and other FS3 devices) and MFA1 archives of them';

export function unsupportedFormat(format: ImageFormat, what: string): Fs3BurnError {
  return new Fs3BurnError('FORMAT_UNSUPPORTED', `${what}: ${UNSUPPORTED[format] ?? format} is not supported`, {
    hint: `${SUPPORTED_TEXT}; use mstflint for this file`,
    data: { format },
  });
}

/** Check that `buf` holds an FS3 image; throws the right typed error otherwise. */
export function requireFs3(input: ImageInput, what: string): void {
  if (input.length < MIN_IMAGE_BYTES) {
    throw new Fs3BurnError('IMAGE_TOO_SHORT', `${what}: too short to be a firmware image (${input.length} bytes)`, {
      data: { size: input.length },
    });
  }
  const { format } = detectFormat(input);
  if (format === 'FS3') return;
  if (format === 'unknown') {
    throw new Fs3BurnError('IMAGE_UNKNOWN_FORMAT', `${what}: no firmware image found (no FS3 magic at any image start)`, {
      hint: SUPPORTED_TEXT,
    });
  }
  throw unsupportedFormat(format, what);
}

export interface OpenedImage {
  bytes: Uint8Array;
  /** What was opened, for messages: the file, or `ARCHIVE[PSID]`. */
  source: string;
  container: 'file' | 'mfa1';
}

async function fromArchive(path: string, psid: string | undefined): Promise<OpenedImage> {
  if (!psid) {
    throw new Fs3BurnError('MFA_PSID_REQUIRED', `${path} is an MFA1 archive holding several images: say which with --psid PSID`, {
      hint: `list the PSIDs with: fs3burn mfa list ${path}`,
    });
  }
  const mfa = await import('../mfa/index.js');
  const bytes = await mfa.readMfa1ImageBytes(path, psid);
  const source = `${path}[${psid}]`;
  requireFs3(bytes, source);
  return { bytes, source, container: 'mfa1' };
}

/** Read `path` whole; for an MFA1 archive, extract the image of `psid`. */
export async function openImage(path: string, opts: { psid?: string } = {}): Promise<OpenedImage> {
  const buf = readInputFile(path);
  if (detectFormat(buf).format === 'MFA1') return fromArchive(path, opts.psid);
  requireFs3(buf, path);
  return { bytes: buf, source: path, container: 'file' };
}

export interface OpenedImageSource {
  /** The image's bytes, read on demand. Call close() when done. */
  image: ByteSource & { close(): void };
  source: string;
  container: 'file' | 'mfa1';
}

/**
 * Like openImage, but a plain image file is read only where the parser looks (a 16 MiB
 * verify reads about 2 MiB). An archive's image is extracted into memory.
 */
export async function openImageSource(path: string, opts: { psid?: string } = {}): Promise<OpenedImageSource> {
  const file = openFileSource(path);
  try {
    if (file.length === 0) throw new Fs3BurnError('FILE_EMPTY', `${path}: the file is empty`, { data: { path } });
    if (detectFormat(file).format === 'MFA1') {
      file.close();
      const a = await fromArchive(path, opts.psid);
      return { image: { ...memorySource(a.bytes), close() {} }, source: a.source, container: 'mfa1' };
    }
    requireFs3(file, path);
    return { image: file, source: path, container: 'file' };
  } catch (e) {
    file.close();
    throw e;
  }
}
