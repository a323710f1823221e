/**
 * Choosing the flash access method for CX4 / CX4LX (§4.1): read the cache-replacement
 * guard (CR 0xF0408 bits 25:0, 0xF040C bits 23:16). Either non-zero = FW runs from flash →
 * FW access (MFPA / MFBA / MFBE over ICMD). Both zero = no FW (livefish) → direct gateway.
 * `forceGateway` is flint's -ocr: always the gateway.
 */
import { readCacheReplacement, type CacheReplacementReading } from '../registers/cr-space.js';
import { CR_HW_ID } from '../registers/cr-space.js';
import type { AddressSpaceAccess } from '../transport/mst/address-space.js';
import { Space } from '../vsec/constants.js';
import type { FlashMethod } from './types.js';

export interface FlashMethodChoice {
  method: FlashMethod;
  reason: string;
  cacheReplacement?: CacheReplacementReading;
}

export interface FlashMethodOptions {
  /** Use the direct gateway whatever the guard says (flint -ocr / --override_cache_replacement). */
  forceGateway?: boolean;
  /**
   * With forceGateway: write 0 to CR 0xF0014 first, as -ocr does ("execute a write in order
   * to do any needed cache replacement", §4.1). Default false.
   */
  cacheReplacementKick?: boolean;
  /** Whether ICMD (and so FW access) is usable at all; default true. */
  icmdAvailable?: boolean;
}

export function chooseFlashMethod(access: AddressSpaceAccess, opts: FlashMethodOptions = {}): FlashMethodChoice {
  if (opts.forceGateway) {
    if (opts.cacheReplacementKick) access.writeSpace32(Space.CR, CR_HW_ID, 0);
    return { method: 'gateway', reason: 'direct gateway forced (override cache replacement)' };
  }
  const cr = readCacheReplacement(access);
  if (!cr.fwRunning) {
    return { method: 'gateway', reason: 'cache-replacement registers are zero: no FW running from flash', cacheReplacement: cr };
  }
  if (opts.icmdAvailable === false) {
    return { method: 'gateway', reason: 'FW runs from flash but ICMD is not usable', cacheReplacement: cr };
  }
  return { method: 'fw', reason: 'cache-replacement registers are non-zero: FW runs from flash', cacheReplacement: cr };
}
