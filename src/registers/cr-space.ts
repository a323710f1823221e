/**
 * CR-space registers the client reads or writes directly (not access registers): the HW
 * id (§7, §4.1), the cache-replacement guard (§4.1), and the CR boot-address path (§2.3).
 */
import type { AddressSpaceAccess } from '../transport/mst/address-space.js';
import { Space } from '../vsec/constants.js';

/** §7 / §4.1: HW id, bits 15:0 id, 23:16 revision. */
export const CR_HW_ID = 0xf0014;
/** §4.1: 0xBAD0CAFE = CR space locked. */
export const CR_LOCKED_VALUE = 0xbad0cafe;
/** §4.1 CACHE_REP_GEN_5_LEGACY guard: 0xF0408 bits 25:0, 0xF040C bits 23:16. */
export const CR_CACHE_REP_A = 0xf0408;
export const CR_CACHE_REP_A_MASK = 0x03ffffff;
export const CR_CACHE_REP_B = 0xf040c;
export const CR_CACHE_REP_B_MASK = 0x00ff0000;
/** §2.3 step 4 CR path: 0xF0000 = new_start << 8, then 0xF0204 bit 1. */
export const CR_BOOT_ADDRESS = 0xf0000;
export const CR_RESET_FLASH_ON_WARM = 0xf0204;
export const RESET_FLASH_ON_WARM_BIT = 1 << 1;

/** Known FS3 HW ids (§0 correction, §7). */
export const HW_IDS: Readonly<Record<number, string>> = Object.freeze({
  0x1ff: 'ConnectIB',
  0x209: 'ConnectX4',
  0x20b: 'ConnectX4LX',
  0x20d: 'ConnectX5',
  0x247: 'SwitchIB',
  0x249: 'Spectrum',
  0x24b: 'SwitchIB2',
});

export interface HwIdReading {
  raw: number;
  hwId: number;
  revision: number;
  /** CR space answered 0xBAD0CAFE. */
  locked: boolean;
  /** 'ConnectX4LX', …, or undefined when unknown. */
  deviceName?: string;
}

export function readHwId(access: AddressSpaceAccess): HwIdReading {
  const raw = access.readSpace32(Space.CR, CR_HW_ID) >>> 0;
  const out: HwIdReading = { raw, hwId: raw & 0xffff, revision: (raw >>> 16) & 0xff, locked: raw === CR_LOCKED_VALUE };
  const name = out.locked ? undefined : HW_IDS[out.hwId];
  if (name) out.deviceName = name;
  return out;
}

export interface CacheReplacementReading {
  a: number;
  b: number;
  /** Either field non-zero: FW is running from flash → use FW access (§4.1). */
  fwRunning: boolean;
}

export function readCacheReplacement(access: AddressSpaceAccess): CacheReplacementReading {
  const a = access.readSpace32(Space.CR, CR_CACHE_REP_A) & CR_CACHE_REP_A_MASK;
  const b = access.readSpace32(Space.CR, CR_CACHE_REP_B) & CR_CACHE_REP_B_MASK;
  return { a: a >>> 0, b: b >>> 0, fwRunning: a !== 0 || b !== 0 };
}

/** §2.3 step 4 CR path (`mf_update_boot_addr` + `mf_set_reset_flash_on_warm_reboot`). */
export function writeCrBootAddress(access: AddressSpaceAccess, newStart: number): void {
  access.writeSpace32(Space.CR, CR_BOOT_ADDRESS, (newStart << 8) >>> 0);
  const v = access.readSpace32(Space.CR, CR_RESET_FLASH_ON_WARM);
  access.writeSpace32(Space.CR, CR_RESET_FLASH_ON_WARM, (v | RESET_FLASH_ON_WARM_BIT) >>> 0);
}
