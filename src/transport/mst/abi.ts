/**
 * The mst kernel driver's ioctl ABI as data: request numbers and struct layouts (field
 * offsets and sizes in bytes). The transport (mst-transport.ts) packs and unpacks Buffers
 * from these tables only, so another driver ABI (MFT's closed mst driver, another
 * architecture) is one more table, not more code.
 *
 * MSTFLINT_ABI rests on fs3-facts.md §5.4 (`kernel/mst.h` of mstflint, numbers compiled on
 * x86-64). native-shims/mst-abi.c declares the same structs and numbers with the real
 * `_IOR/_IOW` macros of <linux/ioctl.h>; test/transport-mst-abi.test.ts compiles it and
 * compares every number, size and offset with this table.
 */

/** The ioctls the transport knows. An ABI may lack some; using a missing one throws. */
export type MstIoctlName =
  | 'MST_PARAMS'
  | 'PCICONF_READ4'
  | 'PCICONF_WRITE4'
  | 'PCICONF_READ4_BUFFER'
  | 'PCICONF_WRITE4_BUFFER'
  | 'PCICONF_READ4_BUFFER_BC'
  | 'VPD_READ4'
  | 'VPD_WRITE4';

/** Direction as the kernel's `_IOC_DIR` encodes it: `read` = `_IOR` (kernel → user). */
export type IoctlDir = 'none' | 'write' | 'read' | 'readwrite';

export type FieldType = 'u32' | 'i32';

export interface FieldLayout {
  /** Byte offset in the struct. */
  readonly offset: number;
  /** Size in bytes (for an array: the whole array). */
  readonly size: number;
  /** Element type, stored in host byte order. */
  readonly type: FieldType;
  /** Element count for an array field (`u32 data[64]`; 0 for a flexible `data[]`); absent for a scalar. */
  readonly count?: number;
}

export interface StructLayout {
  /** `sizeof`, which is also the size encoded in the ioctl number. */
  readonly size: number;
  /** Fields by their C name. */
  readonly fields: Readonly<Record<string, FieldLayout>>;
}

export interface IoctlDef {
  /** The request number as the driver expects it. */
  readonly number: number;
  readonly dir: IoctlDir;
  /** `_IOC_TYPE`, the driver's magic byte. */
  readonly type: number;
  /** `_IOC_NR`. */
  readonly nr: number;
  /** The argument struct (a key of {@link MstAbi.structs}). */
  readonly struct: string;
  readonly note?: string;
}

export interface MstAbi {
  /** Short id, e.g. `mstflint`. */
  readonly id: string;
  readonly description: string;
  /** Where the numbers come from and how far they are checked. */
  readonly provenance: string;
  readonly verified: 'compiled-from-facts' | 'unverified';
  /** How `_IOC` packs a number on the architectures this table is for. */
  readonly ioc: IocEncoding;
  readonly structs: Readonly<Record<string, StructLayout>>;
  readonly ioctls: Readonly<Partial<Record<MstIoctlName, IoctlDef>>>;
  /** Dwords carried by one buffer ioctl (`u32 data[N]`). */
  readonly blockDwords: number;
  /**
   * Unit of the buffer structs' `size` field. UNVERIFIED: §5.4 gives `int size` without a
   * unit; bytes is assumed (the data array is 256 bytes, the largest transfer).
   */
  readonly blockSizeUnit: 'bytes' | 'dwords';
}

/** Bit layout of an ioctl number (`asm-generic/ioctl.h` unless an architecture overrides it). */
export interface IocEncoding {
  readonly nrBits: number;
  readonly typeBits: number;
  readonly sizeBits: number;
  readonly dirBits: number;
  readonly dirValues: Readonly<Record<IoctlDir, number>>;
}

/** x86, x86-64, arm, arm64, riscv: 8 nr bits, 8 type bits, 14 size bits, 2 dir bits (write 1, read 2). */
export const IOC_GENERIC: IocEncoding = {
  nrBits: 8,
  typeBits: 8,
  sizeBits: 14,
  dirBits: 2,
  dirValues: { none: 0, write: 1, read: 2, readwrite: 3 },
};

/** `_IOC(dir, type, nr, size)` for an encoding. */
export function encodeIoctl(enc: IocEncoding, dir: IoctlDir, type: number, nr: number, size: number): number {
  const typeShift = enc.nrBits;
  const sizeShift = typeShift + enc.typeBits;
  const dirShift = sizeShift + enc.sizeBits;
  if (size >= 2 ** enc.sizeBits) throw new RangeError(`ioctl argument size ${size} does not fit in ${enc.sizeBits} bits`);
  return (
    (enc.dirValues[dir] * 2 ** dirShift + size * 2 ** sizeShift + type * 2 ** typeShift + nr) >>> 0
  );
}

/** The parts of an ioctl number under an encoding. */
export function decodeIoctl(
  enc: IocEncoding,
  number: number,
): { dir: IoctlDir | undefined; type: number; nr: number; size: number } {
  const n = number >>> 0;
  const typeShift = enc.nrBits;
  const sizeShift = typeShift + enc.typeBits;
  const dirShift = sizeShift + enc.sizeBits;
  const field = (shift: number, bits: number): number => Math.floor(n / 2 ** shift) % 2 ** bits;
  const d = field(dirShift, enc.dirBits);
  const dir = (Object.keys(enc.dirValues) as IoctlDir[]).find((k) => enc.dirValues[k] === d);
  return { dir, type: field(typeShift, enc.typeBits), nr: field(0, enc.nrBits), size: field(sizeShift, enc.sizeBits) };
}

const u32 = (offset: number): FieldLayout => ({ offset, size: 4, type: 'u32' });
const i32 = (offset: number): FieldLayout => ({ offset, size: 4, type: 'i32' });
const u32s = (offset: number, count: number): FieldLayout => ({ offset, size: 4 * count, type: 'u32', count });

/** {address_space, offset, data}: PCICONF_READ4 / PCICONF_WRITE4. */
const RW4: StructLayout = { size: 12, fields: { address_space: u32(0), offset: u32(4), data: u32(8) } };
/** {address_space, offset, int size, u32 data[64]}: the buffer ioctls. */
const RW4_BUFFER: StructLayout = {
  size: 268,
  fields: { address_space: u32(0), offset: u32(4), size: i32(8), data: u32s(12, 64) },
};
/** {offset, timeout_ms, data}: VPD_READ4 / VPD_WRITE4. */
const VPD4: StructLayout = { size: 12, fields: { offset: u32(0), timeout_ms: u32(4), data: u32(8) } };

/**
 * The open-source mstflint driver (`mstflint_access`, char devices `/dev/DDDD:BB:DD.F_mstconf`).
 * Numbers from fs3-facts.md §5.4; magic 0xD0 MST_PARAMS, 0xD1 single dword, 0xD2 buffers,
 * 0xD6 VPD. Through it, CR space is address_space 2.
 */
export const MSTFLINT_ABI: MstAbi = {
  id: 'mstflint',
  description: 'mstflint kernel driver (mstflint_access), kernel/mst.h',
  provenance:
    'fs3-facts.md §5.4 (mstflint kernel/mst.h, numbers compiled on x86-64); cross-checked by compiling native-shims/mst-abi.c',
  verified: 'compiled-from-facts',
  ioc: IOC_GENERIC,
  structs: {
    mst_params: {
      size: 40,
      fields: {
        domain: u32(0),
        bus: u32(4),
        slot: u32(8),
        func: u32(12),
        bar: u32(16),
        device: u32(20),
        vendor: u32(24),
        subsys_dev: u32(28),
        subsys_vendor: u32(32),
        functional_vsc_offset: u32(36),
      },
    },
    mst_read4_st: RW4,
    mst_write4_st: RW4,
    mst_read4_buffer_st: RW4_BUFFER,
    mst_write4_buffer_st: RW4_BUFFER,
    /**
     * The legacy buffer struct: its number encodes size 12, i.e. only the three header
     * fields, consistent with a flexible `data[]` member. UNVERIFIED beyond the number.
     */
    mst_read4_buffer_bc_st: {
      size: 12,
      fields: { address_space: u32(0), offset: u32(4), size: i32(8), data: u32s(12, 0) },
    },
    mst_vpd_read4_st: VPD4,
    mst_vpd_write4_st: VPD4,
  },
  ioctls: {
    MST_PARAMS: { number: 0x8028d001, dir: 'read', type: 0xd0, nr: 1, struct: 'mst_params' },
    PCICONF_READ4: { number: 0x800cd101, dir: 'read', type: 0xd1, nr: 1, struct: 'mst_read4_st' },
    PCICONF_WRITE4: { number: 0x400cd102, dir: 'write', type: 0xd1, nr: 2, struct: 'mst_write4_st' },
    PCICONF_READ4_BUFFER: { number: 0x810cd203, dir: 'read', type: 0xd2, nr: 3, struct: 'mst_read4_buffer_st' },
    PCICONF_WRITE4_BUFFER: { number: 0x410cd204, dir: 'write', type: 0xd2, nr: 4, struct: 'mst_write4_buffer_st' },
    PCICONF_READ4_BUFFER_BC: {
      number: 0x800cd203,
      dir: 'read',
      type: 0xd2,
      nr: 3,
      struct: 'mst_read4_buffer_bc_st',
      note: 'legacy request, same nr as PCICONF_READ4_BUFFER with the 12-byte header size; not used by the transport',
    },
    VPD_READ4: { number: 0x800cd601, dir: 'read', type: 0xd6, nr: 1, struct: 'mst_vpd_read4_st' },
    VPD_WRITE4: { number: 0x400cd602, dir: 'write', type: 0xd6, nr: 2, struct: 'mst_vpd_write4_st' },
  },
  blockDwords: 64,
  blockSizeUnit: 'bytes',
};

/** The ABIs this build knows, by id. */
export const MST_ABIS: Readonly<Record<string, MstAbi>> = { [MSTFLINT_ABI.id]: MSTFLINT_ABI };

/**
 * Check an ABI table against itself: each number must equal `_IOC(dir, type, nr, sizeof)`,
 * each field must lie inside its struct and fields must not overlap. Returns the problems
 * (empty when consistent); used by tests and before opening a device with a custom table.
 */
export function checkAbi(abi: MstAbi): string[] {
  const problems: string[] = [];
  for (const [sname, s] of Object.entries(abi.structs)) {
    const spans = Object.entries(s.fields).sort((a, b) => a[1].offset - b[1].offset);
    let end = 0;
    for (const [fname, f] of spans) {
      if (f.offset % 4 !== 0) problems.push(`${sname}.${fname}: offset ${f.offset} is not 4-aligned`);
      if (f.size !== 4 * (f.count ?? 1)) problems.push(`${sname}.${fname}: size ${f.size} is not 4 × ${f.count ?? 1}`);
      if (f.offset < end) problems.push(`${sname}.${fname}: overlaps the previous field`);
      end = f.offset + f.size;
      if (end > s.size) problems.push(`${sname}.${fname}: ends at ${end}, past the struct size ${s.size}`);
    }
  }
  for (const [iname, d] of Object.entries(abi.ioctls)) {
    if (!d) continue;
    const s = abi.structs[d.struct];
    if (!s) {
      problems.push(`${iname}: unknown struct ${d.struct}`);
      continue;
    }
    const want = encodeIoctl(abi.ioc, d.dir, d.type, d.nr, s.size);
    if (want !== d.number >>> 0) {
      problems.push(`${iname}: number 0x${(d.number >>> 0).toString(16)} but _IOC gives 0x${want.toString(16)}`);
    }
  }
  return problems;
}
