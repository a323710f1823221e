/**
 * Encoders for the FS3 structures the builder writes: ITOC header and entries, IMAGE_INFO,
 * DEV_INFO, MFG_INFO, and placeholder signature / public-key sections. Offsets are from
 * fs3-facts.md §1.4, §1.7, §1.8, and were checked against mstflint 4.21 (`v`, `q full`)
 * by test/build-image.test.ts.
 */
import { crc16 } from '../crc16.js';
import { bcd, putAscii, putBits, putU16, putU32, putU64, putU8 } from './encode.js';
import { fillPseudoRandom } from './prng.js';
import type { ResolvedFs3BuildParams } from './params.js';

/** §1.2 */
export const FS3_MAGIC_DWORDS = [0x4d544657, 0x8cdfd000, 0xdead9270, 0x4154beef] as const;
/** §1.4 ITOC signature dwords. */
export const ITOC_SIGNATURE = [0x49544f43, 0x04081516, 0x2342cafa, 0xbacafe00] as const;
/** §1.8 DEV_INFO signature dwords. */
export const DEV_INFO_SIGNATURE = [0x6d446576, 0x496e666f, 0x2342cafa, 0xbacafe00] as const;

export const BOOT_VERSION_OFFSET = 0x24;
export const BOOT2_OFFSET = 0x38;
export const ITOC_HEADER_SIZE = 0x20;
export const ITOC_ENTRY_SIZE = 0x20;
/** Entries including the END marker (MAX_TOCS_NUM). */
export const ITOC_MAX_ENTRIES = 64;

export const IMAGE_INFO_SIZE = 0x400;
export const DEV_INFO_SIZE = 0x200;
export const MFG_INFO_SIZE = 0x140;
/** Sizes as in the vendor's signed FS3 fixture (IMAGE_SIGNATURE_256, PUBLIC_KEYS_2048 = 8 keys of 0x120). */
export const IMAGE_SIGNATURE_256_SIZE = 0x140;
export const PUBLIC_KEYS_2048_SIZE = 0x900;
const PUBLIC_KEY_2048_STRIDE = 0x120;

export function writeMagic(buf: Uint8Array, off: number): void {
  FS3_MAGIC_DWORDS.forEach((d, i) => putU32(buf, off + i * 4, d));
}

/** Boot-version dword at image offset 0x24: format 3, log2 chunk, binary version 1.1 (§1.2). */
export function writeBootVersion(buf: Uint8Array, imgOff: number, chunkLog2: number): void {
  const o = imgOff + BOOT_VERSION_OFFSET;
  buf[o] = 3;
  buf[o + 1] = chunkLog2;
  buf[o + 2] = 1;
  buf[o + 3] = 1;
}

/**
 * BOOT2 at image offset 0x38 (§1.3): dw0, dw1 = N, N+1 dwords of code, CRC16 of the first
 * N+3 dwords in the last dword. `size` = (N+4)*4.
 */
export function writeBoot2(buf: Uint8Array, imgOff: number, size: number, seed: number): void {
  const o = imgOff + BOOT2_OFFSET;
  const n = size / 4 - 4;
  fillPseudoRandom(buf, o, size - 4, seed);
  putU32(buf, o, 0);
  putU32(buf, o + 4, n);
  putU32(buf, o + size - 4, crc16(buf, o, n + 3));
}

export function writeItocHeader(buf: Uint8Array, off: number): void {
  buf.fill(0, off, off + ITOC_HEADER_SIZE);
  ITOC_SIGNATURE.forEach((d, i) => putU32(buf, off + i * 4, d));
  putU32(buf, off + 0x10, 1); // dw4 bits 7:0: version (1, as in the vendor fixtures)
  putU32(buf, off + 0x1c, crc16(buf, off, 7));
}

export interface ItocEntryFields {
  type: number;
  /** Bytes, a multiple of 4. */
  size: number;
  /** Byte address: slot-relative if `relative`, else absolute flash address. */
  addr: number;
  relative: boolean;
  deviceData: boolean;
  noCrc: boolean;
  sectionCrc: number;
}

/** One 32-byte ITOC entry (§1.4 table) with its entry CRC. */
export function writeItocEntry(buf: Uint8Array, off: number, e: ItocEntryFields): void {
  buf.fill(0, off, off + ITOC_ENTRY_SIZE);
  putBits(buf, off, 31, 24, e.type);
  putBits(buf, off, 23, 2, e.size >>> 2);
  putBits(buf, off + 0x14, 31, 31, e.relative ? 1 : 0);
  putBits(buf, off + 0x14, 30, 2, e.addr >>> 2);
  putBits(buf, off + 0x18, 17, 17, e.deviceData ? 1 : 0);
  putBits(buf, off + 0x18, 16, 16, e.noCrc ? 1 : 0);
  putBits(buf, off + 0x18, 15, 0, e.sectionCrc);
  putU32(buf, off + 0x1c, crc16(buf, off, 7));
}

export function writeItocEnd(buf: Uint8Array, off: number): void {
  buf.fill(0xff, off, off + ITOC_ENTRY_SIZE);
}

/** IMAGE_INFO, minor version 3 (§1.7). */
export function encodeImageInfo(p: ResolvedFs3BuildParams): Uint8Array {
  const b = new Uint8Array(IMAGE_INFO_SIZE);
  putU8(b, 0x00, 0); // major_version: must be 0
  putU8(b, 0x01, 3); // minor_version 3: strings at 0x1D0 / 0x340 / 0x380
  // dw0 flags: signed_fw 14, mcc_en 8 (secure_fw, debug_fw, encrypted_fw, secure_boot stay 0).
  putBits(b, 0x00, 14, 14, p.signedFwBit ? 1 : 0);
  putBits(b, 0x00, 8, 8, p.mccEnable ? 1 : 0);
  putU16(b, 0x04, p.fwVersion.major);
  putU16(b, 0x08, p.fwVersion.minor);
  putU16(b, 0x0a, p.fwVersion.subminor);
  putU8(b, 0x0c, bcd(p.releaseTime.second));
  putU8(b, 0x0d, bcd(p.releaseTime.minute));
  putU8(b, 0x0e, bcd(p.releaseTime.hour));
  putU16(b, 0x10, bcd(p.releaseDate.year));
  putU8(b, 0x12, bcd(p.releaseDate.month));
  putU8(b, 0x13, bcd(p.releaseDate.day));
  putU16(b, 0x14, p.micVersion.major);
  putU16(b, 0x18, p.micVersion.minor);
  putU16(b, 0x1a, p.micVersion.subminor);
  putU16(b, 0x1c, p.pciDeviceId);
  putU16(b, 0x1e, p.pciVendorId);
  putU16(b, 0x20, p.pciSubsystemId);
  putU16(b, 0x22, p.pciSubVendorId);
  putAscii(b, 0x24, 16, p.psid);
  putU16(b, 0x36, 0x15b3); // vsd_vendor_id
  putAscii(b, 0x38, 208, p.imageVsd);
  putBits(b, 0x108, 31, 31, p.runFromAny ? 1 : 0);
  putU8(b, 0x10b, p.chunkLog2); // log_step
  putU32(b, 0x10c, 2 ** p.chunkLog2); // max_size
  p.supportedHwIds.forEach((id, i) => putU32(b, 0x118 + i * 4, id));
  putAscii(b, 0x1c0, 16, p.productVersion);
  putAscii(b, 0x1d0, 256, p.description);
  putAscii(b, 0x340, 64, p.partNumber);
  putAscii(b, 0x380, 128, p.prsName);
  return b;
}

/** A uid_entry (§1.8): step at byte 2, num_allocated at byte 3, uid at bytes 8..15. */
function writeUidEntry(b: Uint8Array, off: number, uid: bigint, count: number, step: number): void {
  putU8(b, off + 2, step);
  putU8(b, off + 3, count);
  putU64(b, off + 8, uid);
}

/** DEV_INFO, CX4 format (major 2) (§1.8). */
export function encodeDevInfo(p: ResolvedFs3BuildParams): Uint8Array {
  const b = new Uint8Array(DEV_INFO_SIZE);
  DEV_INFO_SIGNATURE.forEach((d, i) => putU32(b, i * 4, d));
  putBits(b, 0x10, 16, 8, 2); // major_version 2 = CX4 format
  putU8(b, 0x13, 0); // minor_version
  writeUidEntry(b, 0x20, p.guid, p.guidCount, p.guidStep);
  writeUidEntry(b, 0x30, p.mac, p.macCount, p.macStep);
  putU16(b, 0x6e, 0x15b3); // vsd_vendor_id
  putAscii(b, 0x70, 208, p.deviceVsd);
  return b;
}

/** MFG_INFO, CX4 format (major 1) (§1.8). */
export function encodeMfgInfo(p: ResolvedFs3BuildParams): Uint8Array {
  const b = new Uint8Array(MFG_INFO_SIZE);
  putAscii(b, 0x00, 16, p.psid);
  putU8(b, 0x1c, 1); // major_version 1 = CX4 format
  putU8(b, 0x1d, 0); // minor_version
  putU8(b, 0x1f, 0); // guids_override_en = 0: DEV_INFO's GUIDs/MACs are the ones in use
  writeUidEntry(b, 0x20, p.origGuid, p.guidCount, p.guidStep);
  writeUidEntry(b, 0x30, p.origMac, p.macCount, p.macStep);
  return b;
}

/**
 * Placeholder IMAGE_SIGNATURE_256: not a real RSA signature (nothing here can sign for the
 * vendor's keys). Laid out like the vendor fixture: a 32-byte digest at 0x20 and a
 * 256-byte signature field at 0x40, the rest zero. `digest` is SHA-256 of the payload.
 */
export function encodeImageSignature256(digest: Uint8Array, seed: number): Uint8Array {
  const b = new Uint8Array(IMAGE_SIGNATURE_256_SIZE);
  b.set(digest.subarray(0, 32), 0x20);
  fillPseudoRandom(b, 0x40, 0x100, seed);
  return b;
}

/**
 * Placeholder PUBLIC_KEYS_2048: 8 entries of 0x120 bytes, each with exponent 65537 at
 * +0x0C (as in the vendor fixture); entry 0 also gets a pseudo-random keypair UUID at +0x10
 * and a 2048-bit modulus at +0x20.
 */
export function encodePublicKeys2048(seed: number): Uint8Array {
  const b = new Uint8Array(PUBLIC_KEYS_2048_SIZE);
  for (let k = 0; k < PUBLIC_KEYS_2048_SIZE / PUBLIC_KEY_2048_STRIDE; k++) {
    putU32(b, k * PUBLIC_KEY_2048_STRIDE + 0x0c, 0x10001);
  }
  fillPseudoRandom(b, 0x10, 0x110, seed);
  b[0x20] = b[0x20]! | 0x80; // a 2048-bit modulus has its top bit set
  b[0x11f] = b[0x11f]! | 0x01; // and is odd
  return b;
}
