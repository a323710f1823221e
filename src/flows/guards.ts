/**
 * The checks a burn passes before ANY write (fs3-facts.md §2.1 FsBurnAux): the image verifies,
 * its supported HW IDs include the device's (CR 0xF0014, §7), the PSIDs match, the chunk size
 * is one a failsafe burn handles, the flash is not write-protected, and the version moves the
 * way the caller allows (same version → skipped unless `force`; older → `allowDowngrade`).
 * Each refusal is an Fs3BurnError with exit status REFUSED (7): nothing was written.
 */
import type { Device } from '../device/device.js';
import type { DeviceIdentity } from '../device/types.js';
import { Fs3BurnError, type ErrorCode } from '../errors.js';
import { formatFwVersion, type Fs3Image, type FwVersion } from '../image/fs3.js';
import { verifyFs3 } from '../image/verify.js';
import type { BurnOptions } from './types.js';

export interface GuardDecision {
  action: 'burn' | 'skip-same-version';
  /** The version on flash (or running, when the flash image could not be read). */
  fromVersion?: string;
  toVersion: string;
  /** Which guards were overridden, for the report. */
  overrides: string[];
}

const UNTOUCHED = 'Nothing was written: the card is left as it was and stays bootable.';

function refuse(code: ErrorCode, reason: string, hint: string, data: Record<string, unknown>): Fs3BurnError {
  return new Fs3BurnError(code, `${reason}. ${UNTOUCHED}`, { hint, data });
}

/** -1, 0, 1 by major, minor, subminor. */
export function compareVersions(a: FwVersion, b: FwVersion): number {
  for (const k of ['major', 'minor', 'subminor'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  return 0;
}

const hex = (n: number) => `0x${n.toString(16).toUpperCase()}`;

/** The image verifies (every CRC flint checks) and has IMAGE_INFO. */
export function checkImage(imageBytes: Uint8Array, image: Fs3Image): void {
  const report = verifyFs3(imageBytes);
  if (!report.bootable || !image.imageInfo) {
    throw refuse(
      'BURN_IMAGE_INVALID',
      `The image does not verify: ${report.reason ?? 'no IMAGE_INFO section'}${report.badSections.length ? ` (bad: ${report.badSections.join(', ')})` : ''}`,
      'check the image with `fs3burn -i IMAGE v` and get a fresh copy of the firmware file',
      { reason: report.reason, badSections: report.badSections },
    );
  }
  // every section a burn writes is image-relative (§1.4 relative_addr), so it lands in the new
  // image's slot; only device data (kept from the device, never written) is absolute. Found by
  // fuzzing: an absolute code section verifies, and was written over the running image.
  const stray = image.entries.find((e) => !e.relativeAddr && !e.deviceData && e.size > 0);
  if (stray) {
    throw refuse(
      'BURN_IMAGE_INVALID',
      `The image cannot be burned failsafe: its ${stray.name} section has an absolute flash address (relative_addr 0, ${hex(stray.address)}) but is not device data, so it would be written there, outside the new image's slot`,
      'check the image with `fs3burn -i IMAGE v` and get a fresh copy of the firmware file',
      { section: stray.name, address: stray.address, size: stray.size },
    );
  }
}

/** Run every guard; throws a refusal, or says whether to burn or skip. */
export function checkGuards(identity: DeviceIdentity, imageBytes: Uint8Array, image: Fs3Image, opts: BurnOptions): GuardDecision {
  checkImage(imageBytes, image);
  const info = image.imageInfo!;
  const toVersion = formatFwVersion(info.fwVersion);
  const overrides: string[] = [];

  // HW ID (§1.7 supported_hw_id vs CR 0xF0014, §7; flint CheckMatchingHwDevId)
  const ids = info.supportedHwIds;
  if (ids.length > 0 && !ids.some((h) => h.hwId === identity.hwId)) {
    throw refuse(
      'BURN_HW_ID_MISMATCH',
      `Device/Image mismatch: the image is for HW ID ${ids.map((h) => hex(h.hwId)).join(', ')}, the device is ${hex(identity.hwId)}${identity.deviceName ? ` (${identity.deviceName})` : ''}`,
      'use the firmware image made for this card (its HW ID is in `fs3burn -d DEV q`)',
      { imageHwIds: ids.map((h) => h.hwId), deviceHwId: identity.hwId },
    );
  }

  // PSID (§2.1, §2.4 --allow_psid_change)
  const devPsid = identity.psid;
  if (devPsid !== undefined && devPsid !== info.psid) {
    if (!opts.allowPsidChange) {
      throw refuse(
        'BURN_PSID_MISMATCH',
        `PSID mismatch: the image is for PSID ${info.psid}, the card's PSID is ${devPsid}`,
        'use the image made for this PSID; to change the PSID on purpose, pass --allow-psid-change (library: allowPsidChange; flint: --allow_psid_change)',
        { imagePsid: info.psid, devicePsid: devPsid },
      );
    }
    overrides.push(`PSID changes from ${devPsid} to ${info.psid} (allowPsidChange)`);
  }

  // flash write protection (§4.3 MFPA sector_wrp, §4.2 RDSR BP bits); fs3burn never lifts it
  if (identity.flash.writeProtected) {
    const where = identity.flash.source === 'MFPA' ? 'MFPA sector_wrp / subsector_wrp' : 'the block-protect bits of the flash status register';
    throw refuse(
      'BURN_WRITE_PROTECTED',
      `The flash is write-protected (${where}); fs3burn does not remove write protection itself`,
      'remove the protection with the vendor\'s tools (flint: `hw set`) or the card\'s write-protect setting, then burn again; no fs3burn flag overrides it',
      { source: identity.flash.source },
    );
  }

  // chunk size (§2.1 CheckAndDealWithChunkSizes: 0x16 and 0x17 may mix; ≥ 0x18 is rejected); failsafe only
  const log2 = image.bootVersion.effectiveLog2Chunk;
  if (!opts.nofs && log2 >= 0x18) {
    throw refuse('BURN_CHUNK_UNSUPPORTED', `The image's chunk size (log2 0x${log2.toString(16)}) is not supported by a failsafe burn`, 'use an image with 4 MiB or 8 MiB slots', {
      log2Chunk: log2,
    });
  }

  // version (§2.1 failsafe only: nofs performs no version check, §2.4)
  const current = identity.image?.fwVersion ?? identity.fwVersion;
  const fromVersion = current?.text;
  const base = { toVersion, overrides, ...(fromVersion !== undefined ? { fromVersion } : {}) };
  if (!current || opts.nofs) return { action: 'burn', ...base };
  const cmp = compareVersions(info.fwVersion, current);
  if (cmp === 0) {
    if (!opts.force) return { action: 'skip-same-version', ...base };
    overrides.push(`same version ${toVersion} burned again (force)`);
  } else if (cmp < 0) {
    if (!opts.allowDowngrade) {
      throw refuse(
        'BURN_DOWNGRADE',
        `The image's FW ${toVersion} is older than the FW ${current.text} on flash`,
        'to go back to an older FW on purpose, pass --allow-downgrade (library: allowDowngrade)',
        { fromVersion: current.text, toVersion },
      );
    }
    overrides.push(`downgrade from ${current.text} to ${toVersion} (allowDowngrade)`);
  }
  return { action: 'burn', ...base };
}

/** Guard options beyond BurnOptions. */
export interface GuardOptions {
  /**
   * Write 0 to an ICMD / flash-programming semaphore another owner holds, then burn
   * (CLI --clear-semaphore; mstflint's -clear_semaphore). Only for an owner that is gone.
   */
  clearSemaphore?: boolean;
}

/**
 * §5.3: the ICMD (space 0xA offset 0) and flash-programming (0x10) semaphores must be free
 * before a burn starts: another owner means another tool is using the card. Refuses with
 * the owner id read back (GUARD_SEMAPHORE_HELD), or with `clearSemaphore` writes 0 to each
 * held one, logs it, and checks again. Returns what was overridden, for the report.
 */
export function checkSemaphores(device: Device, opts: GuardOptions & { log?: (line: string) => void }): string[] {
  const describe = (s: { label: string; offset: number; owner: number }) =>
    `the ${s.label} semaphore (space 0xA offset ${hex(s.offset)}) is held by owner id ${s.owner} (${hex(s.owner)})`;
  const held = device.semaphores().filter((s) => s.held);
  if (held.length === 0) return [];
  const data = { device: device.name, semaphores: held.map((s) => ({ label: s.label, offset: s.offset, owner: s.owner })) };
  if (!opts.clearSemaphore) {
    throw refuse(
      'GUARD_SEMAPHORE_HELD',
      `Another tool is using the card: ${held.map(describe).join('; ')}`,
      `mstflint and fs3burn write their process id there: wait for process ${held[0]!.owner} to finish; if it is gone (a tool that crashed), pass --clear-semaphore (library: clearSemaphore) to write 0 to it and burn`,
      data,
    );
  }
  const notes: string[] = [];
  for (const s of held) {
    const r = device.clearSemaphore(s.label);
    const line = `cleared the ${s.label} semaphore (space 0xA offset ${hex(s.offset)}) held by owner id ${s.owner}: wrote 0, it reads ${hex(r.after)} now (clearSemaphore)`;
    opts.log?.(`-W- fs3burn: ${line}`);
    notes.push(line);
  }
  const still = device.semaphores().filter((s) => s.held);
  if (still.length > 0) {
    throw refuse(
      'GUARD_SEMAPHORE_HELD',
      `The semaphores were cleared and taken again at once: ${still.map(describe).join('; ')}`,
      `a live process holds it: wait for process ${still[0]!.owner} to finish, then burn again`,
      { ...data, semaphores: still.map((s) => ({ label: s.label, offset: s.offset, owner: s.owner })), cleared: true },
    );
  }
  return notes;
}
