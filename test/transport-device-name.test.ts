import { describe, expect, it } from 'vitest';
import { Fs3BurnError } from '../src/errors.js';
import {
  ACCEPTED_DEVICE_FORMS,
  formatPciAddress,
  parseDeviceName,
  parsePciAddress,
} from '../src/transport/device-name.js';

function rejects(input: string): Fs3BurnError {
  try {
    parseDeviceName(input);
  } catch (e) {
    expect(e).toBeInstanceOf(Fs3BurnError);
    return e as Fs3BurnError;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('device names: PCI addresses', () => {
  it.each([
    ['0000:03:00.0', '0000:03:00.0', { domain: 0, bus: 3, device: 0, func: 0 }],
    ['03:00.0', '0000:03:00.0', { domain: 0, bus: 3, device: 0, func: 0 }],
    ['0000:AF:1F.7', '0000:af:1f.7', { domain: 0, bus: 0xaf, device: 0x1f, func: 7 }],
    ['ff:1f.7', '0000:ff:1f.7', { domain: 0, bus: 0xff, device: 0x1f, func: 7 }],
    ['abcd:0a:0B.1', 'abcd:0a:0b.1', { domain: 0xabcd, bus: 0x0a, device: 0x0b, func: 1 }],
    ['10000:e1:00.0', '10000:e1:00.0', { domain: 0x10000, bus: 0xe1, device: 0, func: 0 }],
    ['3:0.1', '0000:03:00.1', { domain: 0, bus: 3, device: 0, func: 1 }],
    ['/sys/bus/pci/devices/0000:03:00.0', '0000:03:00.0', { domain: 0, bus: 3, device: 0, func: 0 }],
    ['/sys/bus/pci/devices/0000:03:00.0/', '0000:03:00.0', { domain: 0, bus: 3, device: 0, func: 0 }],
    ['/sys/bus/pci/devices/0000:03:00.0/config', '0000:03:00.0', { domain: 0, bus: 3, device: 0, func: 0 }],
  ])('accepts %s', (input, canonical, address) => {
    const n = parseDeviceName(input);
    expect(n).toEqual({ kind: 'pci', input, address, canonical });
    expect(formatPciAddress(address)).toBe(canonical);
  });

  it.each([
    ['0000:100:00.0', /bus "100" is out of range/],
    ['0000:00:20.0', /device "20" is out of range \(00-1f\)/],
    ['0000:00:1f.8', /function "8" is out of range \(0-7\)/],
    ['0000:00:00.00', /function "00"/],
    ['123456789:00:00.0', /domain .* more than 8 hex digits/],
    ['0000:0g:00.0', /not a PCI address/],
    ['0000:00:00', /not a PCI address/],
    ['00.0', /not a PCI address/],
    ['0000:00:00.0:1', /not a PCI address/],
    ['-1:00.0', /not a PCI address/],
    ['0x03:00.0', /not a PCI address/],
  ])('rejects %s', (input, reason) => {
    const e = rejects(input);
    expect(e.code).toBe('DEVICE_NAME_INVALID');
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(reason);
    expect(e.message).toContain(ACCEPTED_DEVICE_FORMS);
    expect(e.hint).toMatch(/fs3burn devices/);
  });

  it('parsePciAddress throws the same typed error', () => {
    expect(parsePciAddress('0000:05:00.1')).toEqual({ domain: 0, bus: 5, device: 0, func: 1 });
    expect(() => parsePciAddress('/sys/bus/pci/devices/0000:05:00.1')).toThrow(/not a PCI address/);
  });
});

describe('device names: /dev/mst and the mstflint driver nodes', () => {
  it.each(['/dev/mst/mt4117_pciconf0', '/dev/mst/mt4117_pciconf0.1', '/dev/mst/0000:03:00.0_mstconf', '/dev/mst/a-b_c.d:e'])(
    'accepts %s',
    (input) => {
      expect(parseDeviceName(input)).toEqual({ kind: 'mst', input, path: input });
    },
  );

  it('accepts /dev/DDDD:BB:DD.F_mstconf and keeps its address', () => {
    expect(parseDeviceName('/dev/0000:03:00.0_mstconf')).toEqual({
      kind: 'mst',
      input: '/dev/0000:03:00.0_mstconf',
      path: '/dev/0000:03:00.0_mstconf',
      address: { domain: 0, bus: 3, device: 0, func: 0 },
    });
  });

  it.each([
    ['/dev/mst/', /empty/],
    ['/dev/mst/..', /only of dots/],
    ['/dev/mst/.', /only of dots/],
    ['/dev/mst/../sda', /only letters, digits/],
    ['/dev/mst/sub/dir', /only letters, digits/],
    ['/dev/mst/a$b', /only letters, digits/],
    ['/dev/mst/é', /only letters, digits/],
    [`/dev/mst/${'a'.repeat(256)}`, /longer than 255/],
    ['/dev/03:00.0_mstconf', /names this device \/dev\/0000:03:00.0_mstconf/],
    ['/dev/0000:03:00.0_mstcr', /paths other than/],
    ['/dev/sda', /paths other than/],
    ['mt4117_pciconf0', /full path, e.g. \/dev\/mst\/mt4117_pciconf0/],
  ])('rejects %s', (input, reason) => {
    const e = rejects(input);
    expect(e.code).toBe('DEVICE_NAME_INVALID');
    expect(e.message).toMatch(reason);
  });
});

describe('device names: sim and malformed input', () => {
  it('recognises sim: names and keeps the rest untouched', () => {
    expect(parseDeviceName('sim:cx4lx@14.14.1100')).toEqual({
      kind: 'sim',
      input: 'sim:cx4lx@14.14.1100',
      spec: 'cx4lx@14.14.1100',
    });
    expect(parseDeviceName('sim:')).toEqual({ kind: 'sim', input: 'sim:', spec: '' });
    expect(parseDeviceName('sim:a b/../c').kind).toBe('sim');
  });

  it.each([
    ['', /empty/],
    ['0000:03:00.0\0', /NUL byte/],
    ['/dev/mst/mt4117\0_pciconf0', /NUL byte/],
    [' 0000:03:00.0', /white space/],
    ['0000:03:00.0 ', /white space/],
    ['/dev/mst/mt 4117', /white space/],
    ['0000:03:00.0\n', /white space/],
    ['../0000:03:00.0', /paths other than/],
    ['./03:00.0', /paths other than/],
    ['/sys/bus/pci/devices/0000:03:00.0/../0000:04:00.0', /nothing more/],
    ['/sys/bus/pci/devices/0000:03:00.0/resource0', /nothing more/],
    ['/sys/bus/pci/devices/0000:03:00.0/config/x', /nothing more/],
    ['/sys/bus/pci/devices/03:00.0', /sysfs names this function \/sys\/bus\/pci\/devices\/0000:03:00.0/],
    ['/sys/bus/pci/devices/../../../etc/passwd', /nothing more/],
    ['/sys/devices/pci0000:00/0000:00:03.0/config', /paths other than/],
    ['/etc/passwd', /paths other than/],
    ['SIM:cx4lx', /not a PCI address/],
    ['mlx5_0', /not a PCI address/],
  ])('rejects %j', (input, reason) => {
    const e = rejects(input);
    expect(e.code).toBe('DEVICE_NAME_INVALID');
    expect(e.message).toMatch(reason);
    expect(e.toJSON().data).toMatchObject({ input });
  });

  it('prints the rejected input quoted, so control characters cannot reach the terminal raw', () => {
    const e = rejects('03:00.0\x1b[2J');
    expect(e.message).toContain('"03:00.0\\u001b[2J"');
  });
});
