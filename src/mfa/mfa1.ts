/**
 * MFA1 firmware archives ("MFAR"): many firmware images, one per board PSID, in one file.
 * The layout below was read off the vendor's archives (docs/mfa.md has the details and
 * what is still unverified):
 *
 *   0x00  "MFAR", u32 format version (1), 8 zero bytes
 *   0x10  sections, each: u8 type (1 MAP, 2 TOC, 3 DATA), u8 0, u16 1, u32 length,
 *         then `length` bytes holding one xz stream
 *   end   u32 CRC32 (IEEE, as zlib) of every byte before it          (all big-endian)
 *
 *   MAP   0xE4-byte entries: PSID (32 bytes, NUL padded), a metadata TLV (PN, DESCRIPTION)
 *         and at +0xBC the byte offset of the entry's record in the TOC
 *   TOC   24-byte records: u32 offset and u32 size in DATA, u16 1, u16 3, u16 major,
 *         u16 minor, u16 subminor, 6 zero bytes
 *   DATA  the images back to back (603 MB decoded for 36 Spectrum images): only streamed
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Fs3BurnError } from '../errors.js';
import {
  XZ_FOOTER_SIZE,
  XZ_HEADER_SIZE,
  XzError,
  createXzDecoder,
  parseXzFooter,
  parseXzHeader,
  parseXzIndex,
  xzDecodeBuffer,
  type XzBackendName,
  type XzDecoder,
  type XzInput,
} from './xz.js';

export const MFA1_MAGIC = 'MFAR';
export const MFA1_HEADER_SIZE = 16;
export const MFA1_SECTION_HEADER_SIZE = 8;
export const MFA1_TRAILER_SIZE = 4;
export const MFA1_MAP_ENTRY_SIZE = 0xe4;
export const MFA1_TOC_RECORD_SIZE = 24;
export const MFA1_SECTION = { MAP: 1, TOC: 2, DATA: 3 } as const;

const PSID_SIZE = 32;
const META_TLV_OFFSET = 0x20;
const META_PAYLOAD_OFFSET = 0x24;
const TOC_OFFSET_FIELD = 0xbc;
/** MAP and TOC are a few KiB; anything this large is damage, not data. */
const SMALL_SECTION_LIMIT = 16 * 1024 * 1024;
/** Decoded bytes per read while skipping to an image (one reused buffer). */
const SKIP_CHUNK = 256 * 1024;
/** Decoded bytes per buffer handed to the destination. */
const OUT_CHUNK = 256 * 1024;
/**
 * After the last wanted byte, decode this much more (or to the end of the stream): an LZMA2
 * chunk holds at most 2 MiB, so the chunk holding the image's last byte is then complete
 * and liblzma has checked it. Damage in the image's own bytes is thus reported even though
 * decoding stops long before the stream's final CRC32.
 */
const TRAILING_CHECK = 2 * 1024 * 1024 + 64 * 1024;

export interface Mfa1Version {
  major: number;
  minor: number;
  subminor: number;
}

export interface Mfa1Entry {
  psid: string;
  /** The metadata's PN value ('' when absent). */
  partNumber: string;
  /** The metadata's DESCRIPTION value, as stored (the archive cuts long ones short). */
  description: string;
  version: Mfa1Version;
  /** As mstflint prints a FW version: 13.1224.0142. */
  versionString: string;
  /** Where the image starts in the decoded DATA stream, and its size in bytes. */
  dataOffset: number;
  dataSize: number;
  /** Every key/value pair of the metadata TLV (PN and DESCRIPTION in the known archives). */
  metadata: Record<string, string>;
}

export interface Mfa1Section {
  type: number;
  name: 'MAP' | 'TOC' | 'DATA' | 'UNKNOWN';
  /** File offset of the 8-byte section header. */
  offset: number;
  /** File offset of the xz stream, and its length. */
  payloadOffset: number;
  length: number;
}

export interface Mfa1Index {
  formatVersion: number;
  entries: Mfa1Entry[];
  sections: Mfa1Section[];
  fileSize: number;
  /** The CRC32 trailer (checked). */
  crc32: number;
  /** Size of the decoded DATA stream (from its xz index). */
  dataUncompressedSize: number;
}

export interface Mfa1ExtractOptions {
  signal?: AbortSignal;
  /** Force an xz backend (default: the fastest available; see src/mfa/xz.ts). */
  xzBackend?: XzBackendName;
}

export interface Mfa1ExtractResult {
  bytes: number;
  entry: Mfa1Entry;
}

/** True when `head` starts with the MFA1 magic "MFAR". */
export function isMfa1(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x4d && head[1] === 0x46 && head[2] === 0x41 && head[3] === 0x52;
}

export function formatMfa1Version(v: Mfa1Version): string {
  return `${v.major}.${v.minor}.${String(v.subminor).padStart(4, '0')}`;
}

// ---------------------------------------------------------------------------------------
// errors

const CORRUPT_HINT = 'the archive is damaged or truncated: fetch it again and compare its checksum with the published one';

function corrupt(path: string, what: string, data?: Record<string, unknown>, cause?: unknown): Fs3BurnError {
  return new Fs3BurnError('MFA_CORRUPT', `${path}: damaged MFA1 archive: ${what}`, {
    hint: CORRUPT_HINT,
    ...(data ? { data } : {}),
    ...(cause !== undefined ? { cause } : {}),
  });
}

function fromXzError(path: string, where: string, e: unknown, data?: Record<string, unknown>): unknown {
  if (!(e instanceof XzError)) return e;
  if (e.reason === 'internal' && e.lzmaCode === undefined) {
    return new Fs3BurnError('INTERNAL', `cannot decode ${where} of ${path}: ${e.message}`, {
      hint: process.env.FS3BURN_XZ
        ? `FS3BURN_XZ=${process.env.FS3BURN_XZ} asks for a decoder that cannot be loaded: unset it`
        : 'no xz decoder could be loaded: reinstall fs3burn so that its lzma-native dependency is present',
      cause: e,
    });
  }
  return corrupt(path, `${where}: ${e.message}`, { ...data, xz: e.reason }, e);
}

function inputError(path: string, e: unknown): Fs3BurnError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const msg = (e as Error)?.message ?? String(e);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new Fs3BurnError('FILE_NOT_FOUND', `${path}: no such file`, { hint: 'check the archive path', cause: e });
    case 'EISDIR':
      return new Fs3BurnError('FILE_IS_DIRECTORY', `${path} is a directory, not an archive`, { cause: e });
    case 'EACCES':
    case 'EPERM':
      return new Fs3BurnError('FILE_NOT_READABLE', `${path}: permission denied`, {
        hint: 'check the file permissions',
        cause: e,
      });
    default:
      return new Fs3BurnError('FILE_READ_FAILED', `${path}: cannot read: ${msg}`, { cause: e });
  }
}

function outputError(path: string, e: unknown): Fs3BurnError {
  if (e instanceof Fs3BurnError) return e;
  const msg = (e as Error)?.message ?? String(e);
  return new Fs3BurnError('OUTPUT_WRITE_FAILED', `cannot write ${path}: ${msg}`, {
    hint: 'check that the output folder exists, is writable and has room for the image',
    cause: e,
  });
}

// ---------------------------------------------------------------------------------------
// reading the archive

async function openArchive(path: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw inputError(path, e);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    return { fh, size: st.size };
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw inputError(path, e);
  }
}

async function readAt(fh: FileHandle, path: string, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  try {
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
  } catch (e) {
    throw inputError(path, e);
  }
  if (got < length) throw corrupt(path, `file ends at ${position + got}, expected ${length} bytes at ${position}`);
  return buf;
}

async function fileCrc32(fh: FileHandle, path: string, length: number): Promise<number> {
  const buf = Buffer.allocUnsafe(Math.min(length, 1024 * 1024));
  let crc = 0;
  let pos = 0;
  while (pos < length) {
    let n: number;
    try {
      ({ bytesRead: n } = await fh.read(buf, 0, Math.min(buf.length, length - pos), pos));
    } catch (e) {
      throw inputError(path, e);
    }
    if (n === 0) throw corrupt(path, `file ends at ${pos} while computing its CRC32`);
    crc = crc32(buf.subarray(0, n), crc);
    pos += n;
  }
  return crc >>> 0;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function sectionName(type: number): Mfa1Section['name'] {
  return type === 1 ? 'MAP' : type === 2 ? 'TOC' : type === 3 ? 'DATA' : 'UNKNOWN';
}

/** NUL-terminated (or field-filling) ASCII string. */
function cString(buf: Uint8Array, start: number, end: number): string {
  let stop = start;
  while (stop < end && buf[stop] !== 0) stop++;
  return Buffer.from(buf.buffer, buf.byteOffset + start, stop - start).toString('latin1');
}

/**
 * The metadata TLV payload: u8 1, u8 0, u16 pair count, then NUL-terminated key and value
 * strings. The payload has a fixed size (0x98) and the last value is cut at its end, with
 * no NUL, when it does not fit.
 */
function parseMetadata(payload: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  if (payload.length < 4) return out;
  const pairs = payload.readUInt16BE(2);
  let pos = 4;
  const next = (): string | undefined => {
    if (pos >= payload.length) return undefined;
    const s = cString(payload, pos, payload.length);
    pos += s.length + 1;
    return s;
  };
  for (let i = 0; i < pairs; i++) {
    const key = next();
    if (key === undefined || key === '') break;
    out[key] = next() ?? '';
  }
  return out;
}

function isPrintable(s: string): boolean {
  return /^[\x21-\x7e]+$/.test(s);
}

async function readIndex(fh: FileHandle, size: number, path: string): Promise<Mfa1Index> {
  if (size === 0) {
    throw new Fs3BurnError('FILE_EMPTY', `${path} is empty`, { hint: 'an MFA1 archive starts with the 4 bytes "MFAR"' });
  }
  const head = await readAt(fh, path, 0, Math.min(size, MFA1_HEADER_SIZE));
  if (!isMfa1(head)) {
    const looks =
      head.length >= 6 && head[0] === 0xfd && head.subarray(1, 5).toString('latin1') === '7zXZ'
        ? 'it is an xz file: decompress it first (xz -dc FILE > image.bin)'
        : head.subarray(0, 4).toString('latin1') === 'MTFW'
          ? 'it looks like a raw firmware image: use `fs3burn query -i FILE` on it directly'
          : 'an MFA1 archive starts with the 4 bytes "MFAR"';
    throw new Fs3BurnError('MFA_NOT_ARCHIVE', `${path} is not an MFA1 archive (no "MFAR" magic)`, {
      hint: looks,
      data: { head: head.subarray(0, 16).toString('hex') },
    });
  }
  if (size < MFA1_HEADER_SIZE + MFA1_TRAILER_SIZE) {
    throw corrupt(path, `truncated: ${size} bytes is too short for an MFA1 archive`, { reason: 'truncated' });
  }
  const formatVersion = head.readUInt32BE(4);
  if (formatVersion !== 1) {
    throw new Fs3BurnError('FORMAT_UNSUPPORTED', `${path}: MFA archive format version ${formatVersion} is not supported`, {
      hint: 'fs3burn reads MFA1 archives (format version 1) only',
      data: { formatVersion },
    });
  }

  // Walk the sections: each must fit before the CRC32 trailer, which must follow the last.
  const end = size - MFA1_TRAILER_SIZE;
  const sections: Mfa1Section[] = [];
  let off = MFA1_HEADER_SIZE;
  while (off < end) {
    if (off + MFA1_SECTION_HEADER_SIZE > end) {
      throw corrupt(path, `truncated: ${end - off} stray bytes at ${hex(off)} where a section header should be`, {
        reason: 'truncated',
      });
    }
    const h = await readAt(fh, path, off, MFA1_SECTION_HEADER_SIZE);
    const type = h[0]!;
    const length = h.readUInt32BE(4);
    const name = sectionName(type);
    if (off + MFA1_SECTION_HEADER_SIZE + length > end) {
      throw corrupt(
        path,
        `truncated: ${name} section at ${hex(off)} declares ${length} bytes but only ${end - off - MFA1_SECTION_HEADER_SIZE} remain before the trailer`,
        { reason: 'truncated', section: name, offset: off, length },
      );
    }
    sections.push({ type, name, offset: off, payloadOffset: off + MFA1_SECTION_HEADER_SIZE, length });
    off += MFA1_SECTION_HEADER_SIZE + length;
  }
  const only = (n: 'MAP' | 'TOC' | 'DATA'): Mfa1Section => {
    const found = sections.filter((s) => s.name === n);
    if (found.length !== 1) {
      throw corrupt(path, `expected one ${n} section, found ${found.length}`, {
        sections: sections.map((s) => ({ type: s.type, offset: s.offset })),
      });
    }
    return found[0]!;
  };
  const mapSec = only('MAP');
  const tocSec = only('TOC');
  const dataSec = only('DATA');

  // The trailer covers everything before it.
  const stored = (await readAt(fh, path, end, MFA1_TRAILER_SIZE)).readUInt32BE(0);
  const actual = await fileCrc32(fh, path, end);
  if (stored !== actual) {
    throw new Fs3BurnError(
      'MFA_CRC_MISMATCH',
      `${path}: MFA1 archive CRC32 mismatch: trailer says ${hex(stored)}, contents give ${hex(actual)}`,
      { hint: CORRUPT_HINT, data: { stored, actual } },
    );
  }

  // MAP and TOC are small: decode them whole.
  const decodeSmall = async (sec: Mfa1Section): Promise<Buffer> => {
    if (sec.length > SMALL_SECTION_LIMIT) throw corrupt(path, `${sec.name} section is implausibly large (${sec.length} bytes)`);
    const payload = await readAt(fh, path, sec.payloadOffset, sec.length);
    try {
      return await xzDecodeBuffer(payload, SMALL_SECTION_LIMIT);
    } catch (e) {
      throw fromXzError(path, `${sec.name} section at ${hex(sec.offset)}`, e);
    }
  };
  const map = await decodeSmall(mapSec);
  const toc = await decodeSmall(tocSec);
  if (map.length === 0 || map.length % MFA1_MAP_ENTRY_SIZE !== 0) {
    throw corrupt(path, `MAP holds ${map.length} bytes, not a multiple of the ${MFA1_MAP_ENTRY_SIZE}-byte entry`);
  }
  if (toc.length % MFA1_TOC_RECORD_SIZE !== 0) {
    throw corrupt(path, `TOC holds ${toc.length} bytes, not a multiple of the ${MFA1_TOC_RECORD_SIZE}-byte record`);
  }

  // DATA is only streamed; its xz index tells its decoded size without decoding it.
  let dataUncompressedSize: number;
  try {
    if (dataSec.length < XZ_HEADER_SIZE + XZ_FOOTER_SIZE) throw new XzError('truncated', 'too short for an xz stream');
    parseXzHeader(await readAt(fh, path, dataSec.payloadOffset, XZ_HEADER_SIZE));
    const footAt = dataSec.payloadOffset + dataSec.length - XZ_FOOTER_SIZE;
    const { indexSize, check } = parseXzFooter(await readAt(fh, path, footAt, XZ_FOOTER_SIZE));
    if (indexSize > Math.min(SMALL_SECTION_LIMIT, dataSec.length - XZ_HEADER_SIZE - XZ_FOOTER_SIZE)) {
      throw new XzError('corrupt', `xz index size ${indexSize} does not fit the stream`);
    }
    dataUncompressedSize = parseXzIndex(await readAt(fh, path, footAt - indexSize, indexSize), check).uncompressedSize;
  } catch (e) {
    throw fromXzError(path, `DATA section at ${hex(dataSec.offset)}`, e);
  }

  const entries: Mfa1Entry[] = [];
  for (let i = 0; i < map.length / MFA1_MAP_ENTRY_SIZE; i++) {
    const e = map.subarray(i * MFA1_MAP_ENTRY_SIZE, (i + 1) * MFA1_MAP_ENTRY_SIZE);
    const psid = cString(e, 0, PSID_SIZE);
    if (!isPrintable(psid)) throw corrupt(path, `MAP entry ${i} has no valid PSID`, { entry: i });
    const tlvType = e[META_TLV_OFFSET]!;
    const tlvLength = e.readUInt16BE(META_TLV_OFFSET + 2);
    if (META_PAYLOAD_OFFSET + tlvLength > TOC_OFFSET_FIELD) {
      throw corrupt(path, `MAP entry ${i} (${psid}): metadata length ${tlvLength} overruns the entry`, { entry: i });
    }
    const metadata = tlvType === 1 ? parseMetadata(e.subarray(META_PAYLOAD_OFFSET, META_PAYLOAD_OFFSET + tlvLength)) : {};
    const tocOffset = e.readUInt32BE(TOC_OFFSET_FIELD);
    if (tocOffset % MFA1_TOC_RECORD_SIZE !== 0 || tocOffset + MFA1_TOC_RECORD_SIZE > toc.length) {
      throw corrupt(path, `MAP entry ${i} (${psid}) points at TOC offset ${tocOffset}, outside the ${toc.length}-byte TOC`, {
        entry: i,
      });
    }
    const r = toc.subarray(tocOffset, tocOffset + MFA1_TOC_RECORD_SIZE);
    const dataOffset = r.readUInt32BE(0);
    const dataSize = r.readUInt32BE(4);
    if (dataSize === 0 || dataOffset + dataSize > dataUncompressedSize) {
      throw corrupt(
        path,
        `${psid}: image at ${dataOffset}+${dataSize} lies outside the ${dataUncompressedSize}-byte DATA stream`,
        { entry: i },
      );
    }
    const version = { major: r.readUInt16BE(12), minor: r.readUInt16BE(14), subminor: r.readUInt16BE(16) };
    entries.push({
      psid,
      partNumber: metadata.PN ?? '',
      description: metadata.DESCRIPTION ?? '',
      version,
      versionString: formatMfa1Version(version),
      dataOffset,
      dataSize,
      metadata,
    });
  }

  return { formatVersion, entries, sections, fileSize: size, crc32: stored, dataUncompressedSize };
}

/** Reads and checks an archive's header, sections, CRC32 trailer, MAP and TOC. */
export async function readMfa1Index(path: string): Promise<Mfa1Index> {
  const { fh, size } = await openArchive(path);
  try {
    return await readIndex(fh, size, path);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** The entry of `psid` (exact match first, then ignoring case), or MFA_PSID_NOT_FOUND. */
export function findMfa1Entry(index: Mfa1Index, psid: string, path = 'the archive'): Mfa1Entry {
  const exact = index.entries.find((e) => e.psid === psid);
  if (exact) return exact;
  const folded = index.entries.filter((e) => e.psid.toUpperCase() === psid.toUpperCase());
  if (folded.length === 1) return folded[0]!;
  const available = index.entries.map((e) => e.psid);
  throw new Fs3BurnError('MFA_PSID_NOT_FOUND', `PSID ${psid} is not in ${path} (${available.length} images)`, {
    hint: `the archive holds: ${available.join(', ')}`,
    data: { psid, available },
  });
}

// ---------------------------------------------------------------------------------------
// streaming one image out of DATA

interface Sink {
  /** A buffer of `n` bytes to decode the next output into. */
  buffer(n: number): Buffer;
  put(buf: Buffer): Promise<void>;
  /** Resolves once everything put has been written. */
  finish(): Promise<void>;
}

function rangeInput(fh: FileHandle, path: string, start: number, length: number): XzInput {
  let pos = 0;
  return {
    async read(buf, offset, len) {
      const want = Math.min(len, length - pos);
      if (want <= 0) return 0;
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, offset, want, start + pos));
      } catch (e) {
        throw inputError(path, e);
      }
      pos += n;
      return n;
    },
  };
}

async function streamEntry(
  fh: FileHandle,
  path: string,
  index: Mfa1Index,
  entry: Mfa1Entry,
  sink: Sink,
  opts: Mfa1ExtractOptions,
): Promise<number> {
  const data = index.sections.find((s) => s.name === 'DATA')!;
  opts.signal?.throwIfAborted();
  let decoder: XzDecoder;
  try {
    decoder = await createXzDecoder(rangeInput(fh, path, data.payloadOffset, data.length), {
      ...(opts.xzBackend ? { backend: opts.xzBackend } : {}),
    });
  } catch (e) {
    throw fromXzError(path, 'DATA section', e);
  }
  let decoded = 0;
  const short = () =>
    corrupt(path, `DATA stream ends at byte ${decoded}, before the end of ${entry.psid}'s image`, {
      psid: entry.psid,
      decoded,
    });
  try {
    const scratch = Buffer.allocUnsafeSlow(SKIP_CHUNK);
    while (decoded < entry.dataOffset) {
      opts.signal?.throwIfAborted();
      const want = Math.min(SKIP_CHUNK, entry.dataOffset - decoded);
      const n = await decoder.read(scratch, 0, want);
      decoded += n;
      if (n < want) throw short();
    }
    let written = 0;
    let held: Buffer | undefined; // the last chunk waits for the trailing check
    while (written < entry.dataSize) {
      opts.signal?.throwIfAborted();
      const want = Math.min(OUT_CHUNK, entry.dataSize - written);
      const buf = sink.buffer(want);
      const n = await decoder.read(buf, 0, want);
      decoded += n;
      if (n < want) throw short();
      written += n;
      if (written < entry.dataSize) await sink.put(buf);
      else held = buf;
    }
    let extra = TRAILING_CHECK;
    while (extra > 0 && !decoder.ended) {
      const n = await decoder.read(scratch, 0, Math.min(SKIP_CHUNK, extra));
      decoded += n;
      extra -= n;
      if (n === 0) break;
    }
    if (held) await sink.put(held);
    await sink.finish();
    return written;
  } catch (e) {
    throw fromXzError(path, `DATA section (decoding ${entry.psid})`, e, { psid: entry.psid, decodedBytes: decoded });
  } finally {
    decoder.close();
  }
}

/** Writes to a file: two buffers in turn, one being written while the next is decoded. */
class FileSink implements Sink {
  private pending: Promise<void> = Promise.resolve();
  private failure: unknown;
  private readonly buffers = [Buffer.allocUnsafeSlow(OUT_CHUNK), Buffer.allocUnsafeSlow(OUT_CHUNK)];
  private turn = 0;
  constructor(
    private readonly out: FileHandle,
    private readonly name: string,
  ) {}
  buffer(n: number): Buffer {
    // put() waits for the previous write before starting one, so the other buffer is free.
    this.turn ^= 1;
    return n <= OUT_CHUNK ? this.buffers[this.turn]!.subarray(0, n) : Buffer.allocUnsafeSlow(n);
  }
  async put(buf: Buffer): Promise<void> {
    await this.pending;
    if (this.failure) throw outputError(this.name, this.failure);
    // One write in flight while the next chunk decodes.
    this.pending = this.writeAll(buf).catch((e: unknown) => {
      this.failure = e;
    });
  }
  private async writeAll(buf: Buffer): Promise<void> {
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.out.write(buf, off, buf.length - off, null);
      off += bytesWritten;
    }
  }
  async finish(): Promise<void> {
    await this.pending;
    if (this.failure) throw outputError(this.name, this.failure);
  }
  async settle(): Promise<void> {
    await this.pending;
  }
}

class StreamSink implements Sink {
  private failure: unknown;
  private lastWrite: Promise<void> = Promise.resolve();
  private readonly onError = (e: unknown) => {
    this.failure ??= e;
  };
  constructor(private readonly stream: NodeJS.WritableStream) {
    stream.on('error', this.onError);
  }
  buffer(n: number): Buffer {
    return Buffer.allocUnsafeSlow(n);
  }
  async put(buf: Buffer): Promise<void> {
    if (this.failure) throw outputError('the output stream', this.failure);
    let ok = true;
    this.lastWrite = new Promise<void>((resolve) => {
      ok = this.stream.write(buf, (err?: Error | null) => {
        if (err) this.failure ??= err;
        resolve();
      });
    });
    if (!ok) {
      const ac = new AbortController();
      try {
        await Promise.race([
          once(this.stream, 'drain', { signal: ac.signal }),
          once(this.stream, 'close', { signal: ac.signal }),
          this.lastWrite.then(() => (this.failure ? undefined : new Promise(() => undefined))),
        ]);
      } catch (e) {
        this.failure ??= e;
      } finally {
        ac.abort();
      }
      if (this.failure) throw outputError('the output stream', this.failure);
    }
  }
  async finish(): Promise<void> {
    await this.lastWrite;
    if (this.failure) throw outputError('the output stream', this.failure);
  }
  detach(): void {
    this.stream.removeListener('error', this.onError);
  }
}

class BytesSink implements Sink {
  readonly result: Buffer;
  private pos = 0;
  constructor(size: number) {
    this.result = Buffer.allocUnsafe(size);
  }
  buffer(n: number): Buffer {
    const b = this.result.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  async put(): Promise<void> {}
  async finish(): Promise<void> {}
}

/**
 * Streams the image of `psid` out of the archive into `dest` (a file path, written through a
 * temporary file that is renamed into place only on success, or a writable stream, which
 * is not ended). Decoding stops shortly after the image's last byte.
 */
export async function extractMfa1Image(
  path: string,
  psid: string,
  dest: string | NodeJS.WritableStream,
  opts: Mfa1ExtractOptions = {},
): Promise<Mfa1ExtractResult> {
  const { fh, size } = await openArchive(path);
  try {
    const index = await readIndex(fh, size, path);
    const entry = findMfa1Entry(index, psid, path);
    if (typeof dest !== 'string') {
      const sink = new StreamSink(dest);
      try {
        const bytes = await streamEntry(fh, path, index, entry, sink, opts);
        return { bytes, entry };
      } finally {
        sink.detach();
      }
    }
    const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}-${randomBytes(4).toString('hex')}.part`);
    let out: FileHandle;
    try {
      out = await open(tmp, 'wx', 0o644);
    } catch (e) {
      throw outputError(dest, e);
    }
    const sink = new FileSink(out, dest);
    let done = false;
    try {
      const bytes = await streamEntry(fh, path, index, entry, sink, opts);
      try {
        await out.close();
        await rename(tmp, dest);
      } catch (e) {
        throw outputError(dest, e);
      }
      done = true;
      return { bytes, entry };
    } finally {
      if (!done) {
        await sink.settle();
        await out.close().catch(() => undefined);
        await unlink(tmp).catch(() => undefined);
      }
    }
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** The image of `psid` as one buffer (firmware images are 16-32 MiB). */
export async function readMfa1ImageBytes(path: string, psid: string, opts: Mfa1ExtractOptions = {}): Promise<Buffer> {
  const { fh, size } = await openArchive(path);
  try {
    const index = await readIndex(fh, size, path);
    const entry = findMfa1Entry(index, psid, path);
    const sink = new BytesSink(entry.dataSize);
    await streamEntry(fh, path, index, entry, sink, opts);
    return sink.result;
  } finally {
    await fh.close().catch(() => undefined);
  }
}
