/**
 * The ABI table (src/transport/mst/abi.ts) against the C compiler: native-shims/mst-abi.c
 * declares the driver's structs and numbers with <linux/ioctl.h>'s _IOR/_IOW; it is compiled
 * with `cc` into a temp dir and its JSON must agree with the table on every number, size and
 * offset. Also the table against the facts sheet's literal numbers and against itself.
 * Without a C compiler the comparison is skipped on a developer's machine but fails in CI.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkAbi,
  decodeIoctl,
  encodeIoctl,
  IOC_GENERIC,
  MSTFLINT_ABI,
  type IoctlDir,
} from '../src/transport/mst/abi.js';
import { PROJECT_ROOT, tempDir } from './helpers/fixtures.js';
import { IN_CI } from './helpers/mstflint.js';

const HAVE_CC = spawnSync('cc', ['--version']).status === 0;
const LINUX_GENERIC_IOC = process.platform === 'linux' && ['x64', 'arm64', 'arm', 'ia32', 'riscv64'].includes(process.arch);
const describeCc = (HAVE_CC && LINUX_GENERIC_IOC) || IN_CI ? describe : describe.skip;

interface CIoctl {
  number: number;
  dir: number;
  type: number;
  nr: number;
  size: number;
}
interface CAbi {
  abi: string;
  block_dwords: number;
  ioc: { nrbits: number; typebits: number; sizebits: number; dirbits: number; write: number; read: number };
  ioctls: Record<string, CIoctl>;
  structs: Record<string, { size: number; fields: Record<string, { offset: number; size: number }> }>;
}

describe('the mstflint ABI table', () => {
  it('holds the numbers of fs3-facts.md §5.4', () => {
    const n = Object.fromEntries(Object.entries(MSTFLINT_ABI.ioctls).map(([k, d]) => [k, d!.number >>> 0]));
    expect(n).toEqual({
      MST_PARAMS: 0x8028d001,
      PCICONF_READ4: 0x800cd101,
      PCICONF_WRITE4: 0x400cd102,
      PCICONF_READ4_BUFFER: 0x810cd203,
      PCICONF_WRITE4_BUFFER: 0x410cd204,
      PCICONF_READ4_BUFFER_BC: 0x800cd203,
      VPD_READ4: 0x800cd601,
      VPD_WRITE4: 0x400cd602,
    });
    expect(Object.keys(MSTFLINT_ABI.structs['mst_params']!.fields)).toEqual([
      'domain', 'bus', 'slot', 'func', 'bar', 'device', 'vendor', 'subsys_dev', 'subsys_vendor', 'functional_vsc_offset',
    ]);
    expect(MSTFLINT_ABI.blockDwords).toBe(64);
  });

  it('is self-consistent: each number is _IOC(dir, type, nr, sizeof struct)', () => {
    expect(checkAbi(MSTFLINT_ABI)).toEqual([]);
  });

  it('encodes and decodes ioctl numbers', () => {
    expect(encodeIoctl(IOC_GENERIC, 'read', 0xd1, 1, 12)).toBe(0x800cd101);
    expect(encodeIoctl(IOC_GENERIC, 'write', 0xd2, 4, 268)).toBe(0x410cd204);
    expect(decodeIoctl(IOC_GENERIC, 0x8028d001)).toEqual({ dir: 'read', type: 0xd0, nr: 1, size: 40 });
    expect(() => encodeIoctl(IOC_GENERIC, 'read', 0xd2, 3, 1 << 14)).toThrow(RangeError);
  });

  it('checkAbi finds overlapping fields and fields past the end', () => {
    const bad = {
      ...MSTFLINT_ABI,
      structs: {
        ...MSTFLINT_ABI.structs,
        mst_read4_st: {
          size: 12,
          fields: {
            address_space: { offset: 0, size: 4, type: 'u32' as const },
            offset: { offset: 2, size: 4, type: 'u32' as const },
            data: { offset: 12, size: 4, type: 'u32' as const },
          },
        },
      },
    };
    const p = checkAbi(bad);
    expect(p.some((s) => /mst_read4_st.offset: offset 2 is not 4-aligned/.test(s))).toBe(true);
    expect(p.some((s) => /overlaps/.test(s))).toBe(true);
    expect(p.some((s) => /mst_read4_st.data: ends at 16, past the struct size 12/.test(s))).toBe(true);
  });
});

describeCc('native-shims/mst-abi.c compiled with cc', () => {
  let c: CAbi;
  beforeAll(() => {
    if (!HAVE_CC) throw new Error('no C compiler (cc): install gcc (CI needs it for this test)');
    const dir = tempDir('fs3burn-mst-abi-');
    const exe = join(dir, 'mst-abi');
    execFileSync('cc', ['-std=c11', '-Wall', '-Wextra', '-Werror', '-o', exe, join(PROJECT_ROOT, 'native-shims/mst-abi.c')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    c = JSON.parse(execFileSync(exe, { encoding: 'utf8' })) as CAbi;
  });

  it('uses the ioctl bit layout the table assumes', () => {
    expect(c.ioc).toEqual({
      nrbits: IOC_GENERIC.nrBits,
      typebits: IOC_GENERIC.typeBits,
      sizebits: IOC_GENERIC.sizeBits,
      dirbits: IOC_GENERIC.dirBits,
      write: IOC_GENERIC.dirValues.write,
      read: IOC_GENERIC.dirValues.read,
    });
    expect(c.block_dwords).toBe(MSTFLINT_ABI.blockDwords);
  });

  it('has the same requests as the table', () => {
    expect(Object.keys(c.ioctls).sort()).toEqual(Object.keys(MSTFLINT_ABI.ioctls).sort());
  });

  it.each(Object.keys(MSTFLINT_ABI.ioctls))('%s: number, direction, magic, nr and size agree', (name) => {
    const t = MSTFLINT_ABI.ioctls[name as keyof typeof MSTFLINT_ABI.ioctls]!;
    const ci = c.ioctls[name]!;
    expect(ci).toBeDefined();
    expect(ci.number).toBe(t.number >>> 0);
    expect(ci.dir).toBe(IOC_GENERIC.dirValues[t.dir as IoctlDir]);
    expect(ci.type).toBe(t.type);
    expect(ci.nr).toBe(t.nr);
    expect(ci.size).toBe(MSTFLINT_ABI.structs[t.struct]!.size);
  });

  it('has the same structs as the table', () => {
    expect(Object.keys(c.structs).sort()).toEqual(Object.keys(MSTFLINT_ABI.structs).sort());
  });

  it.each(Object.keys(MSTFLINT_ABI.structs))('struct %s: size and every field offset/size agree', (name) => {
    const t = MSTFLINT_ABI.structs[name]!;
    const cs = c.structs[name]!;
    expect(cs.size).toBe(t.size);
    expect(Object.keys(cs.fields)).toEqual(Object.keys(t.fields));
    for (const [f, layout] of Object.entries(t.fields)) {
      expect({ field: f, offset: cs.fields[f]!.offset, size: cs.fields[f]!.size }).toEqual({
        field: f,
        offset: layout.offset,
        size: layout.size,
      });
    }
  });
});
