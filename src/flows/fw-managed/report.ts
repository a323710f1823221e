/**
 * Progress of the FW-managed flow: events for the CLI (`onEvent`) and flint-compatible text
 * lines (`log`, §2.5 "MCC path"):
 *
 *   FSMST_INITIALIZE -   OK
 *   Writing Boot image component -  37%        (one line per percent change)
 *   Writing Boot image component -   OK
 *   Restoring signature                     - OK
 */
import { fsmStateName } from '../../registers/mcc.js';
import type { BurnEvent } from '../types.js';
import { COMPONENT_NAME } from './component.js';

/** The flow's steps; `fsm:*` events count them in done / total. */
export const FSM_STEPS = ['lock', 'update', 'download', 'verify', 'activate', 'release'] as const;
export type FsmStep = (typeof FSM_STEPS)[number];

export const RESTORING_SIGNATURE_LINE = 'Restoring signature                     - OK';

export class FsmReporter {
  private lastPercent = -1;
  readonly statesSeen: string[] = [];

  constructor(
    private readonly onEvent: ((e: BurnEvent) => void) | undefined,
    private readonly log: ((line: string) => void) | undefined,
  ) {}

  /** The FSM was seen in `state` (each change once), during step `step`. */
  state(state: number, step: FsmStep, message?: string): void {
    const name = fsmStateName(state);
    if (this.statesSeen[this.statesSeen.length - 1] !== name) this.statesSeen.push(name);
    this.onEvent?.({ phase: `fsm:${name}`, done: FSM_STEPS.indexOf(step), total: FSM_STEPS.length, ...(message !== undefined ? { message } : {}) });
  }

  /** A transitional state finished well (flint prints this for INITIALIZE). */
  stateOk(state: number): void {
    this.log?.(`${fsmStateName(state)} -   OK`);
  }

  download(done: number, total: number): void {
    this.onEvent?.({ phase: 'download', done, total, message: `Writing ${COMPONENT_NAME} component` });
    const pct = total === 0 ? 100 : Math.floor((done * 100) / total);
    if (pct === this.lastPercent) return;
    this.lastPercent = pct;
    if (pct < 100) this.log?.(`Writing ${COMPONENT_NAME} component - ${String(pct).padStart(3)}%`);
    else this.log?.(`Writing ${COMPONENT_NAME} component -   OK`);
  }

  done(): void {
    this.onEvent?.({ phase: 'done', done: FSM_STEPS.length, total: FSM_STEPS.length, message: 'FW-managed update complete' });
    this.log?.(RESTORING_SIGNATURE_LINE);
  }

  warn(text: string): void {
    this.log?.(`-W- ${text}`);
  }
}
