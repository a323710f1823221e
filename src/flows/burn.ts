/**
 * burnImage: one call from image bytes to a burned card. Parse and verify the image, identify
 * the card and read its image, run the guards (before any write), pick the flow (legacy or
 * FW-managed, fs3-facts.md §3.1), run it, and print flint's lines (§2.5) through `opts.log`.
 */
import { openDevice } from '../device/open.js';
import type { Device } from '../device/device.js';
import type { FlashImage } from '../device/image-read.js';
import type { DeviceOptions } from '../device/types.js';
import { Fs3BurnError, isFs3BurnError } from '../errors.js';
import { formatFwVersion, parseFs3, type Fs3Image } from '../image/fs3.js';
import { burnFwManaged } from './fw-managed/index.js';
import { checkGuards, checkImage, checkSemaphores, type GuardOptions } from './guards.js';
import { burnLegacy, nextStepText } from './legacy/flow.js';
import { findUnfinishedBurn, type UnfinishedBurn } from './resume.js';
import { selectFlow, type FlowIdentity } from './select.js';
import { emptyStats, type BurnOptions, type BurnResult, type ConfirmInfo, type FlowSelection } from './types.js';
import { isIcmdStall } from './writer-retry.js';

/** Image errors that mean "the flash holds no usable image", as Device.identify treats them. */
const NO_IMAGE_CODES = new Set(['DEVICE_NO_IMAGE', 'IMAGE_CORRUPT', 'IMAGE_VERIFY_FAILED', 'FORMAT_UNSUPPORTED']);

/**
 * The options the device was opened with. Workaround: src/device keeps them private (no
 * accessor yet); they carry the clock (virtual on the simulator) and the poll budgets that a
 * reopened device (the gateway fallback) must share.
 */
export function deviceOptionsOf(device: Device): DeviceOptions {
  const o = (device as unknown as { opts?: unknown }).opts;
  return o && typeof o === 'object' ? (o as DeviceOptions) : {};
}

function hung(e: Fs3BurnError): Fs3BurnError {
  return new Fs3BurnError(
    'BURN_DEVICE_HUNG',
    `The card's command interface does not answer (${e.code}); after a burn on FW 14.14 it waits for a reset. ${UNTOUCHED}`,
    { hint: 'reset the card (fs3burn -d DEV reset, mstfwreset, or a reboot), then run the burn again', cause: e, data: { causeCode: e.code } },
  );
}

/**
 * Identifying only reads, so a busy answer (ICMD status 5, interface busy, DEV_BUSY) or an
 * image that fails its CRCs once (a read disturbed on the way) is asked again a few times
 * before it counts; a busy bit that never clears is a hang at once (docs/robustness.md).
 */
const IDENTIFY_ATTEMPTS = 5;
const BUSY_ANSWERS = new Set(['ICMD_FW_BUSY', 'ICMD_IFC_BUSY', 'REGISTER_DEV_BUSY']);
/** The version / PSID / device data sections read with a CRC that does not match: read again. */
const infoCrcBad = (img: Fs3Image) =>
  img.entries.some((e) => ['IMAGE_INFO', 'MFG_INFO', 'DEV_INFO'].includes(e.name) && !e.noCrc && e.sectionCrcActual !== undefined && e.sectionCrcActual !== e.sectionCrc);

/** Identity plus the device image (read once), the way Device.identify fills psid / image. */
function identifyWithImage(device: Device): { identity: FlowIdentity; deviceImage?: FlashImage } {
  let identity: FlowIdentity;
  let deviceImage: FlashImage | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      identity = device.identify({ readImage: false });
      for (let read = 1; ; read++) {
        try {
          deviceImage = device.readImage({ sections: 'info' });
          if (read < IDENTIFY_ATTEMPTS && infoCrcBad(deviceImage.image)) continue;
          break;
        } catch (e) {
          if (!isFs3BurnError(e) || !NO_IMAGE_CODES.has(e.code)) throw e;
          if (read < IDENTIFY_ATTEMPTS) continue;
          identity.imageError = { code: e.code, message: e.message };
          break;
        }
      }
      break;
    } catch (e) {
      if (isFs3BurnError(e) && BUSY_ANSWERS.has(e.code) && attempt < IDENTIFY_ATTEMPTS) continue;
      if (isIcmdStall(e)) throw hung(e as Fs3BurnError);
      throw e;
    }
  }
  if (deviceImage) {
    const img = deviceImage.image;
    const psid = img.mfgInfo?.psid || img.imageInfo?.psid;
    if (psid) identity.psid = psid;
    const ii = img.imageInfo;
    identity.image = {
      start: deviceImage.start,
      log2Chunk: img.bootVersion.effectiveLog2Chunk,
      imageStarts: img.imageStarts,
      ...(ii ? { fwVersion: { ...ii.fwVersion, text: formatFwVersion(ii.fwVersion) }, runFromAny: ii.runFromAny } : {}),
    };
  }
  return deviceImage ? { identity, deviceImage } : { identity };
}

/** Burn `imageBytes` (an FS3 image file) to the card behind `device`. */
export async function burnImage(device: Device, imageBytes: Uint8Array, opts: BurnOptions & GuardOptions = {}): Promise<BurnResult> {
  const log = opts.log ?? (() => undefined);
  const image = parseFs3(imageBytes);
  checkImage(imageBytes, image); // before the device is even asked
  stopIfAborted(opts.signal);

  const cleared = checkSemaphores(device, { ...opts, log }); // §5.3: no other tool at work on the card
  const { identity, deviceImage } = identifyWithImage(device);
  const decision = checkGuards(identity, imageBytes, image, opts);
  const overrides = [...cleared, ...decision.overrides].map((o) => `guard overridden: ${o}`);

  // §2.5 checkFwVersion banner
  log('');
  log(`    Current FW version on flash:  ${decision.fromVersion ?? 'N/A'}`);
  log(`    New FW version:               ${decision.toVersion}`);
  log('');

  const finishLog = (r: BurnResult): BurnResult => {
    log(`-I- ${r.nextStep}`);
    return { ...r, mitigations: [...overrides, ...r.mitigations] };
  };
  const ask = async (flow: FlowSelection): Promise<void> => {
    if (opts.confirm) {
      const info: ConfirmInfo = { device: device.name, flow: flow.flow, toVersion: decision.toVersion, reasons: flow.reasons, overrides: decision.overrides };
      if (decision.fromVersion !== undefined) info.fromVersion = decision.fromVersion;
      if (!(await opts.confirm(info))) {
        throw new Fs3BurnError('BURN_DECLINED', `Burn declined. ${UNTOUCHED}`, { hint: 'run the burn again and confirm it (or pass -y)' });
      }
    }
    stopIfAborted(opts.signal);
  };
  const legacy = (deviceImage: FlashImage, finish?: UnfinishedBurn) =>
    burnLegacy({
      device,
      imageBytes,
      image,
      deviceImage,
      opts,
      fromVersion: decision.fromVersion,
      toVersion: decision.toVersion,
      ...(finish ? { finish } : {}),
      ...(device.flashMethod().method === 'gateway' && (opts.deviceOptions ?? deviceOptionsOf(device)).flash?.forceGateway ? { ocr: true } : {}),
      ...gatewayOpener(device, opts),
    });

  if (decision.action === 'skip-same-version') {
    // resume state 3 with the new image first (resume.ts): finish it instead of skipping
    const unfinished = deviceImage ? findUnfinishedBurn(deviceImage.image, image, opts) : undefined;
    if (unfinished && deviceImage) {
      await ask({ flow: 'legacy', reasons: [`an earlier burn of ${decision.toVersion} stopped before the old image at 0x${unfinished.oldStart.toString(16)} was invalidated: finishing it`] });
      const r = await legacy(deviceImage, unfinished);
      if (r) return finishLog(r);
    }
    log(`-I- The FW on flash is already ${decision.toVersion}: nothing to burn (force burns it again).`);
    const runsOther = identity.fwVersion !== undefined && identity.fwVersion.text !== decision.toVersion;
    return {
      flow: 'none',
      outcome: 'skipped-same-version',
      ...(decision.fromVersion !== undefined ? { fromVersion: decision.fromVersion } : {}),
      toVersion: decision.toVersion,
      bootAddressUpdated: false,
      mitigations: overrides,
      nextStep: runsOther ? nextStepText(device.name, false) : 'Nothing to do.',
      stats: emptyStats(),
    };
  }

  const selection: FlowSelection = opts.nofs
    ? { flow: 'legacy', reasons: ['nofs: a non-failsafe burn writes the flash directly (§2.4)'] }
    : selectFlow(identity, image, opts);
  if (selection.flow === 'fw-managed') {
    await ask(selection);
    return finishLog(await burnFwManaged(device, imageBytes, image, opts));
  }
  if (!deviceImage) {
    throw new Fs3BurnError(
      'BURN_NO_DEVICE_IMAGE',
      `The flash holds no valid FS3 image (${identity.imageError?.message ?? 'unknown'}), so a failsafe burn has no device data (GUIDs, MACs, VSD) to keep. ${UNTOUCHED}`,
      {
        hint: 'a card without a valid image needs a recovery burn with its own device data; the legacy failsafe flow cannot do it',
        data: { imageError: identity.imageError },
      },
    );
  }
  await ask(selection);
  const r = await legacy(deviceImage);
  return finishLog(r!); // burnLegacy returns undefined only in finish mode
}

const UNTOUCHED = 'Nothing was written: the card is left as it was and stays bootable.';

/** An abort before the first write: nothing to undo. */
function stopIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  throw new Fs3BurnError('BURN_ABORTED', `Burn stopped before the first write. ${UNTOUCHED}`, {
    hint: 'run the burn again to burn the image',
    ...(reason instanceof Error ? { cause: reason } : {}),
  });
}

function gatewayOpener(device: Device, opts: BurnOptions): { openGateway?: () => Device } {
  if (opts.gatewayFallback === false || opts.flintOrder) return {};
  const base = opts.deviceOptions ?? deviceOptionsOf(device);
  return { openGateway: () => openDevice(device.access, { ...base, flash: { ...base.flash, forceGateway: true } }) };
}
