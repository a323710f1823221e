/**
 * burnFwManaged: burn an image through the card's own update FSM (MCC / MCDA, §3.2–§3.3,
 * §8). The card writes its inactive slot itself, keeps its device data (GUIDs, MACs, VSD),
 * invalidates the old image and boots the new one at the next reset.
 *
 * Refusals (exit 7) happen before anything is sent: flow switched off, device or image not
 * FW-managed capable (§3.1), FSM not IDLE, no BOOT_IMG component, component too large.
 * Failures (exit 8) happen after the lock; each one cancels and releases the FSM first.
 */
import type { Device } from '../../device/index.js';
import { Fs3BurnError, isFs3BurnError } from '../../errors.js';
import { formatFwVersion, type Fs3Image } from '../../image/fs3.js';
import { emptyStats, type BurnResult } from '../types.js';
import { COMPONENT_BOOT_IMG, COMPONENT_NAME, extractComponent } from './component.js';
import { deviceFailure } from './errors.js';
import { againWhileBusy, runFsmUpdate } from './flow.js';
import { deviceFsmOps, type FsmOps } from './ops.js';
import { resolveOptions, type FwManagedOptions, type ResolvedFwManagedOptions } from './options.js';
import { FsmReporter } from './report.js';

export { COMPONENT_BOOT_IMG, COMPONENT_NAME, componentLength, extractComponent, type Component } from './component.js';
export { deviceFsmOps, type ComponentInfo, type FsmOps, type FsmStatus } from './ops.js';
export { mcdaBlockSize, runFsmUpdate, type FsmRunParams, type FsmRunResult } from './flow.js';
export {
  FLINT_INITIALIZE_POLL_INTERVAL_MS,
  FLINT_MAX_POLLS,
  FLINT_POLL_INTERVAL_MS,
  KERNEL_POLL_INTERVAL_MS,
  KERNEL_STATE_TIMEOUT_MS,
  deviceClock,
  resolveOptions,
  type FwManagedOptions,
  type ResolvedFwManagedOptions,
} from './options.js';
export { FSM_STEPS, FsmReporter, RESTORING_SIGNATURE_LINE, type FsmStep } from './report.js';
export { cardStateSentence, type CleanupReport, type FwManagedPhase } from './errors.js';

/** v4.21's trailer after an update the FW activates (§2.5). */
export const FW_MANAGED_NEXT_STEP = 'To load new FW run mstfwreset or reboot machine.';

/** The trailer for this device: a simulated card is reset by fs3burn itself (docs/cli.md). */
export function fwManagedNextStep(deviceName: string): string {
  return deviceName.startsWith('sim:') ? `To load new FW run fs3burn -d ${deviceName} reset.` : FW_MANAGED_NEXT_STEP;
}

function refuse(code: 'FW_MANAGED_UNSUPPORTED' | 'FW_MANAGED_IMAGE_UNSIGNED' | 'FW_MANAGED_NO_COMPONENT' | 'FW_MANAGED_COMPONENT_TOO_LARGE', message: string, hint: string, data?: Record<string, unknown>): Fs3BurnError {
  return new Fs3BurnError(code, message, { hint, ...(data ? { data } : {}) });
}

function runningVersion(device: Device, opts: FwManagedOptions): string | undefined {
  if (opts.ops) return undefined;
  try {
    return device.fwVersion().text;
  } catch {
    return undefined;
  }
}

/**
 * A query before the FSM is locked (MCAM, MCQS / MCQI): it changes nothing, so a busy answer is
 * asked again (within the busy-retry budget); any other device error becomes a
 * FW_MANAGED_DEVICE_ERROR that says nothing was written (a raw ICMD error would not).
 */
function query<T>(what: string, options: ResolvedFwManagedOptions, from: string | undefined, fn: () => T): T {
  try {
    return againWhileBusy(options, fn);
  } catch (e) {
    if (isFs3BurnError(e) && e.code.startsWith('FW_MANAGED_')) throw e;
    throw deviceFailure(e, what, { phase: 'query', fromVersion: from });
  }
}

/** §3.1: the gate a caller may have checked with selectFlow already (cheap to repeat). */
function gate(device: Device, image: Fs3Image, opts: FwManagedOptions, from: string | undefined, options: ResolvedFwManagedOptions): void {
  const still = `Nothing was done: the card still runs ${from ? `FW ${from}` : 'its old FW'}.`;
  if (opts.noFwCtrl) {
    throw refuse('FW_MANAGED_UNSUPPORTED', `the FW-managed flow was asked for with noFwCtrl set. ${still}`, 'drop noFwCtrl, or burn with the legacy flow');
  }
  if (!image.security.fwManagedCapable) {
    throw refuse(
      'FW_MANAGED_IMAGE_UNSIGNED',
      `This is an old image format that does not have a signature or does not support FW control commands (signature ${image.security.hasSignature ? 'yes' : 'no'}, public keys ${image.security.hasPublicKeys ? 'yes' : 'no'}, mcc_en ${image.security.mccEnabled ? 'yes' : 'no'}; §3.1 step 5). ${still}`,
      'please retry with the legacy flow (noFwCtrl; flint: --no_fw_ctrl)',
      { security: image.security },
    );
  }
  if (opts.ops) return;
  const caps = query('MCAM query', options, from, () => device.capabilities());
  if (!caps.fwManagedFlow) {
    const what = caps.mcamSupported ? `MCAM does not advertise ${caps.missing.join(', ')}` : 'the FW does not answer MCAM (REG_NOT_SUPP)';
    throw refuse('FW_MANAGED_UNSUPPORTED', `the card cannot take a FW-managed update: ${what} (§3.1 step 2). ${still}`, 'burn with the legacy flow (selectFlow chooses it for this card)', {
      missing: caps.missing,
    });
  }
}

/** Burn `image` (parsed from `imageBytes`) through the card's update FSM. */
export function burnFwManaged(device: Device, imageBytes: Uint8Array, image: Fs3Image, opts: FwManagedOptions = {}): BurnResult {
  const fromVersion = runningVersion(device, opts);
  const options = resolveOptions(opts.ops ? undefined : device, opts);
  gate(device, image, opts, fromVersion, options);
  const ops: FsmOps = opts.ops ?? deviceFsmOps(device);
  const component = extractComponent(imageBytes, image);
  const still = `Nothing was done: the card still runs ${fromVersion ? `FW ${fromVersion}` : 'its old FW'}.`;

  const releaseSemaphore = ops.takeFlashSemaphore?.();
  let run;
  try {
    const info = query('MCQS / MCQI component query', options, fromVersion, () => ops.componentQuery(COMPONENT_BOOT_IMG)); // §3.2 step 3
    if (!info) {
      throw refuse('FW_MANAGED_NO_COMPONENT', `the card lists no ${COMPONENT_NAME} component (MCQS identifier ${COMPONENT_BOOT_IMG}). ${still}`, 'burn with the legacy flow (noFwCtrl)');
    }
    if (info.maxComponentSize > 0 && component.data.length > info.maxComponentSize) {
      throw refuse('FW_MANAGED_COMPONENT_TOO_LARGE', `the ${COMPONENT_NAME} component is ${component.data.length} bytes; the card takes at most ${info.maxComponentSize} (MCQI). ${still}`, 'check that the image is meant for this card; burn with the legacy flow (noFwCtrl)', {
        componentSize: component.data.length,
        maxComponentSize: info.maxComponentSize,
      });
    }
    const reporter = new FsmReporter(opts.onEvent, opts.log);
    run = runFsmUpdate({ ops, component: component.data, info, fromVersion, options, reporter, signal: opts.signal });
    reporter.done();
  } finally {
    try {
      releaseSemaphore?.();
    } catch {
      // a dead or hung card cannot take the release; a reset frees the semaphore, and the
      // error being thrown (if any) is the one that matters
    }
  }

  const stats = emptyStats();
  stats.bytesWritten = component.data.length;
  stats.retries = run.busyRetries;
  const mitigations = [
    'Locked the update FSM the kernel\'s way: read MCC with handle 0, required FSMST_IDLE, locked with the handle it returned (§8).',
    `Waited at most ${options.stateTimeoutMs / 1000} s per FSM state, polling every ${options.pollIntervalMs} ms (§8 kernel bound; flint: 80 ms × 3000).`,
  ];
  if (run.busyRetries > 0) mitigations.push(`Retried ${run.busyRetries} MCDA block(s) / MCC instruction(s) the FW answered busy (§4.6 mitigation).`);
  if (run.releaseWarning) mitigations.push(run.releaseWarning);
  const iv = image.imageInfo?.fwVersion;
  return {
    flow: 'fw-managed',
    outcome: 'burned',
    ...(fromVersion !== undefined ? { fromVersion } : {}),
    toVersion: iv ? formatFwVersion(iv) : 'unknown',
    bootAddressUpdated: true,
    mitigations,
    nextStep: fwManagedNextStep(opts.ops ? '' : device.name),
    stats,
  };
}
