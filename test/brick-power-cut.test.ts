/**
 * The checks of the power-cut sweeps have teeth (negative controls). The sweeps themselves
 * are test/brick-power-cut-{legacy,fw-managed}.test.ts (every flash operation of a small
 * image) and test/brick-power-cut-catalog-{legacy,fw-managed}.test.ts (the window and a
 * sample of 1,000 on the full catalog image); docs/robustness.md describes them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseFs3 } from '../src/image/fs3.js';
import { checkBooted, cleanupDumps, haveMstflint, mstflintRejects, newCard, scenario } from './helpers/brick.js';

const SMALL_KIB = 32;
afterAll(() => cleanupDumps());

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
