/**
 * The chunked flash writer (style-anchors: flashrom). It works at the flash's own
 * granularity: a 4 KiB sector is read first and skipped when it already holds the wanted
 * bytes; it is erased only when some bit must go from 0 to 1; the bytes that differ are
 * programmed in the access method's block size (128-B MFBA blocks through the FW, 256-B pages
 * through the gateway; fs3-facts.md §4.2–§4.3); then the sector is read back and compared.
 *
 * Transient device errors (busy, timeouts, ICMD status 5; writer-retry.ts) and a read-back
 * that differs are retried per sector with p-retry — bounded, with backoff — and a retried
 * sector starts again from its read, so a half-done attempt is finished rather than repeated
 * blindly. Permanent errors
 * (write protection, bad parameter) fail at once. When the FW path stalls for good (the ICMD
 * busy bit never clears), an optional `fallback` may hand over another flash access (the direct
 * gateway, §4.1) and the writer continues there.
 *
 * An AbortSignal is honoured only between sectors, which are the writer's safe points.
 */
import pRetry from 'p-retry';
import { Fs3BurnError, isFs3BurnError } from '../errors.js';
import type { FlashAccess } from '../flash/types.js';
import type { BurnEvent } from './types.js';
import { isIcmdStall, isRewritable, resolveRetry, type RetryPolicy } from './writer-retry.js';
import { allErased, firstDifference, needsErase, programSpans, sameBytes } from './writer-sector.js';

/** Bytes wanted at a physical flash address. */
export interface WriteRegion {
  addr: number;
  bytes: Uint8Array;
}

/** 'auto': erase a sector when a bit must go 0 → 1; 'never': program only (flint's noerase writes). */
export type EraseMode = 'auto' | 'never';

export interface WriteCallOptions {
  erase?: EraseMode;
  /**
   * flint's way (`Flash::write`, fs3-facts.md §2.3): no read first — with erase 'auto' every
   * touched sector is erased, then the region bytes are programmed (bytes of the sector outside
   * the regions are left erased). Used by `flintOrder` to reproduce flint's exact traffic.
   */
  blind?: boolean;
}

export interface WriterOptions {
  retry?: Partial<RetryPolicy>;
  /** Read back and compare every changed sector (default true; flint --no_flash_verify turns it off). */
  verify?: boolean;
  /** Checked before every sector (the safe points). */
  signal?: AbortSignal;
  onEvent?: (e: BurnEvent) => void;
  /**
   * Called once when a sector still fails with an ICMD stall after its retries while the FW
   * path is in use; may return another flash access (the direct gateway) to continue with.
   */
  fallback?: (cause: Fs3BurnError) => FlashAccess | undefined;
  /** Yield to the event loop between sectors (default true) so an abort from a timer can land. */
  yieldBetweenSectors?: boolean;
}

export interface WriterStats {
  sectors: number;
  sectorsSkipped: number;
  sectorsErased: number;
  sectorsWritten: number;
  bytesWritten: number;
  retries: number;
  /** Skipped sectors whose wanted bytes were not all 0xFF: someone wrote them before (resume). */
  sectorsAlreadyWritten: number;
}

export type WriteReport = WriterStats;

export interface CompareReport {
  equal: boolean;
  /** Physical address of the first differing byte. */
  firstMismatch?: number;
}

interface Piece {
  /** Offset inside the sector. */
  off: number;
  bytes: Uint8Array;
  region: number;
}

interface SectorJob {
  addr: number;
  pieces: Piece[];
  /** Region bytes in this sector (progress). */
  weight: number;
  /** The sector's first dword as a 64 KiB group's probe read it (reused by the sector's own read). */
  probe?: Uint8Array;
}

/** A 64 KiB block erase replaces 16 sector erases (§4.3 MFBE bulk64, when the flash access offers it). */
const BLOCK64 = 0x10000;

const emptyStats = (): WriterStats => ({
  sectors: 0,
  sectorsSkipped: 0,
  sectorsErased: 0,
  sectorsWritten: 0,
  bytesWritten: 0,
  retries: 0,
  sectorsAlreadyWritten: 0,
});

/** Add a call's counts to the totals (retries are counted into the totals as they happen). */
function addStats(into: WriterStats, from: WriterStats): void {
  for (const k of Object.keys(into) as (keyof WriterStats)[]) if (k !== 'retries') into[k] += from[k];
}

const yieldNow = () => new Promise<void>((r) => setImmediate(r));

/** Split regions into per-sector jobs, in ascending address order (a later region wins where two overlap). */
export function sectorJobs(regions: readonly WriteRegion[], sectorSize: number): SectorJob[] {
  const jobs = new Map<number, SectorJob>();
  regions.forEach((r, region) => {
    let pos = r.addr;
    const end = r.addr + r.bytes.length;
    while (pos < end) {
      const sector = pos - (pos % sectorSize);
      const n = Math.min(end, sector + sectorSize) - pos;
      let job = jobs.get(sector);
      if (!job) jobs.set(sector, (job = { addr: sector, pieces: [], weight: 0 }));
      job.pieces.push({ off: pos - sector, bytes: r.bytes.subarray(pos - r.addr, pos - r.addr + n), region });
      job.weight += n;
      pos += n;
    }
  });
  return [...jobs.values()].sort((a, b) => a.addr - b.addr);
}

/** Whether the job's pieces cover every byte of its sector. */
function coversSector(job: SectorJob, sectorSize: number): boolean {
  if (job.weight < sectorSize) return false;
  const spans = job.pieces.map((p) => [p.off, p.off + p.bytes.length] as const).sort((a, b) => a[0] - b[0]);
  let end = 0;
  for (const [a, b] of spans) {
    if (a > end) return false;
    end = Math.max(end, b);
  }
  return end >= sectorSize;
}

export class ChunkedWriter {
  private current: FlashAccess;
  private readonly policy: RetryPolicy;
  private readonly verify: boolean;
  /** Totals over every call. */
  readonly stats: WriterStats = emptyStats();
  /**
   * Sectors a 64 KiB group attempt erased (and maybe finished: the bytes it programmed) before
   * the group gave way to sector-by-sector work: that work then counts them as written, not as
   * found already written.
   */
  private readonly byGroup = new Map<number, { bytes: number | undefined }>();
  /** Set when the writer moved to the fallback access, with the error that made it. */
  fellBack: { from: string; to: string; cause: Fs3BurnError } | undefined;

  constructor(
    flash: FlashAccess,
    private readonly opts: WriterOptions = {},
  ) {
    this.current = flash;
    this.policy = resolveRetry(opts.retry);
    this.verify = opts.verify ?? true;
  }

  /** The flash access in use (it changes after a fallback). */
  get flash(): FlashAccess {
    return this.current;
  }

  /** Write `regions` (physical addresses) for progress phase `phase`. */
  async write(phase: string, regions: readonly WriteRegion[], call: WriteCallOptions = {}): Promise<WriteReport> {
    const erase = call.erase ?? 'auto';
    const report = emptyStats();
    const jobs = sectorJobs(regions, this.current.sectorSize);
    const total = jobs.reduce((t, j) => t + j.weight, 0);
    let done = 0;
    this.opts.onEvent?.({ phase, done, total });
    for (let i = 0; i < jobs.length; ) {
      const job = jobs[i]!;
      if (this.opts.yieldBetweenSectors !== false) await yieldNow();
      if (this.opts.signal?.aborted) {
        throw new Fs3BurnError('BURN_ABORTED', `${phase}: stopped before sector 0x${job.addr.toString(16)} (${i} of ${jobs.length} sectors done)`, {
          data: { phase, sector: job.addr, sectorsDone: i, sectorsTotal: jobs.length, reason: String(this.opts.signal.reason ?? 'aborted') },
        });
      }
      const group = erase === 'auto' && call.blind !== true ? this.blockGroup(jobs, i) : undefined;
      if (group && (await this.runGroup(phase, group, report))) {
        for (const g of group) {
          done += g.weight;
          this.opts.onEvent?.({ phase, done, total });
        }
        i += group.length;
        continue;
      }
      await this.runJob(phase, job, erase, call.blind === true, report);
      done += job.weight;
      this.opts.onEvent?.({ phase, done, total });
      i++;
    }
    addStats(this.stats, report);
    return report;
  }

  /** Read `len` bytes at `addr` with the same retries (and fallback) as a sector. */
  async read(phase: string, addr: number, len: number): Promise<Uint8Array> {
    const job: SectorJob = { addr: addr - (addr % this.current.sectorSize), pieces: [{ off: addr % this.current.sectorSize, bytes: new Uint8Array(len), region: 0 }], weight: len };
    return (await this.retrying(phase, job, () => this.current.read(addr, len))).value;
  }

  /** Read `regions` back and compare, writing nothing (a verify-only pass, with the same retries). */
  async compare(phase: string, regions: readonly WriteRegion[]): Promise<CompareReport> {
    const jobs = sectorJobs(regions, this.current.sectorSize);
    const total = jobs.reduce((t, j) => t + j.weight, 0);
    let done = 0;
    for (const job of jobs) {
      if (this.opts.yieldBetweenSectors !== false) await yieldNow();
      if (this.opts.signal?.aborted) throw new Fs3BurnError('BURN_ABORTED', `${phase}: stopped before sector 0x${job.addr.toString(16)}`, { data: { phase, sector: job.addr } });
      const { value: mismatch } = await this.retrying(phase, job, () => this.inSession(() => {
        for (const p of job.pieces) {
          const got = this.current.read(job.addr + p.off, p.bytes.length);
          const d = firstDifference(got, p.bytes);
          if (d >= 0) return job.addr + p.off + d;
        }
        return -1;
      }));
      done += job.weight;
      this.opts.onEvent?.({ phase, done, total });
      if (mismatch >= 0) return { equal: false, firstMismatch: mismatch };
    }
    return { equal: true };
  }

  /**
   * The 16 jobs from `i` when they fill one 64 KiB block, each sector wholly covered by the
   * regions (no bytes of their own to keep across an erase) and the flash access can erase
   * 64 KiB at once; else undefined.
   */
  private blockGroup(jobs: readonly SectorJob[], i: number): SectorJob[] | undefined {
    const f = this.current;
    const n = BLOCK64 / f.sectorSize;
    const first = jobs[i]!;
    if (!f.erase64k || first.addr % BLOCK64 !== 0 || i + n > jobs.length) return undefined;
    const group = jobs.slice(i, i + n);
    for (const [k, j] of group.entries()) {
      if (j.addr !== first.addr + k * f.sectorSize || !coversSector(j, f.sectorSize)) return undefined;
    }
    return group;
  }

  /**
   * Write a 64 KiB group: probe each sector's first dword; when it differs from the wanted
   * one in every sector, erase the block once (§4.3 MFBE bulk64: 150 ms for 64 KiB against
   * 16 × 45 ms, W25Q128-class, src/sim/time.ts), then program and read back sector by sector.
   * A probe that differs without a 0 → 1 bit (erased flash, say) does not prove the sector
   * needs an erase, but proving that it does not means reading it whole (32 MFBA reads); for
   * a block whose bytes are all rewritten anyway the erase is the cheaper way, and flint erases
   * every sector it writes. When some sector's first dword already matches (the same image, a
   * burn to resume), nothing is written here (false): the sectors then go one by one, reusing
   * the probes, and only what differs is erased. Retried as a whole; a retry after a partial
   * attempt finds finished sectors and returns false.
   */
  private async runGroup(phase: string, group: SectorJob[], report: WriterStats): Promise<boolean> {
    let current = group[0]!;
    const { value: bytes, retries } = await this.retrying(phase, () => current, (): number[] | false => {
      const f = this.current;
      if (!f.erase64k) return false;
      const wants = group.map((j) => {
        const want = new Uint8Array(f.sectorSize).fill(0xff);
        for (const p of j.pieces) want.set(p.bytes, p.off);
        return want;
      });
      let all = true;
      this.inSession(() => {
        for (const [k, j] of group.entries()) {
          current = j;
          j.probe = f.read(j.addr, 4);
          if (sameBytes(j.probe, wants[k]!.subarray(0, 4))) all = false;
        }
      });
      if (!all) return false;
      current = group[0]!;
      // the probes describe the flash before the erase: drop them first
      for (const j of group) j.probe = undefined;
      this.inSession(() => f.erase64k!(group[0]!.addr));
      for (const j of group) this.byGroup.set(j.addr, { bytes: undefined });
      const erased = new Uint8Array(f.sectorSize).fill(0xff);
      return group.map((j, k) => {
        current = j;
        const n = this.inSession(() => this.programAndVerify(j, 0, f.sectorSize, j.addr, erased, wants[k]!, true));
        this.byGroup.get(j.addr)!.bytes = n;
        return n;
      });
    });
    report.retries += retries;
    if (bytes) for (const j of group) this.byGroup.delete(j.addr);
    if (!bytes) return false;
    for (const b of bytes) {
      report.sectors++;
      report.sectorsWritten++;
      report.sectorsErased++;
      report.bytesWritten += b;
    }
    return true;
  }

  private async runJob(phase: string, job: SectorJob, erase: EraseMode, blind: boolean, report: WriterStats): Promise<void> {
    const { value: r, retries } = await this.retrying(phase, job, () => this.inSession(() => (blind ? this.blindSector(job, erase) : this.sector(job, erase))));
    report.sectors++;
    report.retries += retries;
    const group = this.byGroup.get(job.addr);
    this.byGroup.delete(job.addr);
    if (group) {
      // erased by an attempt of its 64 KiB group, perhaps finished there too: written by this call
      report.sectorsWritten++;
      report.sectorsErased++;
      report.bytesWritten += r.outcome === 'skipped' ? (group.bytes ?? 0) : r.bytes;
    } else if (r.outcome === 'skipped') {
      report.sectorsSkipped++;
      if (job.pieces.some((p) => !allErased(p.bytes))) report.sectorsAlreadyWritten++;
    } else {
      report.sectorsWritten++;
      if (r.erased) report.sectorsErased++;
      report.bytesWritten += r.bytes;
    }
  }

  /**
   * Run one sector's work under p-retry (transient errors only), and once more through the
   * fallback access when the FW path stalls for good.
   */
  private async retrying<T>(phase: string, jobOrCurrent: SectorJob | (() => SectorJob), work: () => T): Promise<{ value: T; retries: number }> {
    const jobNow = () => (typeof jobOrCurrent === 'function' ? jobOrCurrent() : jobOrCurrent);
    let retries = 0;
    const once = () =>
      pRetry(() => work(), {
        retries: this.policy.retries,
        minTimeout: this.policy.minTimeoutMs,
        maxTimeout: this.policy.maxTimeoutMs,
        factor: 2,
        randomize: false,
        shouldRetry: ({ error }) => isRewritable(error),
        onFailedAttempt: ({ error, retriesLeft }) => {
          if (isRewritable(error) && retriesLeft > 0) {
            retries++;
            this.stats.retries++;
          }
        },
      });
    try {
      return { value: await once(), retries };
    } catch (e) {
      if (!this.tryFallback(e)) throw this.annotate(e, phase, jobNow());
      try {
        return { value: await once(), retries };
      } catch (e2) {
        throw this.annotate(e2, phase, jobNow());
      }
    }
  }

  /** A sector's work under one session of the flash access (FW access: one ICMD semaphore hold). */
  private inSession<T>(fn: () => T): T {
    const f = this.current;
    return f.session ? f.session(fn) : fn();
  }

  private tryFallback(e: unknown): boolean {
    if (this.fellBack || !this.opts.fallback || this.current.method !== 'fw' || !isIcmdStall(e) || !isFs3BurnError(e)) return false;
    const next = this.opts.fallback(e);
    if (!next) return false;
    this.fellBack = { from: this.current.method, to: next.method, cause: e };
    this.current = next;
    return true;
  }

  private annotate(e: unknown, phase: string, job: SectorJob): unknown {
    if (!isFs3BurnError(e)) return e;
    const first = job.pieces[0]!;
    return new Fs3BurnError(e.code, e.message, {
      ...(e.hint !== undefined ? { hint: e.hint } : {}),
      data: {
        ...e.data,
        phase,
        sector: job.addr,
        pieceAddress: job.addr + first.off,
        pieceLength: job.pieces.reduce((n, p) => n + p.bytes.length, 0),
        region: first.region,
        method: this.current.method,
      },
      cause: e,
    });
  }

  /** flint's way: erase on first touch (erase 'auto'), program the pieces, read them back. */
  private blindSector(job: SectorJob, erase: EraseMode): { outcome: 'skipped' | 'written'; erased: boolean; bytes: number } {
    const f = this.current;
    if (erase === 'auto') f.erase4k(job.addr);
    let bytes = 0;
    for (const p of job.pieces) {
      f.write(job.addr + p.off, p.bytes);
      bytes += p.bytes.length;
    }
    if (this.verify) {
      for (const p of job.pieces) {
        const back = f.read(job.addr + p.off, p.bytes.length);
        const d = firstDifference(back, p.bytes);
        if (d >= 0) {
          const at = job.addr + p.off + d;
          throw new Fs3BurnError('BURN_VERIFY_FAILED', `read-back at 0x${at.toString(16)} differs: wrote 0x${p.bytes[d]!.toString(16)}, read 0x${back[d]!.toString(16)}`, {
            data: { sector: job.addr, address: at, wrote: p.bytes[d], read: back[d] },
          });
        }
      }
    }
    return { outcome: 'written', erased: erase === 'auto', bytes };
  }

  /** One attempt at one sector: read, compare, erase if needed, program the differences, read back. */
  private sector(job: SectorJob, erase: EraseMode): { outcome: 'skipped' | 'written'; erased: boolean; bytes: number } {
    const f = this.current;
    // the bytes this attempt reads and owns: the whole sector when it may be erased (to keep the
    // bytes around the pieces), else only the dword-aligned span of the pieces
    let lo = 0;
    let hi = f.sectorSize;
    if (erase === 'never') {
      lo = Math.min(...job.pieces.map((p) => p.off)) & ~3;
      hi = Math.max(...job.pieces.map((p) => p.off + p.bytes.length));
      hi = (hi + 3) & ~3;
    }
    const at = job.addr + lo;
    const { cur, want, mustErase } = erase === 'never' ? this.readAll(job, at, lo, hi) : this.readUntilErase(job, at, lo, hi);
    if (!mustErase && sameBytes(cur, want)) return { outcome: 'skipped', erased: false, bytes: 0 };

    let base = cur;
    let erased = false;
    if (mustErase) {
      if (erase === 'never') {
        const d = firstDifference(cur, want);
        throw new Fs3BurnError('BURN_WRITE_FAILED', `cannot program 0x${(at + d).toString(16)} without an erase: the flash holds 0x${cur[d]!.toString(16)} where 0x${want[d]!.toString(16)} is wanted`, {
          data: { address: at + d, have: cur[d], want: want[d] },
        });
      }
      f.erase4k(job.addr);
      erased = true;
      base = new Uint8Array(cur.length).fill(0xff);
    }
    const bytes = this.programAndVerify(job, lo, hi, at, base, want, erased);
    return { outcome: 'written', erased, bytes };
  }

  /** Program what differs between `base` and `want` over [lo, hi) of the sector, read it back and compare. */
  private programAndVerify(job: SectorJob, lo: number, hi: number, at: number, base: Uint8Array, want: Uint8Array, erased: boolean): number {
    const f = this.current;
    let bytes = 0;
    for (const s of programSpans(base, want, at, f.blockSize)) {
      f.write(at + s.offset, want.subarray(s.offset, s.offset + s.length));
      bytes += s.length;
    }
    if (this.verify) {
      let back = f.read(at, hi - lo);
      if (!sameBytes(back, want)) back = f.read(at, hi - lo); // flashrom: re-read before calling it a failure
      const d = firstDifference(back, want);
      if (d >= 0) {
        throw new Fs3BurnError('BURN_VERIFY_FAILED', `read-back of the sector at 0x${job.addr.toString(16)} differs at 0x${(at + d).toString(16)}: wrote 0x${want[d]!.toString(16)}, read 0x${back[d]!.toString(16)}`, {
          hint: 'the flash did not take the write (a failing part, or a write the firmware acknowledged but did not do); the sector is in an unknown state',
          data: { sector: job.addr, address: at + d, wrote: want[d], read: back[d], erased },
        });
      }
    }
    return bytes;
  }

  /** Read [lo, hi) of the sector and lay the pieces over it. */
  private readAll(job: SectorJob, at: number, lo: number, hi: number): { cur: Uint8Array; want: Uint8Array; mustErase: boolean } {
    const cur = this.current.read(at, hi - lo);
    const want = cur.slice();
    for (const p of job.pieces) want.set(p.bytes, p.off - lo);
    return { cur, want, mustErase: needsErase(cur, want) };
  }

  /**
   * Read the sector block by block only until it is known to need an erase: first a probe of
   * the first dword (a sector that holds other data almost always needs one there), then the
   * blocks in order. Once an erase is certain, what the flash holds under the pieces no longer
   * matters; only the bytes outside them (kept across the erase) are still read. A sector that
   * needs no erase (the same bytes, erased flash, bits only to clear) is read whole, as before.
   */
  private readUntilErase(job: SectorJob, at: number, lo: number, hi: number): { cur: Uint8Array; want: Uint8Array; mustErase: boolean } {
    const f = this.current;
    const len = hi - lo;
    const cur = new Uint8Array(len).fill(0xff);
    const want = new Uint8Array(len).fill(0xff);
    const covered = new Uint8Array(len);
    for (const p of job.pieces) {
      want.set(p.bytes, p.off - lo);
      covered.fill(1, p.off - lo, p.off - lo + p.bytes.length);
    }
    const bs = f.blockSize;
    const readInto = (from: number, to: number) => {
      cur.set(f.read(at + from, to - from), from);
      for (let i = from; i < to; i++) if (covered[i] === 0) want[i] = cur[i]!;
    };
    const conflict = (from: number, to: number) => {
      for (let i = from; i < to; i++) if ((cur[i]! & want[i]!) !== want[i]) return true;
      return false;
    };
    let mustErase = false;
    let done = 0; // bytes [0, done) are read
    const probe = Math.min(4, len);
    if (job.probe && lo === 0 && probe === 4) {
      cur.set(job.probe, 0);
      for (let i = 0; i < probe; i++) if (covered[i] === 0) want[i] = cur[i]!;
      job.probe = undefined;
    } else {
      readInto(0, probe);
    }
    done = probe;
    mustErase = conflict(0, probe);
    while (!mustErase && done < len) {
      const end = Math.min(len, done - ((at + done) % bs) + bs);
      readInto(done, end);
      mustErase = conflict(done, end);
      done = end;
    }
    if (mustErase) {
      // keep what lies outside the pieces: read the blocks that hold such bytes
      for (let b = done; b < len; ) {
        const end = Math.min(len, b - ((at + b) % bs) + bs);
        let needed = false;
        for (let i = b; i < end; i++) {
          if (covered[i] === 0) {
            needed = true;
            break;
          }
        }
        if (needed) readInto(b, end);
        b = end;
      }
    }
    return { cur, want, mustErase };
  }
}
