/** Types of the device-operations layer (style-anchors: the flows see only this). */
import type { FlashMethod } from '../flash/types.js';
import type { IcmdStats } from '../icmd/icmd.js';
import type { RegisterStats } from '../registers/access.js';
import type { FlashStats } from '../flash/types.js';
import type { Clock } from '../vsec/clock.js';
import type { ConfigCounts } from '../vsec/counting.js';
import type { VsecStats } from '../vsec/stats.js';

/** Progress of a long operation (isomorphic-git style): call with each step. */
export interface Progress {
  phase: string;
  done: number;
  total: number;
}
export type ProgressFn = (p: Progress) => void;

export interface DeviceOptions {
  /** Where every wait goes (default realClock; pass virtualClock() on the simulator). */
  clock?: Clock;
  /** Owner id written to the ICMD and flash-programming semaphores (default process.pid). */
  ownerId?: number;
  /** Use the legacy 0x58/0x5C CR gateway even when a VSEC exists (no ICMD then). */
  forceLegacy?: boolean;
  vsec?: {
    /** VSEC semaphore attempts (§5.3: 2048). */
    semRetries?: number;
    /** FLAG polls per access (§5.3: 2048). */
    flagPolls?: number;
  };
  icmd?: {
    /** Busy-bit polls per command (§4.5: 5120). */
    pollBudget?: number;
    /** Cap of the growing sleep between polls (§4.5: 8 ms). */
    maxPollSleepMs?: number;
    /** ICMD semaphore tries (§5.3: 256). */
    semaphoreTries?: number;
    /**
     * Hold the VSEC semaphore for a whole ICMD session (a command, or the commands of one flash
     * sector) instead of per dword, letting it go while the busy poll sleeps (not flint's way;
     * §5.3 block access holds it for a whole buffer). openDevice's default: off, as flint;
     * connect() (the CLI) turns it on.
     */
    holdVsecPerCommand?: boolean;
    /**
     * Run the ICMD commands of one flash sector (read, erase, program, read-back: at most 4 KiB
     * of MFBA traffic) under one ICMD semaphore hold — one VSEC hold too with
     * holdVsecPerCommand — skipping what the hold makes redundant (the readiness check and the
     * semaphore per command, an opcode already in ctrl, mailbox dwords already there). Not
     * flint's way. openDevice's default: off; connect() (the CLI) turns it on.
     */
    sessions?: boolean;
  };
  registers?: {
    /** Retries on DEV_BUSY / ICMD status 5 (default 0, as flint's MFBA path; §4.6 mitigation). */
    busyRetries?: number;
    busyRetryDelayMs?: number;
  };
  flash?: {
    /** Use the direct HW gateway even when FW runs (flint -ocr, §4.1). */
    forceGateway?: boolean;
    /** With forceGateway: write 0 to CR 0xF0014 first, as -ocr does (§4.1). */
    cacheReplacementKick?: boolean;
    /** MFBA block size (§4.3: 128 on CX4LX). */
    mfbaBlockSize?: number;
    /**
     * Let the burn erase a whole 64 KiB block at once (MFBE bulk64, §4.3) where all 16 of its
     * sectors are rewritten, when MFPA reports bulk64_en. Default true; false: 4 KiB only.
     */
    erase64k?: boolean;
    /** Flash-programming semaphore tries (§5.3: 40). */
    semaphoreTries?: number;
    /** Gateway BUSY polls (§4.2: 5000) and lock tries (§4.2: 1024). */
    gatewayBusyPolls?: number;
    gatewayLockTries?: number;
  };
}

export interface FwVersionInfo {
  major: number;
  minor: number;
  subminor: number;
  /** "%d.%d.%04d" (or "%d.%04d.%04d" when minor ≥ 100), §2.5. */
  text: string;
}

export interface DeviceCapabilities {
  /** MCAM answered (false on old FW such as 14.14: REG_NOT_SUPP, §3.1). */
  mcamSupported: boolean;
  /** flint's rule (§3.1): MCQS, MCQI, MCC, MCDA, MQIS and MGIR all advertised. */
  fwManagedFlow: boolean;
  /** Registers the FW-managed flow needs that are missing ('MCAM' when MCAM itself is). */
  missing: string[];
  /** MCDD advertised (DMA component access, §3.1). */
  mcddDma: boolean;
  /** The cap-mask dwords as read, when MCAM answered. */
  regCapMask?: readonly number[];
}

export interface FlashParams {
  /** Where the numbers came from: MFPA (FW access) or the gateway's JEDEC / RDSR. */
  source: 'MFPA' | 'gateway';
  jedecId: number;
  vendor: string;
  vendorId: number;
  type: number;
  density: number;
  sizeBytes: number;
  sectorSize: number;
  /** MFPA sector_wrp / subsector_wrp (§4.3), or RDSR block-protect bits on the gateway. */
  writeProtected: boolean;
  /** MFPA capability bit 16 (write protection supported). */
  writeProtectSupported?: boolean;
  /** MFPA capability bit 17 (quad enable supported). */
  quadEnableSupported?: boolean;
  flashNum?: number;
  /** MFPA boot_address: where the running image started. */
  bootAddress?: number;
}

export interface DeviceIdentity {
  name: string;
  /** How config space reaches the address spaces. */
  accessMode: 'vsec' | 'legacy' | 'address-space';
  /** CR 0xF0014: bits 15:0 id, 23:16 revision (§7). */
  hwId: number;
  hwRevision: number;
  /** 'ConnectX4LX', … when known. */
  deviceName?: string;
  pciVendorId?: number;
  pciDeviceId?: number;
  /** No FW: PCI device id = HW id (§7), or the cache-replacement guard reads zero. */
  livefish: boolean;
  /** Running FW version from MGIR (undefined without ICMD). */
  fwVersion?: FwVersionInfo;
  /** From the flash image: MFG_INFO PSID (else IMAGE_INFO's). */
  psid?: string;
  /** The flash image's own FW version (IMAGE_INFO), its start and chunk. */
  image?: { start: number; fwVersion?: FwVersionInfo; log2Chunk: number; imageStarts: number[] };
  /** Why the image could not be read, when it could not. */
  imageError?: { code: string; message: string };
  /** Undefined without ICMD. */
  capabilities?: DeviceCapabilities;
  flash: FlashParams;
  accessMethod: { method: FlashMethod; reason: string };
}

export interface DeviceStats {
  config: ConfigCounts;
  vsec: VsecStats;
  icmd: IcmdStats;
  registers: RegisterStats;
  flash: FlashStats;
}
