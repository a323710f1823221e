/**
 * Which device errors are worth retrying, and the retry policy of the chunked writer.
 * Transient: the interface or the firmware was busy or slow (ICMD busy-bit timeout, interface
 * busy, ICMD status 5, register DEV_BUSY, a semaphore held, a flag or gateway poll that ran out;
 * fs3-facts.md §4.5, §5.3, §4.2). Permanent: what a retry cannot fix (write protection, bad
 * parameter, an address outside the flash, a register the FW does not have, …).
 */
import { isFs3BurnError, type ErrorCode } from '../errors.js';

/** Errors a later attempt may not see again. */
export const TRANSIENT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ICMD_BUSY_TIMEOUT', // ME_ICMD_STATUS_EXECUTE_TO (§4.5)
  'ICMD_IFC_BUSY', // ME_ICMD_STATUS_IFC_BUSY (§4.5)
  'ICMD_FW_BUSY', // ICMD status 5, ME_ICMD_BUSY (§4.5, §6.1)
  'REGISTER_DEV_BUSY', // register status 1 (§6.3)
  'SEMAPHORE_HELD', // PID semaphores, 256 / 40 tries (§5.3)
  'VSEC_SEM_LOCKED', // VSEC semaphore, 2048 tries (§5.3)
  'VSEC_FLAG_TIMEOUT', // FLAG polling ran out (§5.3)
  'FLASH_GATEWAY_LOCKED', // HW flash lock (§4.2)
  'FLASH_GATEWAY_TIMEOUT', // gateway BUSY polling (§4.2)
  'FLASH_WRITE_TIMEOUT', // WIP after a page program (§4.2)
  'FLASH_ERASE_TIMEOUT', // WIP after an erase (§4.2)
]);

/** Errors that say the ICMD path (FW access) stopped answering: the direct gateway may still work (§4.1, §4.6). */
export const ICMD_STALL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ICMD_BUSY_TIMEOUT', 'ICMD_IFC_BUSY', 'ICMD_FW_BUSY', 'REGISTER_DEV_BUSY']);

export function isTransient(e: unknown): boolean {
  return isFs3BurnError(e) && TRANSIENT_CODES.has(e.code);
}

/**
 * A sector whose read-back differs (a write the FW acknowledged but did not do, a bit that
 * did not take) is worth another attempt too: each attempt reads the sector first, so the
 * next one erases or programs again from what is really there (flashrom rewrites a block whose
 * verify fails). When the attempts run out, the burn stops with BURN_VERIFY_FAILED.
 */
export function isRewritable(e: unknown): boolean {
  return isTransient(e) || (isFs3BurnError(e) && e.code === 'BURN_VERIFY_FAILED');
}

export function isIcmdStall(e: unknown): boolean {
  return isFs3BurnError(e) && ICMD_STALL_CODES.has(e.code);
}

export interface RetryPolicy {
  /** Retries per sector after the first attempt (p-retry `retries`). */
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

/** Defaults: a few retries with a short exponential backoff (the whole budget stays under ~10 s). */
export const DEFAULT_RETRY: RetryPolicy = { retries: 4, minTimeoutMs: 50, maxTimeoutMs: 2000 };

/** flint's own MFBA path does not retry (§4.5). */
export const NO_RETRY: RetryPolicy = { retries: 0, minTimeoutMs: 0, maxTimeoutMs: 0 };

export function resolveRetry(r: Partial<{ retries: number; minTimeoutMs: number; maxTimeoutMs: number }> | undefined): RetryPolicy {
  const p = { ...DEFAULT_RETRY, ...Object.fromEntries(Object.entries(r ?? {}).filter(([, v]) => v !== undefined)) } as RetryPolicy;
  for (const [k, v] of Object.entries(p)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`retry.${k} must be a finite number ≥ 0 (got ${String(v)})`);
  }
  return { retries: Math.floor(p.retries), minTimeoutMs: p.minTimeoutMs, maxTimeoutMs: Math.max(p.minTimeoutMs, p.maxTimeoutMs) };
}
