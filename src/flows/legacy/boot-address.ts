/**
 * Pointing the card at the new image (fs3-facts.md §2.3 step 4):
 * - ISFU path: MFAI SET {address = new_start, use_address = 1}, then MFRL SET 0x40 (warm boot);
 *   BAD_PARAM from MFRL is ignored ("for old FW"); a failure is a warning, not a failed burn.
 *   fs3burn reads the supported MFRL levels first and sends 0x40 only when it is one (§8).
 * - CR path: CR 0xF0000 = new_start << 8, then CR 0xF0204 bit 1 (reset flash on warm reboot).
 * With `flintOrder` it does exactly what flint does: MFAI + MFRL 0x40, no level read, no CR
 * fallback.
 */
import { isFs3BurnError } from '../../errors.js';
import type { Device } from '../../device/device.js';
import { activateFailed, isBadParam } from './flint-messages.js';

/** §4.3 / §8: MFRL reset level 0x40 = warm boot. */
export const MFRL_WARM_BOOT = 0x40;

export interface BootAddressOptions {
  /** 'isfu' (failsafe, chip supports ISFU, no -ocr) or 'cr' (nofs / -ocr). */
  path: 'isfu' | 'cr';
  flintOrder?: boolean;
  /** The ICMD path stalled earlier in this burn: skip MFAI/MFRL and use the CR path. */
  icmdStalled?: boolean;
}

export interface BootAddressResult {
  /** The card will boot the new image at the next warm reset. */
  updated: boolean;
  via: 'mfai' | 'cr' | 'none';
  /** MFAI and MFRL (or an ignored BAD_PARAM) both succeeded: mstfwreset can load the new FW. */
  isfuOk: boolean;
  /** flint-style warning lines. */
  warnings: string[];
  /** What was done differently from flint, and why. */
  mitigations: string[];
}

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));
const hex = (n: number) => `0x${n.toString(16)}`;

function crPath(device: Device, newStart: number, r: BootAddressResult): void {
  try {
    device.setCrBootAddress(newStart);
    r.updated = true;
    r.via = 'cr';
  } catch (e) {
    r.warnings.push(`-W- Failed to set the boot address through CR space: ${msg(e)}`);
  }
}

export function updateBootAddress(device: Device, newStart: number, o: BootAddressOptions): BootAddressResult {
  const r: BootAddressResult = { updated: false, via: 'none', isfuOk: false, warnings: [], mitigations: [] };
  if (o.path === 'cr') {
    crPath(device, newStart, r);
    return r;
  }
  if (o.icmdStalled && !o.flintOrder) {
    r.mitigations.push('set the boot address through CR 0xF0000/0xF0204 (§2.3 step 4 CR path) because ICMD had stopped answering; MFAI/MFRL were not sent');
    crPath(device, newStart, r);
    return r;
  }
  let levels: number | undefined;
  if (!o.flintOrder) {
    try {
      levels = device.mfrlLevels(); // §8: read first, send only a supported level
    } catch (e) {
      r.warnings.push(`-W- Could not read the supported reset levels (MFRL): ${msg(e)}`);
    }
  }
  try {
    device.mfai({ address: newStart, useAddress: true });
  } catch (e) {
    r.warnings.push(activateFailed(msg(e)));
    if (o.flintOrder) return r;
    r.mitigations.push(`MFAI failed (${isFs3BurnError(e) ? e.code : 'error'}): set the boot address through CR 0xF0000/0xF0204 instead (§2.3 step 4, §4.6)`);
    crPath(device, newStart, r);
    return r;
  }
  r.updated = true;
  r.via = 'mfai';
  if (levels !== undefined && (levels & MFRL_WARM_BOOT) === 0) {
    r.mitigations.push(`MFRL level 0x40 is not among the supported levels (mask ${hex(levels)}): not sent (§8)`);
    return r;
  }
  if (levels !== undefined) r.mitigations.push(`read the supported MFRL reset levels first (mask ${hex(levels)}) and sent 0x40 only because it is one (§8)`);
  try {
    device.mfrl(MFRL_WARM_BOOT);
    r.isfuOk = true;
  } catch (e) {
    if (isBadParam(e)) r.isfuOk = true; // §2.3 step 4: ME_REG_ACCESS_BAD_PARAM is ignored ("for old FW")
    else r.warnings.push(activateFailed(msg(e)));
  }
  return r;
}
