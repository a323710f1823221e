/**
 * The /dev/mst transport. This machine has no mst device, so the real open + ioctl path is
 * driven against descriptors that are not mst devices (/dev/null, a regular file) and must
 * come back with the typed error for ENOTTY; the struct packing is checked against a fake
 * libc that plays the driver, reading and writing the buffers at the ABI table's offsets.
 */
import { openSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Fs3BurnError } from '../src/errors.js';
import { MSTFLINT_ABI, type MstAbi } from '../src/transport/mst/abi.js';
import { AddressSpace } from '../src/transport/mst/address-space.js';
import { loadLibc, O_RDWR, type Libc } from '../src/transport/mst/ffi.js';
import { MstDevice, openMstDevice } from '../src/transport/mst/mst-transport.js';
import { openTransport } from '../src/transport/index.js';
import { tempDir } from './helpers/fixtures.js';

const ENOTTY = 25;
const opened: MstDevice[] = [];
afterEach(() => {
  while (opened.length) opened.pop()!.close();
});

async function caught(f: () => unknown): Promise<Fs3BurnError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(Fs3BurnError);
    return e as Fs3BurnError;
  }
  throw new Error('did not throw');
}

describe('libc through koffi (ffi.ts)', () => {
  it('ioctl PCICONF_READ4 on /dev/null and on a regular file fails with ENOTTY', async () => {
    const libc = await loadLibc();
    const file = join(tempDir('fs3burn-mst-'), 'plain');
    writeFileSync(file, Buffer.alloc(64));
    for (const path of ['/dev/null', file]) {
      const fd = libc.open(path, O_RDWR);
      expect(fd).toBeGreaterThanOrEqual(0);
      const buf = Buffer.alloc(MSTFLINT_ABI.structs['mst_read4_st']!.size);
      expect(libc.ioctl(fd, MSTFLINT_ABI.ioctls.PCICONF_READ4!.number, buf)).toBe(-ENOTTY);
      expect(libc.close(fd)).toBe(0);
    }
  });

  it('returns -errno for open and close failures', async () => {
    const libc = await loadLibc();
    expect(libc.open('/dev/mst/fs3burn-no-such-device', O_RDWR)).toBe(-2); // ENOENT
    expect(libc.close(-1)).toBe(-9); // EBADF
  });

  it('loads once: the same binding every time', async () => {
    expect(await loadLibc()).toBe(await loadLibc());
  });
});

describe('openMstDevice on things that are not mst devices', () => {
  it('/dev/null: the MST_PARAMS probe gets ENOTTY → DEVICE_NOT_MST', async () => {
    const e = await caught(() => openMstDevice('/dev/null'));
    expect(e.code).toBe('DEVICE_NOT_MST');
    expect(e.exitCode).toBe(6);
    expect(e.message).toMatch(/\/dev\/null is not an mst device/);
    expect(e.message).toMatch(/MST_PARAMS \(0x8028d001\)/);
    expect(e.data).toMatchObject({ errno: 'ENOTTY', request: 'MST_PARAMS', abi: 'mstflint' });
    expect(e.hint).toMatch(/mstflint driver/);
  });

  it('/dev/null without the probe: PCICONF_READ4 and the other requests get ENOTTY → DEVICE_NOT_MST', async () => {
    const dev = await openMstDevice('/dev/null', { probe: false });
    opened.push(dev);
    const read = await caught(() => dev.readSpace32(AddressSpace.CR, 0xf0014));
    expect(read.code).toBe('DEVICE_NOT_MST');
    expect(read.data).toMatchObject({ request: 'PCICONF_READ4', number: '0x800cd101', errno: 'ENOTTY' });
    expect((await caught(() => dev.writeSpace32(AddressSpace.CR, 0, 1))).data).toMatchObject({
      request: 'PCICONF_WRITE4',
    });
    expect((await caught(() => dev.readSpaceBlock(AddressSpace.CR, 0, 4))).data).toMatchObject({
      request: 'PCICONF_READ4_BUFFER',
    });
    expect((await caught(() => dev.writeSpaceBlock(AddressSpace.CR, 0, [1, 2]))).data).toMatchObject({
      request: 'PCICONF_WRITE4_BUFFER',
    });
    expect((await caught(() => dev.vpdRead32(0))).data).toMatchObject({ request: 'VPD_READ4' });
    expect((await caught(() => dev.params)).data).toMatchObject({ request: 'MST_PARAMS' });
  });

  it('a regular file is refused as not a character device, without an ioctl', async () => {
    const file = join(tempDir('fs3burn-mst-'), 'plain');
    writeFileSync(file, 'x');
    const e = await caught(() => openMstDevice(file));
    expect(e.code).toBe('DEVICE_NOT_MST');
    expect(e.message).toMatch(/not a character device/);
  });

  it('a directory is DEVICE_NOT_MST (EISDIR)', async () => {
    const e = await caught(() => openMstDevice(tempDir('fs3burn-mst-')));
    expect(e.code).toBe('DEVICE_NOT_MST');
  });

  it('a nonexistent /dev/mst path is DEVICE_NOT_FOUND with what to do', async () => {
    const e = await caught(() => openMstDevice('/dev/mst/mt4117_pciconf0_fs3burn_missing'));
    expect(e.code).toBe('DEVICE_NOT_FOUND');
    expect(e.data).toMatchObject({ errno: 'ENOENT' });
    expect(e.hint).toMatch(/mstflint_access|mst start/);
  });

  it('openTransport validates the name first, then reaches the same errors', async () => {
    expect((await caught(() => openTransport('/dev/mst/../null'))).code).toBe('DEVICE_NAME_INVALID');
    expect((await caught(() => openTransport('/dev/mst/fs3burn_missing'))).code).toBe('DEVICE_NOT_FOUND');
    expect((await caught(() => openTransport('sim:cx4lx@14.14.1100'))).code).toBe('DEVICE_SIM_UNAVAILABLE');
  });

  it('rejects invalid spaces and offsets before any ioctl', async () => {
    const dev = await openMstDevice('/dev/null', { probe: false });
    opened.push(dev);
    for (const [space, off] of [
      [-1, 0],
      [0x10000, 0],
      [2, 2],
      [2, 0x40000000],
      [2.5, 0],
    ] as const) {
      expect((await caught(() => dev.readSpace32(space, off))).code).toBe('DEVICE_OFFSET_INVALID');
    }
    expect((await caught(() => dev.readSpaceBlock(2, 0x3ffffffc, 2))).code).toBe('DEVICE_OFFSET_INVALID');
    expect((await caught(() => dev.writeSpace32(2, 0, 2 ** 32))).code).toBe('INTERNAL');
    dev.close();
    dev.close();
    expect((await caught(() => dev.readSpace32(2, 0))).code).toBe('DEVICE_CLOSED');
  });
});

/**
 * A fake mstflint driver behind a fake libc: it decodes each request with the ABI table
 * (as the kernel would with its own struct definitions) and serves a CR space from a Map.
 */
function fakeDriver(abi: MstAbi = MSTFLINT_ABI) {
  const cr = new Map<string, number>();
  const log: { request: string; space?: number; offset?: number; size?: number }[] = [];
  const byNumber = new Map(Object.entries(abi.ioctls).map(([n, d]) => [d!.number >>> 0, { name: n, def: d! }]));
  const fds = new Set<number>();
  const libc: Libc = {
    open(path, flags) {
      const fd = openSync('/dev/null', flags & 3);
      fds.add(fd);
      void path;
      return fd;
    },
    close(fd) {
      if (!fds.delete(fd)) return -9;
      closeSync(fd);
      return 0;
    },
    ioctl(fd, request, arg) {
      if (!fds.has(fd)) return -9;
      const hit = byNumber.get(request >>> 0);
      if (!hit) return -ENOTTY;
      const s = abi.structs[hit.def.struct]!;
      const buf = Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength);
      expect(buf.length).toBe(s.size);
      const get = (f: string, i = 0) => buf.readUInt32LE(s.fields[f]!.offset + 4 * i);
      const put = (f: string, v: number, i = 0) => buf.writeUInt32LE(v >>> 0, s.fields[f]!.offset + 4 * i);
      const key = (sp: number, off: number) => `${sp}:${off}`;
      switch (hit.name) {
        case 'MST_PARAMS':
          log.push({ request: hit.name });
          for (const [f, v] of Object.entries({
            domain: 0, bus: 3, slot: 0, func: 1, bar: 0, device: 0x1015, vendor: 0x15b3,
            subsys_dev: 0x0003, subsys_vendor: 0x15b3, functional_vsc_offset: 0x48,
          })) put(f, v);
          return 0;
        case 'PCICONF_READ4':
        case 'PCICONF_WRITE4': {
          const sp = get('address_space');
          const off = get('offset');
          log.push({ request: hit.name, space: sp, offset: off });
          if (hit.name === 'PCICONF_READ4') put('data', cr.get(key(sp, off)) ?? 0);
          else cr.set(key(sp, off), get('data'));
          return 0;
        }
        case 'PCICONF_READ4_BUFFER':
        case 'PCICONF_WRITE4_BUFFER': {
          const sp = get('address_space');
          const off = get('offset');
          const size = buf.readInt32LE(s.fields['size']!.offset);
          log.push({ request: hit.name, space: sp, offset: off, size });
          if (size <= 0 || size > 256 || size % 4) return -22; // EINVAL
          for (let i = 0; i < size / 4; i++) {
            if (hit.name === 'PCICONF_READ4_BUFFER') put('data', cr.get(key(sp, off + 4 * i)) ?? 0, i);
            else cr.set(key(sp, off + 4 * i), get('data', i));
          }
          return 0;
        }
        default:
          return -ENOTTY;
      }
    },
  };
  return { libc, cr, log, fds };
}

describe('MstDevice packing, through a fake driver that reads the ABI table', () => {
  it('probes MST_PARAMS at open and reports the PCI address and VSEC offset', async () => {
    const drv = fakeDriver();
    const dev = await openMstDevice('/dev/mst/mt4117_pciconf0', { libc: drv.libc });
    opened.push(dev);
    expect(dev.params).toEqual({
      domain: 0, bus: 3, slot: 0, func: 1, bar: 0, device: 0x1015, vendor: 0x15b3,
      subsysDevice: 3, subsysVendor: 0x15b3, functionalVscOffset: 0x48,
    });
    expect(dev.pciAddress).toEqual({ domain: 0, bus: 3, device: 0, func: 1 });
    expect(drv.log).toEqual([{ request: 'MST_PARAMS' }]);
  });

  it('single dwords: space and offset land in the right fields, data comes back', async () => {
    const drv = fakeDriver();
    const dev = await openMstDevice('/dev/mst/x', { libc: drv.libc, probe: false });
    opened.push(dev);
    dev.writeSpace32(AddressSpace.CR, 0xf0014, 0xcafef00d);
    dev.writeSpace32(AddressSpace.SEMAPHORE, 0x10, -1);
    expect(drv.cr.get('2:983060')).toBe(0xcafef00d);
    expect(dev.readSpace32(AddressSpace.CR, 0xf0014)).toBe(0xcafef00d);
    expect(dev.readSpace32(AddressSpace.SEMAPHORE, 0x10)).toBe(0xffffffff);
    expect(drv.log.map((l) => l.request)).toEqual(['PCICONF_WRITE4', 'PCICONF_WRITE4', 'PCICONF_READ4', 'PCICONF_READ4']);
  });

  it('blocks are split into 64-dword requests with size in bytes', async () => {
    const drv = fakeDriver();
    const dev = await openMstDevice('/dev/mst/x', { libc: drv.libc, probe: false });
    opened.push(dev);
    const values = Array.from({ length: 150 }, (_, i) => (i * 0x01010101) >>> 0);
    dev.writeSpaceBlock(AddressSpace.CR, 0x1000, values);
    expect(drv.log.map((l) => [l.offset, l.size])).toEqual([
      [0x1000, 256],
      [0x1100, 256],
      [0x1200, 88],
    ]);
    expect([...dev.readSpaceBlock(AddressSpace.CR, 0x1000, 150)]).toEqual(values);
    expect(dev.readSpace32(AddressSpace.CR, 0x1000 + 4 * 149)).toBe(values[149]);
    expect(dev.readSpaceBlock(AddressSpace.CR, 0, 0).length).toBe(0);
  });

  it('an ABI without a request throws DEVICE_OP_UNSUPPORTED; an inconsistent table is refused', async () => {
    const { VPD_READ4: _drop, ...rest } = MSTFLINT_ABI.ioctls;
    const noVpd: MstAbi = { ...MSTFLINT_ABI, id: 'no-vpd', ioctls: rest };
    const drv = fakeDriver(noVpd);
    const dev = await openMstDevice('/dev/mst/x', { libc: drv.libc, abi: noVpd, probe: false });
    opened.push(dev);
    expect((await caught(() => dev.vpdRead32(0))).code).toBe('DEVICE_OP_UNSUPPORTED');

    const broken: MstAbi = {
      ...MSTFLINT_ABI,
      id: 'broken',
      ioctls: { ...MSTFLINT_ABI.ioctls, PCICONF_READ4: { ...MSTFLINT_ABI.ioctls.PCICONF_READ4!, number: 0x800cd102 } },
    };
    const e = await caught(() => openMstDevice('/dev/null', { libc: drv.libc, abi: broken }));
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toMatch(/PCICONF_READ4: number 0x800cd102 but _IOC gives 0x800cd101/);
  });

  it('closes the descriptor when the probe fails', async () => {
    // a "driver" that knows only PCICONF_READ4 answers MST_PARAMS with ENOTTY
    const drv = fakeDriver({ ...MSTFLINT_ABI, id: 'no-params', ioctls: { PCICONF_READ4: MSTFLINT_ABI.ioctls.PCICONF_READ4! } });
    const e = await caught(() => openMstDevice('/dev/mst/x', { libc: drv.libc }));
    expect(e.code).toBe('DEVICE_NOT_MST');
    expect(drv.fds.size).toBe(0);
  });
});
