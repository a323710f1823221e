/**
 * Opening a device by name (for the CLI and for library users): validate the name, open its transport (sysfs,
 * /dev/mst or the built-in simulator), and put the device-operations layer on top.
 * Simulated cards run on a virtual clock: their busy bits clear after a number of polls,
 * so no poll loop needs to sleep for real (src/vsec/clock.ts).
 */
import { openDevice, type Device, type DeviceOptions } from './index.js';
import { Fs3BurnError } from '../errors.js';
import type { SimDevice } from '../sim/device.js';
import { openTransport, type OpenedDevice } from '../transport/index.js';
import { realClock, virtualClock } from '../vsec/clock.js';

export interface Connection {
  device: Device;
  opened: OpenedDevice;
  /** The simulated card behind a `sim:` name. */
  sim?: SimDevice;
  close(): void;
}

export async function connect(name: string, opts: DeviceOptions = {}): Promise<Connection> {
  let sim: SimDevice | undefined;
  const opened = await openTransport(name, {
    simulator: async (spec) => {
      const { createSimDevice } = await import('../sim/index.js');
      sim = createSimDevice(spec);
      return sim;
    },
  });
  const transport = opened.kind === 'mst' ? opened.access : opened.transport;
  const clock = opened.kind === 'sim' ? virtualClock() : realClock;
  let device: Device;
  try {
    // one VSEC and ICMD semaphore hold per flash sector unless told otherwise (docs/performance.md)
    device = openDevice(transport, { clock, ...opts, icmd: { holdVsecPerCommand: true, sessions: true, ...opts.icmd } });
  } catch (e) {
    transport.close();
    throw e;
  }
  const conn: Connection = {
    device,
    opened,
    close: () => {
      try {
        device.close();
      } finally {
        transport.close();
      }
    },
  };
  if (sim) conn.sim = sim;
  return conn;
}

/** Run `fn` on a connected device and always close it (which saves a sim card's state). */
export async function withDevice<T>(name: string, fn: (c: Connection) => T | Promise<T>, opts: DeviceOptions = {}): Promise<T> {
  const c = await connect(name, opts);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

export function requireDevice(name: string | undefined, command: string): string {
  if (!name) throw new Fs3BurnError('USAGE', `${command} needs a device: fs3burn -d DEVICE ${command} (see fs3burn devices)`);
  return name;
}
