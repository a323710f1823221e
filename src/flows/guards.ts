/**
 * The checks a burn passes before ANY write (fs3-facts.md §2.1 FsBurnAux): the image verifies,
 * its supported HW IDs include the device's (CR 0xF0014, §7), the PSIDs match, the chunk size
 * is one a failsafe burn handles, the flash is not write-protected, and the version moves the
 * way the caller allows (same version → skipped unless `force`; older → `allowDowngrade`).
 * Each refusal is an Fs3BurnError with exit status REFUSED (7): nothing was written.
 */
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

  // flash write protection (§4.3 MFPA sector_wrp, §4.2 RDSR BP bits)
  if (identity.flash.writeProtected) {
    throw refuse('BURN_WRITE_PROTECTED', 'The flash is write-protected', 'remove the write protection first (flint: `hw set`), then burn', {
      source: identity.flash.source,
    });
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
