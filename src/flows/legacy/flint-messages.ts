/**
 * flint's texts for the legacy burn (fs3-facts.md §2.3, §2.5, §4.4), produced from our typed
 * errors so that a failure reads exactly as flint's would:
 *   "Flash write of %d bytes to address %s0x%x failed: %s"  (§4.4; "physical " when a convertor
 *   is active; the address is the contiguous one; the last %s is mf_err2str(rc)).
 */
import { isFs3BurnError, type ErrorCode } from '../../errors.js';

/** mf_err2str names of our device error codes, where the facts give them (§4.2, §4.4, §4.5). */
const MF_NAMES: Partial<Record<ErrorCode, string>> = {
  ICMD_BUSY_TIMEOUT: 'MFE_CMDIF_TIMEOUT_ERR', // ME_ICMD_STATUS_EXECUTE_TO (§4.5)
  ICMD_IFC_BUSY: 'MFE_CMDIF_TIMEOUT_ERR', // ME_ICMD_STATUS_IFC_BUSY (§4.5, since 2026-01)
  ICMD_FW_BUSY: 'MFE_CMDIF_TIMEOUT_ERR', // ME_ICMD_BUSY, ICMD status 5 (§4.5)
  ICMD_BAD_PARAM: 'MFE_ICMD_BAD_PARAM', // §4.4
  REGISTER_BAD_PARAM: 'MFE_REG_ACCESS_BAD_PARAM', // §4.4
  SEMAPHORE_HELD: 'MFE_SEM_LOCKED', // §4.2, §4.5
  VSEC_SEM_LOCKED: 'MFE_SEM_LOCKED',
  FLASH_GATEWAY_LOCKED: 'MFE_SEM_LOCKED', // §4.2 "Can not obtain Flash semaphore"
  FLASH_GATEWAY_TIMEOUT: 'MFE_TIMEOUT', // §4.2 gw_wait_ready
  FLASH_WRITE_TIMEOUT: 'MFE_WRITE_TIMEOUT', // §4.2 st_spi_wait_wip
};

/** §4.4: the hint flint appends for a bad-parameter answer. */
export const BAD_PARAM_HINT =
  'This may indicate that a FW image was already updated on flash, but not loaded by the device. Reset the card (or reboot the machine) and run the burn again.';

/** The mf_err2str-like name of an error: the facts' name when known, else the error's own text. */
export function mfErrorName(e: unknown): string {
  if (!isFs3BurnError(e)) return e instanceof Error ? e.message : String(e);
  const flintName = typeof e.data?.flintName === 'string' ? e.data.flintName : undefined;
  return MF_NAMES[e.code] ?? flintName ?? e.message;
}

export function isBadParam(e: unknown): boolean {
  return isFs3BurnError(e) && (e.code === 'ICMD_BAD_PARAM' || e.code === 'REGISTER_BAD_PARAM');
}

/** "Flash write of N bytes to address [physical ]0xA failed: NAME" (§4.4). */
export function flashWriteFailed(length: number, contAddress: number, physical: boolean, cause: unknown): string {
  return `Flash write of ${length} bytes to address ${physical ? 'physical ' : ''}0x${contAddress.toString(16)} failed: ${mfErrorName(cause)}`;
}

/** §2.5 FLINT_FSX_BURN_ERROR without its "-E- " (the CLI prints that). */
export const burnFailed = (what: string) => `Burning FS3 image failed: ${what}`;

/** §2.3 step 5. */
export const invalidateFailed = (what: string) => `Failed to invalidate old fw signature: ${what}`;

/** §2.3 step 3. */
export const signatureFailed = (what: string) => `Failed to write image signature: ${what}`;

/** §2.3 step 4 (ISFU path). */
export const activateFailed = (what: string) => `Failed to activate image. ${what}`;

/** §2.3 step 6. */
export const BOOT_ADDRESS_WARNING = '-W- Failed to update FW boot address. Power cycle the device in order to load the new FW.';

/** §2.5 progress lines. */
export const progressLine = (percent: number) => `Burning FW image without signatures - ${String(percent).padStart(3)}%`;
export const PROGRESS_OK = 'Burning FW image without signatures - OK';
export const SIGNATURE_OK = 'Restoring signature                     - OK';
