/**
 * Bad input, fuzzed through the burn path (issue 5 part 1): a few hundred mutated images
 * (test/helpers/mutate.ts) burned with burnImage onto simulated ConnectX-4 Lx cards, each on
 * a fresh card. For every case:
 *
 * - the outcome is a BurnResult or a typed Fs3BurnError whose exit status is its code's;
 * - no write reaches the flash (the sim's writesToFlash) unless the mutant still verifies
 *   (verifyFs3) and passed the guards: a refusal (exit 3/4/5/7) never comes after a write;
 * - a burn that wrote went only where a failsafe burn may: the new slot, and the old image's
 *   first dword; the old image's other bytes and the device data (0xFA0000 up) stay as they were;
 * - after a burn (or a burn failure, exit 8) the card still boots after a reset — the new
 *   image's version after a burn.
 *
 * Bounded: the card is reached through a transport that fails the case past a budget of
 * config accesses, and the flows run on a virtual clock that fails past an hour of modelled
 * sleeping, so a case that loops fails instead of hanging. No real sleeping.
 *
 * The mutation mix leans towards CRC-fixed edits (images that still verify), so many cases get
 * past verification to the guards and the flows. Replay: fixed seeds; FS3BURN_FUZZ_SEED /
 * FS3BURN_FUZZ_PATH as in fuzz-image.test.ts; FS3BURN_LONG=1 for 10× the cases.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { openDevice } from '../src/device/index.js';
import { burnImage, type BurnOptions, type BurnResult } from '../src/flows/index.js';
import { catalogImage } from '../src/image/catalog.js';
import { parseFs3 } from '../src/image/fs3.js';
import { verifyFs3 } from '../src/image/verify.js';
import { requireFs3 } from '../src/io/open-image.js';
import { createSimDevice } from '../src/sim/index.js';
import type { PciConfigTransport } from '../src/transport/types.js';
import type { Clock } from '../src/vsec/clock.js';
import { FX, rawFixtureBytes } from './helpers/fixtures.js';
import { LONG, SMALL_SECTIONS, Tally, Workbench, describeMutation, fuzzSeed, kindOf, mapImage, mutationArb, typedCode, type Mutation } from './helpers/mutate.js';

const SCALE = LONG ? 10 : 1;
const T = LONG ? 3_600_000 : 600_000;
const FAST: BurnOptions = { retry: { retries: 2, minTimeoutMs: 0, maxTimeoutMs: 0 } };
const DEVICE_DATA = 0xfa0000;
const MAX_CONFIG_ACCESSES = 40_000_000;
const MAX_VIRTUAL_SLEEP_MS = 3_600_000;

/** The card's config space, failing the case past a budget of accesses (a loop, not a burn). */
function budgeted(sim: PciConfigTransport, max: number): PciConfigTransport {
  let n = 0;
  const tick = () => {
    if (++n > max) throw new Error(`HANG: more than ${max} config accesses`);
  };
  return {
    name: sim.name,
    read32: (off) => (tick(), sim.read32(off)),
    write32: (off, v) => (tick(), sim.write32(off, v)),
    close: () => sim.close(),
  };
}

/** A virtual clock that fails past an hour of modelled sleeping. */
function budgetClock(maxMs: number): Clock {
  let t = 0;
  return {
    now: () => t,
    sleep(ms: number) {
      if (ms <= 0) return;
      t += ms;
      if (t > maxMs) throw new Error(`HANG: more than ${maxMs} ms of modelled sleeping`);
    },
  };
}

interface CardBase {
  personality: string;
  flash: Uint8Array;
  /** Physical start and extent of the card's image (its other bytes must survive a failsafe burn). */
  oldStart: number;
  oldExtent: number;
}

function cardBase(personality: string): CardBase {
  const sim = createSimDevice(personality);
  const flash = sim.model.flash.dump().slice();
  sim.close();
  const img = parseFs3(flash);
  let extent = img.itoc.address + 0x1000;
  for (const e of img.entries) if (e.relativeAddr) extent = Math.max(extent, e.address + e.size);
  return { personality, flash, oldStart: img.imageStart, oldExtent: extent };
}

function verifies(bytes: Uint8Array): boolean {
  try {
    requireFs3(bytes, 'mutant');
    return verifyFs3(bytes).bootable;
  } catch {
    return false;
  }
}

/** Byte ranges where `a` and `b` differ (coalesced per 4 KiB). */
function changed(a: Uint8Array, b: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < a.length; s += 0x1000) {
    const end = Math.min(a.length, s + 0x1000);
    let first = -1;
    let last = -1;
    for (let i = s; i < end; i++) {
      if (a[i] !== b[i]) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first >= 0) out.push([first, last + 1]);
  }
  return out;
}

const totals = { cases: 0, outcomes: new Tally(), wrote: 0, burned: 0 };

async function burnCase(card: CardBase, bytes: Uint8Array, m: Mutation): Promise<string> {
  const sim = createSimDevice({ personality: card.personality, flash: card.flash });
  const dev = openDevice(budgeted(sim, MAX_CONFIG_ACCESSES), { clock: budgetClock(MAX_VIRTUAL_SLEEP_MS), icmd: { pollBudget: 64, semaphoreTries: 8 }, flash: { semaphoreTries: 8 } });
  const ok = verifies(bytes);
  const writesBefore = sim.model.writesToFlash;
  let result: BurnResult | undefined;
  let error: unknown;
  let timer: NodeJS.Timeout | undefined;
  try {
    result = await Promise.race([
      burnImage(dev, bytes, FAST),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('HANG: the burn did not settle in 120 s')), 120_000);
      }),
    ]);
  } catch (e) {
    error = e;
  } finally {
    clearTimeout(timer);
    dev.close();
  }
  const outcome = error !== undefined ? typedCode(error, `burnImage ${kindOf(m)}`) : result!.outcome;
  const exit = error !== undefined ? (error as { exitCode: number }).exitCode : 0;
  const wrote = sim.model.writesToFlash !== writesBefore;
  const where = `${outcome} after ${describeMutation(m)}`;
  if (wrote) {
    totals.wrote++;
    expect(ok, `a write reached the card for an image that does not verify (${where})`).toBe(true);
    expect(exit === 0 || exit === 8, `a refusal (exit ${exit}) after a write (${where})`).toBe(true);
  }
  if (result?.outcome === 'skipped-same-version') expect(wrote, where).toBe(false);
  if (wrote || exit === 8) {
    // a failsafe burn writes the new slot and zeroes the old image's first dword; nothing else
    const after = sim.model.flash.dump();
    const newStart = result?.newImageStart;
    for (const [from, to] of changed(card.flash, after)) {
      const inOldHead = from >= card.oldStart && to <= card.oldStart + 4;
      const inNewSlot = newStart !== undefined ? from >= newStart && to <= Math.min(DEVICE_DATA, newStart + 0x800000) : from >= card.oldStart + card.oldExtent && to <= DEVICE_DATA;
      expect(inOldHead || inNewSlot, `write at 0x${from.toString(16)}..0x${to.toString(16)} outside the new slot (${where})`).toBe(true);
    }
    sim.model.reset('warm');
    const running = sim.model.running;
    expect(running, `the card does not boot after ${where}`).not.toBeNull();
    if (result?.outcome === 'burned' || result?.outcome === 'resumed') {
      totals.burned++;
      const v = parseFs3(bytes).imageInfo!.fwVersion;
      expect(running!.version, where).toEqual([v.major, v.minor, v.subminor]);
    }
  }
  sim.close();
  return outcome;
}

async function runBurnProperty(label: string, card: CardBase, image: Uint8Array, runs: number, seed: number, validWeight = 4): Promise<Tally> {
  const map = mapImage(label, image);
  const bench = new Workbench(image, map);
  const tally = new Tally();
  const s = fuzzSeed(seed);
  const path = process.env.FS3BURN_FUZZ_PATH;
  await fc.assert(
    fc.asyncProperty(mutationArb(map, { validWeight }), async (m) => {
      const bytes = bench.apply(m);
      try {
        tally.add(await burnCase(card, bytes, m));
      } catch (e) {
        throw new Error(`${label}: ${describeMutation(m)}\n${(e as Error).message}`);
      } finally {
        bench.undo();
      }
    }),
    { seed: s, numRuns: runs * SCALE, ...(path ? { path } : {}) },
  );
  totals.cases += runs * SCALE;
  for (const k of tally.keys()) totals.outcomes.add(`${label}: ${k}`, tally.get(k));
  console.log(`${label}: ${runs * SCALE} mutations burned, seed ${s}\n${tally}`);
  return tally;
}

afterAll(() => {
  console.log(`burn path total: ${totals.cases} mutations, ${totals.wrote} wrote to the flash, ${totals.burned} burned and booted\n${totals.outcomes}`);
});

describe('fuzz: burnImage on simulated cards', () => {
  const c1414 = cardBase('cx4lx@14.14.1100');
  const c1425 = cardBase('cx4lx@14.25.1020');
  const small32 = catalogImage('cx4lx-14.32.1908', { sections: SMALL_SECTIONS });

  it('mutants of a signed 14.32.1908 image on a 14.14.1100 card (legacy flow)', async () => {
    const t = await runBurnProperty('14.32 small -> 14.14 card', c1414, small32, 150, 0xb0e1);
    expect(t.get('burned')).toBeGreaterThan(10); // some mutants still verify and pass the guards
    expect(t.total() - t.get('burned')).toBeGreaterThan(10);
  }, T);

  it('mutants of a signed 14.32.1908 image on a 14.25.1020 card (FW-managed flow)', async () => {
    const t = await runBurnProperty('14.32 small -> 14.25 card', c1425, small32, 90, 0xb0e2);
    expect(t.get('burned')).toBeGreaterThan(5);
  }, T);

  it('mutants of an 8 MiB-chunk image on a 14.14.1100 card', async () => {
    await runBurnProperty('14.32 small 8M -> 14.14 card', c1414, catalogImage('cx4lx-14.32.1908', { sections: SMALL_SECTIONS, chunkLog2: 0x17 }), 40, 0xb0e3);
  }, T);

  it('mutants of the real IBM fixture (another device) on a 14.14.1100 card', async () => {
    await runBurnProperty('fixture IBM -> 14.14 card', c1414, rawFixtureBytes(FX.fs3Ibm), 30, 0xb0e4, 1);
  }, T);
});
