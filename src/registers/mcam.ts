/**
 * MCAM 0x907F, management capabilities (§3.1, §3.3): dw0 access_reg_group 7:0,
 * feature_group 23:16; dw2–5 mng_access_reg_cap_mask[0..3]; dw10–13 feature mask.
 * cap_mask[0] (byte 8) covers register IDs 0x9060–0x907F, [1] 0x9040–0x905F, [2]
 * 0x9020–0x903F, [3] 0x9000–0x901F; bit n of a dword = its base ID + n (§3.1: MCQS bit 0,
 * MCQI 1, MCC 2, MCDA 3, MQIS 4 of [0]; MCDD bit 28 of [1]; MGIR bit 0 of [2]).
 * NIC firmware returns the feature-mask dwords reversed ("due to FW bug", §3.3).
 */
import { getField, image, setField, type RegisterCodec } from './fields.js';
import { RegId, registerName } from './ids.js';

export const MCAM_SIZE = 0x48;

export interface Mcam {
  accessRegGroup: number;
  featureGroup: number;
  /** mng_access_reg_cap_mask[0..3], BE dwords at bytes 8, 12, 16, 20. */
  regCapMask: readonly number[];
  /** Feature-mask dwords 10–13 exactly as read. */
  featureMask: readonly number[];
}

export const MCAM: RegisterCodec<Mcam> = {
  name: 'MCAM',
  id: RegId.MCAM,
  size: MCAM_SIZE,
  encode(v) {
    const b = image(MCAM_SIZE);
    setField(b, 0, 23, 16, v.featureGroup ?? 0, 'MCAM.feature_group');
    setField(b, 0, 7, 0, v.accessRegGroup ?? 0, 'MCAM.access_reg_group');
    (v.regCapMask ?? []).forEach((d, i) => setField(b, 2 + i, 31, 0, d >>> 0, 'MCAM.cap_mask'));
    (v.featureMask ?? []).forEach((d, i) => setField(b, 10 + i, 31, 0, d >>> 0, 'MCAM.feature_mask'));
    return b;
  },
  decode(b) {
    return {
      accessRegGroup: getField(b, 0, 7, 0),
      featureGroup: getField(b, 0, 23, 16),
      regCapMask: [0, 1, 2, 3].map((i) => getField(b, 2 + i, 31, 0)),
      featureMask: [0, 1, 2, 3].map((i) => getField(b, 10 + i, 31, 0)),
    };
  },
};

/** Where register `id` (group 0: 0x9000–0x907F) sits in the cap mask. */
export function capMaskPosition(id: number): { dword: number; bit: number } | undefined {
  const n = id - 0x9000;
  if (n < 0 || n > 0x7f) return undefined;
  return { dword: 3 - (n >>> 5), bit: n & 31 };
}

export function mcamSupportsRegister(m: Mcam, id: number): boolean {
  const p = capMaskPosition(id);
  if (!p) return false;
  return ((m.regCapMask[p.dword]! >>> p.bit) & 1) === 1;
}

/** Set register bits in a cap mask (for fakes and tests). */
export function capMaskFor(ids: readonly number[]): number[] {
  const mask = [0, 0, 0, 0];
  for (const id of ids) {
    const p = capMaskPosition(id);
    if (p) mask[p.dword] = (mask[p.dword]! | (1 << p.bit)) >>> 0;
  }
  return mask;
}

/**
 * Feature bit `bit` of the 128-bit feature mask. Canonical order: bit 0 is the LSB of the
 * last dword (13). NIC firmware reverses the dwords, so by default bit 0 is the LSB of the
 * first dword (10), as mstflint reads it for NICs (§3.3).
 */
export function mcamHasFeature(m: Mcam, bit: number, order: 'nic-reversed' | 'canonical' = 'nic-reversed'): boolean {
  if (bit < 0 || bit > 127) return false;
  const dw = order === 'canonical' ? 3 - (bit >>> 5) : bit >>> 5;
  return ((m.featureMask[dw]! >>> (bit & 31)) & 1) === 1;
}

/** §3.1: the registers flint requires in MCAM before it uses the FW-managed (MCC) flow. */
export const FW_MANAGED_REQUIRED = [RegId.MCQS, RegId.MCQI, RegId.MCC, RegId.MCDA, RegId.MQIS, RegId.MGIR] as const;

export interface FwManagedSupport {
  supported: boolean;
  /** Names of the required registers MCAM does not advertise (empty when supported). */
  missing: string[];
  /** MCDD (cap_mask[1] bit 28) enables DMA access (§3.1). */
  mcddDma: boolean;
}

export function fwManagedSupport(m: Mcam): FwManagedSupport {
  const missing = FW_MANAGED_REQUIRED.filter((id) => !mcamSupportsRegister(m, id)).map(registerName);
  return { supported: missing.length === 0, missing, mcddDma: mcamSupportsRegister(m, RegId.MCDD) };
}
