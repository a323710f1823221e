/**
 * `fs3burn image build` / `fs3burn image catalog`: write a ConnectX-4 Lx FS3 flash image
 * from parameters or from the catalog (docs/image-builder.md).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Fs3BurnError } from '../errors.js';
import { formatFwVersion } from '../image/fs3.js';
import { buildFs3ImageDetailed, placeInSlot, type Fs3BuildResult } from '../image/build/fs3-builder.js';
import {
  parseSectionType,
  type BuildSectionSpec,
  type Fs3BuildParams,
  type Fs3Date,
  type Fs3Version,
} from '../image/build/params.js';
import { CATALOG_NAMES, catalogEntries, catalogParams } from '../image/catalog.js';
import { globalOpts, out, printJson } from './io.js';

interface BuildOpts {
  output?: string;
  catalog?: string;
  listCatalog?: boolean;
  fwVersion?: string;
  releaseDate?: string;
  micVersion?: string;
  guid?: string;
  mac?: string;
  guidCount?: string;
  macCount?: string;
  guidStep?: string;
  macStep?: string;
  origGuid?: string;
  origMac?: string;
  imageVsd?: string;
  deviceVsd?: string;
  partNumber?: string;
  description?: string;
  productVersion?: string;
  prsName?: string;
  chunkSize?: string;
  signed?: boolean;
  mcc?: boolean;
  signedFwBit?: boolean;
  seed?: string;
  section?: string[];
  fullFlash?: boolean;
  slot?: string;
}

function invalid(message: string): never {
  throw new Fs3BurnError('BUILD_INVALID_PARAMS', message, { hint: 'run `fs3burn image build --help`' });
}

/** Decimal or 0x-hex integer. */
function parseIntStrict(name: string, s: string): number {
  const t = s.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) invalid(`${name}: "${s}" is not an integer`);
  return Number(t);
}

/** A byte size: decimal or hex, with an optional K or M suffix (KiB / MiB). */
function parseSize(name: string, s: string): number {
  const m = /^(0x[0-9a-f]+|\d+)([kKmM]?)$/.exec(s.trim());
  if (!m) invalid(`${name}: "${s}" is not a size (e.g. 4096, 0x1000, 64K, 2M)`);
  const mult = m[2] === '' ? 1 : /k/i.test(m[2]!) ? 1024 : 1024 * 1024;
  return Number(m[1]) * mult;
}

function parseVersion(name: string, s: string): Fs3Version {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(s.trim());
  if (!m) invalid(`${name}: "${s}" is not a version MAJOR.MINOR.SUBMINOR (e.g. 14.32.1908)`);
  return { major: Number(m[1]), minor: Number(m[2]), subminor: Number(m[3]) };
}

/** YYYY-MM-DD, or D.M.YYYY as mstflint prints it. */
function parseDate(s: string): Fs3Date {
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s.trim());
  if (m) return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(s.trim());
  if (m) return { day: Number(m[1]), month: Number(m[2]), year: Number(m[3]) };
  invalid(`--release-date: "${s}" is not a date YYYY-MM-DD (or D.M.YYYY)`);
}

/** TYPE:SIZE or TYPE:@FILE; TYPE is a name (MAIN_CODE) or a code (0x03). */
function parseSection(s: string): BuildSectionSpec {
  const i = s.lastIndexOf(':');
  if (i <= 0) invalid(`--section: "${s}" is not TYPE:SIZE or TYPE:@FILE`);
  const type = parseSectionType(s.slice(0, i));
  const rest = s.slice(i + 1);
  if (rest.startsWith('@')) {
    const file = rest.slice(1);
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (e) {
      throw new Fs3BurnError('FILE_NOT_READABLE', `--section: cannot read ${file}: ${(e as Error).message}`, { cause: e });
    }
    return { type, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  }
  return { type, size: parseSize('--section', rest) };
}

function collect(value: string, prev: string[] = []): string[] {
  return [...prev, value];
}

/** The parameters the command line sets (only those given). */
function paramsFromOptions(o: BuildOpts, psid: string | undefined): Fs3BuildParams {
  const p: Fs3BuildParams = {};
  if (o.fwVersion !== undefined) p.fwVersion = parseVersion('--fw-version', o.fwVersion);
  if (o.releaseDate !== undefined) p.releaseDate = parseDate(o.releaseDate);
  if (o.micVersion !== undefined) p.micVersion = parseVersion('--mic-version', o.micVersion);
  if (psid !== undefined) p.psid = psid;
  if (o.guid !== undefined) p.guid = o.guid;
  if (o.mac !== undefined) p.mac = o.mac;
  if (o.origGuid !== undefined) p.origGuid = o.origGuid;
  if (o.origMac !== undefined) p.origMac = o.origMac;
  if (o.guidCount !== undefined) p.guidCount = parseIntStrict('--guid-count', o.guidCount);
  if (o.macCount !== undefined) p.macCount = parseIntStrict('--mac-count', o.macCount);
  if (o.guidStep !== undefined) p.guidStep = parseIntStrict('--guid-step', o.guidStep);
  if (o.macStep !== undefined) p.macStep = parseIntStrict('--mac-step', o.macStep);
  if (o.imageVsd !== undefined) p.imageVsd = o.imageVsd;
  if (o.deviceVsd !== undefined) p.deviceVsd = o.deviceVsd;
  if (o.partNumber !== undefined) p.partNumber = o.partNumber;
  if (o.description !== undefined) p.description = o.description;
  if (o.productVersion !== undefined) p.productVersion = o.productVersion;
  if (o.prsName !== undefined) p.prsName = o.prsName;
  if (o.chunkSize !== undefined) {
    const c = o.chunkSize.trim().toUpperCase();
    if (c === '4M' || c === '0X16') p.chunkLog2 = 0x16;
    else if (c === '8M' || c === '0X17') p.chunkLog2 = 0x17;
    else invalid(`--chunk-size must be 4M or 8M (got "${o.chunkSize}")`);
  }
  if (o.signed !== undefined) p.signed = o.signed;
  if (o.mcc !== undefined) p.mccEnable = o.mcc;
  if (o.signedFwBit !== undefined) p.signedFwBit = o.signedFwBit;
  if (o.seed !== undefined) p.seed = parseIntStrict('--seed', o.seed);
  if (o.section && o.section.length > 0) p.sections = o.section.map(parseSection);
  if (o.fullFlash !== undefined) p.fullFlash = o.fullFlash;
  return p;
}

/** The JSON summary printed by `image build --json`. */
export function buildSummary(r: Fs3BuildResult, file: string, bytes: number, slot: 0 | 1, catalog?: string) {
  const p = r.params;
  const hex = (n: number | bigint, digits = 0) => `0x${n.toString(16).padStart(digits, '0')}`;
  const slotBase = slot === 1 ? r.layout.slot1Addr : 0;
  return {
    output: file,
    bytes,
    ...(catalog ? { catalog } : {}),
    fwVersion: formatFwVersion(p.fwVersion),
    releaseDate: `${p.releaseDate.year}-${String(p.releaseDate.month).padStart(2, '0')}-${String(p.releaseDate.day).padStart(2, '0')}`,
    psid: p.psid,
    partNumber: p.partNumber,
    chunkLog2: hex(p.chunkLog2),
    slot,
    imageStart: hex(slotBase),
    signed: p.signed,
    mccEnable: p.mccEnable,
    guid: hex(p.guid, 16),
    guidCount: p.guidCount,
    mac: hex(p.mac, 12),
    macCount: p.macCount,
    seed: p.seed,
    itoc: hex(slotBase + r.layout.itocAddr),
    sections: r.layout.sections.map((s) => ({
      name: s.name,
      type: hex(s.type),
      addr: hex(s.relative ? slotBase + s.addr : s.addr),
      size: hex(s.size),
      deviceData: s.deviceData,
    })),
  };
}

function listCatalog(json: boolean): void {
  const entries = catalogEntries();
  if (json) printJson({ catalog: entries });
  else out(entries.map((e) => `${e.name.padEnd(20)} ${e.summary}\n`).join(''));
}

export function registerImageCommands(program: Command): void {
  const image = program.command('image').description('build ConnectX-4 Lx FS3 firmware images (for tests and simulation)');

  image
    .command('build')
    .description('write an FS3 flash image for a 16 MiB ConnectX-4 Lx flash (global --psid sets its PSID)')
    .option('-o, --output <file>', 'output file')
    .option('--catalog <name>', `start from a catalog image (${CATALOG_NAMES.join(', ')})`)
    .option('--list-catalog', 'list the catalog images and exit')
    .option('--fw-version <x.y.z>', 'FW version, e.g. 14.32.1908')
    .option('--release-date <date>', 'release date YYYY-MM-DD')
    .option('--mic-version <x.y.z>', 'MIC version')
    .option('--guid <hex>', 'base GUID (DEV_INFO)')
    .option('--mac <hex>', 'base MAC (DEV_INFO)')
    .option('--guid-count <n>', 'number of GUIDs (0..255)')
    .option('--mac-count <n>', 'number of MACs (0..255)')
    .option('--guid-step <n>', 'GUID step')
    .option('--mac-step <n>', 'MAC step')
    .option('--orig-guid <hex>', 'MFG_INFO original base GUID (default: --guid)')
    .option('--orig-mac <hex>', 'MFG_INFO original base MAC (default: --mac)')
    .option('--image-vsd <text>', 'image VSD (IMAGE_INFO)')
    .option('--device-vsd <text>', 'device VSD (DEV_INFO)')
    .option('--part-number <text>', 'part number (IMAGE_INFO name)')
    .option('--description <text>', 'description')
    .option('--product-version <text>', 'product version')
    .option('--prs-name <text>', 'PRS name')
    .option('--chunk-size <size>', 'image slot size: 4M (log2 0x16) or 8M (0x17)')
    .option('--signed', 'add IMAGE_SIGNATURE_256 and PUBLIC_KEYS_2048 sections')
    .option('--no-signed', 'no signature sections')
    .option('--mcc', 'set IMAGE_INFO mcc_en (with --signed: FW-control update)')
    .option('--no-mcc', 'clear IMAGE_INFO mcc_en')
    .option('--signed-fw-bit', 'set IMAGE_INFO signed_fw (mstflint: "Security Attributes: signed-fw")')
    .option('--seed <n>', 'seed for the pseudo-random section content')
    .option('--section <type:size>', 'payload section TYPE:SIZE or TYPE:@FILE (repeat; replaces the default set)', collect)
    .option('--full-flash', 'write the whole 16 MiB flash instead of ending after the device data')
    .option('--slot <n>', 'put the image in slot 0 (default) or slot 1 (writes the whole 16 MiB flash)')
    .action((o: BuildOpts, cmd: Command) => {
      const g = globalOpts(cmd);
      const json = g.json === true;
      if (o.listCatalog) return listCatalog(json);
      if (!o.output) throw new Fs3BurnError('USAGE', 'image build needs -o FILE', { hint: 'fs3burn image build -o image.bin' });
      let slot: 0 | 1 = 0;
      if (o.slot !== undefined) {
        if (o.slot !== '0' && o.slot !== '1') invalid(`--slot must be 0 or 1 (got "${o.slot}")`);
        slot = o.slot === '1' ? 1 : 0;
      }
      const given = paramsFromOptions(o, g.psid);
      const params = o.catalog !== undefined ? catalogParams(o.catalog, given) : given;
      const result = buildFs3ImageDetailed(params);
      const bytes = slot === 1 ? placeInSlot(result.image, 1) : result.image;
      try {
        writeFileSync(o.output, bytes);
      } catch (e) {
        throw new Fs3BurnError('OUTPUT_WRITE_FAILED', `cannot write ${o.output}: ${(e as Error).message}`, { cause: e });
      }
      const summary = buildSummary(result, o.output, bytes.length, slot, o.catalog);
      if (json) {
        printJson(summary);
        return;
      }
      const p = result.params;
      out(
        `-I- Wrote ${o.output} (${bytes.length} bytes): FS3 FW ${summary.fwVersion}, PSID ${p.psid}, ` +
          `${result.layout.slotSize >>> 20} MiB slot ${slot} at ${summary.imageStart}, ` +
          `${p.signed ? 'signed' : 'unsigned'}, mcc_en ${p.mccEnable ? 1 : 0}, ${result.layout.sections.length} sections\n`,
      );
    });

  image
    .command('catalog')
    .description('list the catalog images')
    .action((_o: unknown, cmd: Command) => listCatalog(globalOpts(cmd).json === true));
}
