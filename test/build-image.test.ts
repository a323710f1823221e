/**
 * The FS3 image builder and the ConnectX-4 Lx catalog, checked against the reference:
 * every variant must pass `mstflint -i IMAGE v`, and `mstflint -i IMAGE q full` must print
 * the values that were put in. mstflint runs live here; nothing of its output is pasted in.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isFs3BurnError } from '../src/errors.js';
import { crc16 } from '../src/image/crc16.js';
import { formatFwVersion } from '../src/image/fs3.js';
import {
  DEVICE_DATA_END,
  FLASH_SIZE,
  buildFs3Image,
  buildFs3ImageDetailed,
  placeInSlot,
  resolveBuildParams,
  type Fs3BuildParams,
  type Fs3BuildResult,
  type ResolvedFs3BuildParams,
} from '../src/image/build/index.js';
import { CATALOG_NAMES, catalogEntries, catalogImage, catalogImageDetailed, catalogParams } from '../src/image/catalog.js';
import { FX, rawFixtureBytes, tempDir } from './helpers/fixtures.js';
import { describeMstflint, mstflint } from './helpers/mstflint.js';

// ---------------------------------------------------------------- helpers

const be32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

interface VerifyLine {
  start: number;
  end: number;
  size: number;
  name: string;
  status: string;
}

/** Run `mstflint -i FILE v` and parse its section lines. */
function mstVerify(file: string) {
  const r = mstflint(['-i', file, 'v']);
  const lines: VerifyLine[] = [];
  for (const l of r.stdout.split('\n')) {
    const m = /^\s+\/0x([0-9a-f]+)-0x([0-9a-f]+) \(0x([0-9a-f]+)\)\/ \((\w+)\) - (.+?)\s*$/.exec(l);
    if (m) lines.push({ start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), size: parseInt(m[3]!, 16), name: m[4]!, status: m[5]! });
  }
  return { ...r, lines };
}

/** Run `mstflint -i FILE q full` and parse "Key: value" lines (repeated keys keep every value). */
function mstQuery(file: string) {
  const r = mstflint(['-i', file, 'q', 'full']);
  const fields = new Map<string, string[]>();
  for (const l of r.stdout.split('\n')) {
    const m = /^([A-Za-z][A-Za-z ]*?):\s+(.*?)\s*$/.exec(l);
    if (m) fields.set(m[1]!, [...(fields.get(m[1]!) ?? []), m[2]!]);
  }
  const get = (k: string) => fields.get(k)?.[0];
  return { ...r, fields, get };
}

const hex = (n: bigint, digits: number) => n.toString(16).padStart(digits, '0');
/** mstflint prints a count of 0 as N/A. */
const count = (n: number) => (n === 0 ? 'N/A' : String(n));

/** What `q full` must print for these parameters. */
function expectedQuery(p: ResolvedFs3BuildParams): Record<string, string> {
  const e: Record<string, string> = {
    'Image type': 'FS3',
    'FW Version': formatFwVersion(p.fwVersion),
    'FW Release Date': `${p.releaseDate.day}.${p.releaseDate.month}.${p.releaseDate.year}`,
    'MIC Version': `${p.micVersion.major}.${p.micVersion.minor}.${p.micVersion.subminor}`,
    'PRS Name': p.prsName,
    'Part Number': p.partNumber,
    'Product Version': p.productVersion,
    'Base GUID': `${hex(p.guid, 16)} ${count(p.guidCount)}`,
    'Base MAC': `${hex(p.mac, 12)} ${count(p.macCount)}`,
    'Image VSD': p.imageVsd === '' ? 'N/A' : p.imageVsd,
    'Device VSD': p.deviceVsd === '' ? 'N/A' : p.deviceVsd,
    PSID: p.psid,
    'Security Attributes': p.signedFwBit ? 'signed-fw' : 'N/A',
    'Default Update Method': p.signed && p.mccEnable ? 'fw_ctrl' : 'Legacy',
  };
  // mstflint prints the MFG_INFO ("Orig") values only where they differ from DEV_INFO's.
  if (p.origGuid !== p.guid) e['Orig Base GUID'] = `${hex(p.origGuid, 16)} ${count(p.guidCount)}`;
  if (p.origMac !== p.mac) e['Orig Base MAC'] = `${hex(p.origMac, 12)} ${count(p.macCount)}`;
  return e;
}

const squash = (s: string | undefined) => s?.replace(/\s+/g, ' ');

/** Check a built file with mstflint `v` and `q full` against the build result. */
function checkWithMstflint(file: string, r: Fs3BuildResult, slotBase = 0): void {
  const v = mstVerify(file);
  expect(v.status, v.stdout + v.stderr).toBe(0);
  expect(v.stdout).toContain('-I- FW image verification succeeded. Image is bootable.');
  // BOOT2, ITOC_HEADER, then one line per ITOC entry, in ITOC order.
  const names = v.lines.map((l) => l.name);
  expect(names).toEqual(['BOOT2', 'ITOC_HEADER', ...r.layout.sections.map((s) => s.name)]);
  for (const l of v.lines) {
    if (l.name === 'NV_DATA') expect(l.status).toBe('CRC IGNORED');
    else expect(l.status, `${l.name}`).toBe('OK');
  }
  expect(v.lines[0]).toMatchObject({ start: 0x38, size: r.params.boot2Size });
  expect(v.lines[1]).toMatchObject({ start: slotBase + r.layout.itocAddr, size: 0x20 });
  r.layout.sections.forEach((s, i) => {
    expect(v.lines[i + 2], s.name).toMatchObject({ start: (s.relative ? slotBase : 0) + s.addr, size: s.size });
  });

  const q = mstQuery(file);
  expect(q.status, q.stdout + q.stderr).toBe(0);
  const want = expectedQuery(r.params);
  for (const [k, val] of Object.entries(want)) expect(squash(q.get(k)), k).toBe(val);
  if (!want['Orig Base GUID']) expect(q.get('Orig Base GUID')).toBeUndefined();
  if (!want['Orig Base MAC']) expect(q.get('Orig Base MAC')).toBeUndefined();
  // "Description" is printed twice: the text, then the GUID table header.
  expect(q.fields.get('Description')?.[0]).toBe(r.params.description);
}

function writeTemp(dir: string, name: string, bytes: Uint8Array): string {
  const f = join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

function expectBuildError(params: Fs3BuildParams, pattern: RegExp): void {
  let err: unknown;
  try {
    buildFs3Image(params);
  } catch (e) {
    err = e;
  }
  expect(isFs3BurnError(err), String(err)).toBe(true);
  if (isFs3BurnError(err)) {
    expect(err.code).toBe('BUILD_INVALID_PARAMS');
    expect(err.message).toMatch(pattern);
  }
}

// ---------------------------------------------------------------- variants

const VARIANTS: Record<string, Fs3BuildParams> = {
  'defaults (4 MiB, unsigned, mcc off)': {},
  '8 MiB chunk, signed, mcc on, custom identity': {
    chunkLog2: 0x17,
    signed: true,
    mccEnable: true,
    fwVersion: { major: 14, minor: 32, subminor: 1908 },
    releaseDate: { day: 15, month: 11, year: 2021 },
    micVersion: { major: 3, minor: 1, subminor: 12 },
    psid: 'MT_0000000999',
    guid: '0x98039b0300c0ffee',
    guidCount: 4,
    guidStep: 2,
    mac: '98:03:9b:c0:ff:ee',
    macCount: 2,
    imageVsd: 'image vsd: built by fs3burn tests',
    deviceVsd: 'device vsd #42',
    partNumber: 'MCX4121A-XCA_Ax',
    description: 'ConnectX-4 Lx EN; 10GbE dual-port SFP28 (test build)',
    productVersion: 'rel-14_32_1908',
    prsName: 'test_cx4lx.prs',
    seed: 0xdeadbeef,
    fullFlash: true,
  },
  '4 MiB chunk, signed, mcc off': { signed: true, mccEnable: false, seed: 2 },
  '8 MiB chunk, unsigned, mcc on': { chunkLog2: 0x17, signed: false, mccEnable: true, seed: 3 },
  'signed_fw bit set': { signed: true, mccEnable: true, signedFwBit: true },
  'orig GUID/MAC differ from the base ones': {
    guid: 0x0002c90300abcdefn,
    mac: 0x0002c9abcdefn,
    origGuid: 0x0002c90300000001n,
    origMac: 0x0002c9000001n,
    guidCount: 255,
    macCount: 0,
  },
  'explicit sections (size and data), small BOOT2': {
    boot2Size: 0x20,
    sections: [
      { type: 'FW_MAIN_CFG', size: 0x100 },
      { type: 0x03, size: 0x123454 },
      { type: 'PCI_CODE', data: new Uint8Array(0x2004).map((_, i) => i & 0xff) },
    ],
    signed: true,
    mccEnable: true,
  },
  'longest strings mstflint prints': {
    psid: 'ABCDEFGHIJKLMNOP',
    imageVsd: 'v'.repeat(207),
    deviceVsd: 'd'.repeat(207),
    partNumber: 'P'.repeat(63),
    description: 'D'.repeat(255),
    productVersion: '1'.repeat(15),
    prsName: 'r'.repeat(96),
  },
  'empty VSDs, no DBG_FW_INI, big BOOT2': {
    imageVsd: '',
    deviceVsd: '',
    boot2Size: 0x4010,
    sections: [{ type: 'MAIN_CODE', size: 0x100000 }],
  },
};

describe('FS3 builder: layout and encoding', () => {
  it('writes magic, boot-version word, BOOT2 with CRC, ITOC with entry and section CRCs', () => {
    for (const chunkLog2 of [0x16, 0x17] as const) {
      const { image, layout } = buildFs3ImageDetailed({ chunkLog2, signed: true });
      expect([be32(image, 0), be32(image, 4), be32(image, 8), be32(image, 12)]).toEqual([
        0x4d544657, 0x8cdfd000, 0xdead9270, 0x4154beef,
      ]);
      expect([...image.subarray(0x24, 0x28)]).toEqual([3, chunkLog2, 1, 1]);
      const n = be32(image, 0x3c);
      expect(be32(image, 0x38 + (n + 3) * 4)).toBe(crc16(image, 0x38, n + 3));
      const it0 = layout.itocAddr;
      expect(it0 % 0x1000).toBe(0);
      expect(it0).toBe(Math.ceil((0x38 + (n + 4) * 4) / 0x1000) * 0x1000);
      expect(be32(image, it0)).toBe(0x49544f43);
      expect(be32(image, it0 + 0x1c)).toBe(crc16(image, it0, 7));
      layout.sections.forEach((s, i) => {
        const e = it0 + 0x20 + i * 0x20;
        expect(image[e], s.name).toBe(s.type);
        expect(be32(image, e) & 0xfffffc).toBe(s.size);
        expect(be32(image, e + 0x14) >>> 31).toBe(s.relative ? 1 : 0);
        expect(be32(image, e + 0x14) & 0x7ffffffc).toBe(s.addr);
        expect((be32(image, e + 0x18) >>> 17) & 1).toBe(s.deviceData ? 1 : 0);
        expect((be32(image, e + 0x18) >>> 16) & 1).toBe(s.noCrc ? 1 : 0);
        expect(be32(image, e + 0x18) & 0xffff).toBe(crc16(image, s.addr, s.size / 4));
        expect(be32(image, e + 0x1c)).toBe(crc16(image, e, 7));
      });
      const end = it0 + 0x20 + layout.sections.length * 0x20;
      expect([...image.subarray(end, end + 0x20)].every((b) => b === 0xff)).toBe(true);
    }
  });

  it('places the device data as the vendor FS3 fixtures do (same ITOC words except CRCs)', () => {
    const vendor = rawFixtureBytes(FX.fs3Hpe);
    const { image, layout } = buildFs3ImageDetailed({});
    const entries = (b: Uint8Array, itoc: number) => {
      const out = new Map<number, number[]>();
      for (let e = itoc + 0x20; b[e] !== 0xff; e += 0x20) {
        const w = [0, 1, 2, 3, 4, 5, 6].map((k) => be32(b, e + k * 4));
        if ((w[6]! >>> 17) & 1) out.set(w[0]! >>> 24, w);
      }
      return out;
    };
    const theirs = entries(vendor, 0x2000);
    const ours = entries(image, layout.itocAddr);
    expect([...ours.keys()]).toEqual([...theirs.keys()]);
    for (const [type, w] of ours) {
      const v = theirs.get(type)!;
      expect(w.slice(0, 6), `type 0x${type.toString(16)}`).toEqual(v.slice(0, 6));
      expect(w[6]! & 0xffff0000).toBe(v[6]! & 0xffff0000); // device_data, no_crc
    }
    expect(image.length).toBe(vendor.length); // 0xFF9000, like the vendor's files
  });

  it('is deterministic, and the seed changes the payload', () => {
    const a = buildFs3Image({ seed: 5 });
    const b = buildFs3Image({ seed: 5 });
    const c = buildFs3Image({ seed: 6 });
    expect(Buffer.compare(a, b)).toBe(0);
    expect(Buffer.compare(a, c)).not.toBe(0);
  });

  it('ends after the device data by default, or fills the whole 16 MiB flash', () => {
    expect(buildFs3Image().length).toBe(DEVICE_DATA_END);
    const full = buildFs3Image({ fullFlash: true });
    expect(full.length).toBe(FLASH_SIZE);
    expect(Buffer.compare(full.subarray(0, DEVICE_DATA_END), buildFs3Image())).toBe(0);
    expect(full.subarray(DEVICE_DATA_END).every((x) => x === 0xff)).toBe(true);
  });

  it('places the image in slot 1 (0x400000 or 0x800000) with the device data kept', () => {
    for (const chunkLog2 of [0x16, 0x17] as const) {
      const img = buildFs3Image({ chunkLog2 });
      const flash = placeInSlot(img, 1);
      const s1 = 2 ** chunkLog2;
      expect(flash.length).toBe(FLASH_SIZE);
      expect(be32(flash, 0)).toBe(0xffffffff);
      expect(be32(flash, s1)).toBe(0x4d544657);
      expect(Buffer.compare(flash.subarray(0xfa0000, DEVICE_DATA_END), img.subarray(0xfa0000))).toBe(0);
      const old = buildFs3Image({ chunkLog2, fwVersion: { major: 14, minor: 14, subminor: 1100 } });
      const both = placeInSlot(img, 1, { other: old });
      expect(be32(both, 0)).toBe(0); // the old image's "MTFW" zeroed, as after a failsafe burn
      expect(be32(both, 4)).toBe(0x8cdfd000);
      expect(be32(placeInSlot(img, 0, { other: old, otherValid: true }), s1)).toBe(0x4d544657);
    }
  });

  it('builds a 16 MiB image quickly enough to be used per test (no timing assertion)', () => {
    const r = buildFs3ImageDetailed({ fullFlash: true, signed: true });
    expect(r.image.length).toBe(FLASH_SIZE);
  });
});

describe('FS3 builder: invalid parameters give BUILD_INVALID_PARAMS', () => {
  const cases: [string, Fs3BuildParams, RegExp][] = [
    ['chunk size', { chunkLog2: 0x18 as 0x17 }, /chunkLog2/],
    ['FW version range', { fwVersion: { major: 14, minor: 70000, subminor: 1 } }, /fwVersion\.minor/],
    ['FW version not integer', { fwVersion: { major: 14.5, minor: 1, subminor: 1 } }, /fwVersion\.major/],
    ['month', { releaseDate: { day: 1, month: 13, year: 2020 } }, /releaseDate\.month/],
    ['day of month', { releaseDate: { day: 30, month: 2, year: 2020 } }, /releaseDate\.day/],
    ['PSID too long', { psid: 'MT_24201100341234' }, /psid.*16/],
    ['PSID empty', { psid: '' }, /psid must not be empty/],
    ['PSID not ASCII', { psid: 'MT_é' }, /printable ASCII/],
    ['image VSD too long', { imageVsd: 'x'.repeat(208) }, /imageVsd.*207/],
    ['device VSD too long', { deviceVsd: 'x'.repeat(208) }, /deviceVsd/],
    ['part number too long', { partNumber: 'x'.repeat(64) }, /partNumber/],
    ['description too long', { description: 'x'.repeat(256) }, /description/],
    ['product version too long', { productVersion: 'x'.repeat(16) }, /productVersion/],
    ['PRS name too long', { prsName: 'x'.repeat(97) }, /prsName/],
    ['GUID not hex', { guid: 'zz:11' }, /guid must be hexadecimal/],
    ['MAC over 48 bits', { mac: 0x1000000000000n }, /mac must fit in 48 bits/],
    ['GUID count', { guidCount: 256 }, /guidCount/],
    ['MAC count negative', { macCount: -1 }, /macCount/],
    ['section size not a multiple of 4', { sections: [{ type: 'MAIN_CODE', size: 10 }] }, /multiple of 4/],
    ['section size zero', { sections: [{ type: 'MAIN_CODE', size: 0 }] }, /sections\[0\]\.size/],
    ['section data length', { sections: [{ type: 'MAIN_CODE', data: new Uint8Array(5) }] }, /multiple of 4/],
    ['unknown section name', { sections: [{ type: 'NOT_A_SECTION', size: 4 }] }, /unknown section type/],
    ['builder-owned section', { sections: [{ type: 'IMAGE_INFO', size: 0x400 }] }, /written by the builder/],
    ['signature given directly', { sections: [{ type: 0xa0, size: 0x140 }] }, /signed: true/],
    ['device data given directly', { sections: [{ type: 'DEV_INFO', size: 0x200 }] }, /written by the builder/],
    ['duplicate section', { sections: [{ type: 3, size: 4 }, { type: 'MAIN_CODE', size: 4 }] }, /twice/],
    ['image larger than its slot', { sections: [{ type: 'MAIN_CODE', size: 0x400000 }] }, /4 MiB slot/],
    ['8 MiB image over the device data', { chunkLog2: 0x17, sections: [{ type: 'MAIN_CODE', size: 0x7a0000 }] }, /8 MiB slot/],
    ['too many sections', { sections: Array.from({ length: 60 }, (_, i) => ({ type: 0x40 + i, size: 4 })) }, /too many sections/],
    ['BOOT2 size', { boot2Size: 30 }, /boot2Size/],
    ['supported HW ids', { supportedHwIds: [] }, /supportedHwIds/],
    ['seed', { seed: -1 }, /seed/],
    ['boolean flag', { signed: 'yes' as unknown as boolean }, /signed must be true or false/],
  ];
  for (const [name, params, pattern] of cases) {
    it(name, () => expectBuildError(params, pattern));
  }
});

describeMstflint('FS3 builder: mstflint 4.21 accepts every variant and prints its values', () => {
  const dir = tempDir('fs3burn-build-');
  for (const [name, params] of Object.entries(VARIANTS)) {
    it(name, () => {
      const r = buildFs3ImageDetailed(params);
      checkWithMstflint(writeTemp(dir, 'variant.bin', r.image), r);
    });
  }

  it('prints the exact security texts for a signed image with mcc_en', () => {
    const r = buildFs3ImageDetailed({ signed: true, mccEnable: true });
    const q = mstQuery(writeTemp(dir, 'signed-mcc.bin', r.image));
    expect(q.get('Security Attributes')).toBe('N/A');
    expect(q.get('Default Update Method')).toBe('fw_ctrl');
  });

  for (const chunkLog2 of [0x16, 0x17] as const) {
    it(`verifies an image in slot 1 (chunk 0x${chunkLog2.toString(16)}), with an invalidated image in slot 0`, () => {
      const r = buildFs3ImageDetailed({ chunkLog2, signed: true, mccEnable: true, seed: 9 });
      const old = buildFs3Image({ chunkLog2, fwVersion: { major: 14, minor: 14, subminor: 1100 } });
      const slot1 = 2 ** chunkLog2;
      checkWithMstflint(writeTemp(dir, 'slot1.bin', placeInSlot(r.image, 1)), r, slot1);
      checkWithMstflint(writeTemp(dir, 'slot1-old0.bin', placeInSlot(r.image, 1, { other: old })), r, slot1);
    });
  }
});

// ---------------------------------------------------------------- catalog

describe('ConnectX-4 Lx catalog', () => {
  it('lists three images', () => {
    expect([...CATALOG_NAMES]).toEqual(['cx4lx-14.14.1100', 'cx4lx-14.25.1020', 'cx4lx-14.32.1908']);
    expect(catalogEntries().map((e) => e.name)).toEqual([...CATALOG_NAMES]);
  });

  it('has ~2.5 MiB of payload per image and different content per version', () => {
    const mains = new Set<number>();
    for (const name of CATALOG_NAMES) {
      const r = catalogImageDetailed(name);
      const payload = r.layout.sections.filter((s) => !s.deviceData).reduce((a, s) => a + s.size, 0);
      expect(payload / 2 ** 20, name).toBeGreaterThan(2.3);
      expect(payload / 2 ** 20, name).toBeLessThan(2.7);
      const main = r.layout.sections.find((s) => s.name === 'MAIN_CODE')!;
      mains.add(crc16(r.image, main.addr, 64));
    }
    expect(mains.size).toBe(CATALOG_NAMES.length);
  });

  it('marks 14.14 legacy-only and 14.25 / 14.32 signed with mcc_en', () => {
    const p = (n: string) => resolveBuildParams(catalogParams(n));
    expect(p('cx4lx-14.14.1100')).toMatchObject({ signed: false, mccEnable: false });
    expect(p('cx4lx-14.25.1020')).toMatchObject({ signed: true, mccEnable: true });
    expect(p('cx4lx-14.32.1908')).toMatchObject({ signed: true, mccEnable: true });
  });

  it('applies overrides without changing the catalog entry', () => {
    const before = JSON.stringify(catalogParams('cx4lx-14.32.1908'));
    const p = resolveBuildParams(catalogParams('cx4lx-14.32.1908', { guid: 0x1111n, mac: 0x2222n, deviceVsd: 'card 7' }));
    expect(p.guid).toBe(0x1111n);
    expect(p.mac).toBe(0x2222n);
    expect(p.fwVersion).toEqual({ major: 14, minor: 32, subminor: 1908 });
    expect(JSON.stringify(catalogParams('cx4lx-14.32.1908'))).toBe(before);
    // Identity overrides leave the header and firmware sections untouched; only the device
    // data and, through their CRCs, the ITOC entries of DEV_INFO / MFG_INFO change.
    const a = catalogImageDetailed('cx4lx-14.32.1908');
    const b = catalogImage('cx4lx-14.32.1908', { guid: 0x1111n, mac: 0x2222n });
    const same = (from: number, to: number) => Buffer.compare(a.image.subarray(from, to), b.subarray(from, to));
    expect(same(0, a.layout.itocAddr)).toBe(0);
    expect(same(a.layout.itocAddr + 0x1000, a.layout.imageEnd)).toBe(0);
    expect(same(0xfee000, 0xfee200)).not.toBe(0);
  });

  it('rejects an unknown name', () => {
    expect(() => catalogImage('cx4lx-99.99.9999')).toThrow(/unknown catalog image/);
  });
});

describeMstflint('ConnectX-4 Lx catalog: mstflint 4.21 accepts every image', () => {
  const dir = tempDir('fs3burn-catalog-');
  for (const name of CATALOG_NAMES) {
    it(name, () => {
      const r = catalogImageDetailed(name);
      checkWithMstflint(writeTemp(dir, `${name}.bin`, r.image), r);
    });
    it(`${name} with a card's own GUIDs, MACs and device VSD`, () => {
      const r = catalogImageDetailed(name, {
        guid: '0xb8cef603001a2b3c',
        mac: 'b8:ce:f6:1a:2b:3c',
        guidCount: 2,
        macCount: 2,
        deviceVsd: 'simulated card',
      });
      checkWithMstflint(writeTemp(dir, `${name}-card.bin`, r.image), r);
    });
  }
});
