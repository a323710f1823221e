/**
 * The VSEC layer against a small hand fake of the config-space handshake (§5.2, §5.3):
 * capability walk, ticket semaphore, space select, FLAG polling, syndrome, blocks, legacy
 * gateway, PID semaphores.
 */
import { describe, expect, it } from 'vitest';
import { Fs3BurnError } from '../src/errors.js';
import type { PciConfigTransport } from '../src/transport/types.js';
import {
  bytesToDwordsBE,
  dwordsToBytesBE,
  findFunctionalVsec,
  FLASH_SEMAPHORE,
  ICMD_SEMAPHORE,
  LegacyCrAccess,
  listCapabilities,
  openSpaceAccess,
  readBytesBE,
  Space,
  takePidSemaphore,
  virtualClock,
  VsecSpaceAccess,
  writeBytesBE,
} from '../src/vsec/index.js';

const VSEC = 0x60;

/** Config space with PM at 0x40, a non-functional VSEC at 0x50, the functional VSEC at 0x60. */
class FakeCard implements PciConfigTransport {
  readonly name = 'fake:card';
  supported = new Set<number>([Space.ICMD_EXT, Space.CR, Space.ICMD, Space.SEMAPHORE]);
  spaces = new Map<number, Map<number, number>>();
  sem = 0;
  counter = 7;
  ctrlSpace = 0;
  addr = 0;
  data = 0;
  flag = 0;
  syndrome = false;
  syndromeCode = 0;
  /** Another agent holds the VSEC semaphore with this ticket (0 = nobody). */
  otherOwner = 0;
  /** FLAG never completes. */
  flagStuck = false;
  /** Extra ADDR reads before FLAG completes. */
  flagLatency = 0;
  latencyLeft = 0;
  dropSpaceMsb = false;
  /** Offsets (per space) beyond this are out of range. */
  limit = 0x1000000;
  /** Gateway data accesses done without the VSEC semaphore held. */
  unlocked = 0;
  reads = 0;
  writes = 0;
  legacyAddr = 0;
  noVsec = false;

  private space(s: number): Map<number, number> {
    let m = this.spaces.get(s);
    if (!m) this.spaces.set(s, (m = new Map()));
    return m;
  }
  poke(space: number, off: number, v: number): void {
    this.space(space).set(off, v >>> 0);
  }
  peek(space: number, off: number): number {
    return this.space(space).get(off) ?? 0;
  }

  read32(off: number): number {
    this.reads++;
    switch (off) {
      case 0x34:
        return 0x40;
      case 0x40:
        return this.noVsec ? 0x01 : 0x5001; // PM, next 0x50
      case 0x50:
        return 0x01006009; // VSEC type 1, next 0x60
      case VSEC:
        return 0x00180009; // VSEC type 0, len 0x18, next 0
      case 0x5c:
        return this.peek(Space.CR, this.legacyAddr);
    }
    if (off < VSEC || off > VSEC + 0x14) return 0;
    switch (off - VSEC) {
      case 0x04:
        return ((this.ctrlSpace & 0xffff) | (this.supported.has(this.ctrlSpace) ? 1 << 29 : 0) | (this.syndromeCode << 24)) >>> 0;
      case 0x08:
        return this.counter++;
      case 0x0c:
        return this.otherOwner || this.sem;
      case 0x10: {
        if (this.flagStuck) return (this.addr | ((this.flag ^ 1) << 31)) >>> 0;
        if (this.latencyLeft > 0) {
          this.latencyLeft--;
          return (this.addr | ((this.flag ^ 1) << 31)) >>> 0;
        }
        return (this.addr | (this.flag << 31) | (this.syndrome ? 1 << 30 : 0)) >>> 0;
      }
      case 0x14:
        return this.data;
    }
    return 0;
  }

  write32(off: number, v: number): void {
    this.writes++;
    if (off === 0x58) {
      this.legacyAddr = v;
      return;
    }
    if (off === 0x5c) {
      this.poke(Space.CR, this.legacyAddr, v);
      return;
    }
    switch (off - VSEC) {
      case 0x04:
        this.ctrlSpace = this.dropSpaceMsb ? v & 0xff : v & 0xffff;
        return;
      case 0x0c:
        if (v === 0) this.sem = 0;
        else if (this.sem === 0 && this.otherOwner === 0) this.sem = v;
        return;
      case 0x14:
        this.data = v >>> 0;
        return;
      case 0x10: {
        if (this.sem === 0) this.unlocked++;
        const isWrite = (v & 0x80000000) !== 0;
        this.addr = v & 0x3fffffff;
        this.flag = isWrite ? 0 : 1;
        this.latencyLeft = this.flagLatency;
        const ok = this.supported.has(this.ctrlSpace) && this.addr < this.limit;
        this.syndrome = !ok;
        this.syndromeCode = ok ? 0 : 3;
        if (!ok) return;
        if (isWrite) this.poke(this.ctrlSpace, this.addr, this.data);
        else this.data = this.peek(this.ctrlSpace, this.addr);
        return;
      }
    }
  }
  close(): void {}
}

function vsecOn(card: FakeCard, opts: ConstructorParameters<typeof VsecSpaceAccess>[2] = {}) {
  const clock = virtualClock();
  return { v: new VsecSpaceAccess(card, VSEC, { clock, ...opts }), clock };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof Fs3BurnError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('VSEC discovery (§5.2)', () => {
  it('walks the capability list and picks the VSEC whose VSC type is 0', () => {
    const card = new FakeCard();
    expect(listCapabilities(card).map((c) => [c.offset, c.id, c.vscType])).toEqual([
      [0x40, 1, undefined],
      [0x50, 9, 1],
      [0x60, 9, 0],
    ]);
    expect(findFunctionalVsec(card)).toBe(VSEC);
  });

  it('finds none when the list has no ID 0x09', () => {
    const card = new FakeCard();
    card.noVsec = true;
    expect(findFunctionalVsec(card)).toBeUndefined();
  });
});

describe('VSEC dword access (§5.3)', () => {
  it('writes and reads a CR dword under the semaphore, releasing it after', () => {
    const card = new FakeCard();
    const { v } = vsecOn(card);
    v.writeSpace32(Space.CR, 0xf0014, 0x20b);
    expect(card.peek(Space.CR, 0xf0014)).toBe(0x20b);
    expect(v.readSpace32(Space.CR, 0xf0014)).toBe(0x20b);
    expect(card.sem).toBe(0);
    expect(card.unlocked).toBe(0);
    expect(v.stats.semAcquires).toBe(2);
    expect(v.stats.dwordsRead).toBe(1);
    expect(v.stats.dwordsWritten).toBe(1);
  });

  it('CTRL is written read-modify-write: bits above 15 survive, the space lands in 15:0', () => {
    const card = new FakeCard();
    const { v } = vsecOn(card);
    v.readSpace32(Space.SEMAPHORE, 0);
    expect(card.ctrlSpace).toBe(Space.SEMAPHORE);
  });

  it('waits on FLAG and counts the extra polls', () => {
    const card = new FakeCard();
    card.flagLatency = 3;
    card.poke(Space.CR, 0x100, 0xdeadbeef);
    const { v } = vsecOn(card);
    expect(v.readSpace32(Space.CR, 0x100)).toBe(0xdeadbeef);
    expect(v.stats.flagPolls).toBe(3);
  });

  it('gives up on FLAG after the poll budget with VSEC_FLAG_TIMEOUT, sleeping 1 ms per 16 polls', () => {
    const card = new FakeCard();
    card.flagStuck = true;
    const { v, clock } = vsecOn(card, { flagPolls: 64 });
    expect(codeOf(() => v.readSpace32(Space.CR, 0))).toBe('VSEC_FLAG_TIMEOUT');
    expect(clock.sleeps).toBe(3); // after polls 16, 32, 48 (not after the last)
    expect(card.sem).toBe(0); // released on the error path
  });

  it('a taken semaphore → VSEC_SEM_LOCKED after the retry budget', () => {
    const card = new FakeCard();
    card.otherOwner = 99;
    const { v, clock } = vsecOn(card, { semRetries: 10 });
    let err: Fs3BurnError | undefined;
    try {
      v.readSpace32(Space.CR, 0);
    } catch (e) {
      err = e as Fs3BurnError;
    }
    expect(err?.code).toBe('VSEC_SEM_LOCKED');
    expect(err?.data?.lastValue).toBe(99);
    expect(clock.sleptMs).toBe(9);
    expect(v.stats.semRetries).toBe(10);
  });

  it('the default semaphore budget is flint’s 2048', () => {
    const card = new FakeCard();
    card.otherOwner = 1;
    const { v } = vsecOn(card);
    expect(codeOf(() => v.readSpace32(Space.CR, 0))).toBe('VSEC_SEM_LOCKED');
    expect(v.stats.semRetries).toBe(2048);
  });

  it('syndrome code 3 → VSEC_ADDRESS_OUT_OF_RANGE', () => {
    const card = new FakeCard();
    card.limit = 0x1000;
    const { v } = vsecOn(card);
    expect(codeOf(() => v.readSpace32(Space.CR, 0x2000))).toBe('VSEC_ADDRESS_OUT_OF_RANGE');
    expect(codeOf(() => v.writeSpace32(Space.CR, 0x2000, 1))).toBe('VSEC_ADDRESS_OUT_OF_RANGE');
    expect(card.sem).toBe(0);
  });

  it('an unsupported space (status 31:29 = 0) → VSEC_SPACE_UNSUPPORTED', () => {
    const card = new FakeCard();
    const { v } = vsecOn(card);
    expect(codeOf(() => v.readSpace32(Space.NODNIC, 0))).toBe('VSEC_SPACE_UNSUPPORTED');
  });

  it('a space that reads back without its MSB is unsupported (§4.6 PR #1047)', () => {
    const card = new FakeCard();
    card.dropSpaceMsb = true;
    card.supported.add(0x02); // 0x102 reads back as 0x002 = CR, which is "supported"
    const { v } = vsecOn(card);
    expect(codeOf(() => v.readSpace32(Space.PCI_CR, 0))).toBe('VSEC_SPACE_UNSUPPORTED');
  });

  it('rejects unaligned or too-large offsets', () => {
    const { v } = vsecOn(new FakeCard());
    expect(codeOf(() => v.readSpace32(Space.CR, 2))).toBe('VSEC_OFFSET_INVALID');
    expect(codeOf(() => v.readSpace32(Space.CR, 0x40000000))).toBe('VSEC_OFFSET_INVALID');
  });
});

describe('VSEC blocks (§5.3 block_op_pciconf)', () => {
  it('holds the semaphore and selects the space once per block', () => {
    const card = new FakeCard();
    const { v } = vsecOn(card);
    v.writeSpaceBlock(Space.ICMD, 0x100000, [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(v.stats.semAcquires).toBe(1);
    expect(v.stats.spaceSelects).toBe(1);
    expect(Array.from(v.readSpaceBlock(Space.ICMD, 0x100000, 8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(v.stats.semAcquires).toBe(2);
    expect(v.stats.spaceSelects).toBe(2);
    expect(card.sem).toBe(0);
  });

  it('exclusive() is reentrant and keeps the selected space', () => {
    const card = new FakeCard();
    const { v } = vsecOn(card);
    v.exclusive(() => {
      v.readSpace32(Space.CR, 0);
      v.readSpace32(Space.CR, 4);
      expect(card.sem).not.toBe(0);
    });
    expect(v.stats.semAcquires).toBe(1);
    expect(v.stats.spaceSelects).toBe(1);
    expect(card.sem).toBe(0);
  });

  it('BE byte streams ↔ dwords (§5.3 buffer byte order)', () => {
    const bytes = Uint8Array.from([0x4d, 0x54, 0x46, 0x57, 0x8c, 0xdf]);
    const d = bytesToDwordsBE(bytes);
    expect(Array.from(d)).toEqual([0x4d544657, 0x8cdf0000]);
    expect(Array.from(dwordsToBytesBE(d, 6))).toEqual(Array.from(bytes));
    const card = new FakeCard();
    const { v } = vsecOn(card);
    writeBytesBE(v, Space.ICMD, 0x100000, bytes);
    expect(card.peek(Space.ICMD, 0x100000)).toBe(0x4d544657);
    expect(Array.from(readBytesBE(v, Space.ICMD, 0x100000, 6))).toEqual(Array.from(bytes));
  });
});

describe('opening config access', () => {
  it('uses the VSEC when CR, ICMD_EXT and SEMAPHORE are supported, counting every config access', () => {
    const card = new FakeCard();
    const o = openSpaceAccess(card, { clock: virtualClock() });
    expect(o.mode).toBe('vsec');
    expect(o.vsecOffset).toBe(VSEC);
    expect([...o.supportedSpaces].sort((a, b) => a - b)).toEqual([1, 2, 3, 0xa]);
    o.access.readSpace32(Space.CR, 0);
    expect(o.configCounts.reads).toBe(card.reads);
    expect(o.configCounts.writes).toBe(card.writes);
  });

  it('falls back to the legacy 0x58/0x5C gateway when a needed space is missing', () => {
    const card = new FakeCard();
    card.supported.delete(Space.SEMAPHORE);
    const o = openSpaceAccess(card, { clock: virtualClock() });
    expect(o.mode).toBe('legacy');
    expect(o.legacyReason).toMatch(/0xa/);
    o.access.writeSpace32(Space.CR, 0xf0014, 0x20b);
    expect(card.peek(Space.CR, 0xf0014)).toBe(0x20b);
    expect(o.access.readSpace32(Space.CR, 0xf0014)).toBe(0x20b);
    expect(codeOf(() => o.access.readSpace32(Space.ICMD, 0))).toBe('SPACE_UNAVAILABLE');
  });

  it('falls back to the legacy gateway when there is no VSEC', () => {
    const card = new FakeCard();
    card.noVsec = true;
    const o = openSpaceAccess(card);
    expect(o.mode).toBe('legacy');
    expect(o.access).toBeInstanceOf(LegacyCrAccess);
  });
});

describe('PID semaphores in space 0xA (§5.3)', () => {
  it('takes by writing the owner id and reading it back; releases with 0', () => {
    const card = new FakeCard();
    const { v } = vsecOn(card);
    const held = takePidSemaphore(v, FLASH_SEMAPHORE, { ownerId: 1234, clock: virtualClock() });
    expect(card.peek(Space.SEMAPHORE, 0x10)).toBe(1234);
    held.release();
    held.release();
    expect(card.peek(Space.SEMAPHORE, 0x10)).toBe(0);
  });

  it('held by another owner → SEMAPHORE_HELD naming the owner', () => {
    const card = new FakeCard();
    const { v } = vsecOn(card);
    // the fake's space 0xA is plain memory: emulate a held semaphore by refusing our writes
    const access = {
      ...v,
      name: v.name,
      readSpace32: (s: number, o: number) => v.readSpace32(s, o),
      writeSpace32: (s: number, o: number, x: number) => (x === 0 ? v.writeSpace32(s, o, x) : v.writeSpace32(s, o, 4242)),
      close: () => v.close(),
    };
    const clock = virtualClock();
    let err: Fs3BurnError | undefined;
    try {
      takePidSemaphore(access, ICMD_SEMAPHORE, { ownerId: 1, clock, random: () => 0.5 });
    } catch (e) {
      err = e as Fs3BurnError;
    }
    expect(err?.code).toBe('SEMAPHORE_HELD');
    expect(err?.message).toContain('held by another owner (id 4242)');
    expect(err?.data?.owner).toBe(4242);
    expect(err?.data?.tries).toBe(256);
    expect(clock.sleeps).toBe(255);
  });
});
