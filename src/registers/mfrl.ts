/**
 * MFRL 0x9028, management firmware reset level (§4.3, §8): dw1 bits 7:0 reset level /
 * trigger. On SET, 0x40 = warm boot (level 6, "send warm boot (bit 6)"). On GET the field
 * is a mask of the supported levels; §8 says read it first and send only a supported level.
 */
import { getField, image, setField, type RegisterCodec } from './fields.js';
import { RegId } from './ids.js';

export const MFRL_SIZE = 0x8;
/** §2.3 step 4 / §4.3: the level flint's ISFU path sends after MFAI. */
export const MFRL_WARM_BOOT = 0x40;

export interface Mfrl {
  /** SET: the level to trigger; GET: mask of supported levels. */
  resetLevel: number;
}

export const MFRL: RegisterCodec<Mfrl> = {
  name: 'MFRL',
  id: RegId.MFRL,
  size: MFRL_SIZE,
  encode(v) {
    const b = image(MFRL_SIZE);
    setField(b, 1, 7, 0, v.resetLevel ?? 0, 'MFRL.reset_level');
    return b;
  },
  decode(b) {
    return { resetLevel: getField(b, 1, 7, 0) };
  },
};

/** Whether a GET mask allows `level` (a single-bit level such as 0x40). */
export function mfrlSupports(mask: number, level: number): boolean {
  return level !== 0 && (mask & level) === level;
}
