/**
 * The transports: the contract, device names, the sysfs transport and the /dev/mst driver.
 * `openDevice` turns a validated device name into what the layers above use:
 * - a PCI address → a PciConfigTransport over sysfs (the VSEC layer then gives address spaces);
 * - an mst device → an AddressSpaceAccess straight from the driver (no raw config access);
 * - `sim:...` → whatever the simulator factory passed in returns (this module does not
 *   import the simulator, so the library's real transports and the simulator stay apart).
 * Importing this module does not load koffi; opening an mst device does.
 */
import { Fs3BurnError } from '../errors.js';
import { parseDeviceName, type DeviceName } from './device-name.js';
import type { MstDevice, MstOpenOptions } from './mst/mst-transport.js';
import { openSysfsTransport, type SysfsConfigTransport, type SysfsOpenOptions } from './sysfs.js';
import type { PciConfigTransport } from './types.js';

export type { PciConfigTransport } from './types.js';
export {
  ACCEPTED_DEVICE_FORMS,
  formatPciAddress,
  parseDeviceName,
  parsePciAddress,
  type DeviceKind,
  type DeviceName,
  type PciAddress,
} from './device-name.js';
export {
  CONFIG_SPACE_MAX,
  LOCKDOWN_FILE,
  MELLANOX_VENDOR_ID,
  SYSFS_PCI_DEVICES,
  UNPRIVILEGED_CONFIG_BYTES,
  listPciFunctions,
  openSysfsTransport,
  readLockdownMode,
  SysfsConfigTransport,
  type PciFunctionInfo,
  type SysfsOpenOptions,
} from './sysfs.js';
export {
  AddressSpace,
  MAX_ADDRESS_SPACE,
  MAX_SPACE_OFFSET,
  type AddressSpaceAccess,
  type AddressSpaceId,
} from './mst/address-space.js';
export {
  IOC_GENERIC,
  MST_ABIS,
  MSTFLINT_ABI,
  checkAbi,
  decodeIoctl,
  encodeIoctl,
  type FieldLayout,
  type IocEncoding,
  type IoctlDef,
  type IoctlDir,
  type MstAbi,
  type MstIoctlName,
  type StructLayout,
} from './mst/abi.js';
export type { MstDevice, MstOpenOptions, MstParams } from './mst/mst-transport.js';

/** Open an mst driver device; loads koffi and the transport on first use. */
export async function openMstDevice(path: string, opts: MstOpenOptions = {}): Promise<MstDevice> {
  const mod = await import('./mst/mst-transport.js');
  return mod.openMstDevice(path, opts);
}

/** What {@link openTransport} returns. */
export type OpenedDevice =
  | { readonly kind: 'pci'; readonly name: DeviceName; readonly transport: SysfsConfigTransport }
  | { readonly kind: 'mst'; readonly name: DeviceName; readonly access: MstDevice }
  | { readonly kind: 'sim'; readonly name: DeviceName; readonly transport: PciConfigTransport };

export interface OpenDeviceOptions {
  sysfs?: SysfsOpenOptions;
  mst?: MstOpenOptions;
  /** Opens `sim:SPEC` names; without it a sim name is DEVICE_SIM_UNAVAILABLE. */
  simulator?: (spec: string, name: string) => PciConfigTransport | Promise<PciConfigTransport>;
}

/**
 * Validate `name` (parseDeviceName) and open it. Callers switch on `kind`: `pci` and `sim`
 * give a config-space transport, `mst` gives address-space access (see module comment).
 */
export async function openTransport(name: string, opts: OpenDeviceOptions = {}): Promise<OpenedDevice> {
  const parsed = parseDeviceName(name);
  switch (parsed.kind) {
    case 'pci':
      return { kind: 'pci', name: parsed, transport: openSysfsTransport(parsed.address, opts.sysfs) };
    case 'mst':
      return { kind: 'mst', name: parsed, access: await openMstDevice(parsed.path, opts.mst) };
    case 'sim': {
      if (!opts.simulator) {
        throw new Fs3BurnError('DEVICE_SIM_UNAVAILABLE', `${name}: simulated devices are not available here`, {
          hint: 'pass a simulator factory (OpenDeviceOptions.simulator) to open sim: devices',
          data: { input: name },
        });
      }
      return { kind: 'sim', name: parsed, transport: await opts.simulator(parsed.spec, name) };
    }
  }
}

