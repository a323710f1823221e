/**
 * Resuming a legacy burn that was cut short (power cut, abort, a card that stopped answering).
 * There is no journal: the flash itself says how far the burn got, because the failsafe order
 * (fs3-facts.md §2.3, with the old image invalidated last among the writes) leaves only these
 * states, each with one signed, bootable image at least:
 *
 *   1. new slot partly written, unsigned   → burn again: the writer skips the sectors that
 *                                             already hold the image and writes the rest
 *   2. new slot complete, unsigned         → only the signature and the steps after it
 *   3. new slot complete and signed, old
 *      slot still signed                    → only the invalidation and the boot address
 *   4. old slot invalidated                → done (a reset loads the new FW)
 *
 * States 1 and 2 need nothing special: the normal plan, run through the chunked writer, does
 * only what is missing. State 3 needs care when the new image sits at the lower start (slot 0):
 * the device then reports the NEW image as its own, and a plain version check would call the
 * burn "same version" and leave the old signature in place. findUnfinishedBurn spots that.
 */
import type { Fs3Image } from '../image/fs3.js';
import { compareVersions } from './guards.js';

export interface UnfinishedBurn {
  /** Where the new, complete and signed image is (the device's first image start). */
  newStart: number;
  /** The other start that still holds a signed image (the old one). */
  oldStart: number;
}

const SLOT_STARTS = new Set([0, 0x400000, 0x800000]); // §2.2 slot 0, slot 1 (4 MiB / 8 MiB)

/**
 * State 3 with the new image first: the device's first image has the image's version and PSID,
 * and another slot start still holds the magic. The caller then verifies the first image byte
 * for byte before finishing (burnLegacy's `finish` mode).
 */
export function findUnfinishedBurn(deviceImage: Fs3Image, image: Fs3Image, opts: { nofs?: boolean } = {}): UnfinishedBurn | undefined {
  if (opts.nofs) return undefined;
  const dev = deviceImage.imageInfo;
  const img = image.imageInfo;
  if (!dev || !img) return undefined;
  if (compareVersions(dev.fwVersion, img.fwVersion) !== 0 || dev.psid !== img.psid) return undefined;
  const newStart = deviceImage.imageStart;
  const others = deviceImage.imageStarts.filter((s) => s !== newStart && SLOT_STARTS.has(s));
  if (others.length === 0) return undefined;
  return { newStart, oldStart: others[0]! };
}
