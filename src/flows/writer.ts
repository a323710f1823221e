/**
 * The chunked flash writer (style-anchors: flashrom). It works at the flash's own
 * granularity: a 4 KiB sector is read first and skipped when it already holds the wanted
 * bytes; it is erased only when some bit must go from 0 to 1; the bytes that differ are
 * programmed in the access method's block size (128-B MFBA blocks through the FW, 256-B pages
 * through the gateway; fs3-facts.md §4.2–§4.3); then the sector is read back and compared.
 *
 * Transient device errors (busy, timeouts, ICMD status 5; writer-retry.ts) are retried per
 * sector with p-retry — bounded, with backoff — and a retried sector starts again from its
 * read, so a half-done attempt is finished rather than repeated blindly. Permanent errors
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
import { isIcmdStall, isTransient, resolveRetry, type RetryPolicy } from './writer-retry.js';
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
}

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

export class ChunkedWriter {
  private current: FlashAccess;
  private readonly policy: RetryPolicy;
  private readonly verify: boolean;
  /** Totals over every call. */
  readonly stats: WriterStats = emptyStats();
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
    for (const [i, job] of jobs.entries()) {
      if (this.opts.yieldBetweenSectors !== false) await yieldNow();
      if (this.opts.signal?.aborted) {
        throw new Fs3BurnError('BURN_ABORTED', `${phase}: stopped before sector 0x${job.addr.toString(16)} (${i} of ${jobs.length} sectors done)`, {
          data: { phase, sector: job.addr, sectorsDone: i, sectorsTotal: jobs.length, reason: String(this.opts.signal.reason ?? 'aborted') },
        });
      }
      await this.runJob(phase, job, erase, call.blind === true, report);
      done += job.weight;
      this.opts.onEvent?.({ phase, done, total });
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
      const { value: mismatch } = await this.retrying(phase, job, () => {
        for (const p of job.pieces) {
          const got = this.current.read(job.addr + p.off, p.bytes.length);
          const d = firstDifference(got, p.bytes);
          if (d >= 0) return job.addr + p.off + d;
        }
        return -1;
      });
      done += job.weight;
      this.opts.onEvent?.({ phase, done, total });
      if (mismatch >= 0) return { equal: false, firstMismatch: mismatch };
    }
    return { equal: true };
  }

  private async runJob(phase: string, job: SectorJob, erase: EraseMode, blind: boolean, report: WriterStats): Promise<void> {
    const { value: r, retries } = await this.retrying(phase, job, () => (blind ? this.blindSector(job, erase) : this.sector(job, erase)));
    report.sectors++;
    report.retries += retries;
    if (r.outcome === 'skipped') {
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
  private async retrying<T>(phase: string, job: SectorJob, work: () => T): Promise<{ value: T; retries: number }> {
    let retries = 0;
    const once = () =>
      pRetry(() => work(), {
        retries: this.policy.retries,
        minTimeout: this.policy.minTimeoutMs,
        maxTimeout: this.policy.maxTimeoutMs,
        factor: 2,
        randomize: false,
        shouldRetry: ({ error }) => isTransient(error),
        onFailedAttempt: ({ error, retriesLeft }) => {
          if (isTransient(error) && retriesLeft > 0) {
            retries++;
            this.stats.retries++;
          }
        },
      });
    try {
      return { value: await once(), retries };
    } catch (e) {
      if (!this.tryFallback(e)) throw this.annotate(e, phase, job);
      try {
        return { value: await once(), retries };
      } catch (e2) {
        throw this.annotate(e2, phase, job);
      }
    }
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
    const cur = f.read(at, hi - lo);
    const want = cur.slice();
    for (const p of job.pieces) want.set(p.bytes, p.off - lo);
    if (sameBytes(cur, want)) return { outcome: 'skipped', erased: false, bytes: 0 };

    let base = cur;
    let erased = false;
    if (needsErase(cur, want)) {
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
    return { outcome: 'written', erased, bytes };
  }
}
