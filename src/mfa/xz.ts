/**
 * xz decoding for MFA1 archives, in one place.
 *
 * Two backends, both loaded only when an archive is actually decoded (never by `fs3burn
 * query`/`verify` of a plain image):
 *
 *  - `liblzma`: the system's liblzma (`liblzma.so.5`, `liblzma.5.dylib`) called through
 *    koffi (already a dependency, for the PCI transport). It decodes straight into the
 *    caller's buffers: no copies, and the output is pulled, so memory stays at liblzma's
 *    dictionary plus one buffer. Measured at xz(1)'s own speed (docs/mfa.md).
 *  - `lzma-native`: the npm package's bundled liblzma 5.2.3, used when the system library
 *    or koffi cannot be loaded. It pushes output, so input is fed in small pieces to keep
 *    each burst of output (and memory) small; about twice as slow (docs/mfa.md).
 *
 * `FS3BURN_XZ=liblzma|lzma-native` forces one backend (benchmarks, tests).
 *
 * The module also reads an xz stream's header and index without decoding anything, to learn
 * its uncompressed size (checked against the archive's table of contents).
 */
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
import { loadKoffi } from '../native/koffi.js';

export type XzBackendName = 'liblzma' | 'lzma-native';

/** Why a stream could not be decoded; liblzma's own return code where there is one. */
export type XzFailure = 'corrupt' | 'truncated' | 'format' | 'options' | 'memlimit' | 'memory' | 'internal';

export class XzError extends Error {
  readonly reason: XzFailure;
  readonly lzmaCode?: number;
  constructor(reason: XzFailure, message: string, lzmaCode?: number) {
    super(message);
    this.name = 'XzError';
    this.reason = reason;
    if (lzmaCode !== undefined) this.lzmaCode = lzmaCode;
  }
}

/** Compressed input, pulled by the decoder. `read` returns 0 at the end. */
export interface XzInput {
  read(buf: Buffer, offset: number, length: number): Promise<number>;
}

export interface XzDecoder {
  readonly backend: XzBackendName;
  /** True once the end of the xz stream was decoded (its integrity check included). */
  readonly ended: boolean;
  /**
   * Decode into out[offset, offset + length). Resolves with the number of bytes written,
   * which is less than `length` only at the end of the stream. Throws XzError on damage.
   */
  read(out: Buffer, offset?: number, length?: number): Promise<number>;
  /** Free the decoder's memory. Safe to call twice. */
  close(): void;
}

export interface XzOptions {
  backend?: XzBackendName;
  /** Refuse streams whose decoder would need more memory than this (default 256 MiB). */
  memlimit?: number;
}

const DEFAULT_MEMLIMIT = 256 * 1024 * 1024;
const INPUT_BUFFER = 64 * 1024;

// liblzma's lzma_ret and lzma_action values (lzma/base.h; stable ABI since 5.0).
const LZMA_OK = 0;
const LZMA_STREAM_END = 1;
const LZMA_MEM_ERROR = 5;
const LZMA_MEMLIMIT_ERROR = 6;
const LZMA_FORMAT_ERROR = 7;
const LZMA_OPTIONS_ERROR = 8;
const LZMA_DATA_ERROR = 9;
const LZMA_BUF_ERROR = 10;
const LZMA_RUN = 0;
const LZMA_FINISH = 3;

function lzmaFailure(code: number, truncatedInput: boolean): XzError {
  switch (code) {
    case LZMA_DATA_ERROR:
      return new XzError('corrupt', 'xz data is corrupt (LZMA_DATA_ERROR)', code);
    case LZMA_FORMAT_ERROR:
      return new XzError('format', 'not an xz stream (LZMA_FORMAT_ERROR)', code);
    case LZMA_OPTIONS_ERROR:
      return new XzError('options', 'xz stream uses unsupported options (LZMA_OPTIONS_ERROR)', code);
    case LZMA_MEMLIMIT_ERROR:
      return new XzError('memlimit', 'xz stream needs more memory than the limit (LZMA_MEMLIMIT_ERROR)', code);
    case LZMA_MEM_ERROR:
      return new XzError('memory', 'out of memory while decoding xz (LZMA_MEM_ERROR)', code);
    case LZMA_BUF_ERROR:
      return truncatedInput
        ? new XzError('truncated', 'xz stream ends before its end marker (truncated)', code)
        : new XzError('internal', 'xz decoder made no progress (LZMA_BUF_ERROR)', code);
    default:
      return new XzError('internal', `xz decoder failed with liblzma code ${code}`, code);
  }
}

// ---------------------------------------------------------------------------------------
// Backend: the system liblzma through koffi

/** The few koffi calls used here (typed locally; koffi comes from src/native/koffi.ts). */
interface KoffiLike {
  load(path: string): { func(decl: string): (...args: unknown[]) => unknown };
  address(value: unknown): bigint;
  sizeof(type: string): number;
}

interface LiblzmaBinding {
  streamDecoder: (strm: Buffer, memlimit: bigint, flags: number) => number;
  code: (strm: Buffer, action: number) => number;
  end: (strm: Buffer) => void;
  address: (buf: Buffer) => bigint;
  version: string;
}

// lzma_stream on a 64-bit target: next_in 0, avail_in 8, total_in 16, next_out 24,
// avail_out 32, total_out 40, allocator 48, internal 56, reserved fields to 136 bytes.
const STRM_SIZE = 136;
const OFF_NEXT_IN = 0;
const OFF_AVAIL_IN = 8;
const OFF_NEXT_OUT = 24;
const OFF_AVAIL_OUT = 32;

let liblzmaPromise: Promise<LiblzmaBinding | Error> | undefined;

function liblzmaNames(): string[] {
  switch (process.platform) {
    case 'darwin':
      return ['liblzma.5.dylib', '/opt/homebrew/lib/liblzma.5.dylib', '/usr/local/lib/liblzma.5.dylib'];
    case 'win32':
      return ['liblzma.dll'];
    default:
      return ['liblzma.so.5', 'liblzma.so'];
  }
}

async function loadLiblzma(): Promise<LiblzmaBinding | Error> {
  try {
    if (endianness() !== 'LE') return new Error('the liblzma backend supports little-endian hosts only');
    const koffi = (await loadKoffi()) as unknown as KoffiLike;
    if (koffi.sizeof('void *') !== 8 || koffi.sizeof('size_t') !== 8) {
      return new Error('the liblzma backend supports 64-bit hosts only');
    }
    let lib: ReturnType<KoffiLike['load']> | undefined;
    const failures: string[] = [];
    for (const name of liblzmaNames()) {
      try {
        lib = koffi.load(name);
        break;
      } catch (e) {
        failures.push(`${name}: ${(e as Error).message}`);
      }
    }
    if (!lib) return new Error(`system liblzma not found (${failures.join('; ')})`);
    const versionNumber = lib.func('uint32_t lzma_version_number(void)')() as number;
    // 5.0.0 stable is 50000002; lzma_stream's layout is fixed from there on.
    if (versionNumber < 50000002) return new Error(`system liblzma ${versionNumber} is older than 5.0`);
    const version = lib.func('const char *lzma_version_string(void)')() as string;
    return {
      streamDecoder: lib.func('int lzma_stream_decoder(void *strm, uint64_t memlimit, uint32_t flags)') as LiblzmaBinding['streamDecoder'],
      code: lib.func('int lzma_code(void *strm, int action)') as LiblzmaBinding['code'],
      end: lib.func('void lzma_end(void *strm)') as LiblzmaBinding['end'],
      address: (buf: Buffer) => koffi.address(buf),
      version,
    };
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

function liblzma(): Promise<LiblzmaBinding | Error> {
  liblzmaPromise ??= loadLiblzma();
  return liblzmaPromise;
}

class LiblzmaDecoder implements XzDecoder {
  readonly backend = 'liblzma' as const;
  ended = false;
  private readonly strm = Buffer.alloc(STRM_SIZE); // zero-filled: LZMA_STREAM_INIT
  private readonly inBuf = Buffer.allocUnsafeSlow(INPUT_BUFFER);
  private readonly inAddr: bigint;
  private inputDone = false;
  private open = true;

  constructor(
    private readonly lib: LiblzmaBinding,
    private readonly input: XzInput,
    memlimit: number,
  ) {
    const rc = lib.streamDecoder(this.strm, BigInt(memlimit), 0);
    if (rc !== LZMA_OK) throw lzmaFailure(rc, false);
    this.inAddr = lib.address(this.inBuf);
  }

  private availIn(): number {
    return Number(this.strm.readBigUInt64LE(OFF_AVAIL_IN));
  }

  async read(out: Buffer, offset = 0, length = out.length - offset): Promise<number> {
    if (!this.open) throw new XzError('internal', 'xz decoder used after close');
    if (offset < 0 || length < 0 || offset + length > out.length) throw new RangeError('xz read outside the buffer');
    let produced = 0;
    const outAddr = length > 0 ? this.lib.address(out) + BigInt(offset) : 0n;
    while (produced < length && !this.ended) {
      if (!this.inputDone && this.availIn() === 0) {
        const n = await this.input.read(this.inBuf, 0, this.inBuf.length);
        if (!this.open) throw new XzError('internal', 'xz decoder closed while reading');
        if (n === 0) {
          this.inputDone = true;
        } else {
          this.strm.writeBigUInt64LE(this.inAddr, OFF_NEXT_IN);
          this.strm.writeBigUInt64LE(BigInt(n), OFF_AVAIL_IN);
        }
      }
      const room = length - produced;
      this.strm.writeBigUInt64LE(outAddr + BigInt(produced), OFF_NEXT_OUT);
      this.strm.writeBigUInt64LE(BigInt(room), OFF_AVAIL_OUT);
      const rc = this.lib.code(this.strm, this.inputDone ? LZMA_FINISH : LZMA_RUN);
      produced += room - Number(this.strm.readBigUInt64LE(OFF_AVAIL_OUT));
      if (rc === LZMA_STREAM_END) {
        this.ended = true;
      } else if (rc === LZMA_BUF_ERROR && !this.inputDone && this.availIn() === 0) {
        // no progress without more input: loop and read some
      } else if (rc !== LZMA_OK) {
        throw lzmaFailure(rc, this.inputDone);
      }
    }
    return produced;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.lib.end(this.strm);
  }
}

// ---------------------------------------------------------------------------------------
// Backend: lzma-native (bundled liblzma 5.2.3)

/** The parts of lzma-native 8's native binding used here (`Object.assign(exports, native)`). */
interface LzmaNativeStream {
  streamDecoder(options: { memlimit?: number; flags?: number }): void;
  setBufsize(n: number): number;
  code(chunk: Buffer | null, async: boolean): void;
  resetUnderlying(): void;
  bufferHandler: (buf: Buffer | null | undefined, processed: number | undefined, err: unknown) => void;
}
interface LzmaNativeModule {
  Stream: new () => LzmaNativeStream;
  versionString?: () => string;
}

let lzmaNativeCache: LzmaNativeModule | Error | undefined;

function lzmaNative(): LzmaNativeModule | Error {
  if (lzmaNativeCache) return lzmaNativeCache;
  try {
    const req = createRequire(import.meta.url);
    const mod = req('lzma-native') as LzmaNativeModule;
    lzmaNativeCache = typeof mod.Stream === 'function' ? mod : new Error('lzma-native has no Stream binding');
  } catch (e) {
    lzmaNativeCache = e instanceof Error ? e : new Error(String(e));
  }
  return lzmaNativeCache;
}

/**
 * lzma-native decodes a whole input chunk at once and hands over every output buffer it
 * produced, so the output of one chunk cannot be throttled. Feeding small pieces bounds it
 * (the archives compress about 1000:1, so 512 input bytes give around half a MiB).
 */
const NATIVE_FEED = 512;
const NATIVE_BUFSIZE = 256 * 1024;

class LzmaNativeDecoder implements XzDecoder {
  readonly backend = 'lzma-native' as const;
  ended = false;
  private readonly stream: LzmaNativeStream;
  private readonly inBuf = Buffer.allocUnsafe(INPUT_BUFFER);
  private inPos = 0;
  private inLen = 0;
  private inputDone = false;
  private finishSent = false;
  private pending: Buffer[] = [];
  private pendingPos = 0;
  private streamEnd = false;
  private failure: XzError | undefined;
  private open = true;

  constructor(
    mod: LzmaNativeModule,
    private readonly input: XzInput,
    memlimit: number,
  ) {
    this.stream = new mod.Stream();
    this.stream.streamDecoder({ memlimit, flags: 0 });
    this.stream.setBufsize(NATIVE_BUFSIZE);
    this.stream.bufferHandler = (buf, _processed, err) => {
      if (buf === null) {
        if (err) {
          const code = Number((err as { code?: unknown }).code);
          this.failure = lzmaFailure(Number.isFinite(code) ? code : -1, this.finishSent);
        } else {
          this.streamEnd = true;
        }
      } else if (buf && buf.length > 0) {
        this.pending.push(buf);
      }
    };
  }

  async read(out: Buffer, offset = 0, length = out.length - offset): Promise<number> {
    if (!this.open) throw new XzError('internal', 'xz decoder used after close');
    if (offset < 0 || length < 0 || offset + length > out.length) throw new RangeError('xz read outside the buffer');
    let produced = 0;
    while (produced < length) {
      const head = this.pending[0];
      if (head) {
        const n = Math.min(head.length - this.pendingPos, length - produced);
        head.copy(out, offset + produced, this.pendingPos, this.pendingPos + n);
        produced += n;
        this.pendingPos += n;
        if (this.pendingPos === head.length) {
          this.pending.shift();
          this.pendingPos = 0;
        }
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.streamEnd) {
        this.ended = true;
        break;
      }
      if (this.inPos === this.inLen && !this.inputDone) {
        const n = await this.input.read(this.inBuf, 0, this.inBuf.length);
        if (!this.open) throw new XzError('internal', 'xz decoder closed while reading');
        this.inPos = 0;
        this.inLen = n;
        if (n === 0) this.inputDone = true;
      }
      if (this.inPos < this.inLen) {
        const end = Math.min(this.inPos + NATIVE_FEED, this.inLen);
        const piece = this.inBuf.subarray(this.inPos, end);
        this.inPos = end;
        this.stream.code(piece, false); // synchronous: the handler has run when this returns
      } else if (!this.finishSent) {
        this.finishSent = true;
        this.stream.code(null, false);
      } else {
        throw new XzError('truncated', 'xz stream ends before its end marker (truncated)');
      }
    }
    return produced;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.pending = [];
    try {
      this.stream.resetUnderlying();
    } catch {
      // already reset after the end of the stream or an error
    }
  }
}

// ---------------------------------------------------------------------------------------
// Choosing a backend

function requestedBackend(opts: XzOptions): XzBackendName | undefined {
  if (opts.backend) return opts.backend;
  const env = process.env.FS3BURN_XZ;
  if (env === 'liblzma' || env === 'lzma-native') return env;
  return undefined;
}

export interface XzBackendInfo {
  name: XzBackendName;
  available: boolean;
  /** liblzma version string, or why the backend cannot be used. */
  detail: string;
}

/** Which backends this host can use (for tests, benchmarks and diagnostics). */
export async function xzBackends(): Promise<XzBackendInfo[]> {
  const sys = await liblzma();
  const nat = lzmaNative();
  return [
    sys instanceof Error
      ? { name: 'liblzma', available: false, detail: sys.message }
      : { name: 'liblzma', available: true, detail: `liblzma ${sys.version}` },
    nat instanceof Error
      ? { name: 'lzma-native', available: false, detail: nat.message }
      : { name: 'lzma-native', available: true, detail: `lzma-native (liblzma ${nat.versionString?.() ?? '?'})` },
  ];
}

/** A streaming xz decoder over `input`, on the fastest backend available (or the one asked). */
export async function createXzDecoder(input: XzInput, opts: XzOptions = {}): Promise<XzDecoder> {
  const memlimit = opts.memlimit ?? DEFAULT_MEMLIMIT;
  const want = requestedBackend(opts);
  if (want !== 'lzma-native') {
    const sys = await liblzma();
    if (!(sys instanceof Error)) return new LiblzmaDecoder(sys, input, memlimit);
    if (want === 'liblzma') throw new XzError('internal', `the liblzma xz backend is unavailable: ${sys.message}`);
  }
  const nat = lzmaNative();
  if (nat instanceof Error) throw new XzError('internal', `no xz decoder available: lzma-native: ${nat.message}`);
  return new LzmaNativeDecoder(nat, input, memlimit);
}

/** An XzInput over bytes in memory. */
export function bufferInput(data: Uint8Array): XzInput {
  let pos = 0;
  return {
    read(buf, offset, length) {
      const n = Math.min(length, data.length - pos);
      buf.set(data.subarray(pos, pos + n), offset);
      pos += n;
      return Promise.resolve(n);
    },
  };
}

/** Decode a whole (small) xz stream held in memory; refuses output larger than `maxOut`. */
export async function xzDecodeBuffer(data: Uint8Array, maxOut: number, opts: XzOptions = {}): Promise<Buffer> {
  const dec = await createXzDecoder(bufferInput(data), opts);
  try {
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const n = await dec.read(chunk);
      if (n > 0) {
        total += n;
        if (total > maxOut) throw new XzError('corrupt', `xz stream decodes to more than ${maxOut} bytes`);
        parts.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      }
      if (dec.ended) break;
    }
    return Buffer.concat(parts, total);
  } finally {
    dec.close();
  }
}

// ---------------------------------------------------------------------------------------
// xz container: stream header, footer and index (xz file format 1.x), read without decoding

export const XZ_HEADER_SIZE = 12;
export const XZ_FOOTER_SIZE = 12;
const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const XZ_FOOTER_MAGIC = [0x59, 0x5a];
const CHECK_NAMES = ['None', 'CRC32', '?2', '?3', 'CRC64', '?5', '?6', '?7', '?8', '?9', 'SHA-256'];

export interface XzStreamInfo {
  /** Integrity check of the blocks, from the stream flags. */
  check: string;
  blocks: number;
  uncompressedSize: number;
  /** Bytes of the index plus footer at the end of the stream. */
  tailSize: number;
}

/** True when `head` starts with the xz stream magic. */
export function hasXzMagic(head: Uint8Array): boolean {
  return head.length >= 6 && XZ_MAGIC.every((b, i) => head[i] === b);
}

/** Checks a 12-byte stream header; returns the check type (throws XzError). */
export function parseXzHeader(head: Uint8Array): number {
  if (head.length < XZ_HEADER_SIZE || !hasXzMagic(head)) throw new XzError('format', 'no xz stream header');
  const stored = Buffer.from(head.buffer, head.byteOffset + 8, 4).readUInt32LE(0);
  if (crc32(head.subarray(6, 8)) !== stored) throw new XzError('corrupt', 'xz stream header CRC32 mismatch');
  if (head[6] !== 0 || (head[7]! & 0xf0) !== 0) throw new XzError('options', 'xz stream flags not supported');
  return head[7]! & 0x0f;
}

/** Backward size from a 12-byte stream footer: how many index bytes precede it. */
export function parseXzFooter(foot: Uint8Array): { indexSize: number; check: number } {
  if (foot.length !== XZ_FOOTER_SIZE || foot[10] !== XZ_FOOTER_MAGIC[0] || foot[11] !== XZ_FOOTER_MAGIC[1]) {
    throw new XzError('truncated', 'no xz stream footer (the stream is cut short or overwritten)');
  }
  const b = Buffer.from(foot.buffer, foot.byteOffset, foot.length);
  if (crc32(b.subarray(4, 10)) !== b.readUInt32LE(0)) throw new XzError('corrupt', 'xz stream footer CRC32 mismatch');
  if (b[8] !== 0 || (b[9]! & 0xf0) !== 0) throw new XzError('options', 'xz stream flags not supported');
  return { indexSize: (b.readUInt32LE(4) + 1) * 4, check: b[9]! & 0x0f };
}

/** Reads the index (the bytes right before the footer) and sums the blocks' sizes. */
export function parseXzIndex(index: Uint8Array, check: number): XzStreamInfo {
  const fail = (what: string) => new XzError('corrupt', `xz index is damaged: ${what}`);
  if (index.length < 8 || index[0] !== 0) throw fail('no index indicator');
  const body = index.subarray(0, index.length - 4);
  const stored = Buffer.from(index.buffer, index.byteOffset + index.length - 4, 4).readUInt32LE(0);
  if (crc32(body) !== stored) throw fail('CRC32 mismatch');
  let pos = 1;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 9; i++) {
      if (pos >= body.length) throw fail('runs past its end');
      const byte = body[pos++]!;
      value += (byte & 0x7f) * scale;
      if (!(byte & 0x80)) {
        if (i > 0 && byte === 0) throw fail('non-minimal number');
        if (!Number.isSafeInteger(value)) throw fail('number too large');
        return value;
      }
      scale *= 128;
    }
    throw fail('number too long');
  };
  const blocks = varint();
  let uncompressedSize = 0;
  for (let i = 0; i < blocks; i++) {
    varint(); // unpadded size
    uncompressedSize += varint();
  }
  if (!Number.isSafeInteger(uncompressedSize)) throw fail('sizes too large');
  while (pos % 4 !== 0) {
    if (body[pos++] !== 0) throw fail('non-zero padding');
  }
  if (pos !== body.length) throw fail('trailing bytes');
  return {
    check: CHECK_NAMES[check] ?? `?${check}`,
    blocks,
    uncompressedSize,
    tailSize: index.length + XZ_FOOTER_SIZE,
  };
}
