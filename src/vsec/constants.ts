/**
 * Functional VSEC register map and protocol constants (fs3-facts.md §5.2, §5.3).
 * Offsets are relative to the VSEC capability's config-space offset.
 */
import { AddressSpace } from '../transport/mst/address-space.js';

/** Config byte holding the first capability pointer (§5.2 pci_find_capability). */
export const CAP_LIST_PTR = 0x34;
/** Capabilities live in config bytes 0x40–0xFF (§5.2). */
export const CAP_MIN_OFFSET = 0x40;
export const CAP_MAX_OFFSET = 0xff;
/** Vendor-specific capability ID (§5.2). */
export const CAP_ID_VSEC = 0x09;
/** VSEC +0 bits 31:24: VSC type; 0 = functional (§5.2). */
export const VSC_TYPE_FUNCTIONAL = 0;

// §5.2 register offsets
export const VSEC_CTRL = 0x04;
export const VSEC_COUNTER = 0x08;
export const VSEC_SEMAPHORE = 0x0c;
export const VSEC_ADDR = 0x10;
export const VSEC_DATA = 0x14;

/** CTRL bits 15:0: address space, written read-modify-write (§5.2). */
export const CTRL_SPACE_MASK = 0xffff;
/** CTRL bits 31:29: status, non-zero = space supported (§5.2). */
export const ctrlStatus = (ctrl: number): number => (ctrl >>> 29) & 0x7;
/** CTRL bits 27:24: syndrome code (§5.2). */
export const ctrlSyndrome = (ctrl: number): number => (ctrl >>> 24) & 0xf;
/** Syndrome code 3 = address out of range (§5.2). */
export const SYNDROME_ADDR_OUT_OF_RANGE = 3;

/** ADDR bit 31: FLAG (§5.2, §5.3). */
export const ADDR_FLAG = 0x80000000;
/** ADDR bit 30: syndrome (§5.2). */
export const ADDR_SYNDROME = 0x40000000;
/** ADDR bits 29:0: address (§5.2). */
export const ADDR_MASK = 0x3fffffff;

/** Legacy CR gateway in config space when there is no usable VSEC (§5.2). */
export const LEGACY_GW_ADDR = 0x58;
export const LEGACY_GW_DATA = 0x5c;

/** Address spaces (§5.2, `mtcr_com_defs.h`); the table lives with the transport contract. */
export const Space = AddressSpace;

/** Spaces VSEC mode needs; without any of them the legacy gateway is used (§5.2). */
export const REQUIRED_SPACES = [Space.CR, Space.ICMD_EXT, Space.SEMAPHORE] as const;
/** Spaces probed when the VSEC is opened (§5.2 open sequence). */
export const PROBED_SPACES = [Space.ICMD_EXT, Space.CR, Space.ICMD, Space.SEMAPHORE] as const;

// §5.3 budgets (flint's defaults)
/** VSEC semaphore: at most 2048 retries, 1 ms apart (§5.3). */
export const DEFAULT_SEM_RETRIES = 2048;
export const SEM_RETRY_SLEEP_MS = 1;
/** FLAG polling: at most 2048 reads, sleeping 1 ms every 16 reads (§5.3). */
export const DEFAULT_FLAG_POLLS = 2048;
export const FLAG_POLLS_PER_SLEEP = 16;
export const FLAG_SLEEP_MS = 1;

export function hex(n: number, width = 0): string {
  return `0x${(n >>> 0).toString(16).padStart(width, '0')}`;
}
