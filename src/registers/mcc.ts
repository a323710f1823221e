/**
 * MCC 0x9062, component control (§3.3): dw0 time_elapsed 27:16, activation_delay 15:8,
 * instruction 7:0; dw1 component_index 15:0; dw2 auto_update 31, update_handle 23:0;
 * dw3 owner_type 31:28, owner_host 27:24, progress 22:16, error_code 15:8,
 * control_state 3:0; dw4 component_size; dw5 device_index 27:16, warning 15:8,
 * device_type 7:0; dw6 rejected_index 27:16, index_size 11:0; dw7 specific_err.
 * Sent as 0x20 bytes; 0x1C-byte replies (mlxsw drops dw7) are accepted (§8).
 */
import { getField, getFlag, image, setField, setFlag, type RegisterCodec } from './fields.js';
import { RegId } from './ids.js';

export const MCC_SIZE = 0x20;
export const MCC_SHORT_SIZE = 0x1c;

/** §3.2 instructions. */
export const MccInstruction = {
  LOCK_UPDATE_HANDLE: 1,
  RELEASE_UPDATE_HANDLE: 2,
  UPDATE_COMPONENT: 3,
  VERIFY_COMPONENT: 4,
  ACTIVATE_COMPONENT: 5,
  ACTIVATE_ALL: 6,
  READ_COMPONENT: 7,
  CANCEL: 8,
  CHECK_UPDATE_HANDLE: 9,
  FORCE_HANDLE_RELEASE: 0xa,
  READ_PENDING_COMPONENT: 0xb,
  DOWNSTREAM: 0xc,
} as const;

/** §3.2 FSM states; printed as "FSMST_" + name. */
export const FsmState = {
  IDLE: 0,
  LOCKED: 1,
  INITIALIZE: 2,
  DOWNLOAD: 3,
  VERIFY: 4,
  APPLY: 5,
  ACTIVATE: 6,
  UPLOAD: 7,
  UPLOAD_PENDING: 8,
  DOWNSTREAM_DEVICE_TRANSFER: 9,
} as const;

const STATE_NAMES = Object.fromEntries(Object.entries(FsmState).map(([k, v]) => [v, k])) as Record<number, string>;
export function fsmStateName(state: number): string {
  return `FSMST_${STATE_NAMES[state] ?? `UNKNOWN_${state}`}`;
}

/** §8 FSM error codes (MCC dw3 15:8) and the kernel's strings. */
export const FSM_ERROR_TEXT: Readonly<Record<number, string>> = Object.freeze({
  0: 'OK',
  1: 'general error',
  2: 'component hash mismatch',
  3: 'component not applicable',
  4: 'unknown key',
  5: 'authentication failed',
  6: 'component was not signed',
  7: 'key not applicable',
  8: 'bad format',
  9: 'pending reset',
});
export function fsmErrorText(code: number): string {
  return FSM_ERROR_TEXT[code] ?? 'unknown error';
}

export interface Mcc {
  timeElapsed: number;
  activationDelay: number;
  instruction: number;
  componentIndex: number;
  autoUpdate: boolean;
  updateHandle: number;
  ownerType: number;
  ownerHost: number;
  progress: number;
  errorCode: number;
  controlState: number;
  componentSize: number;
  deviceIndex: number;
  warning: number;
  deviceType: number;
  rejectedIndex: number;
  indexSize: number;
  /** Absent in a 0x1C-byte reply. */
  specificErr?: number;
}

export const MCC: RegisterCodec<Mcc> = {
  name: 'MCC',
  id: RegId.MCC,
  size: MCC_SIZE,
  encode(v) {
    const b = image(MCC_SIZE);
    setField(b, 0, 27, 16, v.timeElapsed ?? 0, 'MCC.time_elapsed');
    setField(b, 0, 15, 8, v.activationDelay ?? 0, 'MCC.activation_delay');
    setField(b, 0, 7, 0, v.instruction ?? 0, 'MCC.instruction');
    setField(b, 1, 15, 0, v.componentIndex ?? 0, 'MCC.component_index');
    setFlag(b, 2, 31, v.autoUpdate);
    setField(b, 2, 23, 0, v.updateHandle ?? 0, 'MCC.update_handle');
    setField(b, 3, 31, 28, v.ownerType ?? 0, 'MCC.owner_type');
    setField(b, 3, 27, 24, v.ownerHost ?? 0, 'MCC.owner_host');
    setField(b, 3, 22, 16, v.progress ?? 0, 'MCC.progress');
    setField(b, 3, 15, 8, v.errorCode ?? 0, 'MCC.error_code');
    setField(b, 3, 3, 0, v.controlState ?? 0, 'MCC.control_state');
    setField(b, 4, 31, 0, v.componentSize ?? 0, 'MCC.component_size');
    setField(b, 5, 27, 16, v.deviceIndex ?? 0, 'MCC.device_index');
    setField(b, 5, 15, 8, v.warning ?? 0, 'MCC.warning');
    setField(b, 5, 7, 0, v.deviceType ?? 0, 'MCC.device_type');
    setField(b, 6, 27, 16, v.rejectedIndex ?? 0, 'MCC.rejected_index');
    setField(b, 6, 11, 0, v.indexSize ?? 0, 'MCC.index_size');
    setField(b, 7, 31, 0, v.specificErr ?? 0, 'MCC.specific_err');
    return b;
  },
  decode(b) {
    const out: Mcc = {
      timeElapsed: getField(b, 0, 27, 16),
      activationDelay: getField(b, 0, 15, 8),
      instruction: getField(b, 0, 7, 0),
      componentIndex: getField(b, 1, 15, 0),
      autoUpdate: getFlag(b, 2, 31),
      updateHandle: getField(b, 2, 23, 0),
      ownerType: getField(b, 3, 31, 28),
      ownerHost: getField(b, 3, 27, 24),
      progress: getField(b, 3, 22, 16),
      errorCode: getField(b, 3, 15, 8),
      controlState: getField(b, 3, 3, 0),
      componentSize: getField(b, 4, 31, 0),
      deviceIndex: getField(b, 5, 27, 16),
      warning: getField(b, 5, 15, 8),
      deviceType: getField(b, 5, 7, 0),
      rejectedIndex: getField(b, 6, 27, 16),
      indexSize: getField(b, 6, 11, 0),
    };
    if (b.length >= MCC_SIZE) out.specificErr = getField(b, 7, 31, 0);
    return out;
  },
};
