/**
 * FS3 image parser: bytes in, typed model out, no I/O (fs3-facts.md §1).
 * Structural problems (no magic, bad BOOT2, no ITOC, bad ITOC entry CRC) throw
 * Fs3BurnError IMAGE_CORRUPT; section CRCs are computed and reported, not thrown,
 * so `verify` can list every section the way mstflint does.
 */
import { Fs3BurnError } from '../errors.js';
import { crc16 } from './crc16.js';
import { detectFormat, FS3_FORMAT_VERSION } from './format.js';
import { be32, toSource, type ByteSource, type ImageInput } from './source.js';
import {
  bootVersionParser,
  devInfoParser,
  imageInfoParser,
  itocEntryParser,
  itocHeaderParser,
  mfgInfoParser,
} from './layouts.js';
import { isPublicKeysSection, isSignatureSection, SectionType, sectionName } from './sections.js';

export interface FwVersion {
  major: number;
  minor: number;
  subminor: number;
}

export interface BootVersion {
  formatVersion: number;
  /** log2 chunk size as stored (0 means 21). */
  log2Chunk: number;
  /** The chunk log2 flint uses after its special cases (§1.2). */
  effectiveLog2Chunk: number;
  binMajor: number;
  binMinor: number;
}

export interface Boot2 {
  /** Image-relative offset (always 0x38). */
  offset: number;
  /** Payload size N in dwords. */
  sizeDwords: number;
  /** Total length in bytes, (N+4)*4. */
  length: number;
  crcStored: number;
  crcActual: number;
  crcOk: boolean;
}

export interface ItocHeader {
  /** Image-relative address of the ITOC header. */
  address: number;
  version: number;
  flashLayoutVersion: number;
  numEntries: number;
  crcStored: number;
  crcActual: number;
  crcOk: boolean;
}

export interface ItocEntry {
  index: number;
  /** Image-relative offset of the 32-byte entry itself. */
  entryOffset: number;
  type: number;
  name: string;
  sizeDwords: number;
  size: number;
  zippedImage: boolean;
  cacheLineCrc: boolean;
  param0: number;
  param1: number;
  version: number;
  /** 1: flash_addr is relative to the image start; 0: absolute physical address. */
  relativeAddr: boolean;
  /** flash_addr × 4: image-relative when relativeAddr, else physical. As mstflint prints it. */
  address: number;
  /** Offset of the section's bytes in the buffer given to the parser. */
  bufferOffset: number;
  encryptedSection: boolean;
  deviceData: boolean;
  noCrc: boolean;
  sectionCrc: number;
  /** CRC16 computed over the section's bytes; undefined when they lie outside the buffer. */
  sectionCrcActual?: number;
  /** The section lies inside the buffer. */
  inBounds: boolean;
  entryCrc: number;
  entryCrcActual: number;
}

export interface UidEntry {
  uid: bigint;
  step: number;
  numAllocated: number;
}

export interface ImageInfo {
  majorVersion: number;
  minorVersion: number;
  secureFw: boolean;
  signedFw: boolean;
  debugFw: boolean;
  mccEnabled: boolean;
  encryptedFw: number;
  secureBoot: boolean;
  fwVersion: FwVersion;
  releaseDate: { day: number; month: number; year: number; hour: number; minute: number; second: number };
  micVersion: FwVersion;
  pciDeviceId: number;
  pciVendorId: number;
  pciSubsystemId: number;
  pciSubVendorId: number;
  psid: string;
  vsdVendorId: number;
  vsd: string;
  runFromAny: boolean;
  supportedHwIds: { hwId: number; rev: number; raw: number }[];
  burnImageSize: number;
  productVersion: string;
  description: string;
  /**
   * FW ISSU version: bits 31:20 of the IMAGE_INFO dword at 0x314 (module_versions' isfu major),
   * found by patching the real signed fixture and watching mstflint's "FW ISSU Version"; 0 = absent.
   */
  isfuMajor: number;
  partNumber: string;
  prsName: string;
}

export interface DevInfo {
  majorVersion: number;
  minorVersion: number;
  signatureOk: boolean;
  guid: UidEntry;
  mac: UidEntry;
  vsdVendorId: number;
  vsd: string;
}

export interface MfgInfo {
  psid: string;
  majorVersion: number;
  minorVersion: number;
  guidsOverride: boolean;
  guid: UidEntry;
  mac: UidEntry;
  origPrsName: string;
}

export interface SecurityInfo {
  hasSignature: boolean;
  hasPublicKeys: boolean;
  mccEnabled: boolean;
  /** flint's rule (§3.1): not SM_NONE only with signature + public keys + mcc_en. */
  fwManagedCapable: boolean;
}

export interface Fs3Image {
  format: 'FS3';
  /** Buffer offset of the first image start holding the magic. */
  imageStart: number;
  /** Every probed start holding the magic. */
  imageStarts: number[];
  bootVersion: BootVersion;
  boot2: Boot2;
  itoc: ItocHeader;
  entries: ItocEntry[];
  imageInfo?: ImageInfo;
  devInfo?: DevInfo;
  mfgInfo?: MfgInfo;
  security: SecurityInfo;
  /** Size of the buffer parsed. */
  size: number;
}

const ITOC_SIGNATURE = [0x49544f43, 0x04081516, 0x2342cafa, 0xbacafe00];
const DEV_INFO_SIGNATURE = [0x6d446576, 0x496e666f, 0x2342cafa, 0xbacafe00];
const MAX_ITOC_ENTRIES = 64; // MAX_TOCS_NUM (§1.4)
const BOOT2_OFFSET = 0x38;
const ITOC_ENTRY_SIZE = 0x20;

function corrupt(message: string, data?: Record<string, unknown>): Fs3BurnError {
  return new Fs3BurnError('IMAGE_CORRUPT', message, {
    hint: 'the image is damaged or truncated; get a fresh copy of the firmware file',
    ...(data ? { data } : {}),
  });
}

function bcd(v: number): number {
  let out = 0;
  let mul = 1;
  while (v > 0) {
    out += (v & 0xf) * mul;
    mul *= 10;
    v >>>= 4;
  }
  return out;
}

function uid(e: { uid: bigint; step: number; numAllocated: number; numAllocatedMsb: number }, msb: boolean): UidEntry {
  return { uid: BigInt.asUintN(64, e.uid), step: e.step, numAllocated: msb ? (e.numAllocatedMsb << 8) | e.numAllocated : e.numAllocated };
}

function parseImageInfo(b: Uint8Array): ImageInfo {
  const r = imageInfoParser.parse(b);
  if (r.majorVersion !== 0) {
    throw corrupt(`Unknown IMAGE_INFO format version (${r.majorVersion}.${r.minorVersion})`);
  }
  const flags: number = r.flags; // dw0 bits 15:0 (§1.7)
  const supportedHwIds = (r.supportedHwId as number[])
    .filter((raw, i, all) => raw !== 0 && all.slice(0, i).every((x) => x !== 0))
    .map((raw) => ({ raw, hwId: raw & 0xffff, rev: (raw >>> 16) & 0xff }));
  return {
    majorVersion: r.majorVersion,
    minorVersion: r.minorVersion,
    secureFw: (flags & 0x8000) !== 0,
    signedFw: (flags & 0x4000) !== 0,
    debugFw: (flags & 0x2000) !== 0,
    mccEnabled: (flags & 0x0100) !== 0,
    encryptedFw: (flags >>> 3) & 0x3,
    secureBoot: (flags & 0x4) !== 0,
    fwVersion: { major: r.fwMajor, minor: r.fwMinor, subminor: r.fwSubminor },
    releaseDate: {
      day: bcd(r.dayBcd),
      month: bcd(r.monthBcd),
      year: bcd(r.yearBcd),
      hour: bcd(r.hour),
      minute: bcd(r.minute),
      second: bcd(r.second),
    },
    micVersion: { major: r.micMajor, minor: r.micMinor, subminor: r.micSubminor },
    pciDeviceId: r.pciDeviceId,
    pciVendorId: r.pciVendorId,
    pciSubsystemId: r.pciSubsystemId,
    pciSubVendorId: r.pciSubVendorId,
    psid: r.psid,
    vsdVendorId: r.vsdVendorId,
    vsd: r.vsd,
    runFromAny: (r.imageSizeFlags & 0x80) !== 0,
    supportedHwIds,
    burnImageSize: r.burnImageSize,
    productVersion: r.productVersion,
    description: r.description,
    isfuMajor: (be32(b, 0x314) >>> 20) & 0xfff,
    partNumber: r.name,
    prsName: r.prsName,
  };
}

function parseDevInfo(b: Uint8Array): DevInfo {
  const r = devInfoParser.parse(b);
  const sig = r.signature as number[];
  return {
    majorVersion: r.majorVersion,
    minorVersion: r.minorVersion,
    signatureOk: sig.every((v, i) => v === DEV_INFO_SIGNATURE[i]),
    guid: uid(r.guid, true),
    mac: uid(r.mac, true),
    vsdVendorId: r.vsdVendorId,
    vsd: r.vsd,
  };
}

function parseMfgInfo(b: Uint8Array): MfgInfo {
  const r = mfgInfoParser.parse(b);
  return {
    psid: r.psid,
    majorVersion: r.majorVersion,
    minorVersion: r.minorVersion,
    guidsOverride: (r.flags1f & 1) !== 0,
    guid: uid(r.guid, false),
    mac: uid(r.mac, false),
    origPrsName: r.origPrsName,
  };
}

/** Where flint starts looking for the ITOC: after BOOT2, rounded up to 0x1000 (§1.4). */
function itocSearchStart(boot2Length: number): number {
  return (BOOT2_OFFSET + boot2Length + 0xfff) & ~0xfff;
}

function hasItocSignature(src: ByteSource, off: number): boolean {
  if (off + 0x20 > src.length) return false;
  const b = src.bytes(off, 16);
  for (let i = 0; i < 4; i++) if (be32(b, i * 4) !== ITOC_SIGNATURE[i]) return false;
  return true;
}

/**
 * What a structural walk of an FS3 image found, in the order flint checks it (§1.2–§1.4).
 * `problem` is set where the walk had to stop; the parts before it are filled in, so a
 * verify report can list what was checked before the failure, as mstflint does.
 */
export interface Fs3Scan {
  imageStart: number;
  imageStarts: number[];
  bootVersion: BootVersion;
  boot2?: Boot2;
  itoc?: ItocHeader;
  entries: ItocEntry[];
  problem?: Fs3BurnError;
}

/** Walk the structure of an FS3 image. Throws only when the input is not FS3 at all. */
export function scanFs3(input: ImageInput): Fs3Scan {
  const src = toSource(input);
  const det = detectFormat(src);
  if (det.format !== 'FS3') {
    throw corrupt(`not an FS3 image (detected: ${det.format})`, { format: det.format });
  }
  const start = det.start!;
  const entries: ItocEntry[] = [];

  // Boot-version word (§1.2)
  if (start + 0x28 > src.length) throw corrupt('image is truncated inside its header');
  const bv = bootVersionParser.parse(src.bytes(start + 0x24, 4));
  let log2 = bv.log2Chunk === 0 ? 21 : bv.log2Chunk;
  if (bv.log2Chunk === 0x16 && start === 0x800000) log2 = 0x17; // §1.2 special case
  const scan: Fs3Scan = {
    imageStart: start,
    imageStarts: det.starts!,
    bootVersion: { ...bv, effectiveLog2Chunk: log2 },
    entries,
  };
  const binOk = (bv.binMajor === 0 && bv.binMinor === 0) || (bv.binMajor === 1 && bv.binMinor >= 1);
  if (!binOk) {
    scan.problem = new Fs3BurnError(
      'FORMAT_UNSUPPORTED',
      `Unsupported binary version (${bv.binMajor}.${bv.binMinor}) please update to latest MFT package`,
      { data: { binMajor: bv.binMajor, binMinor: bv.binMinor } },
    );
    return scan;
  }

  // BOOT2 (§1.3)
  const b2 = start + BOOT2_OFFSET;
  if (b2 + 8 > src.length) return { ...scan, problem: corrupt('image is truncated inside BOOT2') };
  const n = be32(src.bytes(b2 + 4, 4), 0);
  if (n < 4 || n > 0x100000) return { ...scan, problem: corrupt('Boot2 invalid size', { sizeDwords: n }) };
  const boot2Length = (n + 4) * 4;
  if (b2 + boot2Length > src.length) return { ...scan, problem: corrupt('image is truncated inside BOOT2') };
  const boot2Bytes = src.bytes(b2, boot2Length);
  const boot2CrcStored = be32(boot2Bytes, (n + 3) * 4);
  const boot2CrcActual = crc16(boot2Bytes, 0, n + 3);
  scan.boot2 = {
    offset: BOOT2_OFFSET,
    sizeDwords: n,
    length: boot2Length,
    crcStored: boot2CrcStored,
    crcActual: boot2CrcActual,
    crcOk: boot2CrcStored === boot2CrcActual,
  };
  if (!scan.boot2.crcOk) {
    scan.problem = new Fs3BurnError('IMAGE_VERIFY_FAILED', 'Bad CRC.', { data: { section: 'BOOT2' } });
    return scan;
  }

  // ITOC search (§1.4): from after BOOT2, in 0x1000 steps, within the buffer.
  let itocAddr = -1;
  for (let a = itocSearchStart(boot2Length); start + a + 0x20 <= src.length; a += 0x1000) {
    if (hasItocSignature(src, start + a)) {
      itocAddr = a;
      break;
    }
  }
  if (itocAddr < 0) return { ...scan, problem: corrupt('No valid ITOC was found.') };
  const headerBytes = src.bytes(start + itocAddr, 0x20);
  const h = itocHeaderParser.parse(headerBytes);
  const headerCrcActual = crc16(headerBytes, 0, 7);
  scan.itoc = {
    address: itocAddr,
    version: h.version,
    flashLayoutVersion: h.flashLayoutVersion,
    numEntries: h.numEntries,
    crcStored: h.crc,
    crcActual: headerCrcActual,
    crcOk: h.crc === headerCrcActual,
  };

  // ITOC entries (§1.4): up to 64, ended by type 0xFF.
  for (let i = 0; i < MAX_ITOC_ENTRIES; i++) {
    const eo = itocAddr + ITOC_ENTRY_SIZE * (i + 1);
    if (start + eo + ITOC_ENTRY_SIZE > src.length) {
      return { ...scan, problem: corrupt('image is truncated inside the ITOC') };
    }
    const raw = src.bytes(start + eo, ITOC_ENTRY_SIZE);
    if (raw[0] === SectionType.END) break;
    const e = itocEntryParser.parse(raw);
    const entryCrcActual = crc16(raw, 0, 7);
    if (entryCrcActual !== e.entryCrc) {
      scan.problem = corrupt(
        `Bad Itoc Entry CRC. Expected: 0x${e.entryCrc.toString(16)} , Actual: 0x${entryCrcActual.toString(16)}`,
        { entryIndex: i, expected: e.entryCrc, actual: entryCrcActual },
      );
      return scan;
    }
    const address = e.flashAddrDwords * 4;
    const size = e.sizeDwords * 4;
    const bufferOffset = e.relativeAddr ? start + address : address;
    const inBounds = bufferOffset + size <= src.length;
    const entry: ItocEntry = {
      index: i,
      entryOffset: eo,
      type: e.type,
      name: sectionName(e.type),
      sizeDwords: e.sizeDwords,
      size,
      zippedImage: e.zippedImage === 1,
      cacheLineCrc: e.cacheLineCrc === 1,
      param0: e.param0,
      param1: e.param1,
      version: e.version,
      relativeAddr: e.relativeAddr === 1,
      address,
      bufferOffset,
      encryptedSection: e.encryptedSection === 1,
      deviceData: e.deviceData === 1,
      noCrc: e.noCrc === 1,
      sectionCrc: e.sectionCrc,
      inBounds,
      entryCrc: e.entryCrc,
      entryCrcActual,
    };
    if (inBounds) entry.sectionCrcActual = crc16(src.bytes(bufferOffset, size), 0, e.sizeDwords);
    entries.push(entry);
  }
  return scan;
}

/**
 * Parse an FS3 image (a file's bytes, a flash dump, or a ByteSource) into its typed model.
 * Throws IMAGE_CORRUPT where the structure cannot be walked; section CRCs are
 * reported in the model (see verifyFs3) rather than thrown, as mstflint's query does.
 */
export function parseFs3(input: ImageInput): Fs3Image {
  const src = toSource(input);
  const scan = scanFs3(src);
  if (scan.problem && scan.problem.code !== 'IMAGE_VERIFY_FAILED') throw scan.problem;
  if (!scan.boot2 || !scan.itoc) throw scan.problem ?? corrupt('image structure is incomplete');
  const { entries } = scan;

  const section = (type: number, minSize: number): Uint8Array | undefined => {
    const e = entries.find((x) => x.type === type);
    if (!e || !e.inBounds || e.size < minSize) return undefined;
    return src.bytes(e.bufferOffset, e.size);
  };
  const ii = section(SectionType.IMAGE_INFO, 0x400);
  const di = section(SectionType.DEV_INFO, 0x200);
  const mi = section(SectionType.MFG_INFO, 0x80);

  const imageInfo = ii ? parseImageInfo(ii) : undefined;
  const hasSignature = entries.some((e) => isSignatureSection(e.type));
  const hasPublicKeys = entries.some((e) => isPublicKeysSection(e.type));
  const mccEnabled = imageInfo?.mccEnabled ?? false;

  const out: Fs3Image = {
    format: 'FS3',
    imageStart: scan.imageStart,
    imageStarts: scan.imageStarts,
    bootVersion: scan.bootVersion,
    boot2: scan.boot2,
    itoc: scan.itoc,
    entries,
    security: { hasSignature, hasPublicKeys, mccEnabled, fwManagedCapable: hasSignature && hasPublicKeys && mccEnabled },
    size: src.length,
  };
  if (imageInfo) out.imageInfo = imageInfo;
  if (di) out.devInfo = parseDevInfo(di);
  if (mi) out.mfgInfo = parseMfgInfo(mi);
  return out;
}

/** "%d.%d.%04d", or "%d.%04d.%04d" when minor >= 100 (§2.5). */
export function formatFwVersion(v: FwVersion): string {
  const p4 = (n: number) => n.toString().padStart(4, '0');
  return v.minor >= 100 ? `${v.major}.${p4(v.minor)}.${p4(v.subminor)}` : `${v.major}.${v.minor}.${p4(v.subminor)}`;
}
