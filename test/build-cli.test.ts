/**
 * `fs3burn image build` / `image catalog`, run as a process from dist/ (build first:
 * `npx tsc -p .`), with every output file checked by the real mstflint.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CATALOG_NAMES } from '../src/image/catalog.js';
import { PROJECT_ROOT, tempDir } from './helpers/fixtures.js';
import { describeMstflint, mstflint } from './helpers/mstflint.js';

const CLI = join(PROJECT_ROOT, 'dist/cli/main.js');

function fs3burn(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** `mstflint q full` as a key → first value map. */
function query(file: string): Record<string, string> {
  const r = mstflint(['-i', file, 'q', 'full']);
  expect(r.status, r.stdout + r.stderr).toBe(0);
  const out: Record<string, string> = {};
  for (const l of r.stdout.split('\n')) {
    const m = /^([A-Za-z][A-Za-z ]*?):\s+(.*?)\s*$/.exec(l);
    if (m && out[m[1]!] === undefined) out[m[1]!] = m[2]!.replace(/\s+/g, ' ');
  }
  return out;
}

function verifyOk(file: string): string {
  const r = mstflint(['-i', file, 'v']);
  expect(r.status, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toContain('-I- FW image verification succeeded. Image is bootable.');
  for (const l of r.stdout.split('\n').filter((x) => /^\s+\/0x/.test(x))) {
    expect(l, l).toMatch(/\((NV_DATA)\) - CRC IGNORED$|\) - OK$/);
  }
  return r.stdout;
}

let dir = '';
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first with \`npx tsc -p .\``);
  dir = tempDir('fs3burn-build-cli-');
});

describe('fs3burn image: usage and errors', () => {
  it('lists the catalog (image catalog, --list-catalog, --json)', () => {
    const a = fs3burn(['image', 'catalog']);
    expect(a.status).toBe(0);
    for (const n of CATALOG_NAMES) expect(a.stdout).toContain(n);
    const b = fs3burn(['image', 'build', '--list-catalog']);
    expect(b.status).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    const c = fs3burn(['--json', 'image', 'catalog']);
    expect(c.status).toBe(0);
    expect(JSON.parse(c.stdout).catalog.map((e: { name: string }) => e.name)).toEqual([...CATALOG_NAMES]);
  });

  it('needs -o', () => {
    const r = fs3burn(['image', 'build']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('-E- image build needs -o FILE');
  });

  const bad: [string, string[], RegExp][] = [
    ['bad version', ['--fw-version', '14.32'], /--fw-version/],
    ['bad date', ['--release-date', '2021-13-01'], /releaseDate\.month/],
    ['bad date text', ['--release-date', 'yesterday'], /--release-date/],
    ['bad chunk size', ['--chunk-size', '16M'], /--chunk-size must be 4M or 8M/],
    ['bad section', ['--section', 'MAIN_CODE'], /TYPE:SIZE/],
    ['unknown section', ['--section', 'NOPE:4K'], /unknown section type/],
    ['odd section size', ['--section', 'MAIN_CODE:10'], /multiple of 4/],
    ['PSID too long', ['--psid', 'MT_24201100341234'], /psid/],
    ['GUID not hex', ['--guid', 'xyz'], /guid must be hexadecimal/],
    ['count not a number', ['--guid-count', 'many'], /--guid-count/],
    ['unknown catalog image', ['--catalog', 'cx4lx-1.2.3'], /unknown catalog image/],
    ['bad slot', ['--slot', '2'], /--slot/],
  ];
  for (const [name, args, pattern] of bad) {
    it(`${name}: BUILD_INVALID_PARAMS, exit 2`, () => {
      const out = join(dir, 'bad.bin');
      const r = fs3burn(['image', 'build', ...args, '-o', out]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^-E- /);
      expect(r.stderr).toMatch(pattern);
      const j = fs3burn(['--json', 'image', 'build', ...args, '-o', out]);
      expect(j.status).toBe(2);
      expect(JSON.parse(j.stdout).error.code).toBe('BUILD_INVALID_PARAMS');
    });
  }

  it('reports a write failure as OUTPUT_WRITE_FAILED', () => {
    const r = fs3burn(['--json', 'image', 'build', '-o', join(dir, 'no-such-dir', 'x.bin')]);
    expect(JSON.parse(r.stdout).error.code).toBe('OUTPUT_WRITE_FAILED');
  });
});

describeMstflint('fs3burn image build: mstflint accepts the output', () => {
  it('builds from options and mstflint prints them', () => {
    const out = join(dir, 'opts.bin');
    const r = fs3burn([
      'image', 'build',
      '--fw-version', '14.32.1908',
      '--release-date', '2021-11-15',
      '--mic-version', '2.1.3',
      '--psid', 'MT_0000000123',
      '--guid', '0x0002c90300a0b0c0',
      '--mac', '00:02:c9:a0:b0:c0',
      '--guid-count', '4',
      '--mac-count', '2',
      '--orig-guid', '0x0002c90300000001',
      '--image-vsd', 'cli image vsd',
      '--device-vsd', 'cli device vsd',
      '--part-number', 'MCX4121A-ACA_Ax',
      '--description', 'built by the CLI test',
      '--product-version', '14.32.1908',
      '--prs-name', 'cli.prs',
      '--chunk-size', '8M',
      '--signed', '--mcc',
      '--seed', '0x1234',
      '-o', out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^-I- Wrote .*opts\.bin \(16748544 bytes\): FS3 FW 14\.32\.1908/);
    verifyOk(out);
    expect(query(out)).toMatchObject({
      'FW Version': '14.32.1908',
      'FW Release Date': '15.11.2021',
      'MIC Version': '2.1.3',
      'PRS Name': 'cli.prs',
      'Part Number': 'MCX4121A-ACA_Ax',
      Description: 'built by the CLI test',
      'Product Version': '14.32.1908',
      'Base GUID': '0002c90300a0b0c0 4',
      'Orig Base GUID': '0002c90300000001 4',
      'Base MAC': '0002c9a0b0c0 2',
      'Image VSD': 'cli image vsd',
      'Device VSD': 'cli device vsd',
      PSID: 'MT_0000000123',
      'Security Attributes': 'N/A',
      'Default Update Method': 'fw_ctrl',
    });
    expect(readFileSync(out)[0x25]).toBe(0x17);
  });

  it('takes --section TYPE:SIZE and TYPE:@FILE, and --full-flash', () => {
    const data = join(dir, 'pci.bin');
    writeFileSync(data, Buffer.alloc(0x1000, 0x5a));
    const out = join(dir, 'sections.bin');
    const r = fs3burn([
      '--json', 'image', 'build',
      '--section', 'FW_MAIN_CFG:0xc40',
      '--section', 'MAIN_CODE:1M',
      '--section', `0x02:@${data}`,
      '--section', 'DBG_FW_INI:8K',
      '--full-flash',
      '-o', out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.bytes).toBe(0x1000000);
    expect(statSync(out).size).toBe(0x1000000);
    expect(s.sections.map((x: { name: string }) => x.name)).toEqual([
      'FW_MAIN_CFG', 'MAIN_CODE', 'PCI_CODE', 'IMAGE_INFO', 'DBG_FW_INI',
      'NV_DATA', 'NV_DATA', 'DEV_INFO', 'MFG_INFO', 'VPD_R0',
    ]);
    const v = verifyOk(out);
    expect(v).toMatch(/\(0x100000\)\/ \(MAIN_CODE\) - OK/);
    expect(v).toMatch(/\(0x001000\)\/ \(PCI_CODE\) - OK/);
    const pci = s.sections.find((x: { name: string }) => x.name === 'PCI_CODE');
    expect(readFileSync(out).subarray(Number(pci.addr), Number(pci.addr) + 0x1000).every((b: number) => b === 0x5a)).toBe(true);
  });

  for (const name of CATALOG_NAMES) {
    it(`builds --catalog ${name}`, () => {
      const out = join(dir, `${name}.bin`);
      const r = fs3burn(['--json', 'image', 'build', '--catalog', name, '-o', out]);
      expect(r.status, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(s).toMatchObject({ catalog: name, fwVersion: name.slice('cx4lx-'.length), bytes: 0xff9000 });
      verifyOk(out);
      const q = query(out);
      expect(q['FW Version']).toBe(name.slice('cx4lx-'.length));
      expect(q.PSID).toBe('MT_2420110034');
      expect(q['Default Update Method']).toBe(name === 'cx4lx-14.14.1100' ? 'Legacy' : 'fw_ctrl');
    });
  }

  it('overrides catalog values and places the image in slot 1', () => {
    const out = join(dir, 'slot1.bin');
    const r = fs3burn([
      '--json', 'image', 'build', '--catalog', 'cx4lx-14.14.1100',
      '--guid', 'b8cef603001a2b3c', '--mac', 'b8cef61a2b3c', '--device-vsd', 'card 3',
      '--slot', '1', '-o', out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ slot: 1, imageStart: '0x400000', bytes: 0x1000000, guid: '0xb8cef603001a2b3c' });
    const v = verifyOk(out);
    expect(v).toMatch(/\/0x00402000-0x0040201f \(0x000020\)\/ \(ITOC_HEADER\) - OK/);
    expect(query(out)).toMatchObject({
      'FW Version': '14.14.1100',
      'Base GUID': 'b8cef603001a2b3c 8',
      'Base MAC': 'b8cef61a2b3c 8',
      'Device VSD': 'card 3',
      'Default Update Method': 'Legacy',
    });
  });
});
