/**
 * The sysfs transport against this machine's real PCI functions (read only: nothing here
 * writes to a real device's config space) and against a fake sysfs tree in a temp dir.
 * Privilege-dropping tests live in transport-child.test.ts.
 */
import { mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Fs3BurnError } from '../src/errors.js';
import {
  listPciFunctions,
  openSysfsTransport,
  readLockdownMode,
  SYSFS_PCI_DEVICES,
  type SysfsConfigTransport,
} from '../src/transport/sysfs.js';
import { tempDir } from './helpers/fixtures.js';

const IS_ROOT = process.getuid?.() === 0;
const FUNCTIONS = (() => {
  try {
    return readdirSync(SYSFS_PCI_DEVICES).sort();
  } catch {
    return [];
  }
})();
const describeSysfs = FUNCTIONS.length > 0 ? describe : describe.skip;

const open: SysfsConfigTransport[] = [];
afterEach(() => {
  while (open.length) open.pop()!.close();
});
function track(t: SysfsConfigTransport): SysfsConfigTransport {
  open.push(t);
  return t;
}

function sysHex(fn: string, file: string): number {
  return parseInt(readFileSync(join(SYSFS_PCI_DEVICES, fn, file), 'utf8').trim(), 16);
}

function caught(f: () => unknown): Fs3BurnError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(Fs3BurnError);
    return e as Fs3BurnError;
  }
  throw new Error('did not throw');
}

describeSysfs('sysfs transport on this machine', () => {
  it('sees the PCI functions', () => {
    expect(FUNCTIONS.length).toBeGreaterThan(0);
  });

  it.each(FUNCTIONS)('%s: vendor/device (dword 0) and class code (dword 8) match sysfs', (fn) => {
    const t = track(openSysfsTransport(fn, { readOnly: !IS_ROOT }));
    expect(t.name).toBe(fn);
    expect(t.path).toBe(join(SYSFS_PCI_DEVICES, fn, 'config'));
    expect(t.size).toBe(statSync(t.path).size);
    expect([256, 4096]).toContain(t.size);
    const id = t.read32(0);
    expect(id & 0xffff).toBe(sysHex(fn, 'vendor'));
    expect(id >>> 16).toBe(sysHex(fn, 'device'));
    // dword 8 = revision (7:0) | class code (31:8)
    expect(t.read32(8) >>> 8).toBe(sysHex(fn, 'class'));
    const sub = t.read32(0x2c);
    if ((t.read32(0x0c) >>> 16 & 0x7f) === 0) {
      // type-0 header: subsystem IDs at 0x2c
      expect(sub & 0xffff).toBe(sysHex(fn, 'subsystem_vendor'));
      expect(sub >>> 16).toBe(sysHex(fn, 'subsystem_device'));
    }
  });

  it.runIf(IS_ROOT).each(FUNCTIONS)('%s: every dword equals the same bytes read from the file, little-endian', (fn) => {
    const t = track(openSysfsTransport(fn));
    expect(t.writable).toBe(true);
    const bytes = readFileSync(t.path);
    expect(bytes.length).toBe(t.size);
    for (let off = 0; off < t.size; off += 4) {
      const v = t.read32(off);
      if (v !== bytes.readUInt32LE(off)) {
        // status and similar registers may change between two reads; re-read the dword once
        expect(t.read32(off)).toBe(readFileSync(t.path).readUInt32LE(off));
      }
    }
  });

  it('a nonexistent PCI function is DEVICE_NOT_FOUND and says how to find the address', () => {
    const free = ['0000:ff:1f.7', 'ffff:ee:1e.6'].find((a) => !FUNCTIONS.includes(a))!;
    const e = caught(() => openSysfsTransport(free));
    expect(e.code).toBe('DEVICE_NOT_FOUND');
    expect(e.exitCode).toBe(6);
    expect(e.message).toContain(free);
    expect(e.hint).toMatch(/lspci/);
    expect(e.hint).toMatch(/fs3burn devices/);
    expect(e.data).toMatchObject({ errno: 'ENOENT' });
  });

  it('rejects misaligned and out-of-range offsets before any I/O', () => {
    const t = track(openSysfsTransport(FUNCTIONS[0]!, { readOnly: true }));
    for (const off of [1, 2, 3, 6, -4, 4096, 4100, 1.5, Number.NaN]) {
      const e = caught(() => t.read32(off));
      expect(e.code).toBe('DEVICE_OFFSET_INVALID');
      expect(e.message).toMatch(/multiple of 4 from 0 to 4092/);
    }
    expect(caught(() => t.write32(2, 0)).code).toBe('DEVICE_OFFSET_INVALID');
  });

  it('an offset past a 256-byte function is DEVICE_OFFSET_OUT_OF_RANGE', () => {
    const small = FUNCTIONS.find((fn) => statSync(join(SYSFS_PCI_DEVICES, fn, 'config')).size === 256);
    if (!small) return;
    const t = track(openSysfsTransport(small, { readOnly: true }));
    expect(t.read32(252)).toBeTypeOf('number');
    const e = caught(() => t.read32(256));
    expect(e.code).toBe('DEVICE_OFFSET_OUT_OF_RANGE');
    expect(e.message).toMatch(/256-byte config space/);
  });

  it('a write to a read-only handle is DEVICE_READ_ONLY and never reaches the device', () => {
    const t = track(openSysfsTransport(FUNCTIONS[0]!, { readOnly: true }));
    expect(t.writable).toBe(false);
    const e = caught(() => t.write32(0x04, 0));
    expect(e.code).toBe('DEVICE_READ_ONLY');
    expect(e.message).toMatch(/read-only/);
  });

  it('after close, accesses are DEVICE_CLOSED; closing twice is harmless', () => {
    const t = openSysfsTransport(FUNCTIONS[0]!, { readOnly: true });
    t.close();
    t.close();
    expect(caught(() => t.read32(0)).code).toBe('DEVICE_CLOSED');
  });

  it('accepts the sysfs path and a PciAddress object; rejects non-PCI names', () => {
    const fn = FUNCTIONS[0]!;
    const a = track(openSysfsTransport(`${SYSFS_PCI_DEVICES}/${fn}/config`, { readOnly: true }));
    expect(a.name).toBe(fn);
    const b = track(openSysfsTransport(a.address, { readOnly: true }));
    expect(b.read32(0)).toBe(a.read32(0));
    expect(caught(() => openSysfsTransport('/dev/mst/mt4117_pciconf0')).code).toBe('DEVICE_NAME_INVALID');
    expect(caught(() => openSysfsTransport({ domain: 0, bus: 0, device: 32, func: 0 })).code).toBe(
      'DEVICE_NAME_INVALID',
    );
  });

  it('listPciFunctions lists every function with sysfs vendor/device/class', () => {
    const all = listPciFunctions();
    expect(all.map((f) => f.name)).toEqual(FUNCTIONS);
    for (const f of all) {
      expect(f.vendor).toBe(sysHex(f.name, 'vendor'));
      expect(f.device).toBe(sysHex(f.name, 'device'));
      expect(f.classCode).toBe(sysHex(f.name, 'class'));
      expect(f.configPath).toBe(join(SYSFS_PCI_DEVICES, f.name, 'config'));
    }
    const v0 = all[0]!.vendor;
    expect(listPciFunctions({ vendor: v0 }).every((f) => f.vendor === v0)).toBe(true);
    expect(listPciFunctions({ vendor: 0x15b3 }).map((f) => f.name)).toEqual(
      all.filter((f) => f.vendor === 0x15b3).map((f) => f.name),
    );
  });
});

describe('sysfs transport on a fake sysfs tree', () => {
  function fakeTree(): string {
    const root = tempDir('fs3burn-sysfs-');
    const mk = (name: string, files: Record<string, string | Buffer>): void => {
      mkdirSync(join(root, name));
      for (const [f, v] of Object.entries(files)) writeFileSync(join(root, name, f), v);
    };
    const cfg = Buffer.alloc(256);
    cfg.writeUInt32LE(0x101515b3, 0); // 15b3:1015, ConnectX-4 Lx
    cfg.writeUInt32LE(0x02000000, 8);
    mk('0000:03:00.0', {
      vendor: '0x15b3\n',
      device: '0x1015\n',
      class: '0x020000\n',
      subsystem_vendor: '0x15b3\n',
      subsystem_device: '0x0003\n',
      config: cfg,
    });
    mk('0000:00:02.0', { vendor: '0x1af4\n', device: '0x1042\n', class: '0x018000\n', config: Buffer.alloc(256) });
    mk('0000:00:03.0', { vendor: 'garbage\n', device: '0x1041\n' });
    mkdirSync(join(root, 'not-an-address'));
    mkdirSync(join(root, 'drivers'));
    symlinkSync(join(root, 'drivers', 'mlx5_core'), join(root, '0000:03:00.0', 'driver'));
    return root;
  }

  it('listPciFunctions filters by vendor, skips junk, reads subsystem IDs and driver', () => {
    const root = fakeTree();
    expect(listPciFunctions({ sysfsRoot: root }).map((f) => f.name)).toEqual(['0000:00:02.0', '0000:03:00.0']);
    expect(listPciFunctions({ sysfsRoot: root, vendor: 0x15b3 })).toEqual([
      {
        name: '0000:03:00.0',
        address: { domain: 0, bus: 3, device: 0, func: 0 },
        vendor: 0x15b3,
        device: 0x1015,
        classCode: 0x020000,
        subsystemVendor: 0x15b3,
        subsystemDevice: 0x0003,
        driver: 'mlx5_core',
        configPath: join(root, '0000:03:00.0', 'config'),
      },
    ]);
    expect(listPciFunctions({ sysfsRoot: join(root, 'missing') })).toEqual([]);
  });

  it('decodes and encodes dwords little-endian, through one 4-byte positioned access', () => {
    const root = fakeTree();
    const t = track(openSysfsTransport('03:00.0', { sysfsRoot: root }));
    expect(t.read32(0)).toBe(0x101515b3);
    expect(t.read32(8) >>> 8).toBe(0x020000);
    t.write32(0x40, 0xdeadbeef);
    t.write32(0x44, -1);
    const bytes = readFileSync(t.path);
    expect([...bytes.subarray(0x40, 0x48)]).toEqual([0xef, 0xbe, 0xad, 0xde, 0xff, 0xff, 0xff, 0xff]);
    expect(bytes.length).toBe(256);
    expect(t.read32(0x40)).toBe(0xdeadbeef);
    const e = caught(() => t.write32(0x48, 2 ** 32));
    expect(e.code).toBe('INTERNAL');
  });
});

describe('kernel lockdown mode', () => {
  it('reads the bracketed mode, and undefined when the file is missing', () => {
    const d = tempDir('fs3burn-lockdown-');
    writeFileSync(join(d, 'a'), 'none [integrity] confidentiality\n');
    writeFileSync(join(d, 'b'), '[none] integrity confidentiality\n');
    expect(readLockdownMode(join(d, 'a'))).toBe('integrity');
    expect(readLockdownMode(join(d, 'b'))).toBe('none');
    expect(readLockdownMode(join(d, 'missing'))).toBeUndefined();
  });
});
