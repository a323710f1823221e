/**
 * Reset and boot (§1.2–§1.4, §2.3 step 4–5): the boot search, boot addresses from MFAI and
 * the CR path, no image → no FW, and the personality the booted version picks.
 */
import { describe, expect, it } from 'vitest';
import { createSimDevice, makeMiniFlash, makeMiniImage, PERSONALITIES, type Personality } from '../src/sim/index.js';
import { RawCard, REG } from './sim-helper.js';

const V1414: [number, number, number] = [14, 14, 1100];
const V1425: [number, number, number] = [14, 25, 1020];

/** Slot 0 = 14.14.1100, slot 1 (0x400000) = 14.25.1020, device data at the top. */
function twoSlotFlash(): Uint8Array {
  const f = makeMiniFlash({ version: V1414 });
  f.set(makeMiniImage({ version: V1425 }), 0x400000);
  return f;
}

function card(flash: Uint8Array, extra: { personalities?: Personality[] } = {}) {
  const dev = createSimDevice({ personality: 'cx4lx@14.14.1100', flash, ...extra });
  return { dev, c: new RawCard(dev), model: dev.model };
}

describe('boot search', () => {
  it('boots the first valid image start in probe order', () => {
    const { model, c } = card(twoSlotFlash());
    expect(model.running).toMatchObject({ start: 0, versionString: '14.14.1100', bootedVia: 'search' });
    expect(c.mgirVersion().version).toEqual(V1414);
  });

  it('after slot 0 magic is zeroed (failsafe invalidation, §2.3 step 5) a reset boots slot 1 and its personality', () => {
    const { model, c } = card(twoSlotFlash());
    expect(c.reg(REG.MCAM, 'get', 0x48).status).toBe(4);
    expect(c.mfbaWrite(0, new Uint8Array(4)).status).toBe(0);
    expect(model.running?.start).toBe(0); // still running until reset
    model.reset();
    expect(model.running).toMatchObject({ start: 0x400000, versionString: '14.25.1020' });
    expect(model.personality.name).toBe('cx4lx@14.25.1020');
    expect(c.mgirVersion().version).toEqual(V1425);
    expect(c.reg(REG.MCAM, 'get', 0x48).status).toBe(0);
    expect(c.cr(0xf0000)).toBe(0x400000 << 8);
  });

  it('honours an MFAI boot address at a warm reset, not at a cold one (§2.3 step 4, ISFU path)', () => {
    const { model, c } = card(twoSlotFlash());
    expect(c.mfai(0x400000)).toBe(0);
    model.reset('warm');
    expect(model.running).toMatchObject({ start: 0x400000, bootedVia: 'mfai' });
    model.reset('cold');
    expect(model.running).toMatchObject({ start: 0, bootedVia: 'search' });
  });

  it('honours the CR path: 0xF0000 = start<<8 with 0xF0204 bit 1 (§2.3 step 4)', () => {
    const { model, c } = card(twoSlotFlash());
    c.crWrite(0xf0000, 0x400000 << 8);
    model.reset();
    expect(model.running?.start).toBe(0); // bit 1 not set: no effect
    c.crWrite(0xf0000, 0x400000 << 8);
    c.crWrite(0xf0204, c.cr(0xf0204) | 2);
    model.reset();
    expect(model.running).toMatchObject({ start: 0x400000, bootedVia: 'cr' });
  });

  it('ignores a boot address that does not point at a valid image', () => {
    const { model, c } = card(twoSlotFlash());
    c.mfai(0x200000);
    model.reset();
    expect(model.running).toMatchObject({ start: 0, bootedVia: 'search' });
  });

  it('a slot with the magic but a broken ITOC is not booted; the next valid one is', () => {
    const f = twoSlotFlash();
    f[0x1000] ^= 0xff; // ITOC signature of slot 0
    const { model } = card(f);
    expect(model.running?.start).toBe(0x400000);
  });

  it('an image whose first 16 bytes are still 0xFF (burn before the signature restore) is not booted', () => {
    const f = twoSlotFlash();
    f.fill(0xff, 0, 16);
    const { model } = card(f);
    expect(model.running?.start).toBe(0x400000);
  });

  it('no valid image: no FW — cache-replacement zero, ICMD not ready, livefish PCI id (§4.1, §6.1, §7)', () => {
    const f = makeMiniFlash();
    const { dev, model, c } = card(f);
    c.mfbe(0); // erase slot 0's first sector
    model.reset();
    expect(model.running).toBeNull();
    expect(dev.read32(0) >>> 16).toBe(0x20b);
    expect(c.cr(0xf0408)).toBe(0);
    expect(c.cr(0xf040c)).toBe(0);
    expect(c.cr(0xb0004) >>> 31).toBe(1);
    expect(model.describe()).toMatch(/no runnable FW/);
  });

  it('unknown versions take the nearest older known personality; custom personalities are data', () => {
    const { model } = card(makeMiniFlash({ version: [14, 20, 1010] }));
    expect(model.personality.name).toBe('cx4lx@14.14.1100');
    expect(model.running?.versionString).toBe('14.20.1010');
    const newer = card(makeMiniFlash({ version: [14, 40, 1000] }));
    expect(newer.model.personality.name).toBe('cx4lx@14.32.1908');
    const custom: Personality = { ...PERSONALITIES[1]!, name: 'cx4lx@14.20.0000', version: [14, 20, 0], catalogName: 'none', mfbaMaxSize: 64 };
    const withCustom = card(makeMiniFlash({ version: [14, 20, 1010] }), { personalities: [custom] });
    expect(withCustom.model.personality.mfbaMaxSize).toBe(64);
    expect(withCustom.c.mfbaRead(0, 128).status).toBe(7);
  });
});

describe('a legacy failsafe burn driven by raw registers boots the new image (§2.3)', () => {
  it('MFBE + MFBA into slot 1 (magic last), MFAI, invalidate old → reset runs the new version', () => {
    const { model, c } = card(makeMiniFlash({ version: V1414 }), {});
    const img = makeMiniImage({ version: [14, 32, 1908] });
    const slot = 0x400000;
    for (let a = 0; a < img.length; a += 0x1000) expect(c.mfbe(slot + a).status).toBe(0);
    for (let a = 16; a < img.length; a += 128) {
      const chunk = img.subarray(a, Math.min(a + 128, img.length));
      if (chunk.every((b) => b === 0xff)) continue;
      expect(c.mfbaWrite(slot + a, chunk).status).toBe(0);
    }
    // new slot not yet signed: a reset would still boot the old one
    expect(c.mfbaWrite(slot, img.subarray(0, 16)).status).toBe(0);
    expect(c.mfai(slot)).toBe(0);
    expect(c.mfbaWrite(0, new Uint8Array(4)).status).toBe(0); // invalidate old
    model.reset();
    expect(model.running).toMatchObject({ start: slot, versionString: '14.32.1908' });
    expect(c.mgirVersion().version).toEqual([14, 32, 1908]);
    expect(model.writesToFlash).toBeGreaterThan(0);
  });
});
