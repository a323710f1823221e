/** ICMD interface constants (fs3-facts.md §6.1, §4.5). */
import { Space } from '../vsec/constants.js';

/** ICMD runs in address space 3 through the functional VSEC (§6.1). */
export const ICMD_SPACE = Space.ICMD;
/** Space-3 addresses (§6.1). */
export const ICMD_CTRL = 0x0;
export const ICMD_MAILBOX = 0x100000;
export const ICMD_MAX_MAILBOX_SIZE_ADDR = 0x1000;
export const ICMD_SYNDROME = 0x1008;
/** Host maximum mailbox size (§6.1). */
export const HOST_MAX_MAILBOX = 0x340;

/** Ctrl dword: bit 0 BUSY/go, bit 1 EXMB, 15:8 status, 31:16 opcode (§6.1). */
export const CTRL_BUSY = 0x1;
export const CTRL_EXMB = 0x2;
export const ctrlStatus = (ctrl: number): number => (ctrl >>> 8) & 0xff;
export const ctrlOpcode = (ctrl: number): number => (ctrl >>> 16) & 0xffff;

/** Readiness: CR 0xB0004 bit 31 must be 0 on CX4/CX4LX (0xB5E04 on CX5) (§6.1). */
export const CR_ICMD_READY_CX4 = 0xb0004;
export const CR_ICMD_READY_CX5 = 0xb5e04;
export const ICMD_NOT_READY_BIT = 0x80000000;

/** ICMD status codes (§6.1). */
export const IcmdStatus = {
  OK: 0,
  BAD_OPCODE: 1,
  BAD_CMD: 2,
  OPERATIONAL_ERROR: 3,
  BAD_PARAM: 4,
  BUSY: 5,
  ICM_NOT_AVAILABLE: 6,
  WRITE_PROTECT: 7,
} as const;

export const ICMD_STATUS_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0: 'OK',
  1: 'bad opcode',
  2: 'bad command',
  3: 'operational error',
  4: 'bad parameter',
  5: 'busy',
  6: 'ICM not available',
  7: 'write protected',
});

/** §4.5 set_and_poll_on_busy_bit: 5120 polls (ICMD_DEFAULT_TIMEOUT), ≈ 40 s in all. */
export const DEFAULT_POLL_BUDGET = 5120;
/** §4.5: polls 1–5 back to back, then sleeps of 1, 2, 4, 8, 8 … ms. */
export const BACK_TO_BACK_POLLS = 5;
export const MAX_POLL_SLEEP_MS = 8;

/** The flint error name the three busy causes map to (§4.5, MfError 24). */
export const FLINT_TIMEOUT_NAME = 'MFE_CMDIF_TIMEOUT_ERR';
