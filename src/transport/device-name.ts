/**
 * Device names: what `-d/--device` accepts, parsed and strictly validated before anything
 * touches the file system. Three kinds:
 *
 * - `pci`: a PCI function, opened through its sysfs `config` file (fs3-facts.md §5.1).
 *   Written `DDDD:BB:DD.F` or `BB:DD.F` (domain 0000), hex in either case, or as the sysfs
 *   path `/sys/bus/pci/devices/DDDD:BB:DD.F` (optionally ending in `/config`).
 * - `mst`: a character device of the mst kernel driver: `/dev/mst/NAME` (MFT's naming, e.g.
 *   `/dev/mst/mt4117_pciconf0`) or the mstflint driver's own `/dev/DDDD:BB:DD.F_mstconf` (§5.1).
 * - `sim`: `sim:SPEC`; SPEC is kept as written and left to the simulator to judge.
 *
 * Anything else (relative paths, `..`, other /sys or /dev paths, NUL bytes, white space) is a
 * DEVICE_NAME_INVALID error whose message lists the accepted forms. The parser never trims
 * or rewrites the input: what is opened is exactly what was validated.
 */
import { Fs3BurnError } from '../errors.js';

/** One PCI function. `device` is the slot (0..0x1f), `func` the function (0..7). */
export interface PciAddress {
  readonly domain: number;
  readonly bus: number;
  readonly device: number;
  readonly func: number;
}

export type DeviceName =
  | {
      readonly kind: 'pci';
      readonly input: string;
      readonly address: PciAddress;
      /** Canonical `dddd:bb:dd.f`, lower case: the sysfs directory name. */
      readonly canonical: string;
    }
  | {
      readonly kind: 'mst';
      readonly input: string;
      /** The character device to open; equal to the input. */
      readonly path: string;
      /** Set for `/dev/DDDD:BB:DD.F_mstconf`, whose name carries the address. */
      readonly address?: PciAddress;
    }
  | {
      readonly kind: 'sim';
      readonly input: string;
      /** Everything after `sim:`, unchanged. */
      readonly spec: string;
    };

export type DeviceKind = DeviceName['kind'];

/** The accepted forms, as printed in every DEVICE_NAME_INVALID message. */
export const ACCEPTED_DEVICE_FORMS =
  'a PCI address DDDD:BB:DD.F or BB:DD.F (e.g. 0000:03:00.0 or 03:00.0), ' +
  '/sys/bus/pci/devices/DDDD:BB:DD.F[/config], /dev/mst/NAME (NAME of letters, digits and _ . : -), ' +
  '/dev/DDDD:BB:DD.F_mstconf, or sim:SPEC';

const SYSFS_DEVICES = '/sys/bus/pci/devices/';
const MST_DIR = '/dev/mst/';
/** Linux NAME_MAX: a longer /dev/mst name cannot exist. */
const NAME_MAX = 255;
const MST_NAME = /^[A-Za-z0-9_.:-]+$/;
/** Loose shape; each part's width and range is then checked for a precise message. */
const PCI_SHAPE = /^(?:([0-9A-Fa-f]+):)?([0-9A-Fa-f]+):([0-9A-Fa-f]+)\.([0-9A-Fa-f]+)$/;

function invalid(input: string, reason: string): Fs3BurnError {
  return new Fs3BurnError(
    'DEVICE_NAME_INVALID',
    `invalid device name ${JSON.stringify(input)}: ${reason}. Accepted forms: ${ACCEPTED_DEVICE_FORMS}`,
    {
      hint: 'list the Mellanox functions with `fs3burn devices` or `lspci -D -d 15b3:`',
      data: { input, reason },
    },
  );
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** `dddd:bb:dd.f`, lower case, as sysfs and `lspci -D` print it. */
export function formatPciAddress(a: PciAddress): string {
  return `${hex(a.domain, 4)}:${hex(a.bus, 2)}:${hex(a.device, 2)}.${hex(a.func, 1)}`;
}

/**
 * Parse a PCI address. Returns a reason string instead of throwing so that callers can put
 * the whole input (e.g. a sysfs path) in the message.
 */
function parsePci(text: string): PciAddress | string {
  const m = PCI_SHAPE.exec(text);
  if (!m) return 'not a PCI address (DDDD:BB:DD.F)';
  const [, d, b, s, f] = m as unknown as [string, string | undefined, string, string, string];
  if (d !== undefined && d.length > 8) return `domain "${d}" has more than 8 hex digits`;
  if (b.length > 2) return `bus "${b}" is out of range (00-ff)`;
  if (s.length > 2 || parseInt(s, 16) > 0x1f) return `device "${s}" is out of range (00-1f)`;
  if (f.length > 1 || parseInt(f, 16) > 7) return `function "${f}" is out of range (0-7)`;
  return {
    domain: d === undefined ? 0 : parseInt(d, 16),
    bus: parseInt(b, 16),
    device: parseInt(s, 16),
    func: parseInt(f, 16),
  };
}

/** Parse `DDDD:BB:DD.F` or `BB:DD.F`; throws DEVICE_NAME_INVALID. */
export function parsePciAddress(text: string): PciAddress {
  const r = parsePci(text);
  if (typeof r === 'string') throw invalid(text, r);
  return r;
}

/** Parse and validate a device name (see the module comment); throws DEVICE_NAME_INVALID. */
export function parseDeviceName(input: string): DeviceName {
  if (typeof input !== 'string' || input.length === 0) throw invalid(String(input ?? ''), 'the name is empty');
  if (input.startsWith('sim:')) return { kind: 'sim', input, spec: input.slice(4) };
  if (input.includes('\0')) throw invalid(input, 'it contains a NUL byte');
  if (/\s/.test(input)) throw invalid(input, 'it contains white space');

  if (input.startsWith(MST_DIR)) {
    const name = input.slice(MST_DIR.length);
    if (name.length === 0) throw invalid(input, 'the /dev/mst name is empty');
    if (name.length > NAME_MAX) throw invalid(input, `the /dev/mst name is longer than ${NAME_MAX} characters`);
    if (!MST_NAME.test(name)) {
      throw invalid(input, 'a /dev/mst name may contain only letters, digits and _ . : - (no further "/")');
    }
    if (/^\.+$/.test(name)) throw invalid(input, 'a /dev/mst name cannot be made only of dots');
    return { kind: 'mst', input, path: input };
  }

  if (input.startsWith('/dev/') && input.endsWith('_mstconf')) {
    const addr = input.slice('/dev/'.length, -'_mstconf'.length);
    const r = parsePci(addr);
    if (typeof r === 'string') throw invalid(input, `/dev/..._mstconf must name a PCI address: ${r}`);
    // The driver names its nodes with the canonical address; anything else cannot exist.
    if (addr !== formatPciAddress(r)) {
      throw invalid(input, `the mstflint driver names this device /dev/${formatPciAddress(r)}_mstconf`);
    }
    return { kind: 'mst', input, path: input, address: r };
  }

  if (input.startsWith(SYSFS_DEVICES)) {
    let rest = input.slice(SYSFS_DEVICES.length);
    if (rest.endsWith('/config')) rest = rest.slice(0, -'/config'.length);
    else if (rest.endsWith('/')) rest = rest.slice(0, -1);
    if (rest.includes('/')) {
      throw invalid(input, 'a /sys path must be /sys/bus/pci/devices/DDDD:BB:DD.F or .../config, nothing more');
    }
    const r = parsePci(rest);
    if (typeof r === 'string') throw invalid(input, r);
    if (rest.toLowerCase() !== formatPciAddress(r)) {
      throw invalid(input, `sysfs names this function ${SYSFS_DEVICES}${formatPciAddress(r)}`);
    }
    return { kind: 'pci', input, address: r, canonical: formatPciAddress(r) };
  }

  if (input.includes('/')) {
    throw invalid(input, 'paths other than /sys/bus/pci/devices/... and /dev/mst/... are not accepted');
  }
  if (/^mt\d+_pci/.test(input)) {
    throw invalid(input, `an mst device is named by its full path, e.g. /dev/mst/${input}`);
  }
  const r = parsePci(input);
  if (typeof r === 'string') throw invalid(input, r);
  return { kind: 'pci', input, address: r, canonical: formatPciAddress(r) };
}
