/**
 * The vitest side of the power-cut sweeps (test/brick-power-cut-*.test.ts): one call per
 * scenario declares its test, the counts it must reach, and the summary line every file prints.
 * The machinery (scenarios, cuts, checks) is test/helpers/brick.ts, shared with the bench.
 */
import { afterAll, expect, it } from 'vitest';
import {
  LONG,
  cleanupDumps,
  cutFromEnv,
  emptySweep,
  haveMstflint,
  mergeSweep,
  profileBurn,
  scenario,
  secondCutFor,
  sweep,
  sweepFailures,
  sweepLine,
  sweepPlan,
  type CutPoint,
  type MstflintChecks,
  type ScenarioOptions,
  type FlowName,
  type SweepSummary,
} from './brick.js';
import { IN_CI } from './mstflint.js';

export interface SweepCase {
  flow: FlowName;
  size: ScenarioOptions['size'];
  oldSlot: 0 | 1;
  /** Even sample of other k (undefined: every k, clean and half-done). */
  sample?: number;
  /** The sample with FS3BURN_LONG=1 (undefined: every k). */
  longSample?: number;
  /** ICMD commands cut, spread over the whole burn. */
  icmdSample?: number;
  /** Every n-th cut point also cuts the second burn (0: never). */
  doubleEvery?: number;
  /** mstflint checks the dump after the cut at every point, and the final dump at every n-th. */
  finalMstflintEvery?: number;
  /** At least this many cut points must be tried (what the issue asks of the sample). */
  atLeast?: number;
}

/** Declare the sweeps of one file, its summary line, and the check that mstflint took part. */
export function describeSweeps(file: string, cases: readonly SweepCase[]): void {
  const replay = cutFromEnv();
  const totals = emptySweep(file, 0);
  const lines: string[] = [];

  afterAll(() => {
    cleanupDumps();
    if (lines.length > 0) {
      console.log(
        `power-cut sweep, ${file}${LONG ? ' (FS3BURN_LONG)' : ''}:\n  ${lines.join('\n  ')}\n  total: ${totals.tried} cut points tried, ${totals.booted} booted, ${totals.reburned} re-burned; ${totals.doubleFired} second cuts fired, ${totals.doubleBooted} booted; ${totals.mstflintChecked} checked by mstflint`,
      );
    }
  });

  for (const c of cases) {
    const sc = scenario(c.flow, { size: c.size, oldSlot: c.oldSlot });
    const sample = LONG ? c.longSample : c.sample;
    const what = sample === undefined ? 'every flash operation, clean and half-done' : `the window and ${sample} other flash operations`;
    it(`${sc.name}: after a power cut at ${what}, the card boots the old or the new image, and burning again ends on the new one`, async () => {
      const p = await profileBurn(sc);
      expect(p.flashOps).toBeGreaterThan(100);
      const points: (CutPoint & { secondCut?: number })[] = replay ? [replay] : sweepPlan(p, { ...(sample !== undefined ? { sample } : {}), icmdSample: c.icmdSample ?? 0 });
      const every = c.doubleEvery ?? 0;
      const finalEvery = c.finalMstflintEvery ?? 8;
      const s = await sweep(sc, p, {
        points,
        mstflint: (cut, i): MstflintChecks => (cut.op === 'icmd' || i % finalEvery === 0 || (every > 0 && i % every === 0) ? 'all' : 'cut'),
        secondCut: (_cut, i) => (replay ? replay.secondCut : secondCutFor(p, i, every)),
      });
      lines.push(sweepLine(s));
      mergeSweep(totals, s);
      expectSound(s);
      if (!replay) {
        expect(s.tried).toBeGreaterThanOrEqual(sample === undefined ? 2 * p.flashOps : p.window.length + Math.min(sample, p.flashOps - p.window.length));
        if (c.atLeast !== undefined) expect(s.tried).toBeGreaterThanOrEqual(c.atLeast);
        if (every > 0) expect(s.doubleFired, 'some second cuts fired').toBeGreaterThan(0);
        if (haveMstflint() || IN_CI) {
          expect(haveMstflint(), 'mstflint is not installed (CI installs it)').toBe(true);
          expect(s.mstflintChecked, 'mstflint -i DUMP v checked the dump of every cut point').toBe(s.tried);
        }
      }
    }, 3_600_000);
  }
}

/** Every cut point booted, and every re-burn ended on the new version. */
export function expectSound(s: SweepSummary): void {
  const text = `${sweepLine(s)}\n${sweepFailures(s)}`;
  expect(s.failures, text).toEqual([]);
  expect(s.fired, text).toBe(s.tried);
  expect(s.booted, text).toBe(s.tried);
  expect(s.reburned, text).toBe(s.tried);
  expect(s.doubleBooted, text).toBe(s.doubleFired);
}
