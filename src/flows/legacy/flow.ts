/**
 * The legacy failsafe FS3 burn (fs3-facts.md §2), written against the device operations:
 *
 *   1. the new image from contiguous 0 with its 16-byte magic erased (header + ITOC, §2.3 step 1)
 *   2. the sections, the device-data ones kept from the device (§2.2 UpdateDevDataITOC)
 *   3. the signature: the 16 magic bytes, noerase (§2.3 step 3)
 *   4. the old image invalidated: 4 zero bytes over its magic, noerase (§2.3 step 5)
 *   5. the boot address: MFAI + MFRL 0x40, or the CR path (§2.3 step 4)
 *
 * fs3burn invalidates the old image BEFORE the boot-address step (flint does it after): the
 * new image is complete and signed by then, so one valid signed image exists at every moment,
 * and FW 14.14's ICMD hang after MFRL 0x40 (§4.4–§4.6) can no longer stop the burn between
 * the two (docs/seed-case.md). `flintOrder` restores flint's order and budgets exactly.
 */
import type { Device } from '../../device/device.js';
import type { FlashImage } from '../../device/image-read.js';
import { Fs3BurnError, isFs3BurnError } from '../../errors.js';
import type { FlashAccess } from '../../flash/types.js';
import type { Fs3Image } from '../../image/fs3.js';
import type { BurnOptions, BurnResult } from '../types.js';
import { ChunkedWriter } from '../writer.js';
import { NO_RETRY } from '../writer-retry.js';
import { sameBytes } from '../writer-sector.js';
import { updateBootAddress, type BootAddressResult } from './boot-address.js';
import { burnFailure, leftState, type FailureContext, type Stage } from './failure.js';
import {
  BOOT_ADDRESS_WARNING,
  PROGRESS_OK,
  SIGNATURE_OK,
  burnFailed,
  flashWriteFailed,
  invalidateFailed,
  progressLine,
  signatureFailed,
} from './flint-messages.js';
import { deviceItocFrom } from './itoc.js';
import { MAGIC_BYTES, finishSlots, planLegacy, type LegacyPlan } from './plan.js';

export interface LegacyInputs {
  device: Device;
  imageBytes: Uint8Array;
  image: Fs3Image;
  /** The device's image (its first start) as Device.readImage returned it: the ITOC bytes are in `flash`. */
  deviceImage: FlashImage;
  opts: BurnOptions;
  fromVersion?: string | undefined;
  toVersion: string;
  /**
   * Finish a burn that was cut after its signature (resume.ts): the new image already is the
   * first start `newStart`; `oldStart` still holds a signed old image.
   */
  finish?: { newStart: number; oldStart: number };
  /** Open the device's address spaces again with the direct flash gateway (§4.1); undefined = no fallback. */
  openGateway?: () => Device;
  /** The device was opened with the direct gateway forced (flint -ocr): slot choice and CR boot path follow (§2.2, §2.3 step 4). */
  ocr?: boolean;
}

const ZERO4 = new Uint8Array(4);
const hex = (n: number) => `0x${n.toString(16)}`;

/** The sim's reset command, or flint 4.21's trailer (§2.5). */
export function nextStepText(deviceName: string, isfuOk: boolean): string {
  if (deviceName.startsWith('sim:')) return `To load new FW run fs3burn -d ${deviceName} reset.`;
  return isfuOk ? 'To load new FW run mstfwreset or reboot machine.' : 'To load new FW run reboot machine.';
}

/**
 * Run the legacy burn. Returns undefined only in `finish` mode when the first image turns out
 * not to be this image after all (then it is not a burn of ours to finish).
 */
export async function burnLegacy(x: LegacyInputs): Promise<BurnResult | undefined> {
  const { device, opts } = x;
  const flint = opts.flintOrder === true;
  const log = opts.log ?? (() => undefined);
  const mitigations: string[] = [];
  const devImg = x.deviceImage.image;
  const plan: LegacyPlan = planLegacy({
    imageBytes: x.imageBytes,
    image: x.image,
    device: { image: devImg, itoc: deviceItocFrom(x.deviceImage.flash, devImg) },
    deviceStarts: devImg.imageStarts,
    flashSize: device.flashSize(),
    ...(opts.nofs ? { nofs: true } : {}),
    ...(x.ocr ? { ocr: true } : {}),
    ...(x.finish ? { slots: finishSlots(x.image, devImg.bootVersion.effectiveLog2Chunk, x.finish.newStart, x.finish.oldStart) } : {}),
  });
  const fc: FailureContext = { plan, deviceName: device.name, fromVersion: x.fromVersion, toVersion: x.toVersion, flintText: flint };
  if (!plan.failsafe) {
    log('Burn process will not be failsafe. No checks will be performed.'); // §2.4
    log('If this process fails, computer may remain in an inoperable state.');
  }

  let gateway: Device | undefined;
  let lastPct = -1;
  const writer = new ChunkedWriter(device.flash, {
    retry: flint ? NO_RETRY : (opts.retry ?? {}),
    ...(opts.verify === false ? { verify: false } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onEvent: (e) => {
      opts.onEvent?.(e);
      if (e.phase !== 'write' || e.total === 0) return;
      const pct = Math.floor((e.done * 100) / e.total); // §2.5: one line per percent change
      if (pct !== lastPct && pct < 100) {
        lastPct = pct;
        log(progressLine(pct));
      }
    },
    ...(flint || !x.openGateway
      ? {}
      : {
          fallback: (): FlashAccess | undefined => {
            try {
              device.endFlashSession(); // release the flash-programming semaphore the FW path held
              gateway = x.openGateway!();
              return gateway.flash;
            } catch {
              return undefined;
            }
          },
        }),
  });
  const step = (phase: string, done: number) => opts.onEvent?.({ phase, done, total: 1 });
  const checkAbort = (stage: Stage) => {
    if (opts.signal?.aborted) throw new Fs3BurnError('BURN_ABORTED', `aborted before ${stage}`, { data: { stage } });
  };

  let stage: Stage = 'body';
  let resumed = false;
  let boot: BootAddressResult | undefined;
  let current: (typeof plan.invalidations)[number] | undefined;
  const invalidate = async () => {
    stage = 'invalidate';
    checkAbort(stage);
    for (const inv of plan.invalidations) {
      current = inv;
      await writer.write('invalidate', [{ addr: inv.addr, bytes: ZERO4 }], { erase: 'never', blind: flint });
    }
    current = undefined;
  };
  try {
    // steps 1 + 2: the body, magic erased
    let bodyDone = false;
    // the new slot's 16 magic bytes tell whose bytes it holds: erased = a burn of ours was cut
    // (§2.3 step 1 leaves them erased); the magic = complete and signed; a zeroed first dword =
    // an image that was invalidated (§2.3 step 5), not a burn to resume
    // (flintOrder: flint reads nothing first; it erases and writes everything)
    const head = flint ? new Uint8Array(16) : await writer.read('verify', plan.slots.newStart, 16);
    const signed = sameBytes(head, MAGIC_BYTES);
    // erased, or a signature write that was cut (bits cleared only towards the magic): ours
    const ours = !signed && head.every((b, i) => (b & MAGIC_BYTES[i]!) === MAGIC_BYTES[i]);
    // the body without its 16 magic bytes (they belong to the signature step)
    const bodyAfterMagic = [{ ...plan.body[0]!, addr: plan.body[0]!.addr + 16, bytes: plan.body[0]!.bytes.subarray(16), cont: 16 }, ...plan.body.slice(1)];
    if (x.finish || (signed && !flint)) {
      // the new slot is signed already: only a byte-for-byte match may stay signed
      const cmp = await writer.compare('verify', bodyAfterMagic);
      if (cmp.equal) {
        bodyDone = true;
        resumed = true;
        mitigations.push(`resumed: the image at ${hex(plan.slots.newStart)} was already complete and signed (an earlier burn stopped before the old image was invalidated); only the remaining steps were run`);
      } else if (x.finish) {
        return undefined;
      }
    }
    if (!bodyDone) {
      // a partly programmed magic is no valid magic: leave it for the signature step to complete
      const r = await writer.write('write', ours && !flint ? bodyAfterMagic : plan.body, flint ? { blind: true } : {});
      if (r.sectorsAlreadyWritten > 0 && ours) {
        resumed = true;
        mitigations.push(`resumed: ${r.sectorsAlreadyWritten} of ${r.sectors} sectors of the new slot at ${hex(plan.slots.newStart)} already held this image (an earlier burn was cut short); only the rest was written`);
      }
    }
    log(PROGRESS_OK);

    // step 3: the signature (16 bytes, noerase)
    stage = 'signature';
    checkAbort(stage);
    const sig = await writer.write('signature', [plan.signature], { erase: 'never', blind: flint });
    if (sig.sectorsSkipped > 0 && !bodyDone) {
      resumed = true;
      mitigations.push('resumed: the new image was already signed');
    }

    if (!flint) await invalidate(); // the order change: see docs/seed-case.md
    device.endFlashSession();

    // step 4: the boot address
    stage = 'boot-address';
    checkAbort(stage);
    step('boot-address', 0);
    boot = updateBootAddress(device, plan.slots.newStart, {
      path: plan.failsafe && !x.ocr ? 'isfu' : 'cr', // §2.3 step 4: ISFU only for failsafe burns without -ocr
      flintOrder: flint,
      icmdStalled: writer.fellBack !== undefined,
    });
    step('boot-address', 1);
    for (const w of boot.warnings) log(w);

    if (flint) await invalidate(); // flint's order (§2.3 step 5 after step 4)
  } catch (e) {
    throw failure(e, stage, plan, fc, current);
  } finally {
    try {
      device.endFlashSession();
    } catch {
      // the semaphore is released by the next reset anyway
    }
    try {
      gateway?.flash.close();
    } catch {
      // closing releases the HW lock; a dead card has none to release
    }
  }

  if (!boot.updated) {
    log('');
    log(BOOT_ADDRESS_WARNING); // §2.3 step 6
  }
  log(SIGNATURE_OK); // §2.5: printed only after the invalidation succeeded

  if (!flint) {
    if (plan.failsafe && plan.invalidations.length > 0) {
      mitigations.push(
        `invalidated the old image at ${hex(plan.slots.oldStart)} before the boot-address step (flint does it after MFAI/MFRL): the new image was complete and signed by then, so one signed image existed at every moment, and a FW that stops answering ICMD after MFRL 0x40 (14.14, §4.4–§4.6) cannot stop the burn half-way`,
      );
    }
    if (writer.stats.retries > 0) mitigations.push(`retried ${writer.stats.retries} transient device error(s) (busy, timeout, ICMD status 5) with backoff`);
    if (writer.fellBack) {
      mitigations.push(
        `ICMD stopped answering (${writer.fellBack.cause.code}) and retrying did not help: finished the remaining writes through the direct flash gateway (§4.1, the -ocr path)`,
      );
    }
    if (writer.stats.sectorsSkipped > 0) mitigations.push(`skipped ${writer.stats.sectorsSkipped} sector(s) that already held the wanted bytes`);
    mitigations.push(...boot.mitigations);
  }

  return {
    flow: 'legacy',
    outcome: resumed ? 'resumed' : 'burned',
    ...(x.fromVersion !== undefined ? { fromVersion: x.fromVersion } : {}),
    toVersion: x.toVersion,
    newImageStart: plan.slots.newStart,
    bootAddressUpdated: boot.updated,
    mitigations,
    nextStep: nextStepText(device.name, boot.isfuOk),
    stats: {
      bytesWritten: writer.stats.bytesWritten,
      sectorsErased: writer.stats.sectorsErased,
      sectorsSkipped: writer.stats.sectorsSkipped,
      retries: writer.stats.retries,
    },
  };
}

/** Turn whatever stopped the burn into flint's message plus the failsafe state. */
function failure(e: unknown, stage: Stage, plan: LegacyPlan, fc: FailureContext, inv: LegacyPlan['invalidations'][number] | undefined): unknown {
  if (!isFs3BurnError(e)) return e;
  if (e.code === 'BURN_ABORTED') {
    return new Fs3BurnError('BURN_ABORTED', `Burn stopped at a safe point (${stage}). ${leftState(stage, fc)}`, {
      hint: 'Run the same burn again: it finds what is already on flash and finishes only what is missing.',
      data: { ...e.data, stage, leftBootable: plan.failsafe },
      cause: e,
    });
  }
  switch (stage) {
    case 'body': {
      const region = typeof e.data?.region === 'number' ? plan.body[e.data.region] : undefined;
      const at = typeof e.data?.pieceAddress === 'number' ? e.data.pieceAddress : (region?.addr ?? plan.slots.newStart);
      const sector = typeof e.data?.sector === 'number' ? e.data.sector : at;
      const end = region ? Math.min(region.addr + region.bytes.length, sector + 0x1000) : at + 0x1000;
      const cont = region?.cont !== undefined ? region.cont + (at - region.addr) : at;
      const text = burnFailed(flashWriteFailed(end - at, cont, region?.cont !== undefined, e));
      return burnFailure(e.code === 'BURN_VERIFY_FAILED' ? 'BURN_VERIFY_FAILED' : 'BURN_WRITE_FAILED', text, stage, fc, e);
    }
    case 'signature':
      return burnFailure('BURN_SIGNATURE_FAILED', burnFailed(signatureFailed(flashWriteFailed(16, 0, true, e))), stage, fc, e);
    case 'invalidate': {
      const i = inv ?? plan.invalidations[0];
      const text = burnFailed(invalidateFailed(flashWriteFailed(4, i?.cont ?? 0, i?.physical ?? true, e)));
      return burnFailure('BURN_INVALIDATE_FAILED', text, stage, fc, e);
    }
    case 'boot-address':
      return burnFailure('BURN_WRITE_FAILED', burnFailed(e.message), stage, fc, e);
  }
}
