/**
 * Named ConnectX-4 Lx (MCX4121A-ACA) images, generated on demand by the FS3 builder and
 * never stored as binaries. Each version has its own seed, so its payload bytes differ from
 * the others'; ~2.5 MiB of payload each. A simulated card passes its own GUIDs/MACs (or
 * anything else) as overrides.
 *
 * The versions and the legacy / FW-control split follow fs3-facts.md §4.6: 14.14 is old
 * (unsigned, mcc_en 0: only the legacy flash-register burn applies), 14.25 and 14.32 are
 * signed with mcc_en 1 (mstflint: "Default Update Method: fw_ctrl"). Release dates and MIC
 * versions are plausible, not the vendor's.
 */
import { Fs3BurnError } from '../errors.js';
import { buildFs3Image, buildFs3ImageDetailed, type Fs3BuildResult } from './build/fs3-builder.js';
import { DEFAULT_SECTIONS, type Fs3BuildParams } from './build/params.js';
import { SectionType } from './sections.js';

export const CATALOG_NAMES = ['cx4lx-14.14.1100', 'cx4lx-14.25.1020', 'cx4lx-14.32.1908'] as const;
export type CatalogName = (typeof CATALOG_NAMES)[number];

export interface CatalogEntry {
  name: CatalogName;
  summary: string;
  params: Fs3BuildParams;
}

/**
 * The default section set with MAIN_CODE resized (so each version's image differs in size
 * too), and `extra` sections placed before DBG_FW_INI.
 */
function sectionsWithMainCode(mainCodeSize: number, extra: { type: number; size: number }[] = []) {
  const list = DEFAULT_SECTIONS.map((s) => (s.type === SectionType.MAIN_CODE ? { ...s, size: mainCodeSize } : { ...s }));
  const at = list.findIndex((s) => s.type === SectionType.DBG_FW_INI);
  list.splice(at < 0 ? list.length : at, 0, ...extra);
  return list;
}

const ENTRIES: Record<CatalogName, CatalogEntry> = {
  'cx4lx-14.14.1100': {
    name: 'cx4lx-14.14.1100',
    summary: 'ConnectX-4 Lx FW 14.14.1100 (2016): unsigned, mcc_en 0, legacy update only, 4 MiB slots',
    params: {
      fwVersion: { major: 14, minor: 14, subminor: 1100 },
      releaseDate: { day: 7, month: 1, year: 2016 },
      releaseTime: { hour: 17, minute: 42, second: 9 },
      micVersion: { major: 1, minor: 0, subminor: 0 },
      chunkLog2: 0x16,
      runFromAny: false,
      signed: false,
      mccEnable: false,
      seed: 0x14141100,
      sections: sectionsWithMainCode(0x20a3d0),
    },
  },
  'cx4lx-14.25.1020': {
    name: 'cx4lx-14.25.1020',
    summary: 'ConnectX-4 Lx FW 14.25.1020 (2019): signed, mcc_en 1 (fw_ctrl), 4 MiB slots',
    params: {
      fwVersion: { major: 14, minor: 25, subminor: 1020 },
      releaseDate: { day: 2, month: 6, year: 2019 },
      releaseTime: { hour: 9, minute: 15, second: 51 },
      micVersion: { major: 2, minor: 0, subminor: 0 },
      chunkLog2: 0x16,
      runFromAny: true,
      signed: true,
      mccEnable: true,
      seed: 0x14251020,
      sections: sectionsWithMainCode(0x2170a4),
    },
  },
  'cx4lx-14.32.1908': {
    name: 'cx4lx-14.32.1908',
    summary: 'ConnectX-4 Lx FW 14.32.1908 (2022): signed, mcc_en 1 (fw_ctrl), 4 MiB slots',
    params: {
      fwVersion: { major: 14, minor: 32, subminor: 1908 },
      releaseDate: { day: 28, month: 9, year: 2022 },
      releaseTime: { hour: 11, minute: 3, second: 27 },
      micVersion: { major: 2, minor: 0, subminor: 0 },
      chunkLog2: 0x16,
      runFromAny: true,
      signed: true,
      mccEnable: true,
      seed: 0x14321908,
      sections: sectionsWithMainCode(0x21e1b8, [{ type: SectionType.PCIE_PHY_UC_CODE, size: 0x5d40 }]),
    },
  },
};

function entry(name: string): CatalogEntry {
  const e = (ENTRIES as Record<string, CatalogEntry | undefined>)[name];
  if (!e) {
    throw new Fs3BurnError('BUILD_INVALID_PARAMS', `unknown catalog image "${name}"`, {
      hint: `known images: ${CATALOG_NAMES.join(', ')}`,
      data: { name, known: [...CATALOG_NAMES] },
    });
  }
  return e;
}

/** Names and one-line summaries, in catalog order. */
export function catalogEntries(): { name: CatalogName; summary: string }[] {
  return CATALOG_NAMES.map((n) => ({ name: n, summary: ENTRIES[n].summary }));
}

export function isCatalogName(name: string): name is CatalogName {
  return (CATALOG_NAMES as readonly string[]).includes(name);
}

/** The builder parameters of a catalog image, with `overrides` applied on top (shallow). */
export function catalogParams(name: string, overrides: Fs3BuildParams = {}): Fs3BuildParams {
  const base = entry(name).params;
  const merged: Fs3BuildParams = { ...base, sections: base.sections?.map((s) => ({ ...s })) };
  for (const [k, v] of Object.entries(overrides)) {
    if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  }
  return merged;
}

/** Build a catalog image (see catalogParams). */
export function catalogImage(name: string, overrides: Fs3BuildParams = {}): Uint8Array {
  return buildFs3Image(catalogParams(name, overrides));
}

/** Build a catalog image with its layout and resolved parameters. */
export function catalogImageDetailed(name: string, overrides: Fs3BuildParams = {}): Fs3BuildResult {
  return buildFs3ImageDetailed(catalogParams(name, overrides));
}
