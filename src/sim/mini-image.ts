/**
 * A tiny, valid FS3 image for ConnectX-4 Lx built only from fs3-facts.md §1 (the §1.8
 * experiment's shape: magic, boot word, BOOT2, ITOC at 0x1000, IMAGE_INFO minor 3, plus
 * device data at the 16 MiB map's addresses). For tests of the device model and of clients
 * of it; the production image builder lives in src/image/.
 */
import { putU16, putU32, putU64 } from './bits.js';
import {
  BOOT2_OFFSET,
  BOOT_VERSION_OFFSET,
  DEV_INFO_SIGNATURE,
  FS3_MAGIC,
  ITOC_SIGNATURE,
  SectionType,
} from './constants.js';
import { crc16 } from '../image/crc16.js';

export const MINI_DEV_INFO_ADDR = 0xfee000; // §1.8 RestoreDevToc map
export const MINI_MFG_INFO_ADDR = 0xff8000;
const DEV_INFO_SIZE = 0x200;
const MFG_INFO_SIZE = 0x140;
const IMAGE_INFO_SIZE = 0x400;

export interface MiniImageOptions {
  version?: readonly [number, number, number];
  /** log2 of the slot size written in the boot word (§1.2): 0x16 = 4 MiB slots. */
  chunkLog2?: number;
  psid?: string;
  hwId?: number;
  /** Add IMAGE_SIGNATURE_256 + PUBLIC_KEYS_2048 sections and set mcc_en (§3.1: not SM_NONE). */
  signed?: boolean;
  /** Size of the image area (default 0x8000). */
  size?: number;
  /** Seed of the MAIN_CODE filler bytes. */
  fill?: number;
}

export interface MiniDeviceData {
  guid: bigint;
  mac: bigint;
  psid?: string;
}

function ascii(buf: Uint8Array, off: number, text: string, max: number): void {
  for (let i = 0; i < Math.min(text.length, max); i++) buf[off + i] = text.charCodeAt(i) & 0x7f;
}

function uidEntry(buf: Uint8Array, off: number, uid: bigint, count: number): void {
  buf[off + 2] = 1; // step
  buf[off + 3] = count; // num_allocated
  putU64(buf, off + 8, uid);
}

/** DEV_INFO (§1.8): signature, CX4 format (major 2), GUID and MAC entries, vsd_vendor_id. */
export function makeDevInfo(d: MiniDeviceData): Uint8Array {
  const b = new Uint8Array(DEV_INFO_SIZE);
  DEV_INFO_SIGNATURE.forEach((w, i) => putU32(b, i * 4, w));
  putU32(b, 0x10, 2 << 8);
  uidEntry(b, 0x20, d.guid, 8);
  uidEntry(b, 0x30, d.mac, 8);
  putU16(b, 0x6e, 0x15b3);
  ascii(b, 0x70, 'fs3burn simulated card', 208);
  return b;
}

/** MFG_INFO (§1.8): PSID, CX4 format (major 1), original GUID and MAC. */
export function makeMfgInfo(d: MiniDeviceData): Uint8Array {
  const b = new Uint8Array(MFG_INFO_SIZE);
  ascii(b, 0, d.psid ?? 'MT_2420110034', 16);
  b[0x1c] = 1;
  uidEntry(b, 0x20, d.guid, 8);
  uidEntry(b, 0x30, d.mac, 8);
  return b;
}

interface EntrySpec {
  type: number;
  addr: number;
  size: number;
  relative: boolean;
  deviceData?: boolean;
  data: Uint8Array;
}

function itocEntry(e: EntrySpec): Uint8Array {
  const b = new Uint8Array(32);
  putU32(b, 0, ((e.type << 24) | (((e.size / 4) & 0x3fffff) << 2)) >>> 0);
  putU32(b, 20, ((e.relative ? 1 << 31 : 0) | (e.addr & 0x7ffffffc)) >>> 0);
  putU32(b, 24, ((e.deviceData ? 1 << 17 : 0) | crc16(e.data, 0, e.size / 4)) >>> 0);
  putU32(b, 28, crc16(b, 0, 7));
  return b;
}

/**
 * The image area of a slot (slot-relative; device-data sections are not in it: their ITOC
 * entries point at absolute addresses, and their CRCs are those of `device`).
 */
export function makeMiniImage(opts: MiniImageOptions = {}, device: MiniDeviceData = { guid: 0x248a070300000008n, mac: 0x248a07000008n }): Uint8Array {
  const size = opts.size ?? 0x8000;
  const version = opts.version ?? [14, 14, 1100];
  const img = new Uint8Array(size).fill(0xff);
  FS3_MAGIC.forEach((w, i) => putU32(img, i * 4, w));
  img.set([3, opts.chunkLog2 ?? 0x16, 1, 1], BOOT_VERSION_OFFSET); // FS3, log2 chunk, binary 1.1
  // BOOT2 (§1.3): N = 4 payload dwords, (N+4) dwords in all, CRC16 of the first N+3 in the last
  const n = 4;
  const boot2 = new Uint8Array((n + 4) * 4);
  putU32(boot2, 0, 0);
  putU32(boot2, 4, n);
  for (let i = 2; i < n + 3; i++) putU32(boot2, i * 4, (0x0b007000 + i) >>> 0);
  putU32(boot2, (n + 3) * 4, crc16(boot2, 0, n + 3));
  img.set(boot2, BOOT2_OFFSET);

  const info = new Uint8Array(IMAGE_INFO_SIZE);
  info[0] = 0;
  info[1] = 3;
  if (opts.signed) info[2] = 0x01; // mcc_en (dw0 bit 8)
  putU16(info, 0x04, version[0]);
  putU16(info, 0x08, version[1]);
  putU16(info, 0x0a, version[2]);
  putU16(info, 0x10, 0x2016); // BCD date 16.3.2016
  info[0x12] = 0x03;
  info[0x13] = 0x16;
  putU16(info, 0x14, 9);
  putU16(info, 0x18, 8);
  putU16(info, 0x1a, 7);
  putU16(info, 0x1c, 0x1015);
  putU16(info, 0x1e, 0x15b3);
  ascii(info, 0x24, opts.psid ?? device.psid ?? 'MT_2420110034', 16);
  putU32(info, 0x118, opts.hwId ?? 0x20b);
  ascii(info, 0x1c0, 'rel-' + version.join('_'), 16);
  ascii(info, 0x1d0, 'ConnectX-4 Lx EN network interface card (simulated)', 255);
  ascii(info, 0x340, 'MCX4121A-ACA_Ax', 63);
  ascii(info, 0x380, 'MCX4121A-ACA_Ax_simulated', 127);

  const code = new Uint8Array(0x1000);
  let x = (opts.fill ?? 0x1234567) >>> 0;
  for (let i = 0; i < code.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    code[i] = x >>> 24;
  }
  const entries: EntrySpec[] = [
    { type: SectionType.IMAGE_INFO, addr: 0x2000, size: IMAGE_INFO_SIZE, relative: true, data: info },
    { type: 0x03, addr: 0x3000, size: code.length, relative: true, data: code },
  ];
  if (opts.signed) {
    const sig = new Uint8Array(0x100).fill(0x5a);
    const keys = new Uint8Array(0x208).fill(0xa5);
    entries.push({ type: SectionType.IMAGE_SIGNATURE_256, addr: 0x4000, size: sig.length, relative: true, data: sig });
    entries.push({ type: SectionType.PUBLIC_KEYS_2048, addr: 0x5000, size: keys.length, relative: true, data: keys });
  }
  const mfg = makeMfgInfo(device);
  const dev = makeDevInfo(device);
  entries.push({ type: SectionType.MFG_INFO, addr: MINI_MFG_INFO_ADDR, size: MFG_INFO_SIZE, relative: false, deviceData: true, data: mfg });
  entries.push({ type: SectionType.DEV_INFO, addr: MINI_DEV_INFO_ADDR, size: DEV_INFO_SIZE, relative: false, deviceData: true, data: dev });

  const itoc = 0x1000;
  const hdr = new Uint8Array(32);
  ITOC_SIGNATURE.forEach((w, i) => putU32(hdr, i * 4, w));
  putU32(hdr, 16, 1); // version
  putU32(hdr, 28, crc16(hdr, 0, 7));
  img.set(hdr, itoc);
  entries.forEach((e, i) => {
    img.set(itocEntry(e), itoc + 0x20 + i * 32);
    if (e.relative) img.set(e.data, e.addr);
  });
  img.fill(0xff, itoc + 0x20 + entries.length * 32, itoc + 0x40 + entries.length * 32); // END
  return img;
}

export interface MiniFlashOptions extends MiniImageOptions {
  guid?: bigint;
  mac?: bigint;
  /** Where the image goes (default 0). */
  slot?: number;
  flashSize?: number;
}

/** A whole 16 MiB flash: the image in a slot, device data at the top (§1.8, §7). */
export function makeMiniFlash(opts: MiniFlashOptions = {}): Uint8Array {
  const device: MiniDeviceData = {
    guid: opts.guid ?? 0x248a070300000008n,
    mac: opts.mac ?? 0x248a07000008n,
    ...(opts.psid !== undefined ? { psid: opts.psid } : {}),
  };
  const flash = new Uint8Array(opts.flashSize ?? 0x1000000).fill(0xff);
  flash.set(makeMiniImage(opts, device), opts.slot ?? 0);
  flash.set(makeDevInfo(device), MINI_DEV_INFO_ADDR);
  flash.set(makeMfgInfo(device), MINI_MFG_INFO_ADDR);
  return flash;
}
