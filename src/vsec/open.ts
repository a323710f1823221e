/**
 * Opening config-space access (§5.2): find the functional VSEC, probe its address spaces
 * under one semaphore hold, and use it when it supports CR, ICMD_EXT and SEMAPHORE;
 * otherwise fall back to the legacy CR gateway at 0x58/0x5C. Every config access goes
 * through a CountingTransport so the caller can report operation counts.
 */
import type { AddressSpaceAccess } from '../transport/mst/address-space.js';
import type { PciConfigTransport } from '../transport/types.js';
import { PROBED_SPACES, REQUIRED_SPACES } from './constants.js';
import { CountingTransport, type ConfigCounts } from './counting.js';
import { findFunctionalVsec } from './find.js';
import { LegacyCrAccess } from './legacy-gateway.js';
import { emptyVsecStats, type VsecStats } from './stats.js';
import { VsecSpaceAccess, type VsecOptions } from './vsec-access.js';

export interface SpaceAccessOptions extends Omit<VsecOptions, 'stats'> {
  /** Use the legacy gateway even when a VSEC exists (for tests and diagnosis). */
  forceLegacy?: boolean;
}

export interface OpenedSpaceAccess {
  /** What the layers above use. */
  readonly access: AddressSpaceAccess;
  readonly mode: 'vsec' | 'legacy';
  /** The VSEC access, when mode is 'vsec' (for exclusive() and probing). */
  readonly vsec?: VsecSpaceAccess;
  /** Config offset of the functional VSEC, if found. */
  readonly vsecOffset?: number;
  /** Spaces the VSEC accepted when probed (empty in legacy mode). */
  readonly supportedSpaces: ReadonlySet<number>;
  /** Config reads / writes so far (all of them, discovery included). */
  readonly configCounts: ConfigCounts;
  readonly vsecStats: VsecStats;
  /** Why the legacy gateway was chosen, when it was. */
  readonly legacyReason?: string;
}

export function openSpaceAccess(transport: PciConfigTransport, opts: SpaceAccessOptions = {}): OpenedSpaceAccess {
  const counting = new CountingTransport(transport);
  const vsecStats = emptyVsecStats();
  const vsecOffset = findFunctionalVsec(counting);
  const legacy = (reason: string, supported: ReadonlySet<number> = new Set()): OpenedSpaceAccess => ({
    access: new LegacyCrAccess(counting),
    mode: 'legacy',
    ...(vsecOffset !== undefined ? { vsecOffset } : {}),
    supportedSpaces: supported,
    configCounts: counting.counts,
    vsecStats,
    legacyReason: reason,
  });
  if (opts.forceLegacy) return legacy('legacy gateway forced');
  if (vsecOffset === undefined) return legacy('no functional VSEC (capability 0x09, type 0) in config space');
  const vsec = new VsecSpaceAccess(counting, vsecOffset, { ...opts, stats: vsecStats });
  const supported = vsec.probeSpaces(PROBED_SPACES);
  const missing = REQUIRED_SPACES.filter((s) => !supported.has(s));
  if (missing.length > 0) {
    return legacy(`the VSEC lacks address space(s) ${missing.map((s) => `0x${s.toString(16)}`).join(', ')}`, supported);
  }
  return { access: vsec, mode: 'vsec', vsec, vsecOffset, supportedSpaces: supported, configCounts: counting.counts, vsecStats };
}
