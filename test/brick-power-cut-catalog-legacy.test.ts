/**
 * Power cut during a legacy failsafe burn of the full-size catalog 14.32.1908 image (docs/robustness.md,
 * part 1): its burn has too many flash operations to cut at every one in CI, so this file cuts
 * at every k of the critical window (the last pages, the signature / magic, the invalidation
 * of the old image; clean and half-done), at an even sample of 1,000 other k, before the last
 * ICMD commands and a spread of ICMD commands over the burn. After each cut: the card boots the
 * old or the new image, `mstflint -i DUMP v` accepts the flash, and burning again ends on the
 * new version (every 50th point loses its power a second time during that re-burn).
 * FS3BURN_LONG=1 samples 5,000 points. test/brick-power-cut-legacy.test.ts cuts at every k of a
 * small image. FS3BURN_CUT=flash-write:K[:half][+K2] or icmd:K replays one point.
 */
import { describe } from 'vitest';
import { describeSweeps } from './helpers/brick-suite.js';

describe('power cut during a legacy failsafe burn of the full catalog image', () => {
  describeSweeps('legacy failsafe, catalog image', [
    { flow: 'legacy', size: 'catalog', oldSlot: 0, sample: 1000, longSample: 5000, icmdSample: 40, doubleEvery: 50, finalMstflintEvery: 10, atLeast: 1000 },
  ]);
});
