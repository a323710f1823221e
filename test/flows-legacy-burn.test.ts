/**
 * The legacy failsafe FS3 burn end to end on the simulated card (fs3-facts.md §2): from each
 * slot to the other, with 4 MiB and 8 MiB chunks; the device data (GUIDs, MACs, VSD) stays;
 * the card boots the new image after a reset; `mstflint -i DUMP v` accepts the result; nofs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDevice, type Device } from '../src/device/index.js';
import { burnImage, type BurnOptions } from '../src/flows/index.js';
import { placeInSlot } from '../src/image/build/index.js';
import { catalogImage } from '../src/image/catalog.js';
import { parseFs3 } from '../src/image/fs3.js';
import { verifyFs3 } from '../src/image/verify.js';
import { createSimDevice, type SimDevice } from '../src/sim/index.js';
import { virtualClock } from '../src/vsec/index.js';
import { tempDir } from './helpers/fixtures.js';
import { describeMstflint, mstflint } from './helpers/mstflint.js';

const CARD = { guid: 0x248a0703001a2b38n, mac: 0x248a071a2b38n, deviceVsd: 'lab-card-7 rack 3' };
const FAST: BurnOptions = { retry: { retries: 2, minTimeoutMs: 0, maxTimeoutMs: 0 } };

function card(flash: Uint8Array, personality = 'cx4lx@14.25.1020'): SimDevice {
  return createSimDevice({ personality, flash });
}
function open(sim: SimDevice): Device {
  return openDevice(sim, { clock: virtualClock(), icmd: { pollBudget: 64 } });
}

/** The card's identity as the flash's first image sees it (DEV_INFO / MFG_INFO). */
function identityOf(flash: Uint8Array) {
  const img = parseFs3(flash);
  return {
    guid: img.devInfo!.guid,
    mac: img.devInfo!.mac,
    deviceVsd: img.devInfo!.vsd,
    origGuid: img.mfgInfo!.guid.uid,
    origMac: img.mfgInfo!.mac.uid,
    psid: img.mfgInfo!.psid,
  };
}

async function burnAndReset(sim: SimDevice, image: Uint8Array, opts: BurnOptions = {}) {
  const dev = open(sim);
  const r = await burnImage(dev, image, { ...FAST, noFwCtrl: true, ...opts });
  sim.model.reset('warm'); // the Device is dropped (closing it would close the sim transport)
  return r;
}

describe('legacy burn, 4 MiB slots', () => {
  it('slot 0 → slot 1 → slot 0; device data kept; boots the new image each time', async () => {
    const sim = card(placeInSlot(catalogImage('cx4lx-14.25.1020', CARD), 0));
    const before = identityOf(sim.model.flash.dump());
    expect(before.deviceVsd).toBe(CARD.deviceVsd);

    const r1 = await burnAndReset(sim, catalogImage('cx4lx-14.32.1908'));
    expect(r1).toMatchObject({ flow: 'legacy', outcome: 'burned', fromVersion: '14.25.1020', toVersion: '14.32.1908', newImageStart: 0x400000, bootAddressUpdated: true });
    expect(sim.model.running).toMatchObject({ start: 0x400000, versionString: '14.32.1908', bootedVia: 'mfai' });
    const f1 = sim.model.flash.dump();
    expect(Array.from(f1.subarray(0, 4))).toEqual([0, 0, 0, 0]); // old magic invalidated (§2.3 step 5)
    expect(verifyFs3(f1)).toMatchObject({ bootable: true, imageStart: 0x400000 });
    expect(identityOf(f1)).toEqual(before);

    const r2 = await burnAndReset(sim, catalogImage('cx4lx-14.25.1020'), { allowDowngrade: true });
    expect(r2).toMatchObject({ outcome: 'burned', fromVersion: '14.32.1908', toVersion: '14.25.1020', newImageStart: 0 });
    expect(sim.model.running).toMatchObject({ start: 0, versionString: '14.25.1020' });
    const f2 = sim.model.flash.dump();
    expect(Array.from(f2.subarray(0x400000, 0x400004))).toEqual([0, 0, 0, 0]);
    expect(verifyFs3(f2)).toMatchObject({ bootable: true, imageStart: 0 });
    expect(identityOf(f2)).toEqual(before);
  });

  it('writes no byte of the device data and erases only inside the new slot', async () => {
    const sim = card(placeInSlot(catalogImage('cx4lx-14.25.1020', CARD), 0));
    const before = sim.model.flash.dump();
    await burnAndReset(sim, catalogImage('cx4lx-14.32.1908'));
    const after = sim.model.flash.dump();
    const firstDiff = (from: number, to: number) => {
      for (let i = from; i < to; i++) if (before[i] !== after[i]) return i;
      return -1;
    };
    expect(firstDiff(4, 0x400000)).toBe(-1); // old slot: only its first dword changed
    expect(firstDiff(0x800000, 0x1000000)).toBe(-1); // device data (0xFA0000..) and the rest untouched
  });
});

describe('legacy burn, 8 MiB slots (log2 chunk 0x17)', () => {
  it('slot 0 → 0x800000 → slot 0', async () => {
    const sim = card(placeInSlot(catalogImage('cx4lx-14.25.1020', { ...CARD, chunkLog2: 0x17 }), 0));
    const before = identityOf(sim.model.flash.dump());
    const r1 = await burnAndReset(sim, catalogImage('cx4lx-14.32.1908', { chunkLog2: 0x17 }));
    expect(r1).toMatchObject({ outcome: 'burned', newImageStart: 0x800000 });
    expect(sim.model.running).toMatchObject({ start: 0x800000, versionString: '14.32.1908', chunkLog2: 0x17 });
    expect(identityOf(sim.model.flash.dump())).toEqual(before);

    const r2 = await burnAndReset(sim, catalogImage('cx4lx-14.25.1020', { chunkLog2: 0x17 }), { allowDowngrade: true });
    expect(r2).toMatchObject({ outcome: 'burned', newImageStart: 0 });
    expect(sim.model.running).toMatchObject({ start: 0, versionString: '14.25.1020' });
    expect(Array.from(sim.model.flash.read(0x800000, 4))).toEqual([0, 0, 0, 0]);
    expect(identityOf(sim.model.flash.dump())).toEqual(before);
  });

  it('a 4 MiB image onto a card with 8 MiB slots goes to 0x800000 (the device chunk decides, §2.2)', async () => {
    const sim = card(placeInSlot(catalogImage('cx4lx-14.25.1020', { ...CARD, chunkLog2: 0x17 }), 0));
    const r = await burnAndReset(sim, catalogImage('cx4lx-14.32.1908'));
    expect(r.newImageStart).toBe(0x800000);
    expect(sim.model.running).toMatchObject({ start: 0x800000, versionString: '14.32.1908' });
  });
});

describe('nofs (§2.4)', () => {
  it('boot address through the CR path, every other image start invalidated', async () => {
    const flash = placeInSlot(catalogImage('cx4lx-14.14.1100', CARD), 0);
    flash.set(catalogImage('cx4lx-14.14.1100', CARD).subarray(0, 0x10000), 0x10000); // a stray image start at 0x10000
    const sim = card(flash, 'cx4lx@14.14.1100');
    const lines: string[] = [];
    const r = await burnAndReset(sim, catalogImage('cx4lx-14.32.1908'), { nofs: true, log: (l) => lines.push(l) });
    expect(lines).toContain('Burn process will not be failsafe. No checks will be performed.');
    expect(r).toMatchObject({ outcome: 'burned', newImageStart: 0x400000, bootAddressUpdated: true });
    expect(Array.from(sim.model.flash.read(0, 4))).toEqual([0, 0, 0, 0]);
    expect(Array.from(sim.model.flash.read(0x10000, 4))).toEqual([0, 0, 0, 0]);
    expect(sim.model.running).toMatchObject({ start: 0x400000, versionString: '14.32.1908', bootedVia: 'cr' });
  });
});

describeMstflint('mstflint accepts the burned flash', () => {
  it('mstflint -i DUMP v and q after a legacy burn from each slot', async () => {
    const dir = tempDir();
    const sim = card(placeInSlot(catalogImage('cx4lx-14.25.1020', CARD), 0));
    for (const [i, [name, opts]] of ([
      ['cx4lx-14.32.1908', {}],
      ['cx4lx-14.25.1020', { allowDowngrade: true }],
    ] as const).entries()) {
      await burnAndReset(sim, catalogImage(name), opts);
      const file = join(dir, `dump-${i}.bin`);
      writeFileSync(file, sim.model.flash.dump());
      const v = mstflint(['-i', file, 'v']);
      expect(v.stdout + v.stderr).toContain('FW image verification succeeded. Image is bootable.');
      expect(v.status).toBe(0);
      const q = mstflint(['-i', file, 'q']);
      expect(q.stdout).toContain(`FW Version:            ${name.slice(6)}`);
      expect(q.stdout).toMatch(/Base GUID:\s+248a0703001a2b38/);
      expect(q.stdout).toMatch(/Base MAC:\s+248a071a2b38/);
    }
  });
});
