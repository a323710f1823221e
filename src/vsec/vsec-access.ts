/**
 * Address-space access through the functional VSEC (§5.2 register map, §5.3 protocols):
 * the VSEC ticket semaphore, CTRL space selection, ADDR/DATA with FLAG polling, syndrome
 * reporting, and block access that takes the semaphore and selects the space once.
 */
import { Fs3BurnError } from '../errors.js';
import type { AddressSpaceAccess } from '../transport/mst/address-space.js';
import type { PciConfigTransport } from '../transport/types.js';
import { realClock, type Clock } from './clock.js';
import {
  ADDR_FLAG,
  ADDR_MASK,
  ADDR_SYNDROME,
  CTRL_SPACE_MASK,
  ctrlStatus,
  ctrlSyndrome,
  DEFAULT_FLAG_POLLS,
  DEFAULT_SEM_RETRIES,
  FLAG_POLLS_PER_SLEEP,
  FLAG_SLEEP_MS,
  hex,
  SEM_RETRY_SLEEP_MS,
  SYNDROME_ADDR_OUT_OF_RANGE,
  VSEC_ADDR,
  VSEC_COUNTER,
  VSEC_CTRL,
  VSEC_DATA,
  VSEC_SEMAPHORE,
} from './constants.js';
import { emptyVsecStats, type VsecStats } from './stats.js';

export interface VsecOptions {
  /** Where waits go; default the real clock. Pass virtualClock() on the simulator. */
  clock?: Clock;
  /** VSEC semaphore attempts before VSEC_SEM_LOCKED (§5.3: 2048). */
  semRetries?: number;
  /** ADDR reads while waiting on FLAG before VSEC_FLAG_TIMEOUT (§5.3: 2048). */
  flagPolls?: number;
  /** Counters to add to (default: a fresh set, see `stats`). */
  stats?: VsecStats;
}

export class VsecSpaceAccess implements AddressSpaceAccess {
  readonly name: string;
  readonly stats: VsecStats;
  private readonly clock: Clock;
  private readonly semRetries: number;
  private readonly flagPolls: number;
  /** Lock nesting depth (exclusive() is reentrant). */
  private depth = 0;
  /** Whether this client holds the VSEC semaphore now. */
  private held = false;
  /** Space selected during the current lock hold, or -1. */
  private selected = -1;
  private closed = false;

  constructor(
    readonly transport: PciConfigTransport,
    /** Config offset of the functional VSEC capability. */
    readonly base: number,
    opts: VsecOptions = {},
  ) {
    this.name = transport.name;
    this.clock = opts.clock ?? realClock;
    this.semRetries = opts.semRetries ?? DEFAULT_SEM_RETRIES;
    this.flagPolls = opts.flagPolls ?? DEFAULT_FLAG_POLLS;
    this.stats = opts.stats ?? emptyVsecStats();
  }

  private rd(reg: number): number {
    return this.transport.read32(this.base + reg) >>> 0;
  }
  private wr(reg: number, v: number): void {
    this.transport.write32(this.base + reg, v >>> 0);
  }
  private sleep(ms: number): void {
    this.stats.sleeps++;
    this.stats.sleptMs += ms;
    this.clock.sleep(ms);
  }

  /**
   * Run `fn` holding the VSEC semaphore (§5.3 ticket lock). Reentrant: nested calls share
   * the hold, and the space selected inside it stays selected until the hold ends.
   */
  exclusive<T>(fn: () => T): T {
    if (this.closed) throw new Fs3BurnError('DEVICE_CLOSED', `${this.name}: VSEC access is closed`);
    if (this.depth === 0) this.acquire();
    this.depth++;
    try {
      return fn();
    } finally {
      this.depth--;
      if (this.depth === 0) this.release();
    }
  }

  /** Whether the semaphore is held by an exclusive() scope now. */
  get holding(): boolean {
    return this.depth > 0 && this.held;
  }

  /**
   * Inside exclusive(): let the semaphore go while `fn` runs (a sleep while polling, so that
   * other clients are not kept out while nothing is sent), then take it again — with a fresh
   * space select, as after any acquisition. Outside exclusive() it just runs `fn`.
   */
  released<T>(fn: () => T): T {
    if (this.depth === 0) return fn();
    this.release();
    try {
      return fn();
    } finally {
      this.acquire();
    }
  }

  /**
   * §5.3 VSEC lock: SEM = 0 → read COUNTER, write it to SEM, read SEM back = ticket. A ticket
   * written whose read-back differed is still ours if SEM holds it at the next attempt (the
   * counter never hands the same ticket twice): a read-back that lost a bit would otherwise
   * leave SEM taken by nobody, and every later attempt (ours, or another tool's) would fail.
   */
  private acquire(): void {
    let last = 0;
    let written: number | undefined;
    const got = () => {
      this.stats.semAcquires++;
      this.selected = -1;
      this.held = true;
    };
    for (let attempt = 1; attempt <= this.semRetries; attempt++) {
      last = this.rd(VSEC_SEMAPHORE);
      if (written !== undefined && written !== 0 && last === written) return got();
      written = undefined;
      if (last === 0) {
        const ticket = this.rd(VSEC_COUNTER) >>> 0;
        this.wr(VSEC_SEMAPHORE, ticket);
        if (this.rd(VSEC_SEMAPHORE) === ticket) return got();
        written = ticket;
      }
      this.stats.semRetries++;
      if (attempt < this.semRetries) this.sleep(SEM_RETRY_SLEEP_MS);
    }
    throw new Fs3BurnError('VSEC_SEM_LOCKED', `${this.name}: the VSEC semaphore stayed taken after ${this.semRetries} attempts (ME_SEM_LOCKED)`, {
      hint: 'another tool (mstflint, mlxconfig, a driver) is using the card; wait for it to finish and retry',
      data: { device: this.name, attempts: this.semRetries, lastValue: last },
    });
  }

  /** Unlock = write 0 to SEM (§5.3). */
  private release(): void {
    this.selected = -1;
    if (!this.held) return; // a failed re-acquisition (released()) holds nothing to give back
    this.held = false;
    this.wr(VSEC_SEMAPHORE, 0);
  }

  /**
   * Select `space` in CTRL bits 15:0 (read-modify-write) and check the read-back: status
   * bits 31:29 must be non-zero (§5.2) and the space must read back as written (the FW may
   * drop the space's MSB, §4.6 PR #1047). Must be called inside exclusive().
   */
  selectSpace(space: number): void {
    if (this.selected === space) return;
    const ctrl = this.rd(VSEC_CTRL);
    this.wr(VSEC_CTRL, ((ctrl & ~CTRL_SPACE_MASK) | (space & CTRL_SPACE_MASK)) >>> 0);
    const refused = (v: number) => ctrlStatus(v) === 0 || (v & CTRL_SPACE_MASK) !== (space & CTRL_SPACE_MASK);
    let back = this.rd(VSEC_CTRL);
    this.stats.spaceSelects++;
    // read once more before calling the space unsupported (a read that lost a bit is not a refusal)
    if (refused(back)) back = this.rd(VSEC_CTRL);
    if (refused(back)) {
      this.selected = -1;
      throw new Fs3BurnError('VSEC_SPACE_UNSUPPORTED', `${this.name}: address space ${hex(space)} is not supported by the VSEC`, {
        data: { device: this.name, space, ctrl: back, readBackSpace: back & CTRL_SPACE_MASK },
      });
    }
    this.selected = space;
  }

  /** Which of `spaces` the VSEC accepts (§5.2 open sequence: probe, under one lock). */
  probeSpaces(spaces: readonly number[]): Set<number> {
    const ok = new Set<number>();
    this.exclusive(() => {
      for (const s of spaces) {
        try {
          this.selectSpace(s);
          ok.add(s);
        } catch (e) {
          if (!(e instanceof Fs3BurnError) || e.code !== 'VSEC_SPACE_UNSUPPORTED') throw e;
        }
      }
    });
    return ok;
  }

  private checkOffset(space: number, offset: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset > ADDR_MASK || (offset & 3) !== 0) {
      throw new Fs3BurnError('VSEC_OFFSET_INVALID', `${this.name}: offset ${offset} in space ${hex(space)} is not a 4-aligned address below 2^30`, {
        data: { device: this.name, space, offset },
      });
    }
  }

  /** Poll ADDR until FLAG equals `want` (§5.3: ≤ flagPolls reads, 1 ms sleep every 16). */
  private waitFlag(want: boolean, space: number, offset: number): number {
    for (let i = 1; i <= this.flagPolls; i++) {
      const a = this.rd(VSEC_ADDR);
      if (((a & ADDR_FLAG) !== 0) === want) return a;
      this.stats.flagPolls++;
      if (i % FLAG_POLLS_PER_SLEEP === 0 && i < this.flagPolls) this.sleep(FLAG_SLEEP_MS);
    }
    throw new Fs3BurnError('VSEC_FLAG_TIMEOUT', `${this.name}: VSEC ${want ? 'read' : 'write'} of space ${hex(space)} offset ${hex(offset)} did not complete within ${this.flagPolls} polls (ME_PCI_IFC_TOUT)`, {
      hint: 'the card stopped answering config-space gateway requests; a PCI reset or power cycle may be needed',
      data: { device: this.name, space, offset, polls: this.flagPolls },
    });
  }

  /**
   * ADDR bit 30 set: read CTRL's syndrome code 27:24 and fail (§5.2). ADDR is read once more
   * first (the access is complete, so ADDR is stable): a read that lost a bit is not a syndrome.
   */
  private checkSyndrome(addrReg: number, space: number, offset: number): void {
    if ((addrReg & ADDR_SYNDROME) === 0) return;
    if ((this.rd(VSEC_ADDR) & ADDR_SYNDROME) === 0) return;
    const code = ctrlSyndrome(this.rd(VSEC_CTRL));
    if (code === SYNDROME_ADDR_OUT_OF_RANGE) {
      throw new Fs3BurnError('VSEC_ADDRESS_OUT_OF_RANGE', `${this.name}: offset ${hex(offset)} is out of range for address space ${hex(space)}`, {
        data: { device: this.name, space, offset, syndrome: code },
      });
    }
    throw new Fs3BurnError('VSEC_SYNDROME', `${this.name}: VSEC access to space ${hex(space)} offset ${hex(offset)} failed with syndrome ${code}`, {
      data: { device: this.name, space, offset, syndrome: code },
    });
  }

  private read1(space: number, offset: number): number {
    this.wr(VSEC_ADDR, offset & ADDR_MASK); // bit 31 = 0: read
    const a = this.waitFlag(true, space, offset);
    this.checkSyndrome(a, space, offset);
    this.stats.dwordsRead++;
    return this.rd(VSEC_DATA);
  }

  private write1(space: number, offset: number, value: number): void {
    this.wr(VSEC_DATA, value);
    this.wr(VSEC_ADDR, ((offset & ADDR_MASK) | ADDR_FLAG) >>> 0); // bit 31 = 1: write
    const a = this.waitFlag(false, space, offset);
    this.checkSyndrome(a, space, offset);
    this.stats.dwordsWritten++;
  }

  /** One dword: lock → select space → read → unlock (§5.3). */
  readSpace32(space: number, offset: number): number {
    this.checkOffset(space, offset);
    if (this.depth > 0 && this.held) {
      // inside a hold (a block, an ICMD command): no lock traffic, the space stays selected
      if (this.selected !== space) this.selectSpace(space);
      return this.read1(space, offset);
    }
    return this.exclusive(() => {
      this.selectSpace(space);
      return this.read1(space, offset);
    });
  }

  writeSpace32(space: number, offset: number, value: number): void {
    this.checkOffset(space, offset);
    if (this.depth > 0 && this.held) {
      if (this.selected !== space) this.selectSpace(space);
      this.write1(space, offset, value);
      return;
    }
    this.exclusive(() => {
      this.selectSpace(space);
      this.write1(space, offset, value);
    });
  }

  /** §5.3 block access: one lock and one space select for the whole buffer. */
  readSpaceBlock(space: number, offset: number, dwords: number): Uint32Array {
    this.checkOffset(space, offset);
    const out = new Uint32Array(dwords);
    if (dwords === 0) return out;
    this.checkOffset(space, offset + 4 * (dwords - 1));
    this.exclusive(() => {
      this.selectSpace(space);
      for (let i = 0; i < dwords; i++) out[i] = this.read1(space, offset + 4 * i);
    });
    return out;
  }

  writeSpaceBlock(space: number, offset: number, values: ArrayLike<number>): void {
    this.checkOffset(space, offset);
    if (values.length === 0) return;
    this.checkOffset(space, offset + 4 * (values.length - 1));
    this.exclusive(() => {
      this.selectSpace(space);
      for (let i = 0; i < values.length; i++) this.write1(space, offset + 4 * i, values[i]!);
    });
  }

  /**
   * Block read into `out[from, from + count)` without allocating (the same traffic as
   * readSpaceBlock: one lock and one space select for the whole run, §5.3).
   */
  readSpaceInto(space: number, offset: number, out: Uint32Array, from: number, count: number): void {
    if (count <= 0) return;
    this.checkOffset(space, offset);
    this.checkOffset(space, offset + 4 * (count - 1));
    if (!(this.depth > 0 && this.held)) {
      this.exclusive(() => this.readSpaceInto(space, offset, out, from, count));
      return;
    }
    if (this.selected !== space) this.selectSpace(space);
    for (let i = 0; i < count; i++) out[from + i] = this.read1(space, offset + 4 * i);
  }

  /** Block write of `src[from, from + count)`; see readSpaceInto. */
  writeSpaceFrom(space: number, offset: number, src: Uint32Array, from: number, count: number): void {
    if (count <= 0) return;
    this.checkOffset(space, offset);
    this.checkOffset(space, offset + 4 * (count - 1));
    if (!(this.depth > 0 && this.held)) {
      this.exclusive(() => this.writeSpaceFrom(space, offset, src, from, count));
      return;
    }
    if (this.selected !== space) this.selectSpace(space);
    for (let i = 0; i < count; i++) this.write1(space, offset + 4 * i, src[from + i]!);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
  }
}
