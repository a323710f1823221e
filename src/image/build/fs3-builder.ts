/**
 * The FS3 image builder: a ConnectX-4 Lx flash image for a 16 MiB flash, slot 0 at
 * address 0, device-data sections at the top (fs3-facts.md §1, §7). The layout is planned
 * first (planFs3Image), then written (buildFs3Image). docs/image-builder.md has the map.
 */
import { createHash } from 'node:crypto';
import { Fs3BurnError } from '../../errors.js';
import { crc16 } from '../crc16.js';
import { SectionType, sectionName } from '../sections.js';
import { fillPseudoRandom, mix32 } from './prng.js';
import {
  IMAGE_AREA_LIMIT,
  resolveBuildParams,
  type Fs3BuildParams,
  type ResolvedFs3BuildParams,
} from './params.js';
import {
  BOOT2_OFFSET,
  DEV_INFO_SIZE,
  IMAGE_INFO_SIZE,
  IMAGE_SIGNATURE_256_SIZE,
  ITOC_ENTRY_SIZE,
  ITOC_HEADER_SIZE,
  ITOC_MAX_ENTRIES,
  MFG_INFO_SIZE,
  PUBLIC_KEYS_2048_SIZE,
  encodeDevInfo,
  encodeImageInfo,
  encodeImageSignature256,
  encodeMfgInfo,
  encodePublicKeys2048,
  writeBoot2,
  writeBootVersion,
  writeItocEnd,
  writeItocEntry,
  writeItocHeader,
  writeMagic,
} from './sections.js';

/** The flash the builder targets: 16 MiB (MCX4121A-ACA, fs3-facts.md §7). */
export const FLASH_SIZE = 0x1000000;

/**
 * Device-data sections at absolute flash addresses, as in `RestoreDevToc`'s CX4LX map
 * (§1.8) and as the vendor's FS3 fixtures place them (both fixtures: NV_DATA0, NV_DATA2,
 * DEV_INFO, MFG_INFO, VPD_R0 with size 0, in this ITOC order).
 */
export const DEVICE_DATA_LAYOUT = [
  { type: SectionType.NV_DATA0, addr: 0xfa0000, size: 0x10000, noCrc: true },
  { type: SectionType.NV_DATA2, addr: 0xfb0000, size: 0x10000, noCrc: true },
  { type: SectionType.DEV_INFO, addr: 0xfee000, size: DEV_INFO_SIZE, noCrc: false },
  { type: SectionType.MFG_INFO, addr: 0xff8000, size: MFG_INFO_SIZE, noCrc: false },
  { type: SectionType.VPD_R0, addr: 0xff9000, size: 0, noCrc: false },
] as const;

/** Where the file ends when fullFlash is false: the end of the last device-data section. */
export const DEVICE_DATA_END = 0xff9000;

const SECTOR = 0x1000;
const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** Code sections: the signature sections go right before the first of these (as in the signed fixture). */
const CODE_TYPES = new Set<number>([
  SectionType.BOOT_CODE,
  SectionType.PCI_CODE,
  SectionType.MAIN_CODE,
  SectionType.PCIE_LINK_CODE,
  SectionType.IRON_PREP_CODE,
  SectionType.POST_IRON_BOOT_CODE,
  SectionType.UPGRADE_CODE,
  SectionType.PHY_UC_CODE,
  SectionType.PCIE_PHY_UC_CODE,
]);

export interface PlannedSection {
  type: number;
  /** The name mstflint prints. */
  name: string;
  /** Slot-relative address for image sections, absolute flash address for device data. */
  addr: number;
  size: number;
  relative: boolean;
  deviceData: boolean;
  noCrc: boolean;
  /** Index into params.sections for payload sections. */
  payloadIndex?: number;
}

export interface Fs3Layout {
  chunkLog2: 0x16 | 0x17;
  /** Bytes of one image slot (4 or 8 MiB). */
  slotSize: number;
  /** Slot 1 start (0x400000 or 0x800000). */
  slot1Addr: number;
  boot2: { addr: number; size: number };
  itocAddr: number;
  /** In ITOC order: image sections by address, then the device-data sections. */
  sections: PlannedSection[];
  /** Slot-relative end of the last image section. */
  imageEnd: number;
  /** Length of the built file. */
  fileSize: number;
}

function layoutError(message: string): never {
  throw new Fs3BurnError('BUILD_INVALID_PARAMS', message, {
    hint: 'use fewer or smaller sections, or chunkLog2 0x17 (8 MiB slots)',
  });
}

/** Plan addresses for every structure. Pure: no bytes are written. */
export function planFs3Image(p: ResolvedFs3BuildParams): Fs3Layout {
  const slotSize = 2 ** p.chunkLog2;
  const boot2 = { addr: BOOT2_OFFSET, size: p.boot2Size };
  // §1.4: the ITOC search starts at the end of BOOT2 rounded up to 4 KiB.
  const itocAddr = alignUp(BOOT2_OFFSET + p.boot2Size, SECTOR);

  // Order: payload sections as given; signature + keys before the first code section;
  // IMAGE_INFO before DBG_FW_INI (or last), and DBG_FW_INI packed right after it.
  type Item = { type: number; size: number; payloadIndex?: number };
  const items: Item[] = p.sections.map((s, i) => ({ type: s.type, size: s.size, payloadIndex: i }));
  if (p.signed) {
    let at = items.findIndex((s) => CODE_TYPES.has(s.type));
    if (at < 0) at = items.length;
    items.splice(
      at,
      0,
      { type: SectionType.IMAGE_SIGNATURE_256, size: IMAGE_SIGNATURE_256_SIZE },
      { type: SectionType.PUBLIC_KEYS_2048, size: PUBLIC_KEYS_2048_SIZE },
    );
  }
  let infoAt = items.findIndex((s) => s.type === SectionType.DBG_FW_INI);
  if (infoAt < 0) infoAt = items.length;
  items.splice(infoAt, 0, { type: SectionType.IMAGE_INFO, size: IMAGE_INFO_SIZE });

  const total = items.length + DEVICE_DATA_LAYOUT.length + 1; // + END marker
  if (total > ITOC_MAX_ENTRIES) {
    layoutError(`too many sections: the ITOC holds ${ITOC_MAX_ENTRIES} entries including the end marker, ${total} needed`);
  }
  if (itocAddr + ITOC_HEADER_SIZE + total * ITOC_ENTRY_SIZE > itocAddr + SECTOR) {
    layoutError('the ITOC does not fit in its 4 KiB sector');
  }

  const sections: PlannedSection[] = [];
  let cursor = itocAddr + SECTOR;
  let prev: number | undefined;
  for (const it of items) {
    const packed = it.type === SectionType.DBG_FW_INI && prev === SectionType.IMAGE_INFO;
    const addr = packed ? cursor : alignUp(cursor, SECTOR);
    sections.push({
      type: it.type,
      name: sectionName(it.type),
      addr,
      size: it.size,
      relative: true,
      deviceData: false,
      noCrc: false,
      ...(it.payloadIndex !== undefined ? { payloadIndex: it.payloadIndex } : {}),
    });
    cursor = addr + it.size;
    prev = it.type;
  }
  const imageEnd = cursor;
  // The image must fit its slot, and slot 1 of an 8 MiB image (0x800000) must stay below
  // the device data (NV_DATA0 at 0xFA0000) so a flash can hold it in either slot.
  const limit = Math.min(slotSize, IMAGE_AREA_LIMIT - slotSize);
  if (imageEnd > limit) {
    layoutError(
      `the image needs 0x${imageEnd.toString(16)} bytes but a ${slotSize >>> 20} MiB slot allows 0x${limit.toString(16)}`,
    );
  }
  for (const d of DEVICE_DATA_LAYOUT) {
    sections.push({
      type: d.type,
      name: sectionName(d.type),
      addr: d.addr,
      size: d.size,
      relative: false,
      deviceData: true,
      noCrc: d.noCrc,
    });
  }
  return {
    chunkLog2: p.chunkLog2,
    slotSize,
    slot1Addr: slotSize,
    boot2,
    itocAddr,
    sections,
    imageEnd,
    fileSize: p.fullFlash ? FLASH_SIZE : DEVICE_DATA_END,
  };
}

export interface Fs3BuildResult {
  image: Uint8Array;
  layout: Fs3Layout;
  params: ResolvedFs3BuildParams;
}

/** Build, returning the bytes, the layout and the resolved parameters. */
export function buildFs3ImageDetailed(params: Fs3BuildParams = {}): Fs3BuildResult {
  const p = resolveBuildParams(params);
  const layout = planFs3Image(p);
  const img = new Uint8Array(layout.fileSize).fill(0xff);

  // Header: magic, zeroed header words, boot-version word, BOOT2.
  img.fill(0, 0x10, BOOT2_OFFSET);
  writeMagic(img, 0);
  writeBootVersion(img, 0, p.chunkLog2);
  writeBoot2(img, 0, p.boot2Size, mix32(p.seed, 0xb002));

  // Section contents.
  const hash = createHash('sha256');
  const contents = new Map<number, Uint8Array>(); // types written after the payload
  for (const s of layout.sections) {
    if (s.payloadIndex === undefined) continue;
    const spec = p.sections[s.payloadIndex]!;
    if (spec.data) img.set(spec.data, s.addr);
    else fillPseudoRandom(img, s.addr, s.size, mix32(p.seed, 0x100 + s.type));
    hash.update(img.subarray(s.addr, s.addr + s.size));
  }
  contents.set(SectionType.IMAGE_INFO, encodeImageInfo(p));
  if (p.signed) {
    contents.set(SectionType.IMAGE_SIGNATURE_256, encodeImageSignature256(hash.digest(), mix32(p.seed, 0x5a0)));
    contents.set(SectionType.PUBLIC_KEYS_2048, encodePublicKeys2048(mix32(p.seed, 0x5a1)));
  }
  contents.set(SectionType.DEV_INFO, encodeDevInfo(p));
  contents.set(SectionType.MFG_INFO, encodeMfgInfo(p));
  // NV_DATA0/NV_DATA2 stay erased (0xFF: no stored non-volatile configuration); VPD_R0 is empty.
  for (const s of layout.sections) {
    const c = contents.get(s.type);
    if (c) img.set(c, s.addr);
  }

  // ITOC: header, one entry per section with its section CRC, END marker.
  writeItocHeader(img, layout.itocAddr);
  let e = layout.itocAddr + ITOC_HEADER_SIZE;
  for (const s of layout.sections) {
    writeItocEntry(img, e, {
      type: s.type,
      size: s.size,
      addr: s.addr,
      relative: s.relative,
      deviceData: s.deviceData,
      noCrc: s.noCrc,
      sectionCrc: crc16(img, s.addr, s.size >>> 2),
    });
    e += ITOC_ENTRY_SIZE;
  }
  writeItocEnd(img, e);
  return { image: img, layout, params: p };
}

/** Build a ConnectX-4 Lx FS3 flash image (see Fs3BuildParams for the defaults). */
export function buildFs3Image(params: Fs3BuildParams = {}): Uint8Array {
  return buildFs3ImageDetailed(params).image;
}

/**
 * A 16 MiB flash with `image` (a builder output, image in slot 0) moved to slot `slot`
 * (slot 1 = 1 << chunkLog2: 0x400000 or 0x800000; §2.2). The slot-0 area is erased,
 * the device data (0xFA0000 and up) stays. With `other`, that image's slot-0 content is
 * put into the other slot with its first magic dword zeroed, as flint leaves an old image
 * after a failsafe burn (§2.3 step 5), unless `otherValid` is set.
 */
export function placeInSlot(
  image: Uint8Array,
  slot: 0 | 1,
  opts: { other?: Uint8Array; otherValid?: boolean } = {},
): Uint8Array {
  const flash = new Uint8Array(FLASH_SIZE).fill(0xff);
  const dd = DEVICE_DATA_LAYOUT[0].addr;
  flash.set(image.subarray(dd, Math.min(image.length, FLASH_SIZE)), dd);
  const put = (src: Uint8Array, s: 0 | 1, valid: boolean) => {
    const log2 = src[0x25];
    if (src[0x24] !== 3 || (log2 !== 0x16 && log2 !== 0x17)) {
      throw new Fs3BurnError('BUILD_INVALID_PARAMS', 'placeInSlot needs an FS3 image built with chunkLog2 0x16 or 0x17');
    }
    const size = 2 ** log2;
    const dest = s === 0 ? 0 : size;
    const len = Math.min(size, dd - dest, src.length);
    flash.set(src.subarray(0, len), dest);
    if (!valid) flash.fill(0, dest, dest + 4);
  };
  if (opts.other) put(opts.other, slot === 0 ? 1 : 0, opts.otherValid ?? false);
  put(image, slot, true);
  return flash;
}
