/**
 * Seeded random faults (docs/robustness.md, part 2): about 1 % of the ICMD commands and of the
 * flash operations fail — a busy bit that never clears (timeout), an interface already busy,
 * ICMD status 5, a write acknowledged but not done (ICMD SETs and the chip's erases /
 * programs), a flipped bit in a flash read, in an ICMD register reply and (rarely) in any
 * config-space read, a semaphore found held by another owner, a stuck flash-gateway
 * transaction — each drawn from the card's seed (randomFaults in test/helpers/brick.ts).
 * For 100 seeds per scenario, every run must end in one of:
 *
 *   - the new image verified: burnImage said so, and after a reset (warm, and a power cycle)
 *     the card runs the new version and the flash verifies;
 *   - a clean refusal / failure: a typed Fs3BurnError, and after a reset the card boots a
 *     sound image (the old one; a failure after which the new one boots is counted apart).
 *
 * Zero corrupt outcomes: no run may leave a card that boots nothing, boots an image that fails
 * verification, or that claims success without the new version booting. A failing seed is
 * named in the assertion message; FS3BURN_SEED=n replays it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupDumps, haveMstflint, runSeeds, scenario, seedFailures, seedLine, seedsFromEnv, type FlowName } from './helpers/brick.js';

const SMALL_KIB = 32;
const COUNT = 100;
const seedsOf = (base: number) => (process.env.FS3BURN_SEED ? seedsFromEnv(COUNT) : seedsFromEnv(COUNT).map((n) => base + n));
const lines: string[] = [];

afterAll(() => {
  cleanupDumps();
  if (lines.length > 0) console.log(`seeded faults:\n  ${lines.join('\n  ')}`);
});

/** Each case draws from its own seeds (`base` + 1..100), so the cases do not repeat each other's faults. */
const CASES: { flow: FlowName; oldSlot: 0 | 1; scale: number; base: number }[] = [
  { flow: 'legacy', oldSlot: 0, scale: 1, base: 0 },
  { flow: 'fw-managed', oldSlot: 0, scale: 1, base: 0 },
  { flow: 'legacy', oldSlot: 1, scale: 1, base: 1000 },
  { flow: 'fw-managed', oldSlot: 1, scale: 1, base: 1000 },
  // a tenth of the rate: most burns get far enough for faults in the signature, the
  // invalidation, the boot-address step and the FW's activation
  { flow: 'legacy', oldSlot: 0, scale: 0.1, base: 2000 },
  { flow: 'fw-managed', oldSlot: 0, scale: 0.1, base: 2000 },
];

describe(`random faults at about 1 % of ICMD and flash operations (${seedsFromEnv(COUNT).length} seeds each)`, () => {
  for (const c of CASES) {
    const name = `${scenario(c.flow, { size: SMALL_KIB, oldSlot: c.oldSlot }).name} at ${c.scale === 1 ? '~1 %' : `~${c.scale} %`}`;
    it(`${name}: new image verified or a clean failure, never a corrupt card`, async () => {
      const sc = scenario(c.flow, { size: SMALL_KIB, oldSlot: c.oldSlot });
      sc.name = name;
      const seeds = seedsOf(c.base);
      const s = await runSeeds(sc, seeds, { scale: c.scale, mstflint: haveMstflint() });
      lines.push(seedLine(s));
      const text = `${seedLine(s)}\n${seedFailures(s)}`;
      expect(s.bad, text).toEqual([]);
      expect(s.corrupt, text).toBe(0);
      expect(s.newImage + s.cleanFailures + s.failureNewBoots, text).toBe(seeds.length);
      if (seeds.length >= 50) {
        expect(s.faultsFired, text).toBeGreaterThan(seeds.length * c.scale); // the plan really did fire
        if (c.scale < 1) expect(s.newImage, text).toBeGreaterThan(seeds.length / 3); // and burns do get through
      }
    }, 600_000);
  }
});
