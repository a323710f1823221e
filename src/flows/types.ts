/**
 * Shared types of the burn flows (legacy failsafe, FW-managed) and the burn entry point.
 * Kept free of I/O so every flow and the CLI can import it.
 */
import type { DeviceOptions } from '../device/types.js';

/** One progress report. `phase` e.g. 'erase', 'write', 'verify', 'signature', 'boot-address', 'invalidate', 'fsm:FSMST_DOWNLOAD'. */
export interface BurnEvent {
  phase: string;
  done: number;
  total: number;
  message?: string;
}

/** Options of a burn. The guard overrides follow flint's flags (fs3-facts §2.1, §2.4). */
export interface BurnOptions {
  /** Burn even when the image PSID differs from the device's (flint --allow_psid_change). */
  allowPsidChange?: boolean;
  /** Burn an older FW version than the one on flash. */
  allowDowngrade?: boolean;
  /** Burn even when the same version is already on flash. */
  force?: boolean;
  /** Non-failsafe burn (flint -nofs, §2.4): every other image start is invalidated. */
  nofs?: boolean;
  /** Never use the FW-managed (MCC) flow. */
  noFwCtrl?: boolean;
  /** Mimic flint's order and budgets exactly (no mitigations): reproduces the 14.14 seed error. */
  flintOrder?: boolean;
  /** Stop at the next safe point (between sectors / steps). */
  signal?: AbortSignal;
  /** Progress callback. */
  onEvent?: (e: BurnEvent) => void;
  /** flint-compatible text lines ("Burning FW image without signatures - OK", ...). */
  log?: (line: string) => void;
  /** Retry policy for transient device errors (p-retry). */
  retry?: { retries?: number; minTimeoutMs?: number; maxTimeoutMs?: number };
  /** Read back and compare what was written (default true; flint --no_flash_verify turns it off). */
  verify?: boolean;
  /**
   * The options the device was opened with (clock, poll budgets). The legacy flow's gateway
   * fallback reopens the device's address spaces with these plus `flash.forceGateway`; default:
   * the device's own options.
   */
  deviceOptions?: DeviceOptions;
  /** Let the legacy flow finish through the direct flash gateway when ICMD stops answering (default true). */
  gatewayFallback?: boolean;
  /**
   * Asked once, after the guards and the flow choice and before the first write; false
   * stops the burn with BURN_DECLINED (nothing written). Not asked when nothing is to burn.
   */
  confirm?: (info: ConfirmInfo) => boolean | Promise<boolean>;
}

/** What a burn is about to do, for a confirmation prompt. */
export interface ConfirmInfo {
  device: string;
  flow: FlowKind;
  fromVersion?: string;
  toVersion: string;
  /** Why this flow (FlowSelection.reasons). */
  reasons: string[];
  /** Guards the caller overrode (PSID change, downgrade, same version with force). */
  overrides: string[];
}

/** Statistics of a burn. */
export interface BurnStats {
  bytesWritten: number;
  sectorsErased: number;
  sectorsSkipped: number;
  retries: number;
}

/** What a burn did. */
export interface BurnResult {
  flow: 'legacy' | 'fw-managed' | 'none';
  outcome: 'burned' | 'resumed' | 'skipped-same-version';
  fromVersion?: string;
  toVersion: string;
  newImageStart?: number;
  bootAddressUpdated: boolean;
  /** What fs3burn did differently from flint, and why. */
  mitigations: string[];
  /** e.g. 'To load new FW run mstfwreset or reboot machine.' or the sim reset command. */
  nextStep: string;
  stats: BurnStats;
}

/** The flow a burn takes. */
export type FlowKind = 'legacy' | 'fw-managed';

/** Result of flow selection (src/flows/select.ts). */
export interface FlowSelection {
  flow: FlowKind;
  reasons: string[];
}

/** A fresh zeroed stats record. */
export function emptyStats(): BurnStats {
  return { bytesWritten: 0, sectorsErased: 0, sectorsSkipped: 0, retries: 0 };
}
