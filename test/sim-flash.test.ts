/**
 * The flash (NOR semantics, §4.2 / §7) and the 5th-gen direct flash gateway (§4.2), plus the
 * time model's totals.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIME_MODEL, SpiFlash, createSimDevice, makeMiniFlash, type SimOptions } from '../src/sim/index.js';
import { RawCard } from './sim-helper.js';

function card(extra: Partial<SimOptions> = {}) {
  const dev = createSimDevice({ personality: 'cx4lx@14.14.1100', flash: makeMiniFlash(), ...extra });
  return { dev, c: new RawCard(dev), model: dev.model };
}

describe('SpiFlash', () => {
  it('is 16 MiB for JEDEC 0x1840EF and starts erased', () => {
    const f = new SpiFlash(0x1840ef);
    expect(f.size).toBe(0x1000000);
    expect(f.read(0x123456, 8).every((b) => b === 0xff)).toBe(true);
  });

  it('a program only clears bits; an erase sets the sector to 0xFF', () => {
    const f = new SpiFlash(0x1840ef);
    f.program(0x1000, Uint8Array.from([0x0f, 0xf0]));
    f.program(0x1000, Uint8Array.from([0xff, 0x0f]));
    expect(Array.from(f.read(0x1000, 2))).toEqual([0x0f, 0x00]);
    f.program(0x1000, Uint8Array.from([0xf0])); // no erase: 0x0f & 0xf0
    expect(f.read(0x1000, 1)[0]).toBe(0x00);
    f.erase(0x1abc);
    expect(f.read(0x1000, 0x1000).every((b) => b === 0xff)).toBe(true);
    expect(f.counters.erases).toEqual({ '4k': 1 });
  });

  it('a page program wraps inside its 256-byte page; with more than 256 bytes the last 256 win', () => {
    const f = new SpiFlash(0x1840ef);
    f.programPage(0x20f0, Uint8Array.from({ length: 32 }, (_, i) => i));
    expect(Array.from(f.read(0x20f0, 16))).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(Array.from(f.read(0x2000, 16))).toEqual(Array.from({ length: 16 }, (_, i) => 16 + i));
    expect(f.read(0x2100, 1)[0]).toBe(0xff); // the next page is untouched
    const g = new SpiFlash(0x1840ef);
    g.programPage(0x3000, Uint8Array.from({ length: 257 }, (_, i) => (i === 256 ? 0x11 : 0xaa)));
    expect(Array.from(g.read(0x3000, 2))).toEqual([0x11, 0xaa]); // byte 256 replaced byte 0 in the page buffer
  });

  it('write protection refuses programs and erases (and counts them)', () => {
    const f = new SpiFlash(0x1840ef);
    f.writeProtected = true;
    expect(f.program(0, Uint8Array.from([0]))).toBe(false);
    expect(f.erase(0)).toBe(false);
    expect(f.read(0, 1)[0]).toBe(0xff);
    expect(f.counters.refused).toBe(2);
    expect(f.counters.writeOps).toBe(2);
  });
});

describe('direct flash gateway (§4.2)', () => {
  it('a read of cmd takes the HW lock if free; a second reader sees it locked; write 0 unlocks', () => {
    const { c } = card();
    expect(c.gwLock()).toBe(true);
    expect(c.cr(0xf0400) >>> 31).toBe(1);
    c.gwUnlock();
    expect(c.gwLock()).toBe(true);
    c.gwUnlock();
  });

  it('reads the JEDEC id and the status register', () => {
    const { c } = card();
    c.gwLock();
    c.gwExec((0x9f << 16) | (1 << 2) | (1 << 4) | (2 << 8) | 1);
    expect(c.cr(0xf0410) >>> 8).toBe(0xef4018); // vendor, type, density
    expect(c.gwRdsr() & 0x3).toBe(0);
    c.gwSimple(0x06);
    expect(c.gwRdsr() & 0x2).toBe(0x2); // WEL
    c.gwUnlock();
  });

  it('reads flash bytes 16 at a time, BE in the data window', () => {
    const { c, model } = card();
    c.gwLock();
    expect(Array.from(c.gwRead16(0))).toEqual(Array.from(model.flash.read(0, 16)));
    expect(Array.from(c.gwRead16(0x1000))).toEqual(Array.from(model.flash.read(0x1000, 16)));
    c.gwUnlock();
  });

  it('page program (WREN + 16 × 16 B with CS_HOLD) and erase, polling WIP', () => {
    const { c, model } = card();
    const page = Uint8Array.from({ length: 256 }, (_, i) => (i * 13) & 0xff);
    c.gwLock();
    c.gwErase4k(0x700000);
    c.gwPageProgram(0x700100, page);
    c.gwUnlock();
    expect(Array.from(model.flash.read(0x700100, 256))).toEqual(Array.from(page));
    c.gwLock();
    expect(Array.from(c.gwRead16(0x700110))).toEqual(Array.from(page.subarray(16, 32)));
    c.gwUnlock();
    const st = model.stats();
    expect(st.flash.pagePrograms).toBe(1);
    expect(st.flash.erases['4k']).toBe(1);
    expect(st.gateway.spiCommands['0x02']).toBe(1);
  });

  it('without WREN a page program does nothing; while WIP the chip ignores everything but RDSR', () => {
    const { c, model } = card({ knobs: { spiWipPolls: 3 } });
    c.gwLock();
    c.crWrite(0xf0404, 0x700000);
    c.crWrite(0xf0410, 0);
    c.gwExec((0x02 << 16) | (1 << 2) | (1 << 3) | (1 << 4) | (2 << 8));
    expect(model.flash.read(0x700000, 4).every((b) => b === 0xff)).toBe(true);
    // erase, then (without polling) WREN + program: ignored while WIP
    c.gwSimple(0x06);
    c.gwExec((0x20 << 16) | (1 << 2) | (1 << 3));
    c.gwSimple(0x06);
    c.gwExec((0x02 << 16) | (1 << 2) | (1 << 3) | (1 << 4) | (2 << 8));
    expect(model.flash.read(0x700000, 4).every((b) => b === 0xff)).toBe(true);
    expect(c.gwWaitWip()).toBe(3);
    c.gwUnlock();
  });

  it('write protection shows in the status register and refuses programs', () => {
    const { c, model } = card({ knobs: { writeProtect: true } });
    c.gwLock();
    expect(c.gwRdsr() & 0x7c).not.toBe(0);
    c.gwPageProgram(0x700000, new Uint8Array(256));
    c.gwUnlock();
    expect(model.flash.read(0x700000, 256).every((b) => b === 0xff)).toBe(true);
    expect(model.stats().flash.refused).toBe(1);
  });

  it('WRSR clears block protection', () => {
    const { c, model } = card({ knobs: { writeProtect: true } });
    c.gwLock();
    c.gwSimple(0x06);
    c.crWrite(0xf0410, 0);
    c.gwExec((0x01 << 16) | (1 << 2) | (1 << 4) | (0 << 8));
    c.gwWaitWip();
    c.gwPageProgram(0x700000, new Uint8Array(256));
    c.gwUnlock();
    expect(model.flash.writeProtected).toBe(false);
    expect(model.flash.read(0x700000, 4).every((b) => b === 0)).toBe(true);
  });

  it('counts flash writes made through the gateway while the FW owns the flash (0xF0420 bit 0)', () => {
    const { c, model } = card();
    c.gwLock();
    c.gwErase4k(0x700000);
    expect(model.stats().gateway.whileCacheReplacementOn).toBe(1);
    c.crWrite(0xf0420, 0); // connectib_flash_lock: clear the cache-replacement enable
    c.gwErase4k(0x701000);
    c.crWrite(0xf0420, 1);
    c.gwUnlock();
    expect(model.stats().gateway.whileCacheReplacementOn).toBe(1);
  });
});

describe('time model', () => {
  it('adds 17.5 µs per config access, ICMD overhead per command, erase and program times per operation', () => {
    const { c, model } = card();
    const s0 = model.stats();
    expect(s0.time.total).toBe((s0.config.reads + s0.config.writes) * 17.5); // the capability walk
    const n = 5;
    for (let i = 0; i < n; i++) c.mfbe(0x800000 + i * 0x1000);
    for (let i = 0; i < n; i++) c.mfbaWrite(0x800000 + i * 0x80, new Uint8Array(128).fill(i));
    const s = model.stats();
    expect(s.time.config).toBeCloseTo((s.config.reads + s.config.writes) * 17.5, 6);
    expect(s.time.icmd).toBe(s.icmd.commands * DEFAULT_TIME_MODEL.icmdCommandUs);
    expect(s.time.erase).toBe(n * DEFAULT_TIME_MODEL.erase4kUs);
    expect(s.time.program).toBe(n * DEFAULT_TIME_MODEL.pageProgramUs);
    expect(s.time.total).toBeCloseTo(s.time.config + s.time.icmd + s.time.erase + s.time.program + s.time.read, 6);
    // twice the work, twice the flash time
    for (let i = 0; i < n; i++) c.mfbe(0x900000 + i * 0x1000);
    expect(model.stats().time.erase).toBe(2 * n * DEFAULT_TIME_MODEL.erase4kUs);
  });

  it('time constants are knobs (timeModel option)', () => {
    const { c, model } = card({ timeModel: { erase4kUs: 10, configAccessUs: 1 } });
    c.mfbe(0x800000);
    const s = model.stats();
    expect(s.time.erase).toBe(10);
    expect(s.time.config).toBe(s.config.reads + s.config.writes);
    expect(() => card({ timeModel: { nope: 1 } as never })).toThrow(expect.objectContaining({ code: 'SIM_BAD_OPTIONS' }));
  });
});
