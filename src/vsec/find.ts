/**
 * Finding the functional VSEC (§5.2 `pci_find_capability`): walk the capability list from
 * the pointer at config byte 0x34 through offsets 0x40–0xFF; the VSEC has capability ID
 * 0x09, and the functional one has VSC type 0 in bits 31:24 of its first dword.
 */
import type { PciConfigTransport } from '../transport/types.js';
import { CAP_ID_VSEC, CAP_LIST_PTR, CAP_MAX_OFFSET, CAP_MIN_OFFSET, VSC_TYPE_FUNCTIONAL } from './constants.js';

export interface Capability {
  offset: number;
  id: number;
  /** For ID 0x09: VSC type (bits 31:24 of the first dword). */
  vscType?: number;
}

/** Every capability on the list, in order (stops at a loop or an offset outside 0x40–0xFF). */
export function listCapabilities(t: PciConfigTransport): Capability[] {
  const out: Capability[] = [];
  const seen = new Set<number>();
  let ptr = (t.read32(CAP_LIST_PTR & ~3) >>> (8 * (CAP_LIST_PTR & 3))) & 0xfc;
  while (ptr >= CAP_MIN_OFFSET && ptr <= CAP_MAX_OFFSET && !seen.has(ptr)) {
    seen.add(ptr);
    const head = t.read32(ptr);
    const id = head & 0xff;
    const cap: Capability = { offset: ptr, id };
    if (id === CAP_ID_VSEC) cap.vscType = (head >>> 24) & 0xff;
    out.push(cap);
    ptr = (head >>> 8) & 0xfc;
  }
  return out;
}

/** Config offset of the functional VSEC, or undefined when the card has none. */
export function findFunctionalVsec(t: PciConfigTransport): number | undefined {
  return listCapabilities(t).find((c) => c.id === CAP_ID_VSEC && c.vscType === VSC_TYPE_FUNCTIONAL)?.offset;
}
