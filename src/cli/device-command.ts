/**
 * Device commands: `fs3burn devices`, `fs3burn -d DEVICE query`, `fs3burn -d DEVICE reset`.
 * The device query prints flint's image lines for the image on flash (same labels as
 * `mstflint -d DEV q`), then what fs3burn knows besides: the running and flashed versions,
 * the update method it would use and why, the flash and the access path.
 */
import { readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { DeviceIdentity } from '../device/index.js';
import { ErrorCodes, Fs3BurnError } from '../errors.js';
import { describeImage, type ImageQuery } from '../image/query.js';
import { parseDeviceName } from '../transport/device-name.js';
import { verifyFs3 } from '../image/verify.js';
import { requireDevice, withDevice } from '../device/connect.js';
import { verifyFailCode } from './query-verify-command.js';
import { formatQuery, formatVerify, verifyFailureLine } from './format.js';
import { ExitWith, globalOpts, out, printJson } from './io.js';

const MELLANOX_VENDOR_ID = 0x15b3;

export interface DeviceQuery {
  device: string;
  identity: DeviceIdentity;
  /** The image on flash, as an image query shows it; absent when the flash holds none. */
  image?: ImageQuery;
  runningVersion?: string;
  flashedVersion?: string;
  /** A newer image is on flash but not running yet. */
  pendingReset: boolean;
  updateMethod: { method: 'fw_ctrl' | 'Legacy'; reason: string };
}

function updateMethod(id: DeviceIdentity, image: ImageQuery | undefined): DeviceQuery['updateMethod'] {
  const caps = id.capabilities;
  if (!caps) return { method: 'Legacy', reason: 'no ICMD access to the firmware (legacy gateway or no FW running)' };
  if (!caps.fwManagedFlow) {
    if (!caps.mcamSupported) return { method: 'Legacy', reason: 'the running FW does not answer MCAM, so it has no FW-managed flow' };
    return { method: 'Legacy', reason: `the running FW does not advertise ${caps.missing.join(', ')} in MCAM` };
  }
  if (image && image.defaultUpdateMethod !== 'fw_ctrl') {
    return { method: 'Legacy', reason: 'the FW supports MCC, but an image must be signed with mcc_en to use it' };
  }
  return { method: 'fw_ctrl', reason: 'the running FW advertises MCQS, MCQI, MCC, MCDA, MQIS and MGIR in MCAM' };
}

export function queryDevice(c: { device: import('../device/index.js').Device }, name: string): DeviceQuery {
  const identity = c.device.identify({ readImage: false });
  let image: ImageQuery | undefined;
  try {
    const img = c.device.readImage({ sections: 'info' });
    image = describeImage(img.image);
    identity.psid = img.image.mfgInfo?.psid || img.image.imageInfo?.psid || identity.psid;
    identity.image = {
      start: img.start,
      log2Chunk: img.image.bootVersion.effectiveLog2Chunk,
      imageStarts: img.image.imageStarts,
      ...(img.image.imageInfo ? { fwVersion: { ...img.image.imageInfo.fwVersion, text: image.fwVersion } } : {}),
    };
  } catch (e) {
    if (!(e instanceof Fs3BurnError)) throw e;
    identity.imageError = { code: e.code, message: e.message };
  }
  const q: DeviceQuery = {
    device: name,
    identity,
    pendingReset: false,
    updateMethod: updateMethod(identity, image),
  };
  if (image) {
    q.image = image;
    q.flashedVersion = image.fwVersion;
  }
  if (identity.fwVersion) q.runningVersion = identity.fwVersion.text;
  q.pendingReset = q.runningVersion !== undefined && q.flashedVersion !== undefined && q.runningVersion !== q.flashedVersion;
  return q;
}

const label = (l: string, v: string) => `${`${l}:`.padEnd(23)}${v}\n`;

export function formatDeviceQuery(q: DeviceQuery, full: boolean): string {
  let s = '';
  if (q.image) {
    s += formatQuery(q.image, full);
    if (q.pendingReset) {
      // flint shows the running version beside the flashed one when they differ
      s = s.replace(/^(FW Version:.*\n)/m, `$1${label('FW Version(Running)', q.runningVersion!)}`);
    }
  } else {
    s += `-W- no valid FS3 image on flash: ${q.identity.imageError?.message ?? 'unknown'}\n`;
  }
  const id = q.identity;
  s += '\n';
  s += label('Device', `${id.deviceName ?? 'unknown'} (HW ID 0x${id.hwId.toString(16)}, rev ${id.hwRevision})${id.livefish ? ', livefish (no FW running)' : ''}`);
  s += label('Running FW', q.runningVersion ?? 'N/A (no ICMD)');
  s += label('Flashed FW', q.flashedVersion ? `${q.flashedVersion} (image at 0x${id.image!.start.toString(16)})` : 'none');
  if (q.pendingReset) s += label('Pending', 'the flashed FW loads at the next reset');
  s += label('Update Method', `${q.updateMethod.method} (${q.updateMethod.reason})`);
  const f = id.flash;
  s += label('Flash', `${f.sizeBytes ? `${f.sizeBytes / (1 << 20)} MiB` : 'size unknown'}, JEDEC 0x${f.jedecId.toString(16)} (${f.vendor}), write protection ${f.writeProtected ? 'ON' : 'off'}`);
  s += label('Access', `${id.accessMode}, flash via ${id.accessMethod.method === 'fw' ? 'FW (MFBA/MFBE)' : 'direct gateway'}: ${id.accessMethod.reason}`);
  return s;
}

export interface ListedDevice {
  name: string;
  kind: 'pci' | 'mst' | 'sim';
  description: string;
}

async function listDevices(): Promise<ListedDevice[]> {
  const { listPciFunctions } = await import('../transport/sysfs.js');
  const out: ListedDevice[] = [];
  for (const f of listPciFunctions({ vendor: MELLANOX_VENDOR_ID })) {
    out.push({ name: f.name, kind: 'pci', description: `PCI ${f.vendor.toString(16)}:${f.device.toString(16)}` });
  }
  try {
    for (const e of readdirSync('/dev/mst')) out.push({ name: `/dev/mst/${e}`, kind: 'mst', description: 'mst driver device' });
  } catch {
    // no mst driver loaded
  }
  const { PERSONALITIES, versionString } = await import('../sim/index.js');
  for (const p of PERSONALITIES) {
    const v = versionString(p.version);
    out.push({ name: `sim:cx4lx@${v}`, kind: 'sim', description: `simulated ConnectX-4 Lx running ${v}` });
  }
  return out;
}

export function registerDeviceCommands(program: Command): void {
  program
    .command('devices')
    .description('list Mellanox PCI functions (sysfs), /dev/mst devices and the built-in simulated cards')
    .action(async (_o: unknown, cmd: Command) => {
      const devices = await listDevices();
      if (globalOpts(cmd).json) {
        printJson({ devices });
        return;
      }
      for (const d of devices) out(`${d.name.padEnd(28)} ${d.kind.padEnd(4)} ${d.description}\n`);
      if (!devices.some((d) => d.kind !== 'sim')) out('(no Mellanox PCI function or /dev/mst device on this machine)\n');
    });

  program
    .command('ri')
    .argument('<file>', 'where to write the flash contents')
    .description('read the flash (the whole chip: both image slots and the device data) into a file')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const opts = globalOpts(cmd);
      const name = requireDevice(opts.device, 'ri FILE');
      const result = await withDevice(name, (c) => {
        const size = c.device.flashSize();
        const bytes = c.device.readFlash(0, size);
        return { bytes, size };
      });
      writeOutput(file, result.bytes);
      if (opts.json) printJson({ device: name, file, bytes: result.size });
      else out(`-I- read ${result.size} bytes of flash from ${name} into ${file}\n`);
    });

  program
    .command('reset')
    .description('reset a simulated card (it boots the image its boot search finds); real cards: use mstfwreset or reboot')
    .action(async (_o: unknown, cmd: Command) => {
      const opts = globalOpts(cmd);
      const name = requireDevice(opts.device, 'reset');
      const parsed = parseDeviceName(name);
      if (parsed.kind !== 'sim') {
        throw new Fs3BurnError('USAGE', `fs3burn does not reset real devices (${name})`, {
          hint: 'run mstfwreset (mstflint package) or mlxfwreset (MFT), or reboot the machine',
        });
      }
      const { createSimDevice } = await import('../sim/index.js');
      const sim = createSimDevice(parsed.spec);
      try {
        sim.model.reset('warm');
        const running = sim.model.running;
        const result = { device: name, running: running ? running.versionString : null, imageStart: running?.start ?? null };
        if (opts.json) printJson(result);
        else if (running) out(`-I- ${name} reset: running FW ${running.versionString} from the image at 0x${running.start.toString(16)}\n`);
        else out(`-W- ${name} reset: no bootable image found, the card runs no FW\n`);
      } finally {
        sim.close();
      }
    });
}

/** `-d DEVICE query [full]`: used by the query command when a device is given. */
export async function runDeviceQuery(name: string, full: boolean, json: boolean): Promise<void> {
  await withDevice(name, (c) => {
    const q = queryDevice(c, name);
    if (json) printJson(q);
    else out(formatDeviceQuery(q, full));
  });
}

/** `-d DEVICE verify`: read the image from flash (header, ITOC, every section) and verify it. */
export async function runDeviceVerify(name: string, json: boolean): Promise<void> {
  const report = await withDevice(name, (c) => {
    const img = c.device.readImage({ sections: 'all' });
    return verifyFs3(img.flash);
  });
  const failCode = verifyFailCode(report.code);
  if (json) {
    printJson({ source: name, ...report });
    if (!report.bootable) throw new ExitWith(ErrorCodes[failCode]);
    return;
  }
  out(formatVerify(report));
  if (!report.bootable) throw new Fs3BurnError(failCode, verifyFailureLine(report), { data: { badSections: report.badSections } });
}

/** Write a whole file or nothing: a temporary name, renamed when complete. */
function writeOutput(file: string, bytes: Uint8Array): void {
  const tmp = `${file}.part-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    throw new Fs3BurnError('OUTPUT_WRITE_FAILED', `cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
}
