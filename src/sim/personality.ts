/**
 * Personalities: what a given firmware version of the card can do, as data. The running
 * image's IMAGE_INFO version picks the personality at every reset (exact match, else the
 * nearest older known one). Adding a firmware version is adding one object here.
 */
import { Reg } from './constants.js';

export type FwVersion = readonly [major: number, minor: number, subminor: number];

/** The silicon: the same for every firmware (§7). */
export interface DeviceKind {
  readonly id: string;
  readonly name: string;
  readonly hwId: number;
  readonly hwRev: number;
  readonly pciDeviceId: number;
  /** The PCI device id in livefish / no-FW mode equals the HW id (§7). */
  readonly livefishDeviceId: number;
  readonly ports: number;
}

export const CX4LX: DeviceKind = Object.freeze({
  id: 'cx4lx',
  name: 'ConnectX4LX',
  hwId: 0x20b,
  hwRev: 0x00,
  pciDeviceId: 0x1015,
  livefishDeviceId: 0x20b,
  ports: 2,
});

export interface Personality {
  /** `cx4lx@14.14.1100` */
  readonly name: string;
  readonly device: DeviceKind;
  readonly version: FwVersion;
  /** Name of the catalog image a fresh card of this personality holds (`cx4lx-14.14.1100`). */
  readonly catalogName: string;
  /** Access registers the FW answers; any other → REG_NOT_SUPP (§6.3). */
  readonly registers: readonly number[];
  /** Registers advertised in MCAM's cap mask; null = MCAM itself is absent (old FW, §3.1). */
  readonly mcamRegisters: readonly number[] | null;
  /** Largest MFBA data block (§4.3: 128 B on CX4LX). */
  readonly mfbaMaxSize: number;
  /** ICMD mailbox size shown at ICMD space 0x1000 (§6.1: 0x340). */
  readonly icmdMailboxSize: number;
  /** MFRL GET: mask of supported reset levels (§8). Bit 6 (0x40) = warm boot. */
  readonly mfrlLevels: number;
  /** After MFRL SET 0x40 the next ICMD command's busy bit never clears until reset (§4.6, UNVERIFIED). */
  readonly warmBootHang: boolean;
  /** MCQI CAPABILITIES: largest component; MCDA block size (§3.3: data[32] dwords). */
  readonly maxComponentSize: number;
  readonly mcdaMaxWriteSize: number;
  readonly notes: string;
}

const LEGACY_REGS = [Reg.MFPA, Reg.MFBA, Reg.MFBE, Reg.MGIR, Reg.MFRL, Reg.MFAI] as const;
/** §3.1: the MCC gate is MCQS, MCQI, MCC, MCDA, MQIS and MGIR in MCAM. */
const MCC_REGS = [Reg.MCQS, Reg.MCQI, Reg.MCC, Reg.MCDA, Reg.MQIS, Reg.MCAM] as const;
/**
 * What mstflint 4.21 asks FW that does MCC besides the MCC registers (docs/device-model.md
 * "What mstflint asks"): MVTS (FW version timestamp) before an MCC burn — REG_NOT_SUPP there
 * is fatal — and MNVDA's base MAC/GUID TLVs for `q`. 14.14 answers neither: its query reads
 * the flash, and its burn takes a failing MVTS as "not supported".
 */
const FW_CTRL_QUERY_REGS = [Reg.MVTS, Reg.MNVDA] as const;

function cx4lx(version: FwVersion, fields: Omit<Personality, 'name' | 'device' | 'version' | 'catalogName'>): Personality {
  const v = version.join('.');
  return Object.freeze({ name: `cx4lx@${v}`, device: CX4LX, version, catalogName: `cx4lx-${v}`, ...fields });
}

export const PERSONALITIES: readonly Personality[] = Object.freeze([
  cx4lx([14, 14, 1100], {
    registers: [...LEGACY_REGS],
    mcamRegisters: null,
    mfbaMaxSize: 128,
    icmdMailboxSize: 0x340,
    mfrlLevels: 0x49,
    warmBootHang: true,
    maxComponentSize: 0x400000,
    mcdaMaxWriteSize: 128,
    notes:
      'No MCAM, so no FW-managed (MCC) update: flint burns through MFBA (§3.1, §4.6). ' +
      'After MFRL SET 0x40 the next ICMD command never completes (the seed case, §4.6, UNVERIFIED).',
  }),
  cx4lx([14, 25, 1020], {
    registers: [...LEGACY_REGS, ...MCC_REGS, ...FW_CTRL_QUERY_REGS],
    mcamRegisters: [...LEGACY_REGS, ...MCC_REGS],
    mfbaMaxSize: 128,
    icmdMailboxSize: 0x340,
    mfrlLevels: 0x49,
    warmBootHang: false,
    maxComponentSize: 0x800000,
    mcdaMaxWriteSize: 128,
    notes: 'MCAM advertises MCQS, MCQI, MCC, MCDA, MQIS and MGIR: FW-managed update supported (§3.1, §4.6 field report).',
  }),
  cx4lx([14, 32, 1908], {
    registers: [...LEGACY_REGS, ...MCC_REGS, ...FW_CTRL_QUERY_REGS],
    mcamRegisters: [...LEGACY_REGS, ...MCC_REGS],
    mfbaMaxSize: 128,
    icmdMailboxSize: 0x340,
    mfrlLevels: 0x49,
    warmBootHang: false,
    maxComponentSize: 0x800000,
    mcdaMaxWriteSize: 128,
    notes: 'As 14.25.1020.',
  }),
]);

export function versionString(v: FwVersion): string {
  return `${v[0]}.${v[1]}.${String(v[2]).padStart(4, '0')}`;
}

export function compareVersions(a: FwVersion, b: FwVersion): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Parse `14.14.1100` (also accepts `cx4lx@14.14.1100`, `cx4lx-14.14.1100`). */
export function parseVersion(text: string): FwVersion | undefined {
  const m = /^(?:cx4lx[@-])?(\d{1,3})\.(\d{1,4})\.(\d{1,5})$/i.exec(text.trim());
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** The personality whose version is exactly `name`'s, from `table` (custom ones first). */
export function findPersonality(name: string, table: readonly Personality[] = PERSONALITIES): Personality | undefined {
  const v = parseVersion(name);
  if (!v) return undefined;
  return table.find((p) => compareVersions(p.version, v) === 0);
}

/**
 * The personality of a running version: exact match, else the nearest older known one; a
 * version older than every known one gets the oldest (model choice: it can do no more).
 */
export function personalityForVersion(v: FwVersion, table: readonly Personality[] = PERSONALITIES): Personality {
  let pick: Personality | undefined;
  let oldest: Personality | undefined;
  for (const p of table) {
    if (compareVersions(p.version, v) <= 0 && (!pick || compareVersions(p.version, pick.version) > 0)) pick = p;
    if (!oldest || compareVersions(p.version, oldest.version) < 0) oldest = p;
  }
  const out = pick ?? oldest;
  if (!out) throw new Error('empty personality table');
  return out;
}
