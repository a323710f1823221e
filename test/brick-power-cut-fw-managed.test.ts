/**
 * Power cut at every point of a FW-managed burn (docs/robustness.md, part 1): a 14.25.1020
 * card (MCAM: the FSM flow, docs/fw-managed.md) burned to 14.32.1908 with a small signed
 * image (32 KiB of payload). The component download is ICMD traffic only; the flash
 * operations are the FW's own during ACTIVATE. The power goes after EVERY one of them, cut
 * clean and half-done, with the old image in slot 0 and in slot 1, and before each of the
 * last ICMD commands and a spread of ICMD commands over the download. After each cut: the
 * card boots the old or the new image, `mstflint -i DUMP v` accepts the flash, and burning
 * again ends on the new version (every 5th point loses its power a second time during that
 * re-burn, and a third burn finishes). FS3BURN_CUT=flash-write:K[:half][+K2] replays one.
 */
import { describe } from 'vitest';
import { describeSweeps } from './helpers/brick-suite.js';

describe('power cut after every flash operation of a FW-managed burn (small image)', () => {
  describeSweeps('FW-managed, small image', [
    { flow: 'fw-managed', size: 32, oldSlot: 0, icmdSample: 60, doubleEvery: 5 },
    { flow: 'fw-managed', size: 32, oldSlot: 1, icmdSample: 60, doubleEvery: 5 },
  ]);
});
