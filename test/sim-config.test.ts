/**
 * The simulated card's PCI config space and functional VSEC, driven with raw dword sequences
 * written from fs3-facts.md §5.2–§5.3.
 */
import { describe, expect, it } from 'vitest';
import { createSimDevice, makeMiniFlash, type SimOptions } from '../src/sim/index.js';
import { RawCard, SPACE } from './sim-helper.js';

function mini(extra: Partial<SimOptions> = {}) {
  return createSimDevice({ personality: 'cx4lx@14.14.1100', flash: makeMiniFlash({ version: [14, 14, 1100] }), ...extra });
}

describe('config header', () => {
  it('identifies a ConnectX-4 Lx (§7) with a capability list', () => {
    const dev = mini();
    expect(dev.read32(0x00)).toBe(0x101515b3);
    expect(dev.read32(0x08) >>> 8).toBe(0x020000); // ethernet controller
    expect((dev.read32(0x04) >>> 16) & 0x10).toBe(0x10); // status: capabilities list
    expect(dev.name).toBe('sim:cx4lx@14.14.1100');
  });

  it('walks the capability list from 0x34 to the functional VSEC, ID 0x09, VSC type 0 (§5.2)', () => {
    const dev = mini();
    const ids: number[] = [];
    let p = dev.read32(0x34) & 0xff;
    let vsec = -1;
    while (p) {
      const h = dev.read32(p);
      ids.push(h & 0xff);
      if ((h & 0xff) === 0x09 && vsec < 0) vsec = p;
      p = (h >>> 8) & 0xff;
    }
    expect(ids[0]).not.toBe(0x09); // another capability comes first
    expect(ids).toContain(0x09);
    expect(vsec).toBeGreaterThanOrEqual(0x40);
    expect(dev.read32(vsec) >>> 24).toBe(0); // functional
    expect(new RawCard(dev).vsec).toBe(vsec);
  });

  it('keeps read-only header fields read-only and sizes BAR0', () => {
    const dev = mini();
    dev.write32(0x00, 0);
    expect(dev.read32(0x00)).toBe(0x101515b3);
    dev.write32(0x10, 0xffffffff);
    expect(dev.read32(0x10)).toBe(0xfe00000c); // 32 MiB, 64-bit prefetchable
  });

  it('rejects unaligned or out-of-range offsets and accesses after close', () => {
    const dev = mini();
    expect(() => dev.read32(2)).toThrow(expect.objectContaining({ code: 'SIM_BAD_ACCESS' }));
    expect(() => dev.read32(0x1000)).toThrow(expect.objectContaining({ code: 'SIM_BAD_ACCESS' }));
    expect(() => dev.write32(0, 2 ** 33)).toThrow(expect.objectContaining({ code: 'SIM_BAD_ACCESS' }));
    dev.close();
    dev.close();
    expect(() => dev.read32(0)).toThrow(expect.objectContaining({ code: 'SIM_CLOSED' }));
  });
});

describe('VSEC semaphore (§5.3)', () => {
  it('gives increasing tickets and lets only one owner hold the semaphore', () => {
    const dev = mini();
    const a = new RawCard(dev);
    const v = a.vsec;
    const t1 = dev.read32(v + 0x08);
    const t2 = dev.read32(v + 0x08);
    expect(t2).toBe(t1 + 1);
    expect(t1).not.toBe(0);
    // owner A takes it
    expect(dev.read32(v + 0x0c)).toBe(0);
    dev.write32(v + 0x0c, t1);
    expect(dev.read32(v + 0x0c)).toBe(t1);
    // owner B finds it taken; its write does not steal it
    expect(dev.read32(v + 0x0c)).not.toBe(0);
    dev.write32(v + 0x0c, t2);
    expect(dev.read32(v + 0x0c)).toBe(t1);
    // A releases, B takes it
    dev.write32(v + 0x0c, 0);
    expect(dev.read32(v + 0x0c)).toBe(0);
    const t3 = dev.read32(v + 0x08);
    dev.write32(v + 0x0c, t3);
    expect(dev.read32(v + 0x0c)).toBe(t3);
    expect(dev.model.stats().vsec.semTakes).toBe(2);
  });

  it('two clients racing: the second tryLock fails until the first unlocks', () => {
    const dev = mini();
    const a = new RawCard(dev);
    const b = new RawCard(dev);
    expect(a.tryLock()).toBe(true);
    expect(b.tryLock()).toBe(false);
    a.unlock();
    expect(b.tryLock()).toBe(true);
    b.unlock();
  });

  it("counts accesses made without the semaphore; knob 'reject' refuses them with the syndrome", () => {
    const dev = mini();
    const c = new RawCard(dev);
    c.setSpace(SPACE.CR);
    expect(c.rawRead(0xf0014)).toEqual({ value: 0x20b, syndrome: false });
    expect(dev.model.stats().vsec.unlockedAccesses).toBe(2);

    const strict = mini({ knobs: { vsecUnlockedAccess: 'reject' } });
    const s = new RawCard(strict);
    s.setSpace(SPACE.CR);
    expect(s.rawRead(0xf0014).syndrome).toBe(true);
    s.lock();
    expect(s.rawRead(0xf0014)).toEqual({ value: 0x20b, syndrome: false });
    s.unlock();
  });
});

describe('address spaces', () => {
  it('reports status bits 31:29 non-zero for CR, ICMD, ICMD_EXT, SEMAPHORE and zero otherwise (§5.2)', () => {
    const c = new RawCard(mini());
    c.lock();
    for (const sp of [SPACE.CR, SPACE.ICMD, SPACE.ICMD_EXT, SPACE.SEMAPHORE]) expect(c.setSpace(sp)).not.toBe(0);
    for (const sp of [0x4, 0x5, 0x6, 0x7, 0xc, 0xf, 0x0]) expect(c.setSpace(sp)).toBe(0);
    c.unlock();
  });

  it('writes CTRL read-modify-write: only bits 15:0 select the space', () => {
    const dev = mini();
    const c = new RawCard(dev);
    c.lock();
    dev.write32(c.vsec + 4, 0xffff0002);
    expect(dev.read32(c.vsec + 4) & 0xffff).toBe(2);
    expect(dev.read32(c.vsec + 4) >>> 29).not.toBe(0);
    c.unlock();
  });

  it('the FW ignores the MSB of the space (PR #1047): 0x102 reads back as 0x002; knob off keeps it', () => {
    const dev = mini();
    const c = new RawCard(dev);
    c.lock();
    dev.write32(c.vsec + 4, 0x102);
    expect(dev.read32(c.vsec + 4) & 0xffff).toBe(0x002);
    c.unlock();
    const strict = mini({ knobs: { vsecIgnoresSpaceMsb: false } });
    const s = new RawCard(strict);
    s.lock();
    strict.write32(s.vsec + 4, 0x102);
    expect(strict.read32(s.vsec + 4) & 0xffff).toBe(0x102);
    expect(strict.read32(s.vsec + 4) >>> 29).toBe(0);
    s.unlock();
  });

  it('flag handshake: a read sets FLAG, a write clears it; with latency the client must poll', () => {
    const dev = mini({ knobs: { vsecFlagLatency: 3 } });
    const c = new RawCard(dev);
    c.lock();
    c.setSpace(SPACE.CR);
    dev.write32(c.vsec + 0x10, 0xf0014);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) seen.push(dev.read32(c.vsec + 0x10) >>> 31);
    expect(seen).toEqual([0, 0, 0, 1, 1]);
    expect(dev.read32(c.vsec + 0x14)).toBe(0x20b);
    dev.write32(c.vsec + 0x14, 0x1234);
    dev.write32(c.vsec + 0x10, (0x80000000 | 0x10) >>> 0);
    const seenW: number[] = [];
    for (let i = 0; i < 5; i++) seenW.push(dev.read32(c.vsec + 0x10) >>> 31);
    expect(seenW).toEqual([1, 1, 1, 0, 0]);
    expect(c.rawRead(0x10).value).toBe(0x1234);
    c.unlock();
  });

  it('sets ADDR bit 30 and CTRL syndrome 3 for an address out of range, and clears them on the next good access', () => {
    const dev = mini();
    const c = new RawCard(dev);
    c.lock();
    c.setSpace(SPACE.CR);
    expect(c.rawRead(0x2000000).syndrome).toBe(true);
    expect((dev.read32(c.vsec + 4) >>> 24) & 0xf).toBe(3);
    c.setSpace(SPACE.SEMAPHORE);
    expect(c.rawWrite(0x400, 1).syndrome).toBe(true);
    c.setSpace(SPACE.ICMD);
    expect(c.rawRead(0x100000 + 0x340).syndrome).toBe(true);
    expect(c.rawRead(0x1000)).toEqual({ value: 0x340, syndrome: false });
    expect((dev.read32(c.vsec + 4) >>> 24) & 0xf).toBe(0);
    c.setSpace(0x7); // unsupported space: every access fails
    expect(c.rawRead(0).syndrome).toBe(true);
    c.unlock();
  });

  it('the legacy gateway at 0x58/0x5C reaches CR space', () => {
    const dev = mini();
    dev.write32(0x58, 0xf0014);
    expect(dev.read32(0x5c)).toBe(0x20b);
    dev.write32(0x58, 0x12340);
    dev.write32(0x5c, 0xcafe);
    expect(new RawCard(dev).cr(0x12340)).toBe(0xcafe);
    expect(dev.model.stats().legacyGateway).toEqual({ reads: 1, writes: 1 });
  });
});

describe('CR space registers', () => {
  it('HW id, cache-replacement registers and ICMD readiness while FW runs (§4.1, §6.1, §7)', () => {
    const c = new RawCard(mini());
    expect(c.cr(0xf0014)).toBe(0x0000020b);
    expect(c.cr(0xf0408) & 0x3ffffff).not.toBe(0);
    expect((c.cr(0xf040c) >>> 16) & 0xff).not.toBe(0);
    expect(c.cr(0xb0004) >>> 31).toBe(0);
    expect(c.cr(0xf0000)).toBe(0); // boot address of the running image (slot 0) << 8
  });

  it('livefish knob: no FW, cache-replacement zero, ICMD not ready, PCI id = HW id (§4.1, §7)', () => {
    const dev = mini({ knobs: { livefish: true } });
    const c = new RawCard(dev);
    expect(dev.model.running).toBeNull();
    expect(dev.read32(0) >>> 16).toBe(0x20b);
    expect(c.cr(0xf0408)).toBe(0);
    expect(c.cr(0xf040c)).toBe(0);
    expect(c.cr(0xb0004) >>> 31).toBe(1);
  });
});
