/**
 * The 14.14.1100 case in one command (docs/seed-case.md; fs3-facts.md §4.4–§4.6): a card on
 * FW 14.14.1100, whose ICMD busy bit never clears after MFRL 0x40 until a reset, takes the
 * catalog 14.32.1908 image with burnImage() alone —
 *   a. the old image is invalidated before the boot-address / warm-boot step, and after every
 *      step (every sector, even) the flash holds at least one valid signed image;
 *   b. a CMDIF timeout anyway is retried within budget, then the writes finish through the
 *      direct gateway;
 *   c. a burn cut short (power cut, abort) is finished by running burnImage() again;
 * and with `flintOrder` the model reproduces flint's exact error line, card still bootable.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDevice, type Device } from '../src/device/index.js';
import { Fs3BurnError } from '../src/errors.js';
import { burnImage, type BurnEvent, type BurnOptions, type BurnResult } from '../src/flows/index.js';
import { placeInSlot } from '../src/image/build/index.js';
import { catalogImage } from '../src/image/catalog.js';
import { parseFs3 } from '../src/image/fs3.js';
import { verifyFs3 } from '../src/image/verify.js';
import { createSimDevice, type SimDevice, type SimOptions } from '../src/sim/index.js';
import { virtualClock } from '../src/vsec/index.js';
import { tempDir } from './helpers/fixtures.js';
import { describeMstflint, mstflint } from './helpers/mstflint.js';

const SEED = 'cx4lx@14.14.1100';
const NEW = catalogImage('cx4lx-14.32.1908');
const FAST: BurnOptions = { retry: { retries: 3, minTimeoutMs: 0, maxTimeoutMs: 0 } };
const FLINT_LINE = '-E- Burning FS3 image failed: Failed to invalidate old fw signature: Flash write of 4 bytes to address physical 0x0 failed: MFE_CMDIF_TIMEOUT_ERR';

function open(sim: SimDevice): Device {
  const clock = virtualClock();
  return openDevice(sim, { clock, icmd: { pollBudget: 64 } });
}

/** GUIDs, MACs, VSD and PSID as the flash's first image shows them. */
function identityOf(flash: Uint8Array) {
  const img = parseFs3(flash);
  return { guid: img.devInfo!.guid, mac: img.devInfo!.mac, vsd: img.devInfo!.vsd, orig: [img.mfgInfo!.guid, img.mfgInfo!.mac], psid: img.mfgInfo!.psid };
}

/** Power the card on from a COPY of this flash (a cold boot: §1.2 probe order) and say what runs. */
function coldBootOfCopy(sim: SimDevice) {
  return createSimDevice({ personality: SEED, flash: sim.model.flash.dump() }).model.running;
}

async function rejects(p: Promise<unknown>): Promise<Fs3BurnError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Fs3BurnError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

/** Burn on a fresh Device over `sim`, with fast retries and the sim's device options. */
function burn(sim: SimDevice, opts: BurnOptions = {}): Promise<BurnResult> {
  return burnImage(open(sim), NEW, { ...FAST, ...opts });
}

let flashOps = 0; // erase + program operations of one full burn (for the power-cut points)

describe('a. the order: the old image is invalidated before the boot-address step', () => {
  it('after every step the flash holds a valid signed image; after a reset the card runs 14.32.1908, GUIDs and MACs unchanged', async () => {
    const sim = createSimDevice(SEED);
    const before = identityOf(sim.model.flash.dump());
    const phases: string[] = [];
    const problems: string[] = [];
    let checks = 0;
    const w0 = sim.model.writesToFlash;
    const onEvent = (e: BurnEvent) => {
      if (phases.at(-1) !== e.phase) {
        phases.push(e.phase);
        // at each step boundary: reset a COPY of the model and see what it boots
        const running = coldBootOfCopy(sim);
        if (!running) problems.push(`nothing boots at the start of ${e.phase}`);
      }
      // at every event (every sector): the image a cold boot picks passes every CRC
      const v = verifyFs3(sim.model.flash.data);
      checks++;
      if (!v.bootable) problems.push(`${e.phase} ${e.done}/${e.total}: ${v.reason}`);
    };
    const r = await burn(sim, { onEvent });
    flashOps = sim.model.writesToFlash - w0;
    expect(problems).toEqual([]);
    expect(checks).toBeGreaterThan(600);
    expect(phases).toEqual(['write', 'signature', 'invalidate', 'boot-address']);
    expect(r).toMatchObject({ flow: 'legacy', outcome: 'burned', fromVersion: '14.14.1100', toVersion: '14.32.1908', newImageStart: 0x400000, bootAddressUpdated: true });
    expect(r.mitigations.join('\n')).toMatch(/invalidated the old image at 0x0 before the boot-address step/);
    expect(r.nextStep).toBe(`To load new FW run fs3burn -d ${sim.name} reset.`);
    // the MFRL 0x40 armed the 14.14 hang: the next ICMD command would time out — nothing was sent after it
    expect(sim.model.stats().icmd.hung).toBe(0);
    sim.model.reset('warm');
    expect(sim.model.running).toMatchObject({ start: 0x400000, versionString: '14.32.1908', bootedVia: 'mfai' });
    expect(identityOf(sim.model.flash.dump())).toEqual(before);
    expect(verifyFs3(sim.model.flash.dump())).toMatchObject({ bootable: true, imageStart: 0x400000 });
    // a cold boot finds it too: the old image is invalidated
    sim.model.reset('cold');
    expect(sim.model.running).toMatchObject({ start: 0x400000, versionString: '14.32.1908', bootedVia: 'search' });
  });
});

describe('b. a CMDIF timeout anyway', () => {
  it('ICMD status 5 on some MFBA writes: retried within budget, the burn completes', async () => {
    const sim = createSimDevice({ personality: SEED, faults: ['icmd-status:5,reg=MFBA,method=set,nth=100,times=3'] } satisfies SimOptions);
    const r = await burn(sim);
    expect(r.outcome).toBe('burned');
    expect(r.stats.retries).toBe(3);
    expect(r.mitigations.join('\n')).toMatch(/retried 3 transient device error/);
    sim.model.reset('warm');
    expect(sim.model.running).toMatchObject({ versionString: '14.32.1908' });
  });

  it('the ICMD busy bit stuck for good: retries, then the remaining writes through the direct gateway, boot address through CR space', async () => {
    const sim = createSimDevice({ personality: SEED, faults: ['busy-stuck,reg=MFBA,method=set,nth=2000'] });
    const before = identityOf(sim.model.flash.dump());
    const r = await burn(sim);
    expect(r).toMatchObject({ outcome: 'burned', bootAddressUpdated: true, newImageStart: 0x400000 });
    expect(r.stats.retries).toBe(3);
    const text = r.mitigations.join('\n');
    expect(text).toMatch(/finished the remaining writes through the direct flash gateway/);
    expect(text).toMatch(/boot address through CR 0xF0000\/0xF0204/);
    expect(sim.model.icmdHung).toBe(true);
    expect(sim.model.stats().gateway.transactions).toBeGreaterThan(0);
    sim.model.reset('warm');
    expect(sim.model.running).toMatchObject({ start: 0x400000, versionString: '14.32.1908', bootedVia: 'cr' });
    expect(identityOf(sim.model.flash.dump())).toEqual(before);
  });
});

describe('c. a burn cut short is finished by running it again', () => {
  beforeAll(async () => {
    if (flashOps === 0) {
      const sim = createSimDevice(SEED);
      const w0 = sim.model.writesToFlash;
      await burn(sim);
      flashOps = sim.model.writesToFlash - w0;
    }
  });

  /** Cut the power at flash operation `nth` (of `flashOps`), reset, run the same burn again. */
  async function cutAndResume(nth: () => number, expected: BurnResult['outcome'][]) {
    const sim = createSimDevice({ personality: SEED, faults: [`power-cut,op=flash-write,nth=${nth()},half`] });
    const before = identityOf(sim.model.flash.dump());
    const e = await rejects(burn(sim));
    expect(e.exitCode).toBe(8);
    expect(sim.model.dead).toBe(true);
    sim.model.reset('cold'); // power back: the card boots from what is on flash
    expect(sim.model.running).not.toBeNull();
    const r = await burn(sim);
    expect(expected).toContain(r.outcome);
    sim.model.reset('warm');
    expect(sim.model.running).toMatchObject({ versionString: '14.32.1908' });
    expect(identityOf(sim.model.flash.dump())).toEqual(before);
    return { first: e, second: r, sim };
  }

  it('power cut in the middle of the image: the old image boots; the second run writes only the rest', async () => {
    const { first, second } = await cutAndResume(() => Math.floor(flashOps / 2), ['resumed']);
    expect(first.message).toMatch(/The card is left bootable: the old image \(FW 14.14.1100\) at 0x0 is untouched and still signed/);
    expect(second.stats.sectorsSkipped).toBeGreaterThan(100);
    expect(second.mitigations.join('\n')).toMatch(/resumed: \d+ of \d+ sectors of the new slot at 0x400000 already held this image/);
  });

  it('power cut in the last page of the image (new slot all but complete, unsigned)', async () => {
    const { second } = await cutAndResume(() => flashOps - 2, ['resumed']);
    expect(second.stats.bytesWritten).toBeLessThan(0x1000 + 16 + 4); // the rest of one sector, the signature, the invalidation
  });

  it('power cut at the signature write', async () => {
    const { second } = await cutAndResume(() => flashOps - 1, ['resumed']);
    expect(second.stats.bytesWritten).toBeLessThanOrEqual(16 + 4);
  });

  it('power cut during the invalidation: the new image is signed, the old one partly zeroed', async () => {
    const { sim } = await cutAndResume(() => flashOps, ['resumed', 'skipped-same-version']);
    expect(Array.from(sim.model.flash.read(0x400000, 4))).toEqual([0x4d, 0x54, 0x46, 0x57]);
  });

  it('abort in the middle of the image, then again before the signature: each run finishes what is missing', async () => {
    const sim = createSimDevice(SEED);
    const ac = new AbortController();
    let events = 0;
    const e1 = await rejects(burn(sim, { signal: ac.signal, onEvent: () => ++events === 300 && ac.abort() }));
    expect(e1.code).toBe('BURN_ABORTED');
    expect(e1.message).toMatch(/^Burn stopped at a safe point \(body\)\. The card is left bootable/);
    expect(coldBootOfCopy(sim)).toMatchObject({ start: 0, versionString: '14.14.1100' });

    const ac2 = new AbortController();
    const e2 = await rejects(burn(sim, { signal: ac2.signal, onEvent: (e) => e.phase === 'write' && e.done === e.total && ac2.abort() }));
    expect(e2.code).toBe('BURN_ABORTED');
    expect(e2.data?.stage).toBe('signature');
    expect(sim.model.flash.read(0x400000, 16).every((b) => b === 0xff)).toBe(true); // complete, unsigned

    const r = await burn(sim);
    expect(r.outcome).toBe('resumed');
    expect(r.stats.bytesWritten).toBe(16 + 4); // the signature and the invalidation, nothing else
    sim.model.reset('warm');
    expect(sim.model.running).toMatchObject({ start: 0x400000, versionString: '14.32.1908' });
  });

  it('abort after the signature (both images signed, old one first): the second run only invalidates and sets the boot address', async () => {
    const sim = createSimDevice(SEED);
    const ac = new AbortController();
    const e = await rejects(burn(sim, { signal: ac.signal, onEvent: (ev) => ev.phase === 'signature' && ev.done === ev.total && ac.abort() }));
    expect(e.data?.stage).toBe('invalidate');
    expect(e.message).toMatch(/both|is complete and signed, and the old one/);
    const r = await burn(sim);
    expect(r.outcome).toBe('resumed');
    expect(r.stats.bytesWritten).toBe(4);
    expect(r.mitigations.join('\n')).toMatch(/already complete and signed/);
  });

  it('cut after the signature with the new image in slot 0 (it is what the card reports now): finished, not skipped as "same version"', async () => {
    const id = { guid: 0x248a0703000c0d18n, mac: 0x248a070c0d18n };
    const flash = placeInSlot(catalogImage('cx4lx-14.14.1100', id), 1);
    const probe = createSimDevice({ personality: SEED, flash: flash.slice() });
    const w0 = probe.model.writesToFlash;
    await burnImage(open(probe), NEW, FAST);
    const ops = probe.model.writesToFlash - w0;

    // the signature program is the second-to-last flash operation: cut right after it
    const sim = createSimDevice({ personality: SEED, flash, faults: [`power-cut,op=flash-write,nth=${ops - 1}`] });
    await rejects(burnImage(open(sim), NEW, FAST));
    sim.model.reset('cold');
    expect(sim.model.running).toMatchObject({ start: 0, versionString: '14.32.1908' }); // the new image, in slot 0
    expect(Array.from(sim.model.flash.read(0x400000, 4))).toEqual([0x4d, 0x54, 0x46, 0x57]); // old one still signed
    const r = await burnImage(open(sim), NEW, FAST);
    expect(r).toMatchObject({ outcome: 'resumed', newImageStart: 0 });
    expect(r.stats.bytesWritten).toBe(4);
    expect(Array.from(sim.model.flash.read(0x400000, 4))).toEqual([0, 0, 0, 0]);
  });
});

describe("flint's order (flintOrder: no mitigations) reproduces the field report", () => {
  it('prints flint’s exact error line, and the card still boots', async () => {
    const sim = createSimDevice(SEED);
    const lines: string[] = [];
    const e = await rejects(burn(sim, { flintOrder: true, log: (l) => lines.push(l) }));
    expect(`-E- ${e.message}`).toBe(FLINT_LINE);
    expect(e.code).toBe('BURN_INVALIDATE_FAILED');
    expect(e.exitCode).toBe(8);
    expect(e.hint).toMatch(/The card is left bootable/);
    expect(lines).toContain('Burning FW image without signatures - OK'); // as in the forum thread
    expect(lines).not.toContain('Restoring signature                     - OK');
    expect(sim.model.icmdHung).toBe(true);
    // bootable: a cold boot of a copy runs the old image; the card's own warm reset the new one (MFAI)
    expect(coldBootOfCopy(sim)).toMatchObject({ start: 0, versionString: '14.14.1100' });
    sim.model.reset('warm');
    expect(sim.model.running).toMatchObject({ start: 0x400000, versionString: '14.32.1908', bootedVia: 'mfai' });

    // and fs3burn, run after that reset, finishes the job (invalidates the old image); the card
    // runs 14.32 now, which would take the FW-managed flow: noFwCtrl keeps it on the legacy path
    const r = await burn(sim, { noFwCtrl: true });
    expect(r.outcome).toBe('resumed');
    expect(Array.from(sim.model.flash.read(0, 4))).toEqual([0, 0, 0, 0]);
  });

  it('before a reset the hung card refuses a new burn without writing anything', async () => {
    const sim = createSimDevice(SEED);
    await rejects(burn(sim, { flintOrder: true }));
    const w = sim.model.writesToFlash;
    const e = await rejects(burn(sim));
    expect(e.code).toBe('BURN_DEVICE_HUNG');
    expect(e.message).toMatch(/stays bootable/);
    expect(e.hint).toMatch(/reset/);
    expect(sim.model.writesToFlash).toBe(w);
  });
});

describeMstflint('mstflint accepts the seed-case result', () => {
  it('mstflint -i DUMP v after the 14.14.1100 → 14.32.1908 burn', async () => {
    const sim = createSimDevice(SEED);
    await burn(sim);
    sim.model.reset('warm');
    const file = join(tempDir(), 'seed.bin');
    writeFileSync(file, sim.model.flash.dump());
    const v = mstflint(['-i', file, 'v']);
    expect(v.stdout).toContain('FW image verification succeeded. Image is bootable.');
    expect(v.status).toBe(0);
    const q = mstflint(['-i', file, 'q']);
    expect(q.stdout).toMatch(/FW Version:\s+14\.32\.1908/);
  });
});
