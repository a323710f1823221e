/**
 * openDevice: from a PciConfigTransport (or an AddressSpaceAccess such as a /dev/mst
 * device) to a Device. Finds the VSEC (§5.2), decides whether ICMD is usable (needs the
 * VSEC with the ICMD space, and FW not in livefish: PCI id ≠ HW id, §6.1 / §7), and wires
 * ICMD → registers. The flash method is chosen on first flash use (§4.1).
 */
import { IcmdInterface } from '../icmd/icmd.js';
import { RegisterAccess } from '../registers/access.js';
import { readHwId } from '../registers/cr-space.js';
import type { AddressSpaceAccess } from '../transport/mst/address-space.js';
import type { PciConfigTransport } from '../transport/types.js';
import { Space } from '../vsec/constants.js';
import { openSpaceAccess } from '../vsec/open.js';
import { Device, type DeviceParts } from './device.js';
import type { DeviceOptions } from './types.js';

function isConfigTransport(t: PciConfigTransport | AddressSpaceAccess): t is PciConfigTransport {
  return typeof (t as PciConfigTransport).read32 === 'function';
}

export function openDevice(transport: PciConfigTransport | AddressSpaceAccess, opts: DeviceOptions = {}): Device {
  let parts: DeviceParts;
  let icmdPossible: string | undefined;
  let commandScope: (<T>(fn: () => T) => T) | undefined;
  let sleepScope: (<T>(fn: () => T) => T) | undefined;
  if (isConfigTransport(transport)) {
    const opened = openSpaceAccess(transport, {
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.vsec?.semRetries !== undefined ? { semRetries: opts.vsec.semRetries } : {}),
      ...(opts.vsec?.flagPolls !== undefined ? { flagPolls: opts.vsec.flagPolls } : {}),
      ...(opts.forceLegacy ? { forceLegacy: true } : {}),
    });
    const id = transport.read32(0) >>> 0; // config dword 0: vendor 15:0, device 31:16
    opened.configCounts.reads++;
    parts = {
      name: transport.name,
      access: opened.access,
      accessMode: opened.mode,
      pciVendorId: id & 0xffff,
      pciDeviceId: id >>> 16,
      configCounts: opened.configCounts,
      vsecStats: opened.vsecStats,
    };
    if (opened.mode !== 'vsec') icmdPossible = `config access uses the legacy CR gateway (${opened.legacyReason})`;
    else if (!opened.supportedSpaces.has(Space.ICMD)) icmdPossible = 'the VSEC does not support the ICMD address space (3)';
    if (opened.vsec && opts.icmd?.holdVsecPerCommand) {
      // one VSEC hold per ICMD session (§5.3 block access: one lock for a whole buffer),
      // let go while the busy poll sleeps
      const v = opened.vsec;
      commandScope = (fn) => v.exclusive(fn);
      sleepScope = (fn) => v.released(fn);
    }
  } else {
    parts = { name: transport.name, access: transport, accessMode: 'address-space' };
  }
  if (icmdPossible === undefined && parts.pciDeviceId !== undefined) {
    const hw = readHwId(parts.access);
    if (!hw.locked && hw.hwId === parts.pciDeviceId) icmdPossible = `livefish: PCI device id equals the HW id (0x${hw.hwId.toString(16)})`;
  }
  if (icmdPossible === undefined) {
    const icmd = new IcmdInterface(parts.access, {
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.ownerId !== undefined ? { ownerId: opts.ownerId } : {}),
      ...(opts.icmd?.pollBudget !== undefined ? { pollBudget: opts.icmd.pollBudget } : {}),
      ...(opts.icmd?.maxPollSleepMs !== undefined ? { maxPollSleepMs: opts.icmd.maxPollSleepMs } : {}),
      ...(opts.icmd?.semaphoreTries !== undefined ? { semaphoreTries: opts.icmd.semaphoreTries } : {}),
      ...(commandScope ? { commandScope } : {}),
      ...(sleepScope ? { sleepScope } : {}),
      ...(opts.icmd?.sessions ? { sessions: true } : {}),
    });
    parts.icmd = icmd;
    parts.regs = new RegisterAccess(icmd, {
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.registers?.busyRetries !== undefined ? { busyRetries: opts.registers.busyRetries } : {}),
      ...(opts.registers?.busyRetryDelayMs !== undefined ? { busyRetryDelayMs: opts.registers.busyRetryDelayMs } : {}),
    });
  } else {
    parts.icmdUnavailableReason = icmdPossible;
  }
  return new Device(parts, opts);
}
