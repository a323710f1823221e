/**
 * The operations the FW-managed flow needs, as a table (style-anchors: Linux mlxfw's
 * `mlxfw_dev_ops`). The flow in flow.ts talks to the card only through this table;
 * `deviceFsmOps` fills it from a Device (MCQS / MCQI / MCC / MCDA, §3.2–§3.3), and tests can
 * pass their own.
 */
import type { Device } from '../../device/index.js';
import { MccInstruction } from '../../registers/mcc.js';

/** What MCC GET / SET answer about the FSM (§3.3 MCC dw2 / dw3). */
export interface FsmStatus {
  /** control_state (dw3 3:0). */
  state: number;
  /** error_code (dw3 15:8), §8. */
  errorCode: number;
  /** update_handle (dw2 23:0); in IDLE the handle the next LOCK hands out (§8). */
  handle: number;
  /** progress (dw3 22:16), when the FW fills it. */
  progress: number;
}

/** A component the FW can update (MCQS, §3.3) and its limits (MCQI CAPABILITIES). */
export interface ComponentInfo {
  index: number;
  identifier: number;
  /** Largest component the FW accepts (0 when MCQI did not say). */
  maxComponentSize: number;
  /** Largest MCDA block (0 when MCQI did not say). */
  mcdaMaxWriteSize: number;
}

export interface FsmOps {
  /** MCQS walk (§3.3: only last_index_flag and component_index are reliable, §8) + MCQI. */
  componentQuery(identifier: number): ComponentInfo | undefined;
  /** MCC GET with `handle` (0 before locking, §8). */
  fsmQueryState(handle: number): FsmStatus;
  /** LOCK_UPDATE_HANDLE (1) with the handle an IDLE query returned (§8). */
  fsmLock(handle: number): FsmStatus;
  /** UPDATE_COMPONENT (3) with component_size (§3.2). */
  fsmComponentUpdate(handle: number, componentIndex: number, componentSize: number): FsmStatus;
  /** MCDA SET: one block at `offset` (§3.3, LE data dwords — the codec's job). */
  fsmBlockDownload(handle: number, offset: number, data: Uint8Array): void;
  /** VERIFY_COMPONENT (4). */
  fsmComponentVerify(handle: number, componentIndex: number): FsmStatus;
  /** ACTIVATE_ALL (6). */
  fsmActivate(handle: number): FsmStatus;
  /** CANCEL (8). */
  fsmCancel(handle: number): FsmStatus;
  /** RELEASE_UPDATE_HANDLE (2). */
  fsmRelease(handle: number): FsmStatus;
  /**
   * Take the flash-programming semaphore (§3.2 step 2; space 0xA offset 0x10, §5.3) and
   * return its release, or undefined when the device layer offers none.
   */
  takeFlashSemaphore?(): (() => void) | undefined;
}

const MAX_COMPONENTS = 64; // a guard against a FW that never sets last_index_flag

function status(m: { controlState: number; errorCode: number; updateHandle: number; progress: number }): FsmStatus {
  return { state: m.controlState, errorCode: m.errorCode, handle: m.updateHandle, progress: m.progress };
}

/** Fill the table from a Device (src/device: mcqs, mcqi, mccQuery, mcc, mcda). */
export function deviceFsmOps(device: Device): FsmOps {
  const instr = (instruction: number, handle: number, extra: { componentIndex?: number; componentSize?: number } = {}): FsmStatus =>
    status(device.mcc({ instruction, updateHandle: handle, ...extra }));
  return {
    componentQuery(identifier) {
      for (let i = 0; i < MAX_COMPONENTS; i++) {
        const q = device.mcqs(i);
        if (q.identifier === identifier) {
          const caps = device.mcqi(q.componentIndex).capabilities;
          return {
            index: q.componentIndex,
            identifier,
            maxComponentSize: caps?.maxComponentSize ?? 0,
            mcdaMaxWriteSize: caps?.mcdaMaxWriteSize ?? 0,
          };
        }
        if (q.lastIndexFlag) return undefined;
      }
      return undefined;
    },
    fsmQueryState: (handle) => status(device.mccQuery({ updateHandle: handle })),
    fsmLock: (handle) => instr(MccInstruction.LOCK_UPDATE_HANDLE, handle),
    fsmComponentUpdate: (handle, componentIndex, componentSize) =>
      instr(MccInstruction.UPDATE_COMPONENT, handle, { componentIndex, componentSize }),
    fsmBlockDownload: (handle, offset, data) => device.mcda(handle, offset, data),
    fsmComponentVerify: (handle, componentIndex) => instr(MccInstruction.VERIFY_COMPONENT, handle, { componentIndex }),
    fsmActivate: (handle) => instr(MccInstruction.ACTIVATE_ALL, handle),
    fsmCancel: (handle) => instr(MccInstruction.CANCEL, handle),
    fsmRelease: (handle) => instr(MccInstruction.RELEASE_UPDATE_HANDLE, handle),
    takeFlashSemaphore() {
      // The Device exposes the semaphore only through its FW flash access (§4.3: mflash holds
      // it for a write session); the gateway method has the HW lock instead, taken per use.
      if (device.flashMethod().method !== 'fw') return undefined;
      const flash = device.flash as unknown as { beginWriteSession?: () => void };
      if (typeof flash.beginWriteSession !== 'function') return undefined;
      flash.beginWriteSession();
      return () => device.endFlashSession();
    },
  };
}
