/**
 * Failure reports of the legacy burn: what the flash holds at the moment of the failure and
 * why the card still boots (the failsafe argument of docs/seed-case.md), and what to run next.
 */
import { Fs3BurnError, isFs3BurnError, type ErrorCode } from '../../errors.js';
import type { LegacyPlan } from './plan.js';

/** Where the burn stopped (the steps of fs3-facts.md §2.3). */
export type Stage = 'body' | 'signature' | 'invalidate' | 'boot-address';

export interface FailureContext {
  plan: LegacyPlan;
  deviceName: string;
  fromVersion?: string | undefined;
  toVersion: string;
  /** Print flint's text alone (flintOrder), without fs3burn's explanation appended. */
  flintText?: boolean;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** Why the card still boots when the burn stops during `stage`. */
export function leftState(stage: Stage, c: FailureContext): string {
  const { slots } = c.plan;
  const from = c.fromVersion ? `FW ${c.fromVersion}` : 'the old FW';
  if (!c.plan.failsafe) {
    return 'The burn was not failsafe (nofs): the card may not boot; burn again before resetting it.';
  }
  switch (stage) {
    case 'body':
      return `The card is left bootable: the old image (${from}) at ${hex(slots.oldStart)} is untouched and still signed; the new slot at ${hex(slots.newStart)} carries no signature yet, so nothing boots from it.`;
    case 'signature':
      return `The card is left bootable: the old image (${from}) at ${hex(slots.oldStart)} is untouched and still signed; the new image (FW ${c.toVersion}) at ${hex(slots.newStart)} is complete, and its signature is either not written or complete.`;
    case 'invalidate':
      return `The card is left bootable: the new image (FW ${c.toVersion}) at ${hex(slots.newStart)} is complete and signed, and the old one (${from}) at ${hex(slots.oldStart)} is still signed too; a cold boot takes the one at ${hex(Math.min(slots.newStart, slots.oldStart))}.`;
    case 'boot-address':
      return `The card is left bootable: the new image (FW ${c.toVersion}) at ${hex(slots.newStart)} is the only signed image.`;
  }
}

/** What to run next after a failure. */
export function nextAfterFailure(c: FailureContext, cause: unknown): string {
  const hung = isFs3BurnError(cause) && ['ICMD_BUSY_TIMEOUT', 'ICMD_IFC_BUSY'].includes(cause.code);
  const reset = c.deviceName.startsWith('sim:') ? `fs3burn -d ${c.deviceName} reset` : 'mstfwreset or a reboot';
  return hung
    ? `The card's command interface stopped answering: reset the card (${reset}), then run the same burn again; it finds what is already on flash and finishes only what is missing.`
    : 'Run the same burn again: it finds what is already on flash and finishes only what is missing.';
}

/** A burn failure: flint's text (§2.5 "Burning FS3 image failed: %s"), the state, the next step. */
export function burnFailure(code: ErrorCode, flintText: string, stage: Stage, c: FailureContext, cause: unknown): Fs3BurnError {
  const state = leftState(stage, c);
  const message = c.flintText ? flintText : `${flintText}. ${state}`;
  return new Fs3BurnError(code, message, {
    hint: `${c.flintText ? `${state} ` : ''}${nextAfterFailure(c, cause)}`,
    data: {
      stage,
      leftBootable: c.plan.failsafe,
      oldStart: c.plan.slots.oldStart,
      newStart: c.plan.slots.newStart,
      ...(isFs3BurnError(cause) ? { causeCode: cause.code, cause: cause.data } : {}),
    },
    cause,
  });
}
