/**
 * The reference tool agrees that the simulated card's flash holds a valid image: a fresh
 * card's flash dump, and a card after a FW-managed (MCC) update, verify with `mstflint v`.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { catalogImage } from '../src/image/catalog.js';
import { createSimDevice, makeMiniFlash, makeMiniImage } from '../src/sim/index.js';
import { tempDir } from './helpers/fixtures.js';
import { describeMstflint, mstflint } from './helpers/mstflint.js';
import { RawCard, REG, be32, putBe32 } from './sim-helper.js';

const dir = tempDir('fs3burn-sim-mstflint-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeMstflint('mstflint reads the simulated card’s flash', () => {
  for (const v of ['14.14.1100', '14.25.1020', '14.32.1908']) {
    it(`a fresh cx4lx@${v} card's flash dump verifies and queries as FW ${v}`, () => {
      const dev = createSimDevice(`sim:cx4lx@${v}?seed=3`);
      const file = join(dir, `fresh-${v}.bin`);
      writeFileSync(file, dev.model.flash.dump());
      const r = mstflint(['-i', file, 'v']);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('FW image verification succeeded');
      const q = mstflint(['-i', file, 'q']);
      expect(q.stdout).toMatch(new RegExp(`FW Version:\\s+${v.replace(/\./g, '\\.')}`));
    });
  }

  it('the mini test image verifies too', () => {
    const file = join(dir, 'mini.bin');
    writeFileSync(file, makeMiniFlash({ version: [14, 14, 2000] }));
    const r = mstflint(['-i', file, 'v']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  const catalogComponent = (): Uint8Array => {
    // FwExtract4MBImage: the image area of slot 0 (§3.2), here up to its last programmed byte
    const flash = catalogImage('cx4lx-14.32.1908');
    let end = 0x400000;
    while (end > 0 && flash[end - 1] === 0xff) end--;
    return flash.slice(0, Math.ceil(end / 128) * 128);
  };

  for (const [what, make] of [
    ['a mini 14.32.1908 image', () => makeMiniImage({ version: [14, 32, 1908], signed: true })],
    ['the catalog 14.32.1908 image', catalogComponent],
  ] as const) {
    it(`after an MCC update with ${what} (FW writes the other slot, keeps device data) the flash verifies with the new version`, () => {
      const dev = createSimDevice('sim:cx4lx@14.25.1020?seed=4');
      const c = new RawCard(dev);
      const img = make();
      const mcc = (instr: number, handle: number, size = 0) => {
        const b = new Uint8Array(0x20);
        putBe32(b, 0, instr);
        putBe32(b, 8, handle);
        putBe32(b, 16, size);
        const r = c.reg(REG.MCC, instr === 0 ? 'get' : 'set', b);
        return { state: be32(r.data, 12) & 0xf, error: (be32(r.data, 12) >>> 8) & 0xff, handle: be32(r.data, 8) & 0xffffff };
      };
      const h = mcc(0, 0).handle;
      expect(mcc(1, h).state).toBe(1);
      mcc(3, h, img.length);
      while (mcc(0, h).state !== 3);
      for (let off = 0; off < img.length; off += 128) {
        const b = new Uint8Array(0x10 + 128);
        putBe32(b, 0, h);
        putBe32(b, 4, off);
        putBe32(b, 8, 128);
        for (let i = 0; i < 128; i += 4) putBe32(b, 0x10 + i, (img[off + i]! | (img[off + i + 1]! << 8) | (img[off + i + 2]! << 16) | (img[off + i + 3]! << 24)) >>> 0);
        expect(c.reg(REG.MCDA, 'set', b).status).toBe(0);
      }
      mcc(4, h);
      let q = mcc(0, h);
      while (q.state === 4) q = mcc(0, h);
      expect(q).toMatchObject({ state: 1, error: 0 });
      mcc(6, h);
      while (mcc(0, h).state === 6);
      mcc(2, h);
      const file = join(dir, `after-mcc-${what.replace(/\W+/g, '-')}.bin`);
      writeFileSync(file, dev.model.flash.dump());
      const r = mstflint(['-i', file, 'v']);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      const qr = mstflint(['-i', file, 'q']);
      expect(qr.stdout).toMatch(/FW Version:\s+14\.32\.1908/);
      expect(qr.stdout.toLowerCase()).toContain(dev.model.flash.read(0xfee000 + 0x28, 8).reduce((s, b) => s + b.toString(16).padStart(2, '0'), ''));
      dev.model.reset();
      expect(dev.model.running).toMatchObject({ start: 0x400000, versionString: '14.32.1908' });
    });
  }
});
