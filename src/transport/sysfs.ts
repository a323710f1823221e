/**
 * The sysfs transport: PCI configuration space through `/sys/bus/pci/devices/D:B:D.F/config`
 * (fs3-facts.md §5.1). Each access is one synchronous positioned read or write of exactly
 * 4 bytes, little-endian, as mstflint's READ4_PCI / WRITE4_PCI do with pread/pwrite.
 *
 * Why synchronous and why one buffer: the kernel spends ~17 µs per dword; fs.readSync with
 * a reused 4-byte Buffer adds almost nothing, while a promise-based handle adds ~30 µs per
 * call (thread-pool round trip). The VSEC protocol above issues thousands of dwords per
 * flash block, so the transport is sync by contract (transport/types.ts).
 *
 * What the kernel does that shows up here (docs/transports.md):
 * - the file is root-owned, mode 0644: a normal user can open it read-only only, and then
 *   reads past byte 64 come back short (the kernel gives the full space only to openers with
 *   CAP_SYS_ADMIN) → DEVICE_CONFIG_TRUNCATED;
 * - the file's size is the function's config size: 256 (conventional PCI) or 4096 (PCIe);
 * - under kernel lockdown (Secure Boot) writes fail with EPERM → DEVICE_LOCKDOWN.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Fs3BurnError } from '../errors.js';
import { formatPciAddress, parseDeviceName, type PciAddress } from './device-name.js';
import type { PciConfigTransport } from './types.js';

export const SYSFS_PCI_DEVICES = '/sys/bus/pci/devices';
export const LOCKDOWN_FILE = '/sys/kernel/security/lockdown';
/** PCI vendor ID of Mellanox / NVIDIA networking. */
export const MELLANOX_VENDOR_ID = 0x15b3;
/** The largest config space (PCIe extended): offsets 0..4095. */
export const CONFIG_SPACE_MAX = 4096;
/** Bytes of config space the kernel shows to openers without CAP_SYS_ADMIN (type-0 header). */
export const UNPRIVILEGED_CONFIG_BYTES = 64;

const ROOT_HINT = 'run fs3burn as root (sudo): PCI config space is readable and writable only by root';
const FIND_HINT = 'check the address with lspci or `fs3burn devices`';

export interface SysfsOpenOptions {
  /** Open read-only on purpose: reads work, writes throw DEVICE_READ_ONLY. */
  readOnly?: boolean;
  /** The sysfs PCI devices directory; tests point it elsewhere. Default /sys/bus/pci/devices. */
  sysfsRoot?: string;
  /** The kernel lockdown file consulted when a write is refused. */
  lockdownFile?: string;
}

function errCode(e: unknown): string | undefined {
  const c = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}

/**
 * The active kernel lockdown mode (`none`, `integrity`, `confidentiality`), or undefined
 * when the kernel has no lockdown LSM (the file is missing) or it cannot be read.
 */
export function readLockdownMode(file: string = LOCKDOWN_FILE): string | undefined {
  try {
    const m = /\[([a-z]+)\]/.exec(readFileSync(file, 'utf8'));
    return m?.[1];
  } catch {
    return undefined;
  }
}

function offsetError(name: string, offset: number): Fs3BurnError {
  return new Fs3BurnError(
    'DEVICE_OFFSET_INVALID',
    `${name}: config-space offset ${String(offset)} is invalid: it must be a multiple of 4 from 0 to ${CONFIG_SPACE_MAX - 4}`,
    { data: { device: name, offset } },
  );
}

function checkValue(name: string, value: number): number {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
    throw new Fs3BurnError('INTERNAL', `${name}: value ${String(value)} is not a 32-bit integer`, {
      data: { device: name, value },
    });
  }
  return value >>> 0;
}

/** A PCI function's config space through sysfs. Create with {@link openSysfsTransport}. */
export class SysfsConfigTransport implements PciConfigTransport {
  readonly name: string;
  readonly address: PciAddress;
  /** The `config` file. */
  readonly path: string;
  /** Size of this function's config space as sysfs reports it: 256 or 4096. */
  readonly size: number;
  /** False when opened read-only (on request, or because read-write was refused). */
  readonly writable: boolean;
  /** Why the handle is read-only, for the DEVICE_READ_ONLY message. */
  readonly readOnlyReason?: string;
  private fd: number;
  /** The one buffer every access goes through: no allocation per dword. */
  private readonly buf = Buffer.alloc(4);
  private readonly lockdownFile: string;

  /** @internal use {@link openSysfsTransport}. */
  constructor(
    address: PciAddress,
    path: string,
    fd: number,
    writable: boolean,
    readOnlyReason: string | undefined,
    lockdownFile: string,
  ) {
    this.address = address;
    this.name = formatPciAddress(address);
    this.path = path;
    this.fd = fd;
    this.writable = writable;
    if (readOnlyReason !== undefined) this.readOnlyReason = readOnlyReason;
    this.lockdownFile = lockdownFile;
    let size = CONFIG_SPACE_MAX;
    try {
      const st = fstatSync(fd);
      if (st.size > 0 && st.size < CONFIG_SPACE_MAX) size = st.size;
    } catch {
      // keep the maximum: reads past the end then come back short and are reported as such
    }
    this.size = size;
  }

  private liveFd(): number {
    if (this.fd < 0) {
      throw new Fs3BurnError('DEVICE_CLOSED', `${this.name}: the device was closed`, { data: { device: this.name } });
    }
    return this.fd;
  }

  private checkOffset(offset: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset > CONFIG_SPACE_MAX - 4 || (offset & 3) !== 0) {
      throw offsetError(this.name, offset);
    }
    if (offset + 4 > this.size) {
      throw new Fs3BurnError(
        'DEVICE_OFFSET_OUT_OF_RANGE',
        `${this.name}: offset 0x${offset.toString(16)} is past the end of this function's ${this.size}-byte config space` +
          ' (conventional PCI functions have 256 bytes, PCIe functions 4096)',
        { data: { device: this.name, offset, size: this.size } },
      );
    }
  }

  read32(offset: number): number {
    const fd = this.liveFd();
    this.checkOffset(offset);
    let n: number;
    try {
      n = readSync(fd, this.buf, 0, 4, offset);
    } catch (e) {
      throw this.ioError('read', offset, e);
    }
    if (n !== 4) throw this.shortRead(offset, n);
    return this.buf.readUInt32LE(0);
  }

  write32(offset: number, value: number): void {
    const fd = this.liveFd();
    this.checkOffset(offset);
    const v = checkValue(this.name, value);
    if (!this.writable) {
      throw new Fs3BurnError(
        'DEVICE_READ_ONLY',
        `${this.name}: cannot write config space: the device is open read-only (${this.readOnlyReason ?? 'opened read-only'})`,
        {
          ...(this.readOnlyReason?.includes('root') ? { hint: ROOT_HINT } : {}),
          data: { device: this.name, offset },
        },
      );
    }
    this.buf.writeUInt32LE(v, 0);
    let n: number;
    try {
      n = writeSync(fd, this.buf, 0, 4, offset);
    } catch (e) {
      throw this.ioError('write', offset, e);
    }
    if (n !== 4) {
      throw new Fs3BurnError(
        'DEVICE_IO_FAILED',
        `${this.name}: short write at config offset 0x${offset.toString(16)}: ${n} of 4 bytes written`,
        { data: { device: this.name, offset, bytes: n } },
      );
    }
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      closeSync(fd);
    } catch {
      // nothing useful to do: the handle is gone either way
    }
  }

  private shortRead(offset: number, n: number): Fs3BurnError {
    const data = { device: this.name, offset, bytes: n, path: this.path };
    if (offset + 4 > UNPRIVILEGED_CONFIG_BYTES) {
      return new Fs3BurnError(
        'DEVICE_CONFIG_TRUNCATED',
        `${this.name}: config read at offset 0x${offset.toString(16)} returned ${n} of 4 bytes: the kernel shows only the ` +
          `first ${UNPRIVILEGED_CONFIG_BYTES} bytes of config space to processes without CAP_SYS_ADMIN ` +
          '(not root, or root inside a container)',
        { hint: ROOT_HINT, data },
      );
    }
    return new Fs3BurnError(
      'DEVICE_IO_FAILED',
      `${this.name}: short config read at offset 0x${offset.toString(16)}: ${n} of 4 bytes`,
      { data },
    );
  }

  private ioError(op: 'read' | 'write', offset: number, e: unknown): Fs3BurnError {
    const code = errCode(e);
    const data = { device: this.name, offset, errno: code ?? null, path: this.path };
    const at = `config ${op} at offset 0x${offset.toString(16)}`;
    if (op === 'write' && (code === 'EPERM' || code === 'EIO')) {
      const mode = readLockdownMode(this.lockdownFile);
      if (mode !== undefined && mode !== 'none') {
        return new Fs3BurnError(
          'DEVICE_LOCKDOWN',
          `${this.name}: the kernel refused a ${at} (${code}): kernel lockdown is active (${this.lockdownFile}: ${mode}), ` +
            'which forbids user-space writes to PCI config space',
          {
            hint:
              'lockdown is usually switched on by Secure Boot: use the mstflint kernel driver (/dev/mst), ' +
              'or boot without lockdown (disable Secure Boot or pass lockdown=none where the kernel allows it)',
            data: { ...data, lockdown: mode },
            cause: e,
          },
        );
      }
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return new Fs3BurnError('DEVICE_PERMISSION_DENIED', `${this.name}: ${at} was refused (${code})`, {
        hint: ROOT_HINT,
        data,
        cause: e,
      });
    }
    if (code === 'ENODEV' || code === 'ENOENT' || code === 'ENXIO') {
      return new Fs3BurnError('DEVICE_NOT_FOUND', `${this.name}: the PCI function is gone (${at}: ${code})`, {
        hint: `${FIND_HINT}; the device may have been removed or reset`,
        data,
        cause: e,
      });
    }
    return new Fs3BurnError('DEVICE_IO_FAILED', `${this.name}: ${at} failed: ${(e as Error)?.message ?? String(e)}`, {
      data,
      cause: e,
    });
  }
}

function toAddress(device: string | PciAddress): PciAddress {
  if (typeof device !== 'string') {
    const { domain, bus, device: slot, func } = device;
    const ok =
      Number.isInteger(domain) && domain >= 0 && domain <= 0xffffffff &&
      Number.isInteger(bus) && bus >= 0 && bus <= 0xff &&
      Number.isInteger(slot) && slot >= 0 && slot <= 0x1f &&
      Number.isInteger(func) && func >= 0 && func <= 7;
    if (!ok) {
      throw new Fs3BurnError('DEVICE_NAME_INVALID', `invalid PCI address ${JSON.stringify(device)}`, {
        data: { address: { domain, bus, device: slot, func } },
      });
    }
    return { domain, bus, device: slot, func };
  }
  const name = parseDeviceName(device);
  if (name.kind !== 'pci') {
    throw new Fs3BurnError(
      'DEVICE_NAME_INVALID',
      `${JSON.stringify(device)} is not a PCI address: the sysfs transport takes DDDD:BB:DD.F or /sys/bus/pci/devices/DDDD:BB:DD.F`,
      { data: { input: device, kind: name.kind } },
    );
  }
  return name.address;
}

/**
 * Open a PCI function's config space. `device` is a PCI address (`0000:03:00.0`, `03:00.0`,
 * the sysfs path) or a {@link PciAddress}. Opens read-write; when that is refused (not root)
 * falls back to read-only, so reads of the first 64 bytes work and writes throw
 * DEVICE_READ_ONLY. Throws DEVICE_NOT_FOUND, DEVICE_PERMISSION_DENIED, DEVICE_IO_FAILED.
 */
export function openSysfsTransport(device: string | PciAddress, opts: SysfsOpenOptions = {}): SysfsConfigTransport {
  const address = toAddress(device);
  const name = formatPciAddress(address);
  const root = opts.sysfsRoot ?? SYSFS_PCI_DEVICES;
  const path = join(root, name, 'config');
  const lockdownFile = opts.lockdownFile ?? LOCKDOWN_FILE;

  const fail = (e: unknown, mode: string): Fs3BurnError => {
    const code = errCode(e);
    const data = { device: name, path, errno: code ?? null };
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return new Fs3BurnError('DEVICE_NOT_FOUND', `no PCI function ${name} (${path} does not exist)`, {
        hint: FIND_HINT,
        data,
        cause: e,
      });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return new Fs3BurnError('DEVICE_PERMISSION_DENIED', `${name}: cannot open ${path} ${mode} (${code})`, {
        hint: ROOT_HINT,
        data,
        cause: e,
      });
    }
    return new Fs3BurnError('DEVICE_IO_FAILED', `${name}: cannot open ${path}: ${(e as Error)?.message ?? String(e)}`, {
      data,
      cause: e,
    });
  };

  if (!opts.readOnly) {
    try {
      const fd = openSync(path, 'r+');
      return new SysfsConfigTransport(address, path, fd, true, undefined, lockdownFile);
    } catch (e) {
      const code = errCode(e);
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw fail(e, 'read-write');
      try {
        const fd = openSync(path, 'r');
        const why =
          code === 'EROFS'
            ? 'the file system is read-only'
            : `opening read-write was refused (${code}): writing config space needs root`;
        return new SysfsConfigTransport(address, path, fd, false, why, lockdownFile);
      } catch (e2) {
        throw fail(e2, 'read-only');
      }
    }
  }
  try {
    const fd = openSync(path, 'r');
    return new SysfsConfigTransport(address, path, fd, false, 'opened read-only on request', lockdownFile);
  } catch (e) {
    throw fail(e, 'read-only');
  }
}

/** One PCI function as listed by {@link listPciFunctions}. */
export interface PciFunctionInfo {
  /** Canonical `dddd:bb:dd.f`. */
  readonly name: string;
  readonly address: PciAddress;
  readonly vendor: number;
  readonly device: number;
  /** 24-bit class code (class, subclass, prog-if), e.g. 0x020000 for Ethernet. */
  readonly classCode?: number;
  readonly subsystemVendor?: number;
  readonly subsystemDevice?: number;
  /** The bound kernel driver (e.g. mlx5_core), if any. */
  readonly driver?: string;
  /** The sysfs `config` file. */
  readonly configPath: string;
}

function readHex(dir: string, file: string): number | undefined {
  try {
    const t = readFileSync(join(dir, file), 'utf8').trim();
    if (!/^0x[0-9a-fA-F]+$/.test(t)) return undefined;
    return parseInt(t.slice(2), 16);
  } catch {
    return undefined;
  }
}

/**
 * The PCI functions under /sys/bus/pci/devices, sorted by address; with `vendor`, only that
 * vendor's (`fs3burn devices` lists vendor 0x15B3). No sysfs (not Linux, or not mounted)
 * gives an empty list. Functions that vanish while being read are left out.
 */
export function listPciFunctions(opts: { vendor?: number; sysfsRoot?: string } = {}): PciFunctionInfo[] {
  const root = opts.sysfsRoot ?? SYSFS_PCI_DEVICES;
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch (e) {
    const code = errCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new Fs3BurnError('DEVICE_IO_FAILED', `cannot list ${root}: ${(e as Error)?.message ?? String(e)}`, {
      data: { path: root, errno: code ?? null },
      cause: e,
    });
  }
  const out: PciFunctionInfo[] = [];
  for (const entry of entries) {
    let name;
    try {
      name = parseDeviceName(entry);
    } catch {
      continue;
    }
    if (name.kind !== 'pci' || name.canonical !== entry) continue;
    const dir = join(root, entry);
    const vendor = readHex(dir, 'vendor');
    const device = readHex(dir, 'device');
    if (vendor === undefined || device === undefined) continue;
    if (opts.vendor !== undefined && vendor !== opts.vendor) continue;
    const info: {
      -readonly [K in keyof PciFunctionInfo]: PciFunctionInfo[K];
    } = { name: entry, address: name.address, vendor, device, configPath: join(dir, 'config') };
    const classCode = readHex(dir, 'class');
    if (classCode !== undefined) info.classCode = classCode;
    const sv = readHex(dir, 'subsystem_vendor');
    if (sv !== undefined) info.subsystemVendor = sv;
    const sd = readHex(dir, 'subsystem_device');
    if (sd !== undefined) info.subsystemDevice = sd;
    try {
      info.driver = basename(readlinkSync(join(dir, 'driver')));
    } catch {
      // no driver bound
    }
    out.push(info);
  }
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}
