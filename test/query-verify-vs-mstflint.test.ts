/**
 * fs3burn's query and verify against the real mstflint 4.21, run live on the same files:
 * the real vendor FS3 fixtures, variants of them with patched fields (CRCs fixed so both
 * tools accept them), and images with one byte flipped in each section.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { buildFs3Image, placeInSlot } from '../src/image/build/index.js';
import { CATALOG_NAMES, catalogImage } from '../src/image/catalog.js';
import { SectionType } from '../src/image/sections.js';
import { parseFs3 } from '../src/image/fs3.js';
import { runCli, runCliJson } from './helpers/cli.js';
import { FX, rawFixture, rawFixtureBytes, tempDir } from './helpers/fixtures.js';
import { describeMstflint, mstflint } from './helpers/mstflint.js';
import { asciiz, flipByte, patchSection } from './helpers/patch.js';

const u64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
};
/** A uid entry (§1.8): byte 2 step, byte 3 count, bytes 8..15 uid. */
const uidEntry = (uid: bigint, count: number, step = 1) => Buffer.concat([Buffer.from([0, 0, step, count, 0, 0, 0, 0]), u64(uid)]);
const flags = (v: number) => [v >> 8, v & 0xff];

let dir: string;
const variants: Record<string, string> = {};

beforeAll(() => {
  dir = tempDir('fs3burn-vs-mstflint-');
  const hpe = rawFixtureBytes(FX.fs3Hpe);
  const ibm = rawFixtureBytes(FX.fs3Ibm);
  variants['real HPE (Spectrum, unsigned)'] = rawFixture(FX.fs3Hpe);
  variants['real IBM (Spectrum, signed, ISSU)'] = rawFixture(FX.fs3Ibm);
  const make = (name: string, bytes: Buffer) => {
    const p = join(dir, `${name.replace(/\W+/g, '_')}.bin`);
    writeFileSync(p, bytes);
    variants[name] = p;
  };
  const devGuids = Buffer.concat([uidEntry(0x0002c90300aabbccn, 8), uidEntry(0x00000002c9aabbccn, 8)]);
  const withDev = patchSection(hpe, SectionType.DEV_INFO, 0x20, devGuids);
  make('DEV_INFO GUID/MAC set, MFG_INFO zero', withDev);
  make(
    'MFG_INFO GUID/MAC differ',
    patchSection(withDev, SectionType.MFG_INFO, 0x20, Buffer.concat([uidEntry(0x0002c90300112233n, 16), uidEntry(0x2c9112233n, 16)])),
  );
  make('MFG_INFO equal to DEV_INFO', patchSection(withDev, SectionType.MFG_INFO, 0x20, devGuids));
  make('MFG_INFO count differs only', patchSection(hpe, SectionType.MFG_INFO, 0x20, [0, 0, 1, 16]));
  make('MFG_INFO step differs only', patchSection(hpe, SectionType.MFG_INFO, 0x20, [0, 0, 2, 8]));
  make(
    'product version, no orig PRS',
    patchSection(patchSection(hpe, SectionType.IMAGE_INFO, 0x1c0, asciiz('14.32.1908', 16)), SectionType.MFG_INFO, 0x60, Buffer.alloc(64)),
  );
  make('MFG_INFO PSID differs', patchSection(hpe, SectionType.MFG_INFO, 0, asciiz('MT_0000000001', 16)));
  make(
    'image and device VSD',
    patchSection(patchSection(hpe, SectionType.IMAGE_INFO, 0x38, asciiz('image vsd text', 208)), SectionType.DEV_INFO, 0x70, asciiz('device vsd', 208)),
  );
  make('FW version minor < 100', patchSection(hpe, SectionType.IMAGE_INFO, 0x04, [0, 14, 0, 0, 0, 32, 0x07, 0x74]));
  for (const f of [0x0000, 0x4100, 0x8100, 0x6100, 0xe100, 0x2100, 0x4104]) {
    make(`signed image, IMAGE_INFO flags 0x${f.toString(16)}`, patchSection(ibm, SectionType.IMAGE_INFO, 0x02, flags(f)));
  }
  make('unsigned image with mcc_en and signed_fw', patchSection(hpe, SectionType.IMAGE_INFO, 0x02, flags(0x4100)));
  make('ISSU version 3', patchSection(ibm, SectionType.IMAGE_INFO, 0x314, [0x00, 0x30, 0x01, 0x01]));
  make('GUID and MAC counts 0', patchSection(hpe, SectionType.DEV_INFO, 0x20, Buffer.concat([uidEntry(0x0002c90300aabbccn, 0), uidEntry(0n, 0)])));
  make('PRS name longer than mstflint prints', patchSection(hpe, SectionType.IMAGE_INFO, 0x380, asciiz('P'.repeat(120), 128)));
  // images no vendor wrote: the builder's ConnectX-4 Lx catalog, in slot 0 and in slot 1
  for (const name of CATALOG_NAMES) make(`built ${name}`, Buffer.from(catalogImage(name)));
  const cat = catalogImage('cx4lx-14.32.1908');
  make('built image in slot 1', Buffer.from(placeInSlot(cat, 1)));
  make('built image in slot 1, old image invalidated in slot 0', Buffer.from(placeInSlot(cat, 1, { other: catalogImage('cx4lx-14.14.1100') })));
  make('built 8 MiB-chunk image with custom strings', Buffer.from(buildFs3Image({ chunkLog2: 0x17, partNumber: 'MCX4121A-ACAT_Ax', description: 'ConnectX-4 Lx EN adapter card; 25GbE; dual-port SFP28', imageVsd: 'fleet-test', deviceVsd: 'rack 12' })));
});

describeMstflint('query and verify agree with mstflint 4.21, line for line', () => {
  for (const cmd of [['q'], ['q', 'full'], ['v']]) {
    it(`${cmd.join(' ')} on every real fixture and patched variant`, () => {
      expect(Object.keys(variants).length).toBeGreaterThan(15);
      for (const [name, file] of Object.entries(variants)) {
        const ref = mstflint(['-i', file, ...cmd]);
        const ours = runCli(['-i', file, ...cmd]);
        expect(ref.status, `mstflint on ${name}: ${ref.stdout}${ref.stderr}`).toBe(0);
        expect(ours.status, `fs3burn on ${name}: ${ours.stderr}`).toBe(0);
        expect(ours.stdout, `${cmd.join(' ')} on ${name}`).toBe(ref.stdout);
      }
    });
  }

  it('the subcommand style (query -i IMAGE full) prints the same as flint style', () => {
    const file = variants['real IBM (Spectrum, signed, ISSU)']!;
    expect(runCli(['query', '-i', file, 'full']).stdout).toBe(runCli(['-i', file, 'q', 'full']).stdout);
    expect(runCli(['verify', '-i', file]).stdout).toBe(runCli(['-i', file, 'v']).stdout);
  });

  it('after one flipped byte in any section, both tools name the same bad section', () => {
    const base = rawFixtureBytes(FX.fs3Hpe);
    const img = parseFs3(base);
    const targets = [
      { name: 'BOOT2', offset: 0x100 },
      { name: 'ITOC_HEADER', offset: img.itoc.address + 0x14 },
      ...img.entries.filter((e) => !e.noCrc && e.size > 0).map((e) => ({ name: e.name, offset: e.bufferOffset + (e.size >> 1) })),
    ];
    expect(targets.length).toBeGreaterThan(15);
    for (const t of targets) {
      const file = join(dir, `flip-${t.name}.bin`);
      writeFileSync(file, flipByte(base, t.offset));
      const ref = mstflint(['-i', file, 'v']);
      const ours = runCli(['-i', file, 'v']);
      const bad = (s: string) => [...s.matchAll(/\((\w+)\) \/0x[0-9a-f]+\/ - wrong CRC/g)].map((m) => m[1]);
      expect(bad(ref.stdout), `mstflint names ${t.name}`).toEqual([t.name]);
      expect(bad(ours.stdout)).toEqual([t.name]);
      expect(ours.stdout).toBe(ref.stdout.replace(/-E- .*\n?$/, ''));
      expect(ref.status).not.toBe(0);
      expect(ours.status).toBe(5);
      expect(ours.stderr).toContain('-E- FW image verification failed: Bad CRC.. AN HCA DEVICE CAN NOT BOOT FROM THIS IMAGE.');
      const json = runCliJson(['-i', file, 'v']);
      expect(json.status).toBe(5);
      expect(json.json.bootable).toBe(false);
      expect(json.json.badSections).toEqual([t.name]);
    }
  });

  it('a bad ITOC entry CRC stops both tools at the same entry with the same message', () => {
    const base = rawFixtureBytes(FX.fs3Hpe);
    const file = join(dir, 'bad-itoc-entry.bin');
    writeFileSync(file, flipByte(base, 0x2000 + 0x20 * 6 + 4));
    const ref = mstflint(['-i', file, 'v']);
    const ours = runCli(['-i', file, 'v']);
    const refErr = /-E- (.*)/.exec(ref.stdout)![1];
    expect(ours.stdout).toBe(ref.stdout.replace(/-E- .*\n?$/, ''));
    expect(ours.stderr.trim()).toBe(`-E- ${refErr}`);
    expect(ours.status).toBe(5);
  });
});
