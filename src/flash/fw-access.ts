/**
 * FW access (§4.1, §4.3): the firmware programs the flash for us through the MFBA (read /
 * program, 128 B per block on CX4LX) and MFBE (4 KiB erase) access registers over ICMD.
 * The flash-programming semaphore (space 0xA offset 0x10, 40 tries, §4.3 / §5.3) is taken
 * at the first write or erase and held for the session, until close().
 */
import { Fs3BurnError, isFs3BurnError } from '../errors.js';
import type { RegisterAccess } from '../registers/access.js';
import { MFBA_CX4LX_BLOCK, MFBA_MAX_DATA, mfbaRead, mfbaReadInto, mfbaWrite, mfbaWriteFrom } from '../registers/mfba.js';
import { mfbeErase } from '../registers/mfbe.js';
import type { AddressSpaceAccess } from '../transport/mst/address-space.js';
import { realClock, type Clock } from '../vsec/clock.js';
import { FLASH_SEMAPHORE, takePidSemaphore, type HeldSemaphore } from '../vsec/pid-semaphore.js';
import { checkRange, checkSectorAligned, closedError, forEachWindow } from './checks.js';
import { emptyFlashStats, SECTOR_SIZE, type FlashAccess, type FlashStats } from './types.js';

export interface FwFlashOptions {
  /** MFBA block (default 128, §4.3 CX4LX). Must be a multiple of 4, at most 256. */
  blockSize?: number;
  /** Flash size, when known (MFPA's JEDEC density). */
  size?: number;
  clock?: Clock;
  /** Owner id for the flash-programming semaphore (default process.pid). */
  ownerId?: number;
  /** Flash-programming semaphore tries (§5.3: 40). */
  semaphoreTries?: number;
  /** Flash select (bank), MFBA / MFBE fs field. */
  fs?: number;
  /** The FW erases 64 KiB blocks (MFPA dw4 bulk64_en, §4.3): offer erase64k (MFBE bit 29). */
  bulk64?: boolean;
  stats?: FlashStats;
}

/** Re-throw `e` with the flash operation and address in its message and data. */
export function flashOpError(e: unknown, op: string, addr: number, len: number): unknown {
  if (!isFs3BurnError(e)) return e;
  // ICMD status 7 (§6.1) is the FW refusing a write-protected flash: one code for both methods
  const code = e.code === 'ICMD_WRITE_PROTECTED' ? 'FLASH_WRITE_PROTECTED' : e.code;
  const where = op === 'write' ? 'to' : 'at';
  return new Fs3BurnError(code, `Flash ${op} of ${len} bytes ${where} address 0x${addr.toString(16)} failed: ${e.message}`, {
    ...(e.hint !== undefined ? { hint: e.hint } : {}),
    data: { ...e.data, flashOp: op, flashAddress: addr, flashLength: len, ...(code !== e.code ? { causeCode: e.code } : {}) },
    cause: e,
  });
}

/** Flash bytes read or written under one ICMD session at most (a sector: 32 MFBA commands). */
export const SESSION_BYTES = 0x1000;
const BLOCK64 = 0x10000;

export class FwFlashAccess implements FlashAccess {
  readonly method = 'fw' as const;
  readonly blockSize: number;
  readonly sectorSize = SECTOR_SIZE;
  readonly size: number | undefined;
  readonly stats: FlashStats;
  private sem: HeldSemaphore | undefined;
  private closed = false;
  readonly erase64k: ((addr: number) => void) | undefined;

  constructor(
    private readonly regs: RegisterAccess,
    private readonly access: AddressSpaceAccess,
    private readonly opts: FwFlashOptions = {},
  ) {
    const bs = opts.blockSize ?? MFBA_CX4LX_BLOCK;
    if (bs <= 0 || bs > MFBA_MAX_DATA || bs % 4 !== 0) throw new RangeError(`MFBA block size ${bs} must be a multiple of 4 in 4..256`);
    this.blockSize = bs;
    this.size = opts.size;
    this.stats = opts.stats ?? emptyFlashStats();
    this.erase64k = opts.bulk64 ? (addr) => this.eraseBlock64(addr) : undefined;
  }

  private get mfbaOpts(): { fs: number } {
    return { fs: this.opts.fs ?? 0 };
  }

  /** Whether the flash-programming semaphore is held now. */
  get sessionOpen(): boolean {
    return this.sem !== undefined;
  }

  /** Take the flash-programming semaphore now (otherwise the first write / erase does). */
  beginWriteSession(): void {
    if (this.closed) throw closedError(this.method);
    if (this.sem) return;
    this.sem = takePidSemaphore(this.access, FLASH_SEMAPHORE, {
      clock: this.opts.clock ?? realClock,
      ...(this.opts.ownerId !== undefined ? { ownerId: this.opts.ownerId } : {}),
      ...(this.opts.semaphoreTries !== undefined ? { tries: this.opts.semaphoreTries } : {}),
    });
  }

  /** Release the flash-programming semaphore (close() does it too). */
  endWriteSession(): void {
    const s = this.sem;
    this.sem = undefined;
    s?.release();
  }

  /** Run `fn` under one ICMD session (§6.2: one semaphore hold for its MFBA / MFBE commands). */
  session<T>(fn: () => T): T {
    return this.regs.session(fn);
  }

  /** Up to SESSION_BYTES at a time under one ICMD session, so other tools are not kept out for long. */
  private inSessions(addr: number, len: number, fn: (a: number, from: number, n: number) => void): void {
    forEachWindow(addr, len, SESSION_BYTES, (_w, from, n) => this.regs.session(() => fn(addr + from, from, n)));
  }

  read(addr: number, len: number): Uint8Array {
    if (this.closed) throw closedError(this.method);
    checkRange('read', addr, len, this.size);
    const out = new Uint8Array(len);
    try {
      this.inSessions(addr, len, (a, at, n) => {
        forEachWindow(a, n, this.blockSize, (_w, from, count) => {
          // only the dword-aligned span needed from this block (MFBA size is in bytes, §4.3)
          const lo = (a + from) & ~3;
          const hi = (a + from + count + 3) & ~3;
          if (lo === a + from && hi === lo + count) {
            mfbaReadInto(this.regs, lo, count, out, at + from, this.mfbaOpts);
          } else {
            const got = mfbaRead(this.regs, lo, hi - lo, this.mfbaOpts);
            out.set(got.subarray(a + from - lo, a + from - lo + count), at + from);
          }
          this.stats.transfers++;
        });
      });
    } catch (e) {
      throw flashOpError(e, 'read', addr, len);
    }
    this.stats.bytesRead += len;
    return out;
  }

  write(addr: number, bytes: Uint8Array): void {
    if (this.closed) throw closedError(this.method);
    checkRange('write', addr, bytes.length, this.size);
    if (bytes.length === 0) return;
    this.beginWriteSession();
    try {
      this.inSessions(addr, bytes.length, (a, at, n) => {
        forEachWindow(a, n, this.blockSize, (w, from, count) => {
          // §4.3 write_chunks: a partial block is padded with 0xFF to the whole aligned block
          if (count === this.blockSize) {
            mfbaWriteFrom(this.regs, w, bytes, at + from, count, this.mfbaOpts);
          } else {
            const block = new Uint8Array(this.blockSize).fill(0xff);
            block.set(bytes.subarray(at + from, at + from + count), a + from - w);
            mfbaWrite(this.regs, w, block, this.mfbaOpts);
          }
          this.stats.transfers++;
        });
      });
    } catch (e) {
      throw flashOpError(e, 'write', addr, bytes.length);
    }
    this.stats.bytesWritten += bytes.length;
  }

  erase4k(addr: number): void {
    if (this.closed) throw closedError(this.method);
    checkSectorAligned(addr, this.sectorSize, this.size);
    this.beginWriteSession();
    try {
      mfbeErase(this.regs, addr, this.mfbaOpts);
    } catch (e) {
      throw flashOpError(e, 'erase', addr, this.sectorSize);
    }
    this.stats.transfers++;
    this.stats.sectorsErased++;
  }

  /** §4.3 MFBE with bulk64 (bit 29): the 64 KiB block at `addr` in one erase. */
  private eraseBlock64(addr: number): void {
    if (this.closed) throw closedError(this.method);
    checkSectorAligned(addr, BLOCK64, this.size);
    this.beginWriteSession();
    try {
      mfbeErase(this.regs, addr, { ...this.mfbaOpts, bulk64: true });
    } catch (e) {
      throw flashOpError(e, 'erase', addr, BLOCK64);
    }
    this.stats.transfers++;
    this.stats.sectorsErased += BLOCK64 / this.sectorSize;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.endWriteSession();
  }
}
