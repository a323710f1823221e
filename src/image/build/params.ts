/**
 * Parameters of the FS3 image builder, their ConnectX-4 Lx defaults, and validation.
 * Every problem is reported as Fs3BurnError BUILD_INVALID_PARAMS naming the parameter.
 */
import { Fs3BurnError } from '../../errors.js';
import { SectionType } from '../sections.js';

export interface Fs3Version {
  major: number;
  minor: number;
  subminor: number;
}

export interface Fs3Date {
  day: number;
  month: number;
  year: number;
}

export interface Fs3Time {
  hour: number;
  minute: number;
  second: number;
}

/** A GUID or MAC: a bigint, a safe integer, or hex text (`0x…`, or with `:`/`-` separators). */
export type UidInput = bigint | number | string;

/** A payload section: `size` bytes of seeded pseudo-random content, or the given bytes. */
export type BuildSectionSpec =
  | { type: number | string; size: number; data?: undefined }
  | { type: number | string; data: Uint8Array; size?: undefined };

export interface Fs3BuildParams {
  /** FW version, IMAGE_INFO 0x04..0x0B. Default 14.32.1908. */
  fwVersion?: Fs3Version;
  /** Release date, stored BCD at IMAGE_INFO 0x10..0x13. Default 2022-09-28. */
  releaseDate?: Fs3Date;
  /** Release time, stored BCD at IMAGE_INFO 0x0C..0x0E. Default 00:00:00. */
  releaseTime?: Fs3Time;
  /** MIC version, IMAGE_INFO 0x14..0x1B. Default 2.0.0. */
  micVersion?: Fs3Version;
  /** PSID (IMAGE_INFO 0x24 and MFG_INFO 0x00), 1..16 printable ASCII chars. Default MT_2420110034. */
  psid?: string;
  /** Base GUID (DEV_INFO). Default 0x7cfe900300a1b2c0. */
  guid?: UidInput;
  /** Number of GUIDs, 0..255. Default 8. */
  guidCount?: number;
  /** GUID step, 0..255. Default 1. */
  guidStep?: number;
  /** Base MAC (DEV_INFO), 48 bits. Default 0x7cfe90a1b2c0. */
  mac?: UidInput;
  macCount?: number;
  macStep?: number;
  /** MFG_INFO "Orig Base GUID/MAC". Default: the same as guid/mac. */
  origGuid?: UidInput;
  origMac?: UidInput;
  /** IMAGE_INFO VSD (208 B). Default empty (mstflint prints N/A). */
  imageVsd?: string;
  /** DEV_INFO VSD (208 B). Default empty. */
  deviceVsd?: string;
  /** IMAGE_INFO name ("Part Number", 64 B). Default MCX4121A-ACA_Ax. */
  partNumber?: string;
  /** IMAGE_INFO description (256 B). */
  description?: string;
  /** IMAGE_INFO prod_ver (16 B). Default: the FW version text, e.g. 14.32.1908. */
  productVersion?: string;
  /** IMAGE_INFO prs_name (128 B field; mstflint 4.21 prints at most 96 characters, so at most 96). */
  prsName?: string;
  /** log2 of the image slot size: 0x16 (4 MiB) or 0x17 (8 MiB). Default 0x16. */
  chunkLog2?: 0x16 | 0x17;
  /** IMAGE_INFO run_from_any. Default: true for 8 MiB images, false for 4 MiB images. */
  runFromAny?: boolean;
  /** Payload sections, in flash order. Default: a ConnectX-4 Lx-like set of ~2.5 MiB. */
  sections?: BuildSectionSpec[];
  /** Add IMAGE_SIGNATURE_256 (0xA0) and PUBLIC_KEYS_2048 (0xA1). Default false. */
  signed?: boolean;
  /**
   * IMAGE_INFO mcc_en (dw0 bit 8). Default false. With `signed` it makes the image
   * FW-control capable: mstflint prints "Default Update Method: fw_ctrl" (else "Legacy").
   */
  mccEnable?: boolean;
  /**
   * IMAGE_INFO signed_fw (dw0 bit 14). Default false: mstflint then prints "Security
   * Attributes: N/A"; with it, "signed-fw".
   */
  signedFwBit?: boolean;
  /** Seed for all pseudo-random content (u32). Default 1. */
  seed?: number;
  /** BOOT2 length in bytes, (N+4)*4 with N >= 4. Default 0x1800. */
  boot2Size?: number;
  pciDeviceId?: number;
  pciVendorId?: number;
  pciSubsystemId?: number;
  pciSubVendorId?: number;
  /** IMAGE_INFO supported_hw_id list (at most 4). Default [0x20B]. */
  supportedHwIds?: number[];
  /**
   * false (default): the file ends right after the last device-data section (0xFF9000
   * bytes, like the vendor's full-flash files). true: the file is the whole 16 MiB flash.
   */
  fullFlash?: boolean;
}

export interface ResolvedSection {
  type: number;
  /** Length in bytes (a multiple of 4). */
  size: number;
  /** Explicit content, or undefined for seeded pseudo-random content. */
  data?: Uint8Array;
}

/** Every parameter filled in and checked. */
export interface ResolvedFs3BuildParams {
  fwVersion: Fs3Version;
  releaseDate: Fs3Date;
  releaseTime: Fs3Time;
  micVersion: Fs3Version;
  psid: string;
  guid: bigint;
  guidCount: number;
  guidStep: number;
  mac: bigint;
  macCount: number;
  macStep: number;
  origGuid: bigint;
  origMac: bigint;
  imageVsd: string;
  deviceVsd: string;
  partNumber: string;
  description: string;
  productVersion: string;
  prsName: string;
  chunkLog2: 0x16 | 0x17;
  runFromAny: boolean;
  sections: ResolvedSection[];
  signed: boolean;
  mccEnable: boolean;
  signedFwBit: boolean;
  seed: number;
  boot2Size: number;
  pciDeviceId: number;
  pciVendorId: number;
  pciSubsystemId: number;
  pciSubVendorId: number;
  supportedHwIds: number[];
  fullFlash: boolean;
}

/** ConnectX-4 Lx identity (fs3-facts.md §7). */
export const CX4LX = {
  HW_ID: 0x20b,
  PCI_DEVICE_ID: 0x1015,
  PCI_VENDOR_ID: 0x15b3,
  PSID: 'MT_2420110034',
  PART_NUMBER: 'MCX4121A-ACA_Ax',
  DESCRIPTION: 'ConnectX-4 Lx EN network interface card; 25GbE dual-port SFP28; PCIe3.0 x8; ROHS R6',
  PRS_NAME: 'MCX4121A-ACA_Ax_2p25G.prs',
} as const;

/**
 * Default payload: the section kinds and order of a ConnectX-class FS3 image (as in the
 * vendor's FS3 fixtures), ~2.5 MiB in all. IMAGE_INFO is added before DBG_FW_INI.
 */
export const DEFAULT_SECTIONS: readonly { type: number; size: number }[] = [
  { type: SectionType.FW_MAIN_CFG, size: 0x0c40 },
  { type: SectionType.FW_BOOT_CFG, size: 0x0340 },
  { type: SectionType.HW_MAIN_CFG, size: 0x1a40 },
  { type: SectionType.HW_BOOT_CFG, size: 0x0140 },
  { type: SectionType.PHY_UC_CONSTS, size: 0x2c880 },
  { type: SectionType.PHY_UC_CODE, size: 0x9920 },
  { type: SectionType.PCI_CODE, size: 0x134c0 },
  { type: SectionType.IRON_PREP_CODE, size: 0xb580 },
  { type: SectionType.MAIN_CODE, size: 0x1f8738 },
  { type: SectionType.PCIE_LINK_CODE, size: 0x77f8 },
  { type: SectionType.POST_IRON_BOOT_CODE, size: 0x33e0 },
  { type: SectionType.DBG_FW_INI, size: 0x6b3c },
];

/** Types the builder writes itself; they cannot be given in `sections`. */
const RESERVED_TYPES = new Set<number>([
  SectionType.IMAGE_INFO,
  SectionType.IMAGE_SIGNATURE_256,
  SectionType.PUBLIC_KEYS_2048,
  SectionType.MFG_INFO,
  SectionType.DEV_INFO,
  SectionType.NV_DATA0,
  SectionType.NV_DATA1,
  SectionType.NV_DATA2,
  SectionType.VPD_R0,
  SectionType.FW_NV_LOG,
  SectionType.CRDUMP_MASK_DATA,
  SectionType.ITOC,
  SectionType.DTOC,
  SectionType.END,
]);

/** Fixed-size char arrays: the longest text each holds (one byte stays NUL). */
export const TEXT_LIMITS = {
  psid: 16,
  imageVsd: 207,
  deviceVsd: 207,
  partNumber: 63,
  description: 255,
  productVersion: 15,
  // The field is 128 B, but mstflint 4.21 `q full` prints only the first 96 characters.
  prsName: 96,
} as const;

function bad(message: string, data?: Record<string, unknown>): never {
  throw new Fs3BurnError('BUILD_INVALID_PARAMS', message, {
    hint: 'see docs/image-builder.md for the builder parameters and their ranges',
    ...(data ? { data } : {}),
  });
}

function checkInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    bad(`${name} must be an integer from ${min} to ${max} (got ${String(v)})`);
  }
  return v;
}

function checkVersion(name: string, v: Fs3Version | undefined, dflt: Fs3Version): Fs3Version {
  const x = v ?? dflt;
  if (typeof x !== 'object' || x === null) bad(`${name} must be {major, minor, subminor}`);
  return {
    major: checkInt(`${name}.major`, x.major, 0, 0xffff),
    minor: checkInt(`${name}.minor`, x.minor, 0, 0xffff),
    subminor: checkInt(`${name}.subminor`, x.subminor, 0, 0xffff),
  };
}

function checkDate(v: Fs3Date | undefined, dflt: Fs3Date): Fs3Date {
  const x = v ?? dflt;
  if (typeof x !== 'object' || x === null) bad('releaseDate must be {day, month, year}');
  const year = checkInt('releaseDate.year', x.year, 1, 9999);
  const month = checkInt('releaseDate.month', x.month, 1, 12);
  const dim = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const day = checkInt('releaseDate.day', x.day, 1, dim);
  return { day, month, year };
}

function checkTime(v: Fs3Time | undefined): Fs3Time {
  const x = v ?? { hour: 0, minute: 0, second: 0 };
  return {
    hour: checkInt('releaseTime.hour', x.hour, 0, 23),
    minute: checkInt('releaseTime.minute', x.minute, 0, 59),
    second: checkInt('releaseTime.second', x.second, 0, 59),
  };
}

function checkText(name: keyof typeof TEXT_LIMITS, v: unknown, dflt: string, allowEmpty = true): string {
  const s = v ?? dflt;
  if (typeof s !== 'string') bad(`${name} must be a string`);
  const max = TEXT_LIMITS[name];
  if (s.length > max) bad(`${name} is ${s.length} characters long; at most ${max} fit`, { [name]: s });
  if (!allowEmpty && s.length === 0) bad(`${name} must not be empty`);
  if (!/^[\x20-\x7e]*$/.test(s)) bad(`${name} must be printable ASCII (got ${JSON.stringify(s)})`);
  return s;
}

/** Parse a GUID/MAC given as bigint, number or hex text. */
export function parseUid(name: string, v: UidInput, bits: 48 | 64): bigint {
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) bad(`${name} must be a non-negative integer`);
    n = BigInt(v);
  } else if (typeof v === 'string') {
    const t = v.trim().replace(/^0x/i, '').replace(/[:\-.]/g, '');
    if (!/^[0-9a-fA-F]{1,16}$/.test(t)) bad(`${name} must be hexadecimal (got ${JSON.stringify(v)})`);
    n = BigInt(`0x${t}`);
  } else {
    bad(`${name} must be a bigint, a number or a hex string`);
  }
  if (n < 0n || n >= 1n << BigInt(bits)) bad(`${name} must fit in ${bits} bits (got 0x${n.toString(16)})`);
  return n;
}

/** A section type given as a number or a name (MAIN_CODE) or hex text (0x03). */
export function parseSectionType(t: number | string): number {
  let v: number | undefined;
  if (typeof t === 'number') v = t;
  else if (/^(0x)?[0-9a-f]+$/i.test(t) && (/^0x/i.test(t) || /^\d+$/.test(t))) v = Number(t);
  else v = (SectionType as Record<string, number>)[t.toUpperCase()];
  if (v === undefined || !Number.isInteger(v) || v < 0 || v > 0xfe) {
    bad(`unknown section type ${JSON.stringify(t)}: give a name such as MAIN_CODE or a code 0x00..0xFE`);
  }
  return v;
}

const DEFAULTS = {
  fwVersion: { major: 14, minor: 32, subminor: 1908 },
  releaseDate: { day: 28, month: 9, year: 2022 },
  micVersion: { major: 2, minor: 0, subminor: 0 },
  guid: 0x7cfe900300a1b2c0n,
  mac: 0x7cfe90a1b2c0n,
} as const;

/** The default Product Version string, "14.32.1908" style. */
function productVersionString(v: Fs3Version): string {
  return `${v.major}.${v.minor}.${String(v.subminor).padStart(4, '0')}`;
}

/** Largest slot-relative end of an image: slot 1 of an 8 MiB image must stay below NV_DATA0. */
export const IMAGE_AREA_LIMIT = 0xfa0000;

export function resolveBuildParams(p: Fs3BuildParams = {}): ResolvedFs3BuildParams {
  if (typeof p !== 'object' || p === null) bad('build parameters must be an object');
  const fwVersion = checkVersion('fwVersion', p.fwVersion, DEFAULTS.fwVersion);
  const chunkLog2 = p.chunkLog2 ?? 0x16;
  if (chunkLog2 !== 0x16 && chunkLog2 !== 0x17) {
    bad(`chunkLog2 must be 0x16 (4 MiB) or 0x17 (8 MiB) (got ${String(chunkLog2)})`);
  }
  const guid = parseUid('guid', p.guid ?? DEFAULTS.guid, 64);
  const mac = parseUid('mac', p.mac ?? DEFAULTS.mac, 48);

  const specs = p.sections ?? DEFAULT_SECTIONS;
  if (!Array.isArray(specs)) bad('sections must be an array of {type, size} or {type, data}');
  const sections: ResolvedSection[] = [];
  const seen = new Set<number>();
  for (const [i, s] of specs.entries()) {
    if (typeof s !== 'object' || s === null) bad(`sections[${i}] must be {type, size} or {type, data}`);
    const type = parseSectionType(s.type);
    if (RESERVED_TYPES.has(type)) {
      bad(
        `sections[${i}]: type 0x${type.toString(16)} is written by the builder itself` +
          (type === SectionType.IMAGE_SIGNATURE_256 || type === SectionType.PUBLIC_KEYS_2048 ? ' (use signed: true)' : ''),
      );
    }
    if (seen.has(type)) bad(`sections[${i}]: type 0x${type.toString(16)} is given twice`);
    seen.add(type);
    if (s.data !== undefined) {
      if (!(s.data instanceof Uint8Array)) bad(`sections[${i}].data must be a Uint8Array`);
      if (s.data.length === 0 || s.data.length % 4 !== 0) {
        bad(`sections[${i}].data is ${s.data.length} bytes; a section is a non-zero multiple of 4 bytes`);
      }
      sections.push({ type, size: s.data.length, data: s.data });
    } else {
      const size = s.size;
      if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0 || size % 4 !== 0 || size > 0xfffffc) {
        bad(`sections[${i}].size must be a non-zero multiple of 4 bytes up to 0xFFFFFC (got ${String(size)})`);
      }
      sections.push({ type, size });
    }
  }

  const boot2Size = p.boot2Size ?? 0x1800;
  if (!Number.isInteger(boot2Size) || boot2Size % 4 !== 0 || boot2Size < 32 || boot2Size > 0x40000) {
    bad(`boot2Size must be a multiple of 4 from 32 to 0x40000 bytes (got ${String(boot2Size)})`);
  }

  const hw = p.supportedHwIds ?? [CX4LX.HW_ID];
  if (!Array.isArray(hw) || hw.length < 1 || hw.length > 4) bad('supportedHwIds must list 1 to 4 ids');
  hw.forEach((h, i) => checkInt(`supportedHwIds[${i}]`, h, 1, 0xffffff));

  const seed = p.seed ?? 1;
  checkInt('seed', seed, 0, 0xffffffff);
  for (const k of ['signed', 'mccEnable', 'signedFwBit', 'runFromAny', 'fullFlash'] as const) {
    if (p[k] !== undefined && typeof p[k] !== 'boolean') bad(`${k} must be true or false`);
  }

  return {
    fwVersion,
    releaseDate: checkDate(p.releaseDate, DEFAULTS.releaseDate),
    releaseTime: checkTime(p.releaseTime),
    micVersion: checkVersion('micVersion', p.micVersion, DEFAULTS.micVersion),
    psid: checkText('psid', p.psid, CX4LX.PSID, false),
    guid,
    guidCount: checkInt('guidCount', p.guidCount ?? 8, 0, 255),
    guidStep: checkInt('guidStep', p.guidStep ?? 1, 0, 255),
    mac,
    macCount: checkInt('macCount', p.macCount ?? 8, 0, 255),
    macStep: checkInt('macStep', p.macStep ?? 1, 0, 255),
    origGuid: p.origGuid === undefined ? guid : parseUid('origGuid', p.origGuid, 64),
    origMac: p.origMac === undefined ? mac : parseUid('origMac', p.origMac, 48),
    imageVsd: checkText('imageVsd', p.imageVsd, ''),
    deviceVsd: checkText('deviceVsd', p.deviceVsd, ''),
    partNumber: checkText('partNumber', p.partNumber, CX4LX.PART_NUMBER),
    description: checkText('description', p.description, CX4LX.DESCRIPTION),
    productVersion: checkText('productVersion', p.productVersion, productVersionString(fwVersion)),
    prsName: checkText('prsName', p.prsName, CX4LX.PRS_NAME),
    chunkLog2,
    runFromAny: p.runFromAny ?? chunkLog2 === 0x17,
    sections,
    signed: p.signed ?? false,
    mccEnable: p.mccEnable ?? false,
    signedFwBit: p.signedFwBit ?? false,
    seed,
    boot2Size,
    pciDeviceId: checkInt('pciDeviceId', p.pciDeviceId ?? CX4LX.PCI_DEVICE_ID, 0, 0xffff),
    pciVendorId: checkInt('pciVendorId', p.pciVendorId ?? CX4LX.PCI_VENDOR_ID, 0, 0xffff),
    pciSubsystemId: checkInt('pciSubsystemId', p.pciSubsystemId ?? 0, 0, 0xffff),
    pciSubVendorId: checkInt('pciSubVendorId', p.pciSubVendorId ?? 0, 0, 0xffff),
    supportedHwIds: [...hw],
    fullFlash: p.fullFlash ?? false,
  };
}

export { bad as buildParamError };
