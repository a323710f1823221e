/**
 * MFPA 0x9010, flash parameters (§4.3): dw0 add_cap_32b 31, fs 5:4; dw1 boot_address;
 * dw4 wip 31, bulk32 30, bulk64_en 29, sector_wrp 17, subsector_wrp 16, flash_num 3:0;
 * dw5 jedec_id 23:0 = density<<16 | type<<8 | vendor; dw6 block_size 31:24,
 * block_align 23:16, sector_size (log2) 9:0 (CX3 only); dw7 capability mask (bit 17
 * quad_en, bit 16 write-protect).
 */
import { getField, getFlag, image, setField, setFlag, type RegisterCodec } from './fields.js';
import { RegId } from './ids.js';

export const MFPA_SIZE = 0x20;

export interface Mfpa {
  addCap32b: boolean;
  /** Flash select (bank). */
  fs: number;
  bootAddress: number;
  wip: boolean;
  bulk32: boolean;
  bulk64: boolean;
  sectorWrp: boolean;
  subsectorWrp: boolean;
  flashNum: number;
  jedecId: number;
  blockSize: number;
  blockAlign: number;
  sectorSizeLog2: number;
  capabilityMask: number;
}

export const MFPA: RegisterCodec<Mfpa> = {
  name: 'MFPA',
  id: RegId.MFPA,
  size: MFPA_SIZE,
  encode(v) {
    const b = image(MFPA_SIZE);
    setFlag(b, 0, 31, v.addCap32b);
    setField(b, 0, 5, 4, v.fs ?? 0, 'MFPA.fs');
    setField(b, 1, 31, 0, v.bootAddress ?? 0, 'MFPA.boot_address');
    setFlag(b, 4, 31, v.wip);
    setFlag(b, 4, 30, v.bulk32);
    setFlag(b, 4, 29, v.bulk64);
    setFlag(b, 4, 17, v.sectorWrp);
    setFlag(b, 4, 16, v.subsectorWrp);
    setField(b, 4, 3, 0, v.flashNum ?? 0, 'MFPA.flash_num');
    setField(b, 5, 23, 0, v.jedecId ?? 0, 'MFPA.jedec_id');
    setField(b, 6, 31, 24, v.blockSize ?? 0, 'MFPA.block_size');
    setField(b, 6, 23, 16, v.blockAlign ?? 0, 'MFPA.block_align');
    setField(b, 6, 9, 0, v.sectorSizeLog2 ?? 0, 'MFPA.sector_size');
    setField(b, 7, 31, 0, v.capabilityMask ?? 0, 'MFPA.capability_mask');
    return b;
  },
  decode(b) {
    return {
      addCap32b: getFlag(b, 0, 31),
      fs: getField(b, 0, 5, 4),
      bootAddress: getField(b, 1, 31, 0),
      wip: getFlag(b, 4, 31),
      bulk32: getFlag(b, 4, 30),
      bulk64: getFlag(b, 4, 29),
      sectorWrp: getFlag(b, 4, 17),
      subsectorWrp: getFlag(b, 4, 16),
      flashNum: getField(b, 4, 3, 0),
      jedecId: getField(b, 5, 23, 0),
      blockSize: getField(b, 6, 31, 24),
      blockAlign: getField(b, 6, 23, 16),
      sectorSizeLog2: getField(b, 6, 9, 0),
      capabilityMask: getField(b, 7, 31, 0),
    };
  },
};

/** MFPA dw7 capability bits (§4.3). */
export const MFPA_CAP_QUAD_EN = 1 << 17;
export const MFPA_CAP_WRITE_PROTECT = 1 << 16;

/** JEDEC manufacturer IDs of the SPI NOR vendors found on these cards (JEP106 bank 1). */
const VENDORS: Readonly<Record<number, string>> = {
  0x01: 'Spansion/Cypress',
  0x1f: 'Atmel/Adesto',
  0x20: 'Micron/ST',
  0x9d: 'ISSI',
  0xc2: 'Macronix',
  0xc8: 'GigaDevice',
  0xef: 'Winbond',
};

export interface JedecInfo {
  jedecId: number;
  vendorId: number;
  vendor: string;
  type: number;
  density: number;
  /** 1 << density bytes (§4.3 get_info_from_jededc_id), or 0 when density is implausible. */
  sizeBytes: number;
}

/** Split a JEDEC id as MFPA reports it: density<<16 | type<<8 | vendor (§4.3). */
export function decodeJedec(jedecId: number): JedecInfo {
  const vendorId = jedecId & 0xff;
  const type = (jedecId >>> 8) & 0xff;
  const density = (jedecId >>> 16) & 0xff;
  return {
    jedecId: jedecId & 0xffffff,
    vendorId,
    vendor: VENDORS[vendorId] ?? `unknown (0x${vendorId.toString(16).padStart(2, '0')})`,
    type,
    density,
    sizeBytes: density >= 10 && density <= 31 ? 2 ** density : 0,
  };
}
