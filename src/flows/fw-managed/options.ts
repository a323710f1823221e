/**
 * Knobs of the FW-managed flow and their defaults. FSM polling follows the kernel (§8: every
 * 200 ms, at most 30 s per state); flint's numbers (§3.2 step 5: 80 ms, 240 ms in INITIALIZE,
 * up to 3000 polls) are one option away.
 */
import type { Device } from '../../device/index.js';
import { realClock, type Clock } from '../../vsec/clock.js';
import type { BurnOptions } from '../types.js';
import type { FsmOps } from './ops.js';

export interface FwManagedOptions extends BurnOptions {
  /** Where the waits go. Default: the device's own clock (virtual on the simulator), else real time. */
  clock?: Clock;
  /** MCC GET interval while waiting for a state (§8 kernel: 200 ms; flint: 80 ms). */
  pollIntervalMs?: number;
  /** Interval while in INITIALIZE (flint: 240 ms; default: pollIntervalMs). */
  initializePollIntervalMs?: number;
  /** Bound per state (§8 kernel: 30 s). */
  stateTimeoutMs?: number;
  /** The operations table (default: deviceFsmOps(device)); for tests and other transports. */
  ops?: FsmOps;
}

export interface ResolvedFwManagedOptions {
  clock: Clock;
  pollIntervalMs: number;
  initializePollIntervalMs: number;
  stateTimeoutMs: number;
  /** Retries of an MCDA block the FW answered busy (DEV_BUSY / ICMD status 5, §4.6 mitigation). */
  busyRetries: number;
  busyRetryDelayMs: number;
}

export const KERNEL_POLL_INTERVAL_MS = 200; // §8
export const KERNEL_STATE_TIMEOUT_MS = 30_000; // §8: 150 polls × 200 ms
export const FLINT_POLL_INTERVAL_MS = 80; // §3.2 step 5
export const FLINT_INITIALIZE_POLL_INTERVAL_MS = 240; // §3.2 step 5
export const FLINT_MAX_POLLS = 3000; // §3.2 step 5
const DEFAULT_BUSY_RETRIES = 2;
const DEFAULT_BUSY_RETRY_DELAY_MS = 10;

/**
 * The Device keeps its clock private; it is the virtual clock on the simulator, so the flow
 * reads it when present rather than sleeping for real (a workaround: src/device has no
 * public accessor yet).
 */
export function deviceClock(device: Device | undefined): Clock | undefined {
  const c = (device as unknown as { clock?: unknown } | undefined)?.clock;
  if (c && typeof (c as Clock).now === 'function' && typeof (c as Clock).sleep === 'function') return c as Clock;
  return undefined;
}

function positive(name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a number ≥ 0 (got ${v})`);
  return v;
}

export function resolveOptions(device: Device | undefined, o: FwManagedOptions): ResolvedFwManagedOptions {
  const flint = o.flintOrder === true;
  const poll = positive('pollIntervalMs', o.pollIntervalMs, flint ? FLINT_POLL_INTERVAL_MS : KERNEL_POLL_INTERVAL_MS);
  const init = positive('initializePollIntervalMs', o.initializePollIntervalMs, flint ? FLINT_INITIALIZE_POLL_INTERVAL_MS : poll);
  const bound = positive('stateTimeoutMs', o.stateTimeoutMs, flint ? FLINT_POLL_INTERVAL_MS * FLINT_MAX_POLLS : KERNEL_STATE_TIMEOUT_MS);
  return {
    clock: o.clock ?? deviceClock(device) ?? realClock,
    pollIntervalMs: poll,
    initializePollIntervalMs: init,
    stateTimeoutMs: bound,
    busyRetries: positive('retry.retries', o.retry?.retries, flint ? 0 : DEFAULT_BUSY_RETRIES),
    busyRetryDelayMs: positive('retry.minTimeoutMs', o.retry?.minTimeoutMs, DEFAULT_BUSY_RETRY_DELAY_MS),
  };
}
