/**
 * The FW-managed flow's errors: one code per failure, the kernel's strings for FSM error
 * codes (§8), a message that says what state the card is left in, and a hint that says what
 * to run next (style-anchors: mlxfw maps every failure to one message).
 */
import { Fs3BurnError, isFs3BurnError, type ErrorCode } from '../../errors.js';
import { fsmErrorText, fsmStateName } from '../../registers/mcc.js';

/** Where in the flow a failure happened. */
export type FwManagedPhase = 'gate' | 'query' | 'lock' | 'update' | 'download' | 'verify' | 'activate' | 'release';

/** What the cleanup (CANCEL, then RELEASE_UPDATE_HANDLE) did after a failure. */
export interface CleanupReport {
  cancel: string;
  release: string;
  /** The FSM state read after the cleanup, when it could be read. */
  finalState?: string;
}

const RESET_HINT = 'reset the card (fs3burn -d DEVICE reset on a simulated card; mlxfwreset / mstfwreset or a reboot on a real one), then burn again';
const LEGACY_HINT = 'burn with the legacy flow instead (noFwCtrl; flint: --no_fw_ctrl)';

/** §8 FSM error code → error code and hint. */
const FSM_ERRORS: Record<number, { code: ErrorCode; hint: string }> = {
  2: { code: 'FW_MANAGED_AUTH_FAILED', hint: 'the component did not match its hash: get a fresh copy of the image and burn again' },
  3: { code: 'FW_MANAGED_NOT_APPLICABLE', hint: 'the image is for another device (HW id / PSID): use the image made for this card (fs3burn -d DEVICE query shows its PSID)' },
  4: { code: 'FW_MANAGED_AUTH_FAILED', hint: 'the FW does not know the key the image is signed with: use an image signed for this card' },
  5: { code: 'FW_MANAGED_AUTH_FAILED', hint: 'the image signature did not authenticate: use an official image for this card' },
  6: { code: 'FW_MANAGED_NOT_SIGNED', hint: `the FW takes only signed images through MCC: use a signed image, or ${LEGACY_HINT}` },
  7: { code: 'FW_MANAGED_AUTH_FAILED', hint: 'the image key does not apply to this card: use an image signed for this card' },
  8: { code: 'FW_MANAGED_BAD_FORMAT', hint: 'check the image (fs3burn -i FILE verify), get a fresh copy, and burn again' },
  9: { code: 'FW_MANAGED_PENDING_RESET', hint: `an update already waits for a reset: ${RESET_HINT}` },
};

/**
 * What the card runs and boots after a failure in `phase`. `fwSaidFailed`: the FW itself
 * answered the activation with an FSM error, so it did not switch.
 */
export function cardStateSentence(phase: FwManagedPhase, from: string | undefined, fwSaidFailed = false): string {
  const fw = from ? `FW ${from}` : 'its old FW';
  if (phase === 'activate' && fwSaidFailed) {
    return `The FW may have written part of the inactive image slot, but it reported the activation failed and switches only after a complete one: the card still runs ${fw} and boots it at the next reset.`;
  }
  if (phase === 'activate') {
    // the client may lose the card after the FW finished (power cuts booted the new image in
    // test/brick-power-cut-fw-managed.test.ts), so the sentence names both outcomes
    return `The FW writes the inactive image slot and switches to it only at the end of a complete activation, so the card still runs ${fw} and at the next reset boots either ${fw} (the activation did not finish) or the new image (it did): a complete image either way; fs3burn -d DEVICE query after the reset says which.`;
  }
  if (phase === 'release') return `The new image was activated: the card runs ${fw} until a reset, then boots the new image.`;
  return `Nothing was written to the flash: the card still runs ${fw} and boots it at the next reset.`;
}

export interface FailureContext {
  phase: FwManagedPhase;
  fromVersion: string | undefined;
  handle?: number;
  state?: number;
  cleanup?: CleanupReport;
}

function contextData(ctx: FailureContext): Record<string, unknown> {
  return {
    phase: ctx.phase,
    ...(ctx.fromVersion !== undefined ? { fromVersion: ctx.fromVersion } : {}),
    ...(ctx.handle !== undefined ? { handle: ctx.handle } : {}),
    ...(ctx.state !== undefined ? { fsmState: fsmStateName(ctx.state) } : {}),
    ...(ctx.cleanup ? { cleanup: ctx.cleanup } : {}),
  };
}

/** An FSM error code (MCC dw3 15:8) reported during `what`. */
export function fsmFailure(errorCode: number, what: string, ctx: FailureContext): Fs3BurnError {
  const text = fsmErrorText(errorCode);
  const m = FSM_ERRORS[errorCode] ?? { code: 'FW_MANAGED_FSM_ERROR' as const, hint: `cancel any other update tool, ${RESET_HINT}` };
  const state =
    errorCode === 9
      ? `An earlier update is activated and waits for a reset: the card still runs ${ctx.fromVersion ? `FW ${ctx.fromVersion}` : 'its old FW'} and boots the image that update wrote at the next reset.`
      : cardStateSentence(ctx.phase, ctx.fromVersion, true);
  return new Fs3BurnError(m.code, `Firmware flash failed: ${text} (FSM error ${errorCode} during ${what}). ${state}`, {
    hint: m.hint,
    data: { ...contextData(ctx), fsmError: errorCode, fsmErrorText: text },
  });
}

/** The FSM did not reach the state the flow waits for within the per-state bound. */
export function fsmTimeout(waitingFor: number, seen: number, ms: number, polls: number, ctx: FailureContext): Fs3BurnError {
  return new Fs3BurnError('FW_MANAGED_FSM_TIMEOUT', `Firmware flash failed: the FSM stayed in ${fsmStateName(seen)} for ${Math.round(ms)} ms (${polls} polls) instead of reaching ${fsmStateName(waitingFor)}. ${cardStateSentence(ctx.phase, ctx.fromVersion)}`, {
    hint: `the FW did not finish the step in time: ${RESET_HINT}; raise the per-state bound (stateTimeoutMs) if the card is slow`,
    data: { ...contextData(ctx), waitingFor: fsmStateName(waitingFor), seen: fsmStateName(seen), elapsedMs: ms, polls },
  });
}

export function unexpectedState(expected: number, seen: number, ctx: FailureContext): Fs3BurnError {
  return new Fs3BurnError('FW_MANAGED_UNEXPECTED_STATE', `Firmware flash failed: the FSM is in ${fsmStateName(seen)} where ${fsmStateName(expected)} was expected (another tool or a reset took the update handle?). ${cardStateSentence(ctx.phase, ctx.fromVersion)}`, {
    hint: `make sure no other tool updates the card, then burn again; if the FSM stays locked, ${RESET_HINT}`,
    data: { ...contextData(ctx), expected: fsmStateName(expected), seen: fsmStateName(seen) },
  });
}

/** A register / ICMD error while talking to the FSM, re-thrown with the flow's context. */
export function deviceFailure(e: unknown, what: string, ctx: FailureContext): Fs3BurnError {
  const inner = isFs3BurnError(e) ? e : undefined;
  const code: ErrorCode = ctx.phase === 'download' ? 'FW_MANAGED_DOWNLOAD_FAILED' : 'FW_MANAGED_DEVICE_ERROR';
  const why = inner ? inner.message : e instanceof Error ? e.message : String(e);
  return new Fs3BurnError(code, `Firmware flash failed: ${what}: ${why}. ${cardStateSentence(ctx.phase, ctx.fromVersion)}`, {
    // the inner hint speaks of the register layer (e.g. MFBA's); this one says what to do next
    hint: `burn again; if it fails the same way, ${RESET_HINT}`,
    data: { ...contextData(ctx), ...(inner ? { causeCode: inner.code, ...(inner.hint !== undefined ? { causeHint: inner.hint } : {}) } : {}) },
    cause: e,
  });
}

export function aborted(ctx: FailureContext, reason: unknown): Fs3BurnError {
  const why = reason instanceof Error ? reason.message : reason !== undefined ? String(reason) : 'aborted';
  return new Fs3BurnError('FW_MANAGED_ABORTED', `The burn was aborted (${why}) before activation; the update was cancelled. ${cardStateSentence(ctx.phase, ctx.fromVersion)}`, {
    hint: 'burn again when ready',
    data: contextData(ctx),
  });
}

/** Attach the cleanup report to an error thrown by the flow. */
export function withCleanup(e: Fs3BurnError, cleanup: CleanupReport): Fs3BurnError {
  const data = { ...(e.data ?? {}), cleanup };
  const out = new Fs3BurnError(e.code, e.message, { ...(e.hint !== undefined ? { hint: e.hint } : {}), data, ...(e.cause !== undefined ? { cause: e.cause } : {}) });
  out.stack = e.stack;
  return out;
}
