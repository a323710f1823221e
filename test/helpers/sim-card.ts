/**
 * A simulated card and a Device on it with the options most tests use: the virtual clock (no
 * real sleeps, docs/device-model.md) and a small ICMD poll budget (a hang ends after 64 polls).
 */
import { openDevice, type Device, type DeviceOptions } from '../../src/device/index.js';
import { createSimDevice, type SimDevice, type SimOptions } from '../../src/sim/index.js';
import { virtualClock } from '../../src/vsec/index.js';

export function openSimDevice(sim: SimDevice, opts: DeviceOptions = {}): Device {
  return openDevice(sim, { clock: virtualClock(), ...opts, icmd: { pollBudget: 64, ...opts.icmd } });
}

export function simCard(spec: string | SimOptions, opts: DeviceOptions = {}): { sim: SimDevice; dev: Device } {
  const sim = createSimDevice(spec);
  return { sim, dev: openSimDevice(sim, opts) };
}
