/**
 * The /dev/mst transport: the mst kernel driver's character devices, driven by ioctl
 * through koffi (ffi.ts). Requests and structs come from an ABI table (abi.ts).
 *
 * What the driver offers (fs3-facts.md §5.4): PCICONF_READ4/WRITE4 take an address space and
 * an offset and run the VSEC protocol of §5.3 in the kernel; the buffer ioctls move up to 64
 * dwords under one lock; MST_PARAMS reports the PCI address and the VSEC offset. It offers
 * no raw config-space access, so an {@link MstDevice} is an {@link AddressSpaceAccess} (the
 * interface the VSEC layer also produces), not a PciConfigTransport. For raw config space of
 * the same function, open the sysfs transport at {@link MstDevice.pciAddress}.
 */
import { fstatSync } from 'node:fs';
import { constants as osConstants, endianness } from 'node:os';
import { Fs3BurnError } from '../../errors.js';
import type { PciAddress } from '../device-name.js';
import { checkAbi, MSTFLINT_ABI, type FieldLayout, type MstAbi, type MstIoctlName, type StructLayout } from './abi.js';
import { type AddressSpaceAccess, MAX_ADDRESS_SPACE, MAX_SPACE_OFFSET } from './address-space.js';
import { loadLibc, O_CLOEXEC, O_RDWR, type Libc } from './ffi.js';

export interface MstOpenOptions {
  /** The driver ABI; default the mstflint driver's. */
  abi?: MstAbi;
  /**
   * Ask the driver for MST_PARAMS right after opening (default true), which proves the
   * device speaks this ABI and gives {@link MstDevice.params}.
   */
  probe?: boolean;
  /** The libc binding; default the koffi one. Tests may pass their own. */
  libc?: Libc;
}

/** MST_PARAMS, with the struct's fields in camelCase. */
export interface MstParams {
  readonly domain: number;
  readonly bus: number;
  readonly slot: number;
  readonly func: number;
  readonly bar: number;
  readonly device: number;
  readonly vendor: number;
  readonly subsysDevice: number;
  readonly subsysVendor: number;
  /** Config-space offset of the functional VSEC, 0 if none (§5.2). */
  readonly functionalVscOffset: number;
}

const PARAM_FIELDS: Readonly<Record<keyof MstParams, string>> = {
  domain: 'domain',
  bus: 'bus',
  slot: 'slot',
  func: 'func',
  bar: 'bar',
  device: 'device',
  vendor: 'vendor',
  subsysDevice: 'subsys_dev',
  subsysVendor: 'subsys_vendor',
  functionalVscOffset: 'functional_vsc_offset',
};

const LE = endianness() === 'LE';
const ROOT_HINT = 'run fs3burn as root (sudo): the mst devices are accessible only to root';
const MST_HINT =
  'use a device node of the mstflint driver (/dev/DDDD:BB:DD.F_mstconf, or /dev/mst/... from `mst start`); ' +
  "MFT's closed mst driver may speak another ABI (unverified): if so, name the card by its PCI address to use sysfs";

/** errno number → name (ENOTTY, ...), from Node's table. */
export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

function getField(buf: Buffer, f: FieldLayout, index = 0): number {
  const at = f.offset + 4 * index;
  if (f.type === 'i32') return LE ? buf.readInt32LE(at) : buf.readInt32BE(at);
  return LE ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
}

function setField(buf: Buffer, f: FieldLayout, value: number, index = 0): void {
  const at = f.offset + 4 * index;
  if (f.type === 'i32') {
    if (LE) buf.writeInt32LE(value | 0, at);
    else buf.writeInt32BE(value | 0, at);
  } else if (LE) buf.writeUInt32LE(value >>> 0, at);
  else buf.writeUInt32BE(value >>> 0, at);
}

/** One ioctl ready to issue: its number, struct layout and the buffer reused for every call. */
interface Request {
  readonly name: MstIoctlName;
  readonly number: number;
  readonly layout: StructLayout;
  readonly buf: Buffer;
}

/** Map an open(2) failure to a typed error. */
function openError(path: string, errno: number): Fs3BurnError {
  const name = errnoName(errno);
  const data = { device: path, errno: name };
  switch (name) {
    case 'ENOENT':
      return new Fs3BurnError('DEVICE_NOT_FOUND', `no such mst device: ${path} does not exist`, {
        hint:
          'load the mstflint driver (modprobe mstflint_access) or run `mst start`, then list the devices ' +
          'with `fs3burn devices`; or name the card by its PCI address',
        data,
      });
    case 'ENODEV':
    case 'ENXIO':
      return new Fs3BurnError('DEVICE_NOT_FOUND', `${path}: no device behind this node (${name})`, {
        hint: 'the card or its driver is gone: check `fs3burn devices`',
        data,
      });
    case 'EACCES':
    case 'EPERM':
      return new Fs3BurnError('DEVICE_PERMISSION_DENIED', `${path}: permission denied (${name})`, { hint: ROOT_HINT, data });
    case 'EISDIR':
      return new Fs3BurnError('DEVICE_NOT_MST', `${path} is a directory, not an mst device`, { hint: MST_HINT, data });
    default:
      return new Fs3BurnError('DEVICE_IO_FAILED', `${path}: cannot open (${name})`, { data });
  }
}

/** An mst driver character device. Create with {@link openMstDevice}. */
export class MstDevice implements AddressSpaceAccess {
  readonly name: string;
  readonly path: string;
  readonly abi: MstAbi;
  private fd: number;
  private readonly libc: Libc;
  private readonly requests = new Map<MstIoctlName, Request>();
  private paramsCache: MstParams | undefined;

  /** @internal use {@link openMstDevice}. */
  constructor(path: string, fd: number, libc: Libc, abi: MstAbi) {
    this.name = path;
    this.path = path;
    this.fd = fd;
    this.libc = libc;
    this.abi = abi;
  }

  /** MST_PARAMS as read at open (or on first use when opened with `probe: false`). */
  get params(): MstParams {
    this.paramsCache ??= this.queryParams();
    return this.paramsCache;
  }

  /** The PCI function behind the device, from MST_PARAMS. */
  get pciAddress(): PciAddress {
    const p = this.params;
    return { domain: p.domain, bus: p.bus, device: p.slot, func: p.func };
  }

  /** Issue MST_PARAMS now. */
  queryParams(): MstParams {
    const rq = this.request('MST_PARAMS');
    rq.buf.fill(0);
    this.issue(rq, 'MST_PARAMS');
    const out: Record<string, number> = {};
    for (const [key, cname] of Object.entries(PARAM_FIELDS)) {
      const f = rq.layout.fields[cname];
      out[key] = f ? getField(rq.buf, f) : 0;
    }
    this.paramsCache = out as unknown as MstParams;
    return this.paramsCache;
  }

  readSpace32(space: number, offset: number): number {
    this.check(space, offset, 1);
    const rq = this.request('PCICONF_READ4');
    rq.buf.fill(0);
    setField(rq.buf, this.field(rq, 'address_space'), space);
    setField(rq.buf, this.field(rq, 'offset'), offset);
    this.issue(rq, `read of space ${hex(space)} offset ${hex(offset)}`);
    return getField(rq.buf, this.field(rq, 'data'));
  }

  writeSpace32(space: number, offset: number, value: number): void {
    this.check(space, offset, 1);
    checkValue(this.name, value);
    const rq = this.request('PCICONF_WRITE4');
    rq.buf.fill(0);
    setField(rq.buf, this.field(rq, 'address_space'), space);
    setField(rq.buf, this.field(rq, 'offset'), offset);
    setField(rq.buf, this.field(rq, 'data'), value);
    this.issue(rq, `write of space ${hex(space)} offset ${hex(offset)}`);
  }

  readSpaceBlock(space: number, offset: number, dwords: number): Uint32Array {
    this.check(space, offset, dwords);
    const rq = this.request('PCICONF_READ4_BUFFER');
    const data = this.field(rq, 'data');
    const max = Math.min(this.abi.blockDwords, data.count ?? 1);
    const out = new Uint32Array(dwords);
    for (let done = 0; done < dwords; ) {
      const n = Math.min(max, dwords - done);
      const at = offset + 4 * done;
      rq.buf.fill(0);
      setField(rq.buf, this.field(rq, 'address_space'), space);
      setField(rq.buf, this.field(rq, 'offset'), at);
      setField(rq.buf, this.field(rq, 'size'), this.abi.blockSizeUnit === 'bytes' ? 4 * n : n);
      this.issue(rq, `block read of space ${hex(space)} offset ${hex(at)} (${n} dwords)`);
      for (let i = 0; i < n; i++) out[done + i] = getField(rq.buf, data, i);
      done += n;
    }
    return out;
  }

  writeSpaceBlock(space: number, offset: number, values: ArrayLike<number>): void {
    this.check(space, offset, values.length);
    for (let i = 0; i < values.length; i++) checkValue(this.name, values[i]!);
    const rq = this.request('PCICONF_WRITE4_BUFFER');
    const data = this.field(rq, 'data');
    const max = Math.min(this.abi.blockDwords, data.count ?? 1);
    for (let done = 0; done < values.length; ) {
      const n = Math.min(max, values.length - done);
      const at = offset + 4 * done;
      rq.buf.fill(0);
      setField(rq.buf, this.field(rq, 'address_space'), space);
      setField(rq.buf, this.field(rq, 'offset'), at);
      setField(rq.buf, this.field(rq, 'size'), this.abi.blockSizeUnit === 'bytes' ? 4 * n : n);
      for (let i = 0; i < n; i++) setField(rq.buf, data, values[done + i]!, i);
      this.issue(rq, `block write of space ${hex(space)} offset ${hex(at)} (${n} dwords)`);
      done += n;
    }
  }

  /**
   * Read a VPD dword (VPD_READ4). `timeoutMs` is passed to the driver; 2000 is this
   * library's choice, not a value from the facts.
   */
  vpdRead32(offset: number, timeoutMs = 2000): number {
    this.checkVpd(offset);
    const rq = this.request('VPD_READ4');
    rq.buf.fill(0);
    setField(rq.buf, this.field(rq, 'offset'), offset);
    setField(rq.buf, this.field(rq, 'timeout_ms'), timeoutMs);
    this.issue(rq, `VPD read at ${hex(offset)}`);
    return getField(rq.buf, this.field(rq, 'data'));
  }

  /** Write a VPD dword (VPD_WRITE4); see {@link vpdRead32}. */
  vpdWrite32(offset: number, value: number, timeoutMs = 2000): void {
    this.checkVpd(offset);
    checkValue(this.name, value);
    const rq = this.request('VPD_WRITE4');
    rq.buf.fill(0);
    setField(rq.buf, this.field(rq, 'offset'), offset);
    setField(rq.buf, this.field(rq, 'timeout_ms'), timeoutMs);
    setField(rq.buf, this.field(rq, 'data'), value);
    this.issue(rq, `VPD write at ${hex(offset)}`);
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    this.libc.close(fd);
  }

  private liveFd(): number {
    if (this.fd < 0) {
      throw new Fs3BurnError('DEVICE_CLOSED', `${this.name}: the device was closed`, { data: { device: this.name } });
    }
    return this.fd;
  }

  private request(name: MstIoctlName): Request {
    let rq = this.requests.get(name);
    if (rq) return rq;
    const def = this.abi.ioctls[name];
    const layout = def ? this.abi.structs[def.struct] : undefined;
    if (!def || !layout) {
      throw new Fs3BurnError(
        'DEVICE_OP_UNSUPPORTED',
        `${this.name}: the ${this.abi.id} driver ABI has no ${name} request`,
        { data: { device: this.name, abi: this.abi.id, request: name } },
      );
    }
    rq = { name, number: def.number >>> 0, layout, buf: Buffer.alloc(layout.size) };
    this.requests.set(name, rq);
    return rq;
  }

  private field(rq: Request, name: string): FieldLayout {
    const f = rq.layout.fields[name];
    if (!f) {
      throw new Fs3BurnError('INTERNAL', `${this.abi.id} ABI: struct of ${rq.name} has no field ${name}`, {
        data: { abi: this.abi.id, request: rq.name, field: name },
      });
    }
    return f;
  }

  private issue(rq: Request, what: string): void {
    const fd = this.liveFd();
    const r = this.libc.ioctl(fd, rq.number, rq.buf);
    if (r < 0) throw this.ioctlError(rq, what, -r);
  }

  private ioctlError(rq: Request, what: string, errno: number): Fs3BurnError {
    const name = errnoName(errno);
    const data = { device: this.name, request: rq.name, number: hex(rq.number), errno: name, abi: this.abi.id };
    const req = `${rq.name} (${hex(rq.number)})`;
    switch (name) {
      case 'ENOTTY':
        return new Fs3BurnError(
          'DEVICE_NOT_MST',
          `${this.name} is not an mst device: it does not know the ${this.abi.id} driver's ioctl ${req} (ENOTTY)`,
          { hint: MST_HINT, data },
        );
      case 'EACCES':
      case 'EPERM':
        return new Fs3BurnError('DEVICE_PERMISSION_DENIED', `${this.name}: ${what} was refused (${name})`, {
          hint: ROOT_HINT,
          data,
        });
      case 'ENODEV':
      case 'ENXIO':
      case 'ENOENT':
        return new Fs3BurnError('DEVICE_NOT_FOUND', `${this.name}: the device is gone (${what}: ${name})`, {
          hint: 'the card may have been removed or reset: check `fs3burn devices`',
          data,
        });
      default:
        return new Fs3BurnError('DEVICE_IO_FAILED', `${this.name}: ${what} failed: ioctl ${req} returned ${name}`, {
          data,
        });
    }
  }

  private check(space: number, offset: number, dwords: number): void {
    if (!Number.isInteger(space) || space < 0 || space > MAX_ADDRESS_SPACE) {
      throw new Fs3BurnError('DEVICE_OFFSET_INVALID', `${this.name}: address space ${String(space)} is not 0..0xffff`, {
        data: { device: this.name, space },
      });
    }
    if (
      !Number.isInteger(offset) ||
      offset < 0 ||
      (offset & 3) !== 0 ||
      !Number.isInteger(dwords) ||
      dwords < 0 ||
      offset + 4 * dwords - 1 > MAX_SPACE_OFFSET
    ) {
      throw new Fs3BurnError(
        'DEVICE_OFFSET_INVALID',
        `${this.name}: offset ${String(offset)} (${String(dwords)} dwords) is invalid: it must be a multiple of 4 within 0..${hex(MAX_SPACE_OFFSET)}`,
        { data: { device: this.name, space, offset, dwords } },
      );
    }
  }

  private checkVpd(offset: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset > 0x7ffc || (offset & 3) !== 0) {
      throw new Fs3BurnError('DEVICE_OFFSET_INVALID', `${this.name}: VPD offset ${String(offset)} is invalid`, {
        data: { device: this.name, offset },
      });
    }
  }
}

function checkValue(name: string, value: number): void {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
    throw new Fs3BurnError('INTERNAL', `${name}: value ${String(value)} is not a 32-bit integer`, {
      data: { device: name, value },
    });
  }
}

/**
 * Open an mst driver device node (`/dev/mst/NAME`, `/dev/DDDD:BB:DD.F_mstconf`). The path is
 * opened as given: validate user input with parseDeviceName first (openDevice does).
 * Refuses anything that is not a character device without issuing an ioctl to it, then
 * (unless `probe: false`) issues MST_PARAMS. Throws DEVICE_NOT_FOUND, DEVICE_PERMISSION_DENIED,
 * DEVICE_NOT_MST, DEVICE_FFI_UNAVAILABLE, DEVICE_IO_FAILED.
 */
export async function openMstDevice(path: string, opts: MstOpenOptions = {}): Promise<MstDevice> {
  const abi = opts.abi ?? MSTFLINT_ABI;
  const problems = checkAbi(abi);
  if (problems.length > 0) {
    throw new Fs3BurnError('INTERNAL', `mst driver ABI table ${abi.id} is inconsistent: ${problems.join('; ')}`, {
      data: { abi: abi.id, problems },
    });
  }
  if (path.includes('\0')) {
    throw new Fs3BurnError('DEVICE_NAME_INVALID', `invalid mst device path ${JSON.stringify(path)}: it contains a NUL byte`);
  }
  const libc = opts.libc ?? (await loadLibc());
  const fd = libc.open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) throw openError(path, -fd);
  let ok = false;
  try {
    let isChar: boolean;
    try {
      isChar = fstatSync(fd).isCharacterDevice();
    } catch {
      isChar = true; // cannot tell: let the driver answer the ioctl
    }
    if (!isChar) {
      throw new Fs3BurnError('DEVICE_NOT_MST', `${path} is not an mst device: it is not a character device`, {
        hint: MST_HINT,
        data: { device: path },
      });
    }
    const dev = new MstDevice(path, fd, libc, abi);
    if (opts.probe !== false) dev.queryParams();
    ok = true;
    return dev;
  } finally {
    if (!ok) libc.close(fd);
  }
}
