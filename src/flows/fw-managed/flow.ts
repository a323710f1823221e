/**
 * The FW-managed update itself (§3.2, §8), written only against the FsmOps table:
 *
 *   MCC GET (handle 0) → IDLE → LOCK_UPDATE_HANDLE (that handle)          [kernel's lock, §8]
 *   UPDATE_COMPONENT (component_size) → wait while INITIALIZE → DOWNLOAD
 *   MCDA blocks (sizes from MCQI)
 *   VERIFY_COMPONENT → wait while VERIFY → LOCKED
 *   ACTIVATE_ALL → wait while ACTIVATE → LOCKED
 *   RELEASE_UPDATE_HANDLE → IDLE
 *
 * Every failure after the lock — an FSM error code, a register error, a timeout, an abort —
 * sends CANCEL and then RELEASE_UPDATE_HANDLE (mlxfw: every error path cancels and
 * releases), so the FSM is IDLE again and the card keeps running / booting its old image.
 */
import { Fs3BurnError, isFs3BurnError } from '../../errors.js';
import { FsmState, fsmStateName } from '../../registers/mcc.js';
import { MCDA_MAX_DATA } from '../../registers/mcda.js';
import type { Clock } from '../../vsec/clock.js';
import {
  aborted,
  deviceFailure,
  fsmFailure,
  fsmTimeout,
  unexpectedState,
  withCleanup,
  type CleanupReport,
  type FailureContext,
} from './errors.js';
import type { ComponentInfo, FsmOps, FsmStatus } from './ops.js';
import type { ResolvedFwManagedOptions } from './options.js';
import type { FsmReporter, FsmStep } from './report.js';

export interface FsmRunParams {
  ops: FsmOps;
  component: Uint8Array;
  info: ComponentInfo;
  fromVersion: string | undefined;
  options: ResolvedFwManagedOptions;
  reporter: FsmReporter;
  signal?: AbortSignal | undefined;
}

export interface FsmRunResult {
  handle: number;
  blocks: number;
  blockSize: number;
  busyRetries: number;
  /** MCC queries spent waiting in transitional states. */
  polls: number;
  /** Set when RELEASE failed after a good activation (the update is done; the handle is left). */
  releaseWarning?: string;
}

/** The MCDA block size: MCQI's mcda_max_write_size, capped by the register (§3.3 data[32]). */
export function mcdaBlockSize(info: ComponentInfo): number {
  const want = info.mcdaMaxWriteSize > 0 ? Math.min(info.mcdaMaxWriteSize, MCDA_MAX_DATA) : MCDA_MAX_DATA;
  return Math.max(4, want & ~3);
}

/** DEV_BUSY, ICMD status 5, or an interface busy (the command was not even sent, §4.5): nothing was done. */
function isBusyAnswer(e: unknown): boolean {
  return isFs3BurnError(e) && (e.code === 'REGISTER_DEV_BUSY' || e.code === 'ICMD_FW_BUSY' || e.code === 'ICMD_IFC_BUSY');
}

/**
 * Run `fn`; a busy answer (nothing was done) runs it again, at most `busyRetries` more times,
 * `busyRetryDelayMs` apart (§4.6 mitigation; none with flintOrder). Other errors pass through.
 */
export function againWhileBusy<T>(o: Pick<ResolvedFwManagedOptions, 'busyRetries' | 'busyRetryDelayMs' | 'clock'>, fn: () => T, onRetry?: () => void): T {
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (e) {
      if (!isBusyAnswer(e) || attempt >= o.busyRetries) throw e;
      onRetry?.();
      o.clock.sleep(o.busyRetryDelayMs);
    }
  }
}

class FsmRun {
  private readonly ctx: FailureContext;
  private handle = 0;
  private polls = 0;
  private busyRetries = 0;
  private readonly clock: Clock;

  constructor(private readonly p: FsmRunParams) {
    this.ctx = { phase: 'lock', fromVersion: p.fromVersion };
    this.clock = p.options.clock;
  }

  /**
   * Run one device operation; a busy answer (ICMD status 5, DEV_BUSY, interface busy: not done,
   * §4.5) is sent again (againWhileBusy); other device errors are wrapped with the flow's context.
   */
  private call<T>(what: string, fn: () => T): T {
    try {
      return againWhileBusy(this.p.options, fn, () => this.busyRetries++);
    } catch (e) {
      if (isFs3BurnError(e) && e.code.startsWith('FW_MANAGED_')) throw e;
      throw deviceFailure(e, what, this.ctx);
    }
  }

  /** An MCC SET reply: an FSM error code fails the step. */
  private checked(what: string, st: FsmStatus): FsmStatus {
    this.ctx.state = st.state;
    if (st.errorCode !== 0) throw fsmFailure(st.errorCode, what, this.ctx);
    return st;
  }

  private checkAbort(): void {
    const s = this.p.signal;
    if (s?.aborted) throw aborted(this.ctx, s.reason);
  }

  /** Poll MCC until `target` (kernel's mlxfw_fsm_state_wait, §8): errors and IDLE end it early. */
  private waitFor(target: number, step: FsmStep, intervalMs: number): FsmStatus {
    const { stateTimeoutMs } = this.p.options;
    const maxPolls = intervalMs > 0 ? Math.ceil(stateTimeoutMs / intervalMs) : Math.max(1, stateTimeoutMs);
    const t0 = this.clock.now();
    for (let polls = 0; ; polls++) {
      let st: FsmStatus;
      try {
        st = this.p.ops.fsmQueryState(this.handle);
      } catch (e) {
        // a query changes nothing: a busy answer is asked again, within the same bound (an
        // activation that is already done must not be reported as failed; docs/robustness.md);
        // not with flintOrder (no busy retries)
        const inBound = polls < maxPolls && this.clock.now() - t0 < stateTimeoutMs;
        if (isBusyAnswer(e) && inBound && this.p.options.busyRetries > 0) {
          this.clock.sleep(intervalMs);
          this.polls++;
          continue;
        }
        throw deviceFailure(e, `MCC query while waiting for ${fsmStateName(target)}`, this.ctx);
      }
      this.ctx.state = st.state;
      this.p.reporter.state(st.state, step);
      if (st.errorCode !== 0) throw fsmFailure(st.errorCode, `${step} (${fsmStateName(st.state)})`, this.ctx);
      if (st.state === target) return st;
      if (st.state === FsmState.IDLE) throw unexpectedState(target, st.state, this.ctx);
      if (this.ctx.phase !== 'activate') this.checkAbort(); // once ACTIVATE runs, let it finish
      const elapsed = this.clock.now() - t0;
      if (elapsed >= stateTimeoutMs || polls >= maxPolls) throw fsmTimeout(target, st.state, elapsed, polls, this.ctx);
      this.clock.sleep(intervalMs);
      this.polls++;
    }
  }

  /** §8: read MCC with handle 0, require IDLE, lock with the handle it returned. */
  private lock(): void {
    const q = this.call('MCC query before locking', () => this.p.ops.fsmQueryState(0));
    if (q.state !== FsmState.IDLE) {
      throw new Fs3BurnError('FW_MANAGED_FSM_BUSY', `the card's update FSM is in ${fsmStateName(q.state)}, not FSMST_IDLE: another tool (or an interrupted update) holds it. Nothing was done: the card still runs ${this.p.fromVersion ? `FW ${this.p.fromVersion}` : 'its old FW'}.`, {
        hint: 'wait for the other update to finish; if none runs, reset the card (fs3burn -d DEVICE reset on a simulated card; mlxfwreset or a reboot on a real one) to free the FSM',
        data: { fsmState: fsmStateName(q.state), fsmError: q.errorCode },
      });
    }
    this.handle = q.handle;
    this.ctx.handle = q.handle;
    let st: FsmStatus;
    try {
      st = this.p.ops.fsmLock(q.handle);
    } catch (e) {
      if (isFs3BurnError(e) && e.code === 'REGISTER_DEV_BUSY') {
        throw new Fs3BurnError('FW_MANAGED_FSM_BUSY', `the card refused to lock its update FSM (busy): another tool took it first. Nothing was done: the card still runs ${this.p.fromVersion ? `FW ${this.p.fromVersion}` : 'its old FW'}.`, {
          hint: 'make sure no other tool updates the card, then burn again',
          cause: e,
        });
      }
      throw deviceFailure(e, 'LOCK_UPDATE_HANDLE', this.ctx);
    }
    this.ctx.state = st.state;
    this.p.reporter.state(st.state, 'lock', `locked update handle 0x${q.handle.toString(16)}`);
  }

  private download(): { blocks: number; blockSize: number } {
    const data = this.p.component;
    const blockSize = mcdaBlockSize(this.p.info);
    let blocks = 0;
    this.p.reporter.download(0, data.length);
    for (let off = 0; off < data.length; off += blockSize) {
      this.checkAbort();
      const chunk = data.subarray(off, Math.min(off + blockSize, data.length));
      this.call(`MCDA block of ${chunk.length} bytes at component offset 0x${off.toString(16)}`, () => this.p.ops.fsmBlockDownload(this.handle, off, chunk));
      blocks++;
      this.p.reporter.download(off + chunk.length, data.length);
    }
    return { blocks, blockSize };
  }

  /** CANCEL, then RELEASE_UPDATE_HANDLE; never throws. */
  cleanup(): CleanupReport {
    const attempt = (fn: () => FsmStatus): string => {
      try {
        const st = fn();
        return st.errorCode ? `done (FSM error ${st.errorCode})` : 'ok';
      } catch (e) {
        return `failed: ${e instanceof Error ? e.message : String(e)}`;
      }
    };
    const report: CleanupReport = {
      cancel: attempt(() => this.p.ops.fsmCancel(this.handle)),
      release: attempt(() => this.p.ops.fsmRelease(this.handle)),
    };
    try {
      report.finalState = fsmStateName(this.p.ops.fsmQueryState(this.handle).state);
    } catch {
      // the state cannot be read (the ICMD interface may hang); the report says so by omission
    }
    return report;
  }

  run(): FsmRunResult {
    const { ops, info, component, options, reporter } = this.p;
    this.checkAbort();
    this.lock();
    let dl: { blocks: number; blockSize: number };
    try {
      this.checkAbort();
      this.ctx.phase = 'update';
      this.checked('UPDATE_COMPONENT', this.call('UPDATE_COMPONENT', () => ops.fsmComponentUpdate(this.handle, info.index, component.length)));
      this.waitFor(FsmState.DOWNLOAD, 'update', options.initializePollIntervalMs);
      reporter.stateOk(FsmState.INITIALIZE);
      this.ctx.phase = 'download';
      dl = this.download();
      this.checkAbort();
      this.ctx.phase = 'verify';
      this.checked('VERIFY_COMPONENT', this.call('VERIFY_COMPONENT', () => ops.fsmComponentVerify(this.handle, info.index)));
      this.waitFor(FsmState.LOCKED, 'verify', options.pollIntervalMs);
      this.checkAbort(); // the last point before the card changes its flash
      this.ctx.phase = 'activate';
      this.checked('ACTIVATE_ALL', this.call('ACTIVATE_ALL', () => ops.fsmActivate(this.handle)));
      this.waitFor(FsmState.LOCKED, 'activate', options.pollIntervalMs);
    } catch (e) {
      const cleanup = this.cleanup();
      if (isFs3BurnError(e)) throw withCleanup(e, cleanup);
      throw e;
    }
    this.ctx.phase = 'release';
    const out: FsmRunResult = { handle: this.handle, ...dl, busyRetries: this.busyRetries, polls: this.polls };
    try {
      const st = ops.fsmRelease(this.handle);
      reporter.state(st.state, 'release');
    } catch (e) {
      out.releaseWarning = `the update is activated, but RELEASE_UPDATE_HANDLE failed (${e instanceof Error ? e.message : String(e)}); a reset frees the FSM`;
      reporter.warn(out.releaseWarning);
    }
    return out;
  }
}

/** Run the §3.2 sequence; throws a FW_MANAGED_* error after cancelling and releasing. */
export function runFsmUpdate(p: FsmRunParams): FsmRunResult {
  return new FsmRun(p).run();
}
