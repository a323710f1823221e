/**
 * The FW-managed flow against a fake operations table (mlxfw's dev_ops style): the order of
 * the calls, the kernel's lock sequence, and CANCEL → RELEASE on every failure.
 */
import { describe, expect, it } from 'vitest';
import { Fs3BurnError } from '../src/errors.js';
import { FsmReporter, mcdaBlockSize, resolveOptions, runFsmUpdate, type FsmOps, type FsmStatus } from '../src/flows/fw-managed/index.js';
import { virtualClock } from '../src/vsec/index.js';

const S = { IDLE: 0, LOCKED: 1, INITIALIZE: 2, DOWNLOAD: 3, VERIFY: 4, ACTIVATE: 6 };

/** A scripted FSM: each instruction moves to a state; queries walk through `after` first. */
function fakeOps(opts: { startState?: number; failOn?: string; verifyError?: number; stuckIn?: number } = {}) {
  const calls: string[] = [];
  let state = opts.startState ?? S.IDLE;
  let pending: number[] = [];
  let error = 0;
  const HANDLE = 0x1234;
  const st = (): FsmStatus => ({ state, errorCode: error, handle: HANDLE, progress: 0 });
  const step = (name: string, through: number[], then: number) => {
    calls.push(name);
    if (opts.failOn === name) throw new Fs3BurnError('REGISTER_BAD_PARAM', `${name}: bad parameter`);
    pending = [...through, then];
    state = pending.shift()!;
    return st();
  };
  const ops: FsmOps = {
    componentQuery: () => ({ index: 0, identifier: 1, maxComponentSize: 1 << 20, mcdaMaxWriteSize: 64 }),
    fsmQueryState(handle) {
      calls.push(`query:${handle === HANDLE ? 'h' : handle}`);
      if (opts.stuckIn !== undefined && state === opts.stuckIn) return st();
      if (pending.length) state = pending.shift()!;
      if (state === S.LOCKED && calls.includes('verify') && !calls.includes('activate') && opts.verifyError) error = opts.verifyError;
      return st();
    },
    fsmLock: (h) => (expect(h).toBe(HANDLE), step('lock', [], S.LOCKED)),
    fsmComponentUpdate: (_h, _i, size) => (expect(size).toBe(256), step('update', [S.INITIALIZE, S.INITIALIZE], S.DOWNLOAD)),
    fsmBlockDownload(_h, offset, data) {
      calls.push(`mcda:${offset}+${data.length}`);
      if (opts.failOn === 'mcda') throw new Fs3BurnError('REGISTER_BAD_PARAM', 'MCDA: bad parameter');
    },
    fsmComponentVerify: () => step('verify', [S.VERIFY], S.LOCKED),
    fsmActivate: () => step('activate', [S.ACTIVATE], S.LOCKED),
    fsmCancel: () => step('cancel', [], S.LOCKED),
    fsmRelease: () => ((error = 0), step('release', [], S.IDLE)),
  };
  return { ops, calls, state: () => state };
}

function run(f: ReturnType<typeof fakeOps>, extra: { stateTimeoutMs?: number; clock?: ReturnType<typeof virtualClock> } = {}) {
  const lines: string[] = [];
  const options = resolveOptions(undefined, { clock: extra.clock ?? virtualClock(), ...(extra.stateTimeoutMs ? { stateTimeoutMs: extra.stateTimeoutMs } : {}) });
  const r = runFsmUpdate({ ops: f.ops, component: new Uint8Array(256), info: f.ops.componentQuery(1)!, fromVersion: '1.2.3', options, reporter: new FsmReporter(undefined, (l) => lines.push(l)) });
  return { r, lines };
}

function caught(fn: () => unknown): Fs3BurnError {
  try {
    fn();
  } catch (e) {
    if (e instanceof Fs3BurnError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('runFsmUpdate over an operations table', () => {
  it('locks the kernel’s way, then update, blocks of MCQI’s size, verify, activate, release', () => {
    const f = fakeOps();
    const { r, lines } = run(f);
    const order = f.calls.filter((c) => !c.startsWith('query:h'));
    expect(order).toEqual(['query:0', 'lock', 'update', 'mcda:0+64', 'mcda:64+64', 'mcda:128+64', 'mcda:192+64', 'verify', 'activate', 'release']);
    expect(r).toMatchObject({ handle: 0x1234, blocks: 4, blockSize: 64 });
    expect(lines).toContain('FSMST_INITIALIZE -   OK');
    expect(f.state()).toBe(S.IDLE);
  });

  it('a failing MCDA block: CANCEL, then RELEASE', () => {
    const f = fakeOps({ failOn: 'mcda' });
    const e = caught(() => run(f));
    expect(e.code).toBe('FW_MANAGED_DOWNLOAD_FAILED');
    expect(f.calls.slice(-3)).toEqual(['cancel', 'release', 'query:h']);
    expect(e.data?.cleanup).toEqual({ cancel: 'ok', release: 'ok', finalState: 'FSMST_IDLE' });
  });

  it('an FSM error at verify: CANCEL, then RELEASE, with the kernel’s string', () => {
    const f = fakeOps({ verifyError: 5 });
    const e = caught(() => run(f));
    expect(e.code).toBe('FW_MANAGED_AUTH_FAILED');
    expect(e.message).toMatch(/authentication failed/);
    expect(f.calls).not.toContain('activate');
    expect(f.calls.slice(-3)).toEqual(['cancel', 'release', 'query:h']);
  });

  it('an FSM that is not IDLE is not locked, cancelled or released', () => {
    const f = fakeOps({ startState: S.LOCKED });
    expect(caught(() => run(f)).code).toBe('FW_MANAGED_FSM_BUSY');
    expect(f.calls).toEqual(['query:0']);
  });

  it('the per-state bound also holds with a clock that never advances (poll count)', () => {
    const f = fakeOps({ stuckIn: S.INITIALIZE });
    const frozen = { now: () => 0, sleep: () => {} } as unknown as ReturnType<typeof virtualClock>;
    const e = caught(() => run(f, { clock: frozen, stateTimeoutMs: 1000 }));
    expect(e.code).toBe('FW_MANAGED_FSM_TIMEOUT');
    expect(e.data).toMatchObject({ polls: 5 });
    expect(f.calls.slice(-3)).toEqual(['cancel', 'release', 'query:h']);
  });

  it('mcdaBlockSize: MCQI’s size, capped at the register’s 128 bytes, a multiple of 4', () => {
    expect(mcdaBlockSize({ index: 0, identifier: 1, maxComponentSize: 0, mcdaMaxWriteSize: 0 })).toBe(128);
    expect(mcdaBlockSize({ index: 0, identifier: 1, maxComponentSize: 0, mcdaMaxWriteSize: 1024 })).toBe(128);
    expect(mcdaBlockSize({ index: 0, identifier: 1, maxComponentSize: 0, mcdaMaxWriteSize: 66 })).toBe(64);
  });
});
