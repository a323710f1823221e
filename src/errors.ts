/**
 * Typed errors. Every failure the library reports is an Fs3BurnError with a stable
 * `code` (callers switch on it, never on message text), an `exitCode` the CLI uses,
 * an optional `hint` (what to run or check next) and a JSON form.
 */

/** Process exit statuses, documented in docs/cli.md. Stable: tools script against them. */
export const ExitCode = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  BAD_INPUT: 3,
  UNSUPPORTED: 4,
  VERIFY_FAILED: 5,
  DEVICE: 6,
  REFUSED: 7,
  BURN_FAILED: 8,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Error codes and the exit status each maps to. */
export const ErrorCodes = {
  // usage
  USAGE: ExitCode.USAGE,
  // reading input
  FILE_NOT_FOUND: ExitCode.BAD_INPUT,
  FILE_IS_DIRECTORY: ExitCode.BAD_INPUT,
  FILE_NOT_READABLE: ExitCode.BAD_INPUT,
  FILE_READ_FAILED: ExitCode.BAD_INPUT,
  FILE_EMPTY: ExitCode.BAD_INPUT,
  IMAGE_TOO_SHORT: ExitCode.BAD_INPUT,
  IMAGE_UNKNOWN_FORMAT: ExitCode.BAD_INPUT,
  // recognised but not handled
  FORMAT_UNSUPPORTED: ExitCode.UNSUPPORTED,
  // FS3 structure
  IMAGE_CORRUPT: ExitCode.VERIFY_FAILED,
  IMAGE_VERIFY_FAILED: ExitCode.VERIFY_FAILED,
  // MFA1 archives
  MFA_PSID_REQUIRED: ExitCode.BAD_INPUT,
  MFA_PSID_NOT_FOUND: ExitCode.BAD_INPUT,
  MFA_CORRUPT: ExitCode.BAD_INPUT,
  MFA_CRC_MISMATCH: ExitCode.BAD_INPUT,
  MFA_NOT_ARCHIVE: ExitCode.BAD_INPUT,
  // image building
  BUILD_INVALID_PARAMS: ExitCode.USAGE,
  // writing output
  OUTPUT_WRITE_FAILED: ExitCode.BAD_INPUT,
  // TRANSPORT: naming and opening devices, config-space and /dev/mst I/O (docs/transports.md)
  DEVICE_NAME_INVALID: ExitCode.USAGE,
  DEVICE_NOT_FOUND: ExitCode.DEVICE,
  DEVICE_PERMISSION_DENIED: ExitCode.DEVICE,
  DEVICE_CONFIG_TRUNCATED: ExitCode.DEVICE,
  DEVICE_READ_ONLY: ExitCode.DEVICE,
  DEVICE_LOCKDOWN: ExitCode.DEVICE,
  DEVICE_OFFSET_INVALID: ExitCode.INTERNAL,
  DEVICE_OFFSET_OUT_OF_RANGE: ExitCode.DEVICE,
  DEVICE_CLOSED: ExitCode.INTERNAL,
  DEVICE_IO_FAILED: ExitCode.DEVICE,
  DEVICE_NOT_MST: ExitCode.DEVICE,
  DEVICE_OP_UNSUPPORTED: ExitCode.UNSUPPORTED,
  DEVICE_FFI_UNAVAILABLE: ExitCode.UNSUPPORTED,
  DEVICE_SIM_UNAVAILABLE: ExitCode.USAGE,
  // SIM: the simulated card (docs/device-model.md)
  SIM_BAD_SPEC: ExitCode.USAGE,
  SIM_UNKNOWN_PERSONALITY: ExitCode.USAGE,
  SIM_BAD_FAULT: ExitCode.USAGE,
  SIM_BAD_OPTIONS: ExitCode.USAGE,
  SIM_CATALOG_UNAVAILABLE: ExitCode.UNSUPPORTED,
  SIM_BAD_ACCESS: ExitCode.INTERNAL,
  SIM_CLOSED: ExitCode.INTERNAL,
  SIM_STATE_CORRUPT: ExitCode.BAD_INPUT,
  SIM_STATE_IO: ExitCode.DEVICE,
  // DEVICE: VSEC, ICMD, access registers, flash access, device operations (docs/protocol.md)
  VSEC_SEM_LOCKED: ExitCode.DEVICE,
  VSEC_FLAG_TIMEOUT: ExitCode.DEVICE,
  VSEC_SPACE_UNSUPPORTED: ExitCode.DEVICE,
  VSEC_ADDRESS_OUT_OF_RANGE: ExitCode.DEVICE,
  VSEC_SYNDROME: ExitCode.DEVICE,
  VSEC_OFFSET_INVALID: ExitCode.INTERNAL,
  SPACE_UNAVAILABLE: ExitCode.DEVICE,
  SEMAPHORE_HELD: ExitCode.DEVICE,
  ICMD_UNAVAILABLE: ExitCode.DEVICE,
  ICMD_NOT_READY: ExitCode.DEVICE,
  ICMD_BUSY_TIMEOUT: ExitCode.DEVICE,
  ICMD_IFC_BUSY: ExitCode.DEVICE,
  ICMD_FW_BUSY: ExitCode.DEVICE,
  ICMD_BAD_PARAM: ExitCode.DEVICE,
  ICMD_WRITE_PROTECTED: ExitCode.DEVICE,
  ICMD_STATUS_ERROR: ExitCode.DEVICE,
  ICMD_MAILBOX_TOO_SMALL: ExitCode.INTERNAL,
  REGISTER_DEV_BUSY: ExitCode.DEVICE,
  REGISTER_VERSION_NOT_SUPPORTED: ExitCode.DEVICE,
  REGISTER_UNKNOWN_TLV: ExitCode.DEVICE,
  REGISTER_NOT_SUPPORTED: ExitCode.DEVICE,
  REGISTER_CLASS_NOT_SUPPORTED: ExitCode.DEVICE,
  REGISTER_METHOD_NOT_SUPPORTED: ExitCode.DEVICE,
  REGISTER_BAD_PARAM: ExitCode.DEVICE,
  REGISTER_RESOURCE_NOT_AVAILABLE: ExitCode.DEVICE,
  REGISTER_MSG_RECEIPT_ACK: ExitCode.DEVICE,
  REGISTER_STATUS_UNKNOWN: ExitCode.DEVICE,
  REGISTER_REPLY_INVALID: ExitCode.DEVICE,
  REGISTER_ENCODE_INVALID: ExitCode.INTERNAL,
  FLASH_NOT_PRESENT: ExitCode.DEVICE,
  FLASH_GATEWAY_LOCKED: ExitCode.DEVICE,
  FLASH_GATEWAY_TIMEOUT: ExitCode.DEVICE,
  FLASH_WRITE_TIMEOUT: ExitCode.DEVICE,
  FLASH_ERASE_TIMEOUT: ExitCode.DEVICE,
  FLASH_ADDRESS_INVALID: ExitCode.DEVICE,
  FLASH_WRITE_PROTECTED: ExitCode.DEVICE,
  FLASH_CLOSED: ExitCode.INTERNAL,
  DEVICE_CR_LOCKED: ExitCode.DEVICE,
  DEVICE_NO_IMAGE: ExitCode.DEVICE,
  // FLOWS: burn guards (REFUSED: nothing was written) and burn failures (docs/burning.md)
  BURN_IMAGE_INVALID: ExitCode.REFUSED,
  BURN_HW_ID_MISMATCH: ExitCode.REFUSED,
  BURN_PSID_MISMATCH: ExitCode.REFUSED,
  BURN_DOWNGRADE: ExitCode.REFUSED,
  BURN_NO_DEVICE_IMAGE: ExitCode.REFUSED,
  BURN_CHUNK_UNSUPPORTED: ExitCode.REFUSED,
  BURN_DEV_DATA_MISMATCH: ExitCode.REFUSED,
  BURN_SLOT_CONFLICT: ExitCode.REFUSED,
  BURN_WRITE_PROTECTED: ExitCode.REFUSED,
  BURN_DECLINED: ExitCode.REFUSED,
  BURN_ABORTED: ExitCode.BURN_FAILED,
  BURN_WRITE_FAILED: ExitCode.BURN_FAILED,
  BURN_VERIFY_FAILED: ExitCode.BURN_FAILED,
  BURN_SIGNATURE_FAILED: ExitCode.BURN_FAILED,
  BURN_INVALIDATE_FAILED: ExitCode.BURN_FAILED,
  BURN_DEVICE_HUNG: ExitCode.BURN_FAILED,
  BURN_HOP_NOT_BOOTED: ExitCode.BURN_FAILED,
  // FW_MANAGED: the MCC / MCDA update flow (src/flows/fw-managed, docs/fw-managed.md)
  FW_MANAGED_UNSUPPORTED: ExitCode.REFUSED,
  FW_MANAGED_IMAGE_UNSIGNED: ExitCode.REFUSED,
  FW_MANAGED_NO_COMPONENT: ExitCode.REFUSED,
  FW_MANAGED_COMPONENT_TOO_LARGE: ExitCode.REFUSED,
  FW_MANAGED_FSM_BUSY: ExitCode.REFUSED,
  FW_MANAGED_PENDING_RESET: ExitCode.REFUSED,
  FW_MANAGED_NOT_APPLICABLE: ExitCode.BURN_FAILED,
  FW_MANAGED_NOT_SIGNED: ExitCode.BURN_FAILED,
  FW_MANAGED_AUTH_FAILED: ExitCode.BURN_FAILED,
  FW_MANAGED_BAD_FORMAT: ExitCode.BURN_FAILED,
  FW_MANAGED_FSM_ERROR: ExitCode.BURN_FAILED,
  FW_MANAGED_FSM_TIMEOUT: ExitCode.BURN_FAILED,
  FW_MANAGED_UNEXPECTED_STATE: ExitCode.BURN_FAILED,
  FW_MANAGED_DOWNLOAD_FAILED: ExitCode.BURN_FAILED,
  FW_MANAGED_DEVICE_ERROR: ExitCode.BURN_FAILED,
  FW_MANAGED_ABORTED: ExitCode.BURN_FAILED,
  // GUARDS: refusals before the first device access or write of a burn (docs/guards.md)
  GUARD_DEVICE_LOCKED: ExitCode.REFUSED,
  GUARD_LOCK_FAILED: ExitCode.REFUSED,
  GUARD_SEMAPHORE_HELD: ExitCode.REFUSED,
  // anything unexpected
  INTERNAL: ExitCode.INTERNAL,
} as const satisfies Record<string, ExitCodeValue>;
export type ErrorCode = keyof typeof ErrorCodes;

export interface Fs3BurnErrorJSON {
  name: string;
  code: ErrorCode;
  exitCode: number;
  message: string;
  hint?: string;
  data?: Record<string, unknown>;
}

export class Fs3BurnError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  readonly hint?: string;
  readonly data?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; data?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'Fs3BurnError';
    this.code = code;
    this.exitCode = ErrorCodes[code];
    if (opts.hint !== undefined) this.hint = opts.hint;
    if (opts.data !== undefined) this.data = opts.data;
  }

  toJSON(): Fs3BurnErrorJSON {
    const out: Fs3BurnErrorJSON = {
      name: this.name,
      code: this.code,
      exitCode: this.exitCode,
      message: this.message,
    };
    if (this.hint !== undefined) out.hint = this.hint;
    if (this.data !== undefined) out.data = this.data;
    return out;
  }
}

export function isFs3BurnError(e: unknown): e is Fs3BurnError {
  return e instanceof Fs3BurnError;
}
