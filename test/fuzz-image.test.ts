/**
 * Bad input, fuzzed in-process (issue 5 part 1): 10,000 mutations of the real FS3 fixtures and
 * of built ConnectX-4 Lx images (test/helpers/mutate.ts) through what `fs3burn -i FILE q|v`
 * runs — requireFs3, parseFs3 + describeImage + formatQuery, verifyFs3 + formatVerify — and
 * through Device.readImage's reader on a mutated flash. Each case gives success or a typed
 * Fs3BurnError whose exit status is its code's (never INTERNAL, never a TypeError/RangeError),
 * and verify and query agree (an image that verifies also parses).
 *
 * Bounded: the parser reads through a ByteSource that fails the case past a read budget (a
 * loop that keeps reading is a hang), so no case can run away.
 *
 * Replay: every property runs with a fixed seed (printed with the counts); a failure prints the
 * mutation as JSON plus fast-check's seed and path. FS3BURN_FUZZ_SEED=N changes the seed,
 * FS3BURN_FUZZ_PATH=P (with that seed) replays one case. FS3BURN_LONG=1: 10× the cases.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readFlashImage } from '../src/device/image-read.js';
import { placeInSlot } from '../src/image/build/index.js';
import { catalogImage } from '../src/image/catalog.js';
import { FX, rawFixtureBytes } from './helpers/fixtures.js';
import { LONG, SMALL_SECTIONS, Tally, Workbench, describeMutation, fuzzSeed, imageCase, kindOf, mapImage, mutationArb, typedCode, type Mutation } from './helpers/mutate.js';

const SCALE = LONG ? 10 : 1;
/** Per-test bound (a case that hangs fails through the read budget long before). */
const T = LONG ? 3_600_000 : 300_000;

interface Base {
  label: string;
  bytes: Uint8Array;
  runs: number;
  seed: number;
  validWeight?: number;
}

const totals = { cases: 0, byPath: new Tally(), byKind: new Tally() };

function runProperty(base: Base, check: (bytes: Uint8Array, m: Mutation) => string[]): Tally {
  const map = mapImage(base.label, base.bytes);
  const bench = new Workbench(base.bytes, map);
  const tally = new Tally();
  const seed = fuzzSeed(base.seed);
  const path = process.env.FS3BURN_FUZZ_PATH;
  fc.assert(
    fc.property(mutationArb(map, base.validWeight !== undefined ? { validWeight: base.validWeight } : {}), (m) => {
      const bytes = bench.apply(m);
      try {
        for (const o of check(bytes, m)) tally.add(o);
        totals.byKind.add(kindOf(m));
      } catch (e) {
        throw new Error(`${base.label}: ${describeMutation(m)}\n${(e as Error).message}`);
      } finally {
        bench.undo();
      }
    }),
    { seed, numRuns: base.runs * SCALE, ...(path ? { path } : {}) },
  );
  totals.cases += base.runs * SCALE;
  for (const k of tally.keys()) totals.byPath.add(k, tally.get(k));
  console.log(`${base.label}: ${base.runs * SCALE} mutations, seed ${seed}\n${tally}`);
  return tally;
}

const imageCheck = (bytes: Uint8Array): string[] => {
  const r = imageCase(bytes);
  return [`query ${r.query}`, `verify ${r.verify}`];
};

function small(name: string, extra: Record<string, unknown> = {}): Uint8Array {
  return catalogImage(name, { sections: SMALL_SECTIONS, ...extra });
}

afterAll(() => {
  console.log(`in-process total: ${totals.cases} mutations\nby outcome:\n${totals.byPath}\nby mutation kind:\n${totals.byKind}`);
});

describe('fuzz: built ConnectX-4 Lx images through query and verify', () => {
  it('14.32.1908 (signed, fw_ctrl), small sections', () => {
    const t = runProperty({ label: 'built cx4lx-14.32.1908 small', bytes: small('cx4lx-14.32.1908'), runs: 2500, seed: 0x5a3201 }, imageCheck);
    // the mutations reach every outcome class: still fine, bad CRC, corrupt structure
    expect(t.get('verify OK')).toBeGreaterThan(50);
    expect(t.get('verify IMAGE_VERIFY_FAILED')).toBeGreaterThan(50);
    expect(t.get('verify IMAGE_CORRUPT')).toBeGreaterThan(50);
  }, T);

  it('14.14.1100 (unsigned), small sections', () => {
    runProperty({ label: 'built cx4lx-14.14.1100 small', bytes: small('cx4lx-14.14.1100'), runs: 2300, seed: 0x5a1411 }, imageCheck);
  }, T);

  it('8 MiB chunks (log2 0x17), small sections', () => {
    runProperty({ label: 'built 8M small', bytes: small('cx4lx-14.32.1908', { chunkLog2: 0x17 }), runs: 1900, seed: 0x5a0817 }, imageCheck);
  }, T);

  it('an image in slot 1 of a 16 MiB flash (image start 0x400000)', () => {
    const flash = placeInSlot(small('cx4lx-14.32.1908'), 1, { other: small('cx4lx-14.14.1100') });
    runProperty({ label: 'built slot-1 flash', bytes: flash, runs: 1900, seed: 0x5a0001 }, imageCheck);
  }, T);

  it('the full catalog image 14.32.1908', () => {
    runProperty({ label: 'catalog cx4lx-14.32.1908', bytes: catalogImage('cx4lx-14.32.1908'), runs: 300, seed: 0x5a3202 }, imageCheck);
  }, T);
});

describe('fuzz: the real vendor FS3 fixtures through query and verify', () => {
  it('HPE 13.1224.0142', () => {
    runProperty({ label: 'fixture HPE', bytes: rawFixtureBytes(FX.fs3Hpe), runs: 400, seed: 0x5aece1 }, imageCheck);
  }, T);

  it('IBM 13.2000.2162 (signed)', () => {
    runProperty({ label: 'fixture IBM', bytes: rawFixtureBytes(FX.fs3Ibm), runs: 400, seed: 0x5a1b31 }, imageCheck);
  }, T);
});

describe('fuzz: the device image reader on a mutated flash', () => {
  it('readFlashImage (info and all sections) gives the image or a typed error', () => {
    const flash = placeInSlot(small('cx4lx-14.25.1020'), 0);
    const FLASH = flash.length;
    runProperty({ label: 'flash read', bytes: flash, runs: 300, seed: 0x5a4ead }, (bytes, m) => {
      const read = (a: number, n: number) => {
        const out = new Uint8Array(n).fill(0xff); // a truncation reads as erased flash
        if (a < bytes.length) out.set(bytes.subarray(a, Math.min(bytes.length, a + n)));
        return out;
      };
      const out: string[] = [];
      for (const sections of ['info', 'all'] as const) {
        try {
          const r = readFlashImage(read, FLASH, { sections });
          expect(r.image.imageStart).toBe(r.start);
          out.push(`read ${sections} OK`);
        } catch (e) {
          out.push(`read ${sections} ${typedCode(e, `readFlashImage ${sections} ${kindOf(m)}`)}`);
        }
      }
      return out;
    });
  }, T);
});

it('counts: at least 10,000 in-process mutations', () => {
  expect(totals.cases).toBeGreaterThanOrEqual(10_000);
});
