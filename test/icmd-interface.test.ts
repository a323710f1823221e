/**
 * The ICMD layer against a hand fake of the address spaces (§6.1, §6.2, §4.5): opcode,
 * mailbox, go, busy polling, status → typed errors, semaphore released on every path.
 */
import { describe, expect, it } from 'vitest';
import { Fs3BurnError } from '../src/errors.js';
import {
  DEFAULT_POLL_BUDGET,
  IcmdInterface,
  pollBudgetMs,
  pollSleepMs,
} from '../src/icmd/index.js';
import type { AddressSpaceAccess } from '../src/transport/mst/address-space.js';
import { Space, virtualClock } from '../src/vsec/index.js';

interface Behaviour {
  /** Ctrl reads that show busy after go. Infinity = never clears. */
  busyPolls?: number;
  /** The interface is busy before go. */
  ifcBusy?: boolean;
  status?: number;
  syndrome?: number;
  notReady?: boolean;
  /** Semaphore owner that refuses our take. */
  semOwner?: number;
  mailboxSize?: number;
}

/** Spaces as plain memory, plus an ICMD engine: on go, it echoes the mailbox with byte 0 ^= 0xff. */
class FakeSpaces implements AddressSpaceAccess {
  readonly name = 'fake:spaces';
  mem = new Map<string, number>();
  ctrlWrites: number[] = [];
  busyLeft = 0;
  constructor(public b: Behaviour = {}) {}
  private k(s: number, o: number) {
    return `${s}:${o}`;
  }
  get(s: number, o: number): number {
    return this.mem.get(this.k(s, o)) ?? 0;
  }
  readSpace32(space: number, offset: number): number {
    if (space === Space.CR && offset === 0xb0004) return this.b.notReady ? 0x80000000 : 0;
    if (space === Space.ICMD && offset === 0x1000) return this.b.mailboxSize ?? 0x340;
    if (space === Space.ICMD && offset === 0x1008) return this.b.syndrome ?? 0;
    if (space === Space.ICMD && offset === 0) {
      let c = this.get(space, 0);
      if (this.b.ifcBusy) c |= 1;
      if (c & 1 && !this.b.ifcBusy) {
        if (this.busyLeft > 0) this.busyLeft--;
        else {
          c = (c & ~1 & ~0xff00) | ((this.b.status ?? 0) << 8);
          this.mem.set(this.k(space, 0), c >>> 0);
          const d0 = this.get(Space.ICMD, 0x100000);
          this.mem.set(this.k(Space.ICMD, 0x100000), (d0 ^ 0xff000000) >>> 0);
        }
      }
      return c >>> 0;
    }
    return this.get(space, offset);
  }
  writeSpace32(space: number, offset: number, value: number): void {
    if (space === Space.SEMAPHORE && this.b.semOwner && value !== 0) {
      this.mem.set(this.k(space, offset), this.b.semOwner);
      return;
    }
    if (space === Space.ICMD && offset === 0) {
      this.ctrlWrites.push(value >>> 0);
      if (value & 1) this.busyLeft = this.b.busyPolls ?? 0;
    }
    this.mem.set(this.k(space, offset), value >>> 0);
  }
  close(): void {}
}

function caught(fn: () => unknown): Fs3BurnError {
  try {
    fn();
  } catch (e) {
    if (e instanceof Fs3BurnError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

const input = Uint8Array.from([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);

describe('ICMD send (§6.2)', () => {
  it('sets the opcode, writes the mailbox, goes, polls, reads the reply and releases the semaphore', () => {
    const f = new FakeSpaces({ busyPolls: 2 });
    const clock = virtualClock();
    const icmd = new IcmdInterface(f, { clock, ownerId: 77 });
    const out = icmd.send(0x9001, input, 8);
    expect(Array.from(out)).toEqual([0xee, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    expect(f.ctrlWrites[0]! >>> 16).toBe(0x9001); // opcode RMW first
    expect(f.ctrlWrites[0]! & 1).toBe(0);
    expect(f.ctrlWrites[1]! & 1).toBe(1); // then go
    expect(f.get(Space.SEMAPHORE, 0)).toBe(0); // released
    expect(icmd.stats).toMatchObject({ commands: 1, polls: 3, sleeps: 0, failed: 0 });
    expect(icmd.mailboxSize).toBe(0x340);
  });

  it('caps the mailbox at the host maximum 0x340 and refuses bigger commands', () => {
    const f = new FakeSpaces({ mailboxSize: 0x1000 });
    const icmd = new IcmdInterface(f, { clock: virtualClock() });
    expect(icmd.mailboxSize).toBe(0x340);
    expect(caught(() => icmd.send(0x9001, new Uint8Array(0x344), 4)).code).toBe('ICMD_MAILBOX_TOO_SMALL');
  });

  it('not ready (CR 0xB0004 bit 31) → ICMD_NOT_READY, before the semaphore', () => {
    const f = new FakeSpaces({ notReady: true });
    const e = caught(() => new IcmdInterface(f, { clock: virtualClock() }).send(0x9001, input, 8));
    expect(e.code).toBe('ICMD_NOT_READY');
    expect(e.message).toContain('ICMD interface not ready');
    expect(f.ctrlWrites).toEqual([]);
  });

  it('semaphore held by another owner → SEMAPHORE_HELD with data.owner', () => {
    const f = new FakeSpaces({ semOwner: 4242 });
    const clock = virtualClock();
    const e = caught(() => new IcmdInterface(f, { clock, ownerId: 1, semaphoreTries: 5 }).send(0x9001, input, 8));
    expect(e.code).toBe('SEMAPHORE_HELD');
    expect(e.message).toContain('held by another owner (id 4242)');
    expect(e.data?.owner).toBe(4242);
    expect(clock.sleeps).toBeLessThanOrEqual(4);
    expect(f.ctrlWrites).toEqual([]);
  });

  it('busy bit never clears → ICMD_BUSY_TIMEOUT (MFE_CMDIF_TIMEOUT_ERR), semaphore released', () => {
    const f = new FakeSpaces({ busyPolls: Infinity });
    const clock = virtualClock();
    const icmd = new IcmdInterface(f, { clock, pollBudget: 12 });
    const e = caught(() => icmd.send(0x9001, input, 8));
    expect(e.code).toBe('ICMD_BUSY_TIMEOUT');
    expect(e.message).toContain('MFE_CMDIF_TIMEOUT_ERR');
    expect(e.data?.flintName).toBe('MFE_CMDIF_TIMEOUT_ERR');
    expect(e.data?.polls).toBe(12);
    expect(f.get(Space.SEMAPHORE, 0)).toBe(0);
    // polls 1–5 back to back, then 1, 2, 4, 8, 8, 8, 8 ms
    expect(clock.sleptMs).toBe(1 + 2 + 4 + 8 * 4);
    expect(icmd.stats.failed).toBe(1);
  });

  it('interface already busy → ICMD_IFC_BUSY (MFE_CMDIF_TIMEOUT_ERR), go never written', () => {
    const f = new FakeSpaces({ ifcBusy: true });
    const e = caught(() => new IcmdInterface(f, { clock: virtualClock() }).send(0x9001, input, 8));
    expect(e.code).toBe('ICMD_IFC_BUSY');
    expect(e.message).toContain('MFE_CMDIF_TIMEOUT_ERR');
    expect(e.data?.flintName).toBe('MFE_CMDIF_TIMEOUT_ERR');
    expect(f.ctrlWrites.filter((c) => c & 1 && c >>> 16 === 0x9001).length).toBeLessThanOrEqual(1);
    expect(f.get(Space.SEMAPHORE, 0)).toBe(0);
  });

  it.each([
    [5, 'ICMD_FW_BUSY'],
    [4, 'ICMD_BAD_PARAM'],
    [7, 'ICMD_WRITE_PROTECTED'],
    [1, 'ICMD_STATUS_ERROR'],
    [3, 'ICMD_STATUS_ERROR'],
  ])('status %i → %s, with the syndrome read', (status, code) => {
    const f = new FakeSpaces({ status, syndrome: 0xabc });
    const e = caught(() => new IcmdInterface(f, { clock: virtualClock() }).send(0x9001, input, 8));
    expect(e.code).toBe(code);
    expect(e.data?.status).toBe(status);
    expect(e.data?.syndrome).toBe(0xabc);
    if (status === 5) {
      expect(e.message).toContain('MFE_CMDIF_TIMEOUT_ERR');
      expect(e.data?.flintName).toBe('MFE_CMDIF_TIMEOUT_ERR');
    }
    expect(f.get(Space.SEMAPHORE, 0)).toBe(0);
  });

  it('runs each command inside commandScope when given', () => {
    const f = new FakeSpaces();
    let scopes = 0;
    const icmd = new IcmdInterface(f, {
      clock: virtualClock(),
      commandScope: (fn) => {
        scopes++;
        return fn();
      },
    });
    icmd.send(0x9001, input, 4);
    icmd.send(0x9001, input, 4);
    expect(scopes).toBe(2);
  });
});

describe('busy-bit poll schedule (§4.5)', () => {
  it('polls 1–5 back to back, then 1, 2, 4, 8, 8 … ms', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100].map((n) => pollSleepMs(n))).toEqual([0, 0, 0, 0, 0, 1, 2, 4, 8, 8, 8]);
  });
  it('the default 5120-poll budget is about 40 s', () => {
    expect(DEFAULT_POLL_BUDGET).toBe(5120);
    const s = pollBudgetMs(DEFAULT_POLL_BUDGET) / 1000;
    expect(s).toBeGreaterThan(40);
    expect(s).toBeLessThan(41);
  });
});
