/**
 * Power cut at every point of a legacy failsafe burn (docs/robustness.md, part 1): the
 * 14.14.1100 card (no MCAM: the legacy flow, docs/seed-case.md) burned to 14.32.1908, with
 * a small image (32 KiB of payload: the same FS3 layout, sections, signature, invalidation
 * and boot-address step as a full image, but a burn of a few hundred flash operations).
 * The power goes after EVERY flash operation k, cut clean and half-done, with the old image
 * in slot 0 and in slot 1, and before each of the last ICMD commands and a spread of ICMD
 * commands over the whole burn. After each cut: the card boots the old or the new image,
 * `mstflint -i DUMP v` accepts the flash, and burning again ends on the new version (every
 * 5th point loses its power a second time during that re-burn, and a third burn finishes).
 * test/brick-power-cut-catalog-*.test.ts do the same on the full-size catalog image with the
 * window and a sample. FS3BURN_CUT=flash-write:K[:half][+K2] or icmd:K replays one point.
 */
import { describe } from 'vitest';
import { describeSweeps } from './helpers/brick-suite.js';

describe('power cut after every flash operation of a legacy failsafe burn (small image)', () => {
  describeSweeps('legacy, small image', [
    { flow: 'legacy', size: 32, oldSlot: 0, icmdSample: 40, doubleEvery: 5 },
    { flow: 'legacy', size: 32, oldSlot: 1, icmdSample: 40, doubleEvery: 5 },
  ]);
});
