/**
 * MGIR 0x9020, general information (§4.3): hw_dev_id at byte 0x0A; FW major / minor /
 * subminor bytes at 0x21 / 0x22 / 0x23; extended (32-bit) versions at 0x44 / 0x48 / 0x4C.
 * Length 0xA0 (mstflint) or 0x9C (mlxsw): nothing past 0x9C is used (§8).
 */
import { Fs3BurnError } from '../errors.js';
import { getField, image, setField, type RegisterCodec } from './fields.js';
import { RegId } from './ids.js';

export const MGIR_SIZE = 0xa0;
/** The shorter length the kernel uses (§8); decode needs no more than the extended versions. */
export const MGIR_MIN_SIZE = 0x50;

export interface Mgir {
  hwDevId: number;
  fwMajor: number;
  fwMinor: number;
  fwSubminor: number;
  extendedMajor: number;
  extendedMinor: number;
  extendedSubminor: number;
}

export interface MgirVersion {
  major: number;
  minor: number;
  subminor: number;
}

export const MGIR: RegisterCodec<Mgir> = {
  name: 'MGIR',
  id: RegId.MGIR,
  size: MGIR_SIZE,
  encode(v) {
    const b = image(MGIR_SIZE);
    setField(b, 2, 15, 0, v.hwDevId ?? 0, 'MGIR.hw_dev_id'); // byte 0x0A
    setField(b, 8, 23, 16, v.fwMajor ?? 0, 'MGIR.fw_major'); // byte 0x21
    setField(b, 8, 15, 8, v.fwMinor ?? 0, 'MGIR.fw_minor'); // byte 0x22
    setField(b, 8, 7, 0, v.fwSubminor ?? 0, 'MGIR.fw_subminor'); // byte 0x23
    setField(b, 0x11, 31, 0, v.extendedMajor ?? 0, 'MGIR.extended_major'); // 0x44
    setField(b, 0x12, 31, 0, v.extendedMinor ?? 0, 'MGIR.extended_minor'); // 0x48
    setField(b, 0x13, 31, 0, v.extendedSubminor ?? 0, 'MGIR.extended_sub_minor'); // 0x4C
    return b;
  },
  decode(b) {
    if (b.length < MGIR_MIN_SIZE) {
      throw new Fs3BurnError('REGISTER_REPLY_INVALID', `MGIR reply is ${b.length} bytes; ${MGIR_MIN_SIZE} needed`, { data: { length: b.length } });
    }
    return {
      hwDevId: getField(b, 2, 15, 0),
      fwMajor: getField(b, 8, 23, 16),
      fwMinor: getField(b, 8, 15, 8),
      fwSubminor: getField(b, 8, 7, 0),
      extendedMajor: getField(b, 0x11, 31, 0),
      extendedMinor: getField(b, 0x12, 31, 0),
      extendedSubminor: getField(b, 0x13, 31, 0),
    };
  },
};

/**
 * The running FW version: the extended fields when any is set (a subminor like 1100 does
 * not fit the byte fields), else the byte fields.
 */
export function mgirFwVersion(m: Mgir): MgirVersion {
  if (m.extendedMajor || m.extendedMinor || m.extendedSubminor) {
    return { major: m.extendedMajor, minor: m.extendedMinor, subminor: m.extendedSubminor };
  }
  return { major: m.fwMajor, minor: m.fwMinor, subminor: m.fwSubminor };
}
