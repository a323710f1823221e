/**
 * Power cut at every point (docs/robustness.md, part 1): for a legacy failsafe burn (the
 * 14.14.1100 card) and a FW-managed burn (a 14.25.1020 card), both to 14.32.1908, the power
 * goes after the k-th flash operation (erase or page program that reached the chip). After
 * power comes back the card must boot an image — the old or the new one, never none — that
 * passes every CRC (verifyFs3; `mstflint -i DUMP v` on a sample and on the whole critical
 * window), keeps the card's GUIDs / MACs / VSD, and a second burnImage must end on the new
 * version, after a warm reset and after a power cycle.
 *
 * CI: a small image (32 KiB of payload), every k of the critical window (last body pages,
 * signature, invalidation; the FW's first erases and last pages, magic, invalidation) cut
 * clean and half-done, the last ICMD commands (the boot-address step, the FSM's last polls
 * and release), and an even sample of the other k; plus a handful of cuts on the full catalog
 * 14.32.1908 image. FS3BURN_LONG=1: every k, clean and half-done (bench/brick-sweep.mjs does
 * the same and prints the counts). FS3BURN_CUT=flash-write:K[:half] or icmd:K replays one cut.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseFs3 } from '../src/image/fs3.js';
import {
  LONG,
  checkBooted,
  cleanupDumps,
  cutFromEnv,
  cutPlan,
  cutPoints,
  emptySweep,
  haveMstflint,
  mergeSweep,
  mstflintRejects,
  newCard,
  profileBurn,
  scenario,
  sweep,
  sweepFailures,
  sweepLine,
  type BurnProfile,
  type CutPoint,
  type FlowName,
  type SweepSummary,
} from './helpers/brick.js';
import { IN_CI } from './helpers/mstflint.js';

const SMALL_KIB = 32;
const replay = cutFromEnv();
const totals = emptySweep('all scenarios', 0);
const lines: string[] = [];

/** Every k with a clean and a half-done cut; else the window (both ways) plus an even sample. */
function plan(p: BurnProfile, sample: number): CutPoint[] {
  if (replay) return [replay];
  const all = Array.from({ length: p.flashOps }, (_, i) => i + 1);
  if (LONG) return cutPoints(p, { flash: all, half: all, icmdTail: p.icmdAfterLastFlashOp + 3 });
  return cutPoints(p, { flash: cutPlan(p.flashOps, p.window, sample), half: p.window, icmdTail: p.icmdAfterLastFlashOp + 3 });
}

function check(s: SweepSummary): void {
  lines.push(sweepLine(s));
  mergeSweep(totals, s);
  const text = `${sweepLine(s)}\n${sweepFailures(s)}`;
  expect(s.failures, text).toEqual([]);
  expect(s.fired, text).toBe(s.tried);
  expect(s.booted, text).toBe(s.tried);
  expect(s.reburned, text).toBe(s.tried);
}

afterAll(() => {
  cleanupDumps();
  if (lines.length > 0) {
    console.log(`power-cut sweep${LONG ? ' (FS3BURN_LONG)' : ''}:\n  ${lines.join('\n  ')}\n  total: ${totals.tried} tried, ${totals.booted} booted, ${totals.reburned} re-burned, ${totals.mstflintChecked} mstflint`);
  }
});

const SMALL: { flow: FlowName; oldSlot: 0 | 1; sample: number }[] = [
  { flow: 'legacy', oldSlot: 0, sample: 150 },
  { flow: 'fw-managed', oldSlot: 0, sample: 80 },
  { flow: 'legacy', oldSlot: 1, sample: 25 },
  { flow: 'fw-managed', oldSlot: 1, sample: 25 },
];

describe(`power cut after the k-th flash operation, small image (${SMALL_KIB} KiB payload)`, () => {
  for (const c of SMALL) {
    const name = scenario(c.flow, { size: SMALL_KIB, oldSlot: c.oldSlot }).name;
    it(`${name}: the card boots the old or the new image after every cut, and a second burn finishes`, async () => {
      const sc = scenario(c.flow, { size: SMALL_KIB, oldSlot: c.oldSlot });
      const p = await profileBurn(sc);
      expect(p.flashOps).toBeGreaterThan(100);
      // mstflint: the whole critical window, the ICMD cuts, and every 8th point of the sample
      const inWindow = new Set(p.window);
      const s = await sweep(sc, p, { points: plan(p, c.sample), mstflint: (cut, i) => cut.op === 'icmd' || inWindow.has(cut.k) || i % 8 === 0 });
      check(s);
    }, 900_000);
  }
});

describe('power cut on the full catalog 14.32.1908 image (a handful of points)', () => {
  for (const flow of ['legacy', 'fw-managed'] as const) {
    const name = scenario(flow, { size: 'catalog', oldSlot: 0 }).name;
    it(`${name}: mid-image, signature / magic and invalidation`, async () => {
      const sc = scenario(flow, { size: 'catalog', oldSlot: 0 });
      const p = await profileBurn(sc);
      const n = p.flashOps; // the last op is the invalidation of the old image, the one before it the signature / magic
      let points: CutPoint[] = [
        { op: 'flash-write', k: Math.floor(n / 2), half: true }, // in the middle of the image
        { op: 'flash-write', k: n - 1, half: false }, // both images signed
        { op: 'flash-write', k: n, half: flow === 'legacy' }, // the old magic (partly) zeroed
      ];
      if (LONG) points = cutPoints(p, { flash: cutPlan(n, p.window, 50), half: p.window, icmdTail: p.icmdAfterLastFlashOp + 3 });
      if (replay) points = [replay];
      const s = await sweep(sc, p, { points, mstflint: () => true });
      check(s);
    }, 900_000);
  }
});

describe('the checks have teeth (negative controls)', () => {
  it('a card whose only image lost its first sector boots nothing: reported', () => {
    const sc = scenario('legacy', { size: SMALL_KIB, oldSlot: 0 });
    const sim = newCard(sc);
    sim.model.flash.erase(0, 0x1000);
    sim.model.reset('cold');
    expect(checkBooted(sc, sim).problems).toEqual(['no image boots (livefish)']);
  });

  it('a signed image with a bad section CRC (the sim boots it: it checks only BOOT2, the ITOC and IMAGE_INFO) fails verification: reported', () => {
    const sc = scenario('legacy', { size: SMALL_KIB, oldSlot: 0 });
    const sim = newCard(sc);
    const main = parseFs3(sim.model.flash.data).entries.find((e) => e.name === 'MAIN_CODE')!;
    sim.model.flash.data[main.bufferOffset + 8]! ^= 0x10;
    sim.model.reset('cold');
    const c = checkBooted(sc, sim);
    expect(c.running).toMatchObject({ start: 0, version: sc.oldVersion });
    expect(c.problems.join('\n')).toMatch(/verifyFs3: the first image \(0x0\) fails/);
    if (haveMstflint()) expect(mstflintRejects(sim.model.flash.data)).toMatch(/mstflint -i DUMP v exit/);
  });
});

describe('mstflint took part', () => {
  it.runIf(haveMstflint() || IN_CI)('mstflint -i DUMP v checked at least 100 cut points', () => {
    if (replay) return;
    expect(haveMstflint(), 'mstflint is not installed (CI installs it)').toBe(true);
    expect(totals.mstflintChecked).toBeGreaterThanOrEqual(100);
  });
});
