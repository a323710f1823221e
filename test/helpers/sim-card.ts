/**
 * A simulated card and a Device on it with the options most tests use: the virtual clock (no
 * real sleeps, docs/device-model.md) and a small ICMD poll budget (a hang ends after 64 polls).
 */
import { expect } from 'vitest';
import { openDevice, type Device, type DeviceOptions } from '../../src/device/index.js';
import { ExitCode, Fs3BurnError } from '../../src/errors.js';
import { createSimDevice, type SimDevice, type SimOptions } from '../../src/sim/index.js';
import { virtualClock } from '../../src/vsec/index.js';

export function openSimDevice(sim: SimDevice, opts: DeviceOptions = {}): Device {
  return openDevice(sim, { clock: virtualClock(), ...opts, icmd: { pollBudget: 64, ...opts.icmd } });
}

export function simCard(spec: string | SimOptions, opts: DeviceOptions = {}): { sim: SimDevice; dev: Device } {
  const sim = createSimDevice(spec);
  return { sim, dev: openSimDevice(sim, opts) };
}

/**
 * Start `burn` and expect a refusal: a typed Fs3BurnError with the REFUSED exit code, and not
 * one write to the card's flash (the chip's write counter and its bytes are taken before `burn`
 * starts, so a write in its synchronous first part counts too). Returns the error for the
 * caller's own checks.
 */
export async function refusedWithoutWrites(sim: SimDevice, burn: () => Promise<unknown>): Promise<Fs3BurnError> {
  const writes = sim.model.writesToFlash;
  const flash = Buffer.from(sim.model.flash.dump());
  let err: unknown;
  try {
    await burn();
  } catch (e) {
    err = e;
  }
  if (!(err instanceof Fs3BurnError)) throw new Error(`expected a refusal, got ${String(err)}`);
  expect(sim.model.writesToFlash).toBe(writes); // no write reached the chip
  expect(Buffer.compare(Buffer.from(sim.model.flash.dump()), flash)).toBe(0);
  expect(err.exitCode).toBe(ExitCode.REFUSED);
  return err;
}
