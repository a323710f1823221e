/**
 * Every error path of the FW-managed flow cancels and releases the FSM (mlxfw's rule): after
 * each failure the FSM is IDLE again and the card still boots its old image after a reset.
 */
import { describe, expect, it } from 'vitest';
import { openDevice, type DeviceOptions } from '../src/device/index.js';
import { Fs3BurnError } from '../src/errors.js';
import { burnFwManaged, type FwManagedOptions } from '../src/flows/fw-managed/index.js';
import { catalogImage } from '../src/image/catalog.js';
import { parseFs3, type Fs3Image } from '../src/image/fs3.js';
import { createSimDevice, type SimOptions } from '../src/sim/index.js';
import { virtualClock } from '../src/vsec/index.js';

const IDLE = 0;
const target = catalogImage('cx4lx-14.32.1908');
const targetImage = parseFs3(target);

function card(extra: Partial<SimOptions> = {}, devOpts: DeviceOptions = {}) {
  const sim = createSimDevice({ personality: 'cx4lx@14.25.1020', ...extra });
  const device = openDevice(sim, { clock: virtualClock(), ...devOpts });
  return { sim, model: sim.model, device };
}

function caught(fn: () => unknown): Fs3BurnError {
  try {
    fn();
  } catch (e) {
    if (e instanceof Fs3BurnError) return e;
    throw e;
  }
  throw new Error('expected an Fs3BurnError');
}

/** Burn, expect `code`, then: FSM IDLE, and a reset boots the old 14.25.1020 from slot 0. */
function failsCleanly(
  code: string,
  opts: { sim?: Partial<SimOptions>; dev?: DeviceOptions; bytes?: Uint8Array; image?: Fs3Image; burn?: FwManagedOptions; cleanupOk?: boolean } = {},
): Fs3BurnError {
  const { model, device } = card(opts.sim, opts.dev);
  const e = caught(() => burnFwManaged(device, opts.bytes ?? target, opts.image ?? targetImage, opts.burn));
  expect(e.code, e.message).toBe(code);
  expect(e.exitCode).toBe(8);
  expect(e.message).toMatch(/14\.25\.1020/); // says what the card still runs
  expect(e.hint).toBeTruthy();
  if (opts.cleanupOk !== false) {
    expect(e.data?.cleanup).toEqual({ cancel: 'ok', release: 'ok', finalState: 'FSMST_IDLE' });
    expect(model.fsmState).toBe(IDLE);
  }
  model.reset();
  expect(model.fsmState).toBe(IDLE);
  expect(model.running).toMatchObject({ versionString: '14.25.1020', start: 0 });
  return e;
}

describe('query failures (before the FSM is locked)', () => {
  it('MCQS answered busy once: asked again, and the burn completes', () => {
    const { device, model } = card({ faults: ['icmd-status:5,reg=MCQS,method=get,nth=1'] });
    burnFwManaged(device, target, targetImage);
    expect(model.fired).toHaveLength(1);
    model.reset();
    expect(model.running?.versionString).toBe('14.32.1908');
  });

  it('MCQI busy every time: a FW_MANAGED_DEVICE_ERROR that says nothing was written, not a raw ICMD error', () => {
    const e = failsCleanly('FW_MANAGED_DEVICE_ERROR', { sim: { faults: ['icmd-status:5,reg=MCQI,method=get,times=inf'] }, cleanupOk: false });
    expect(e.data).toMatchObject({ phase: 'query', causeCode: 'ICMD_FW_BUSY' });
    expect(e.message).toMatch(/MCQS \/ MCQI component query/);
    expect(e.message).toMatch(/Nothing was written to the flash: the card still runs FW 14\.25\.1020/);
  });
});

describe('download failures', () => {
  it('MCDA answered BAD_PARAM (register status 7) on block 10', () => {
    const e = failsCleanly('FW_MANAGED_DOWNLOAD_FAILED', { sim: { faults: ['reg-status:7,reg=MCDA,method=set,nth=10'] } });
    expect(e.data).toMatchObject({ phase: 'download', causeCode: 'REGISTER_BAD_PARAM' });
    expect(e.message).toMatch(/Nothing was written to the flash/);
  });

  it('MCDA answered ICMD status 5 (FW busy) every time: retried, then gave up', () => {
    const e = failsCleanly('FW_MANAGED_DOWNLOAD_FAILED', { sim: { faults: ['icmd-status:5,reg=MCDA,method=set,nth=5,times=inf'] } });
    expect(e.data).toMatchObject({ causeCode: 'ICMD_FW_BUSY' });
  });

  it('a single busy MCDA answer is retried and the burn completes (§4.6 mitigation)', () => {
    const { device, model } = card({ faults: ['icmd-status:5,reg=MCDA,method=set,nth=5'] });
    const r = burnFwManaged(device, target, targetImage);
    expect(r.stats.retries).toBe(1);
    expect(r.mitigations.join(' ')).toMatch(/Retried 1 MCDA block\(s\) \/ MCC instruction\(s\)/);
    model.reset();
    expect(model.running?.versionString).toBe('14.32.1908');
  });

  it('with flintOrder a busy MCDA answer is not retried (flint’s MFBA/MCDA path does not)', () => {
    failsCleanly('FW_MANAGED_DOWNLOAD_FAILED', { sim: { faults: ['icmd-status:5,reg=MCDA,method=set,nth=5'] }, burn: { flintOrder: true } });
  });
});

describe('VERIFY failures', () => {
  it('an image for another HW id: "component not applicable" (FSM error 3)', () => {
    const bytes = catalogImage('cx4lx-14.32.1908', { supportedHwIds: [0x209] });
    const e = failsCleanly('FW_MANAGED_NOT_APPLICABLE', { bytes, image: parseFs3(bytes) });
    expect(e.message).toMatch(/Firmware flash failed: component not applicable/);
    expect(e.data).toMatchObject({ phase: 'verify', fsmError: 3 });
  });

  it('an unsigned image that got past the gate: "component was not signed" (FSM error 6)', () => {
    const bytes = catalogImage('cx4lx-14.14.1100');
    const parsed = parseFs3(bytes);
    const forged: Fs3Image = { ...parsed, security: { ...parsed.security, fwManagedCapable: true } };
    const e = failsCleanly('FW_MANAGED_NOT_SIGNED', { bytes, image: forged });
    expect(e.message).toMatch(/component was not signed/);
  });

  it('a corrupted section: "bad format" (FSM error 8)', () => {
    const bytes = target.slice();
    const main = targetImage.entries.find((x) => x.name === 'MAIN_CODE')!;
    bytes[main.bufferOffset + 100]! ^= 0x01;
    failsCleanly('FW_MANAGED_BAD_FORMAT', { bytes, image: parseFs3(bytes) });
  });
});

describe('FSM errors and timeouts', () => {
  it('UPDATE_COMPONENT and ACTIVATE_ALL answered busy (ICMD status 5, not done) once each: sent again, and the burn completes', () => {
    // MCC SETs: LOCK 1, UPDATE 2, VERIFY 3, ACTIVATE 4 (a busy answer does not count as a SET done)
    const { device, model } = card({ faults: ['icmd-status:5,reg=MCC,method=set,nth=2', 'icmd-status:5,reg=MCC,method=set,nth=5'] });
    const r = burnFwManaged(device, target, targetImage);
    expect(model.fired).toHaveLength(2);
    expect(r.stats.retries).toBe(2);
    model.reset();
    expect(model.running?.versionString).toBe('14.32.1908');
  });

  it('with flintOrder a busy MCC answer is not sent again', () => {
    const e = failsCleanly('FW_MANAGED_DEVICE_ERROR', { sim: { faults: ['icmd-status:5,reg=MCC,method=set,nth=2'] }, burn: { flintOrder: true } });
    expect(e.data).toMatchObject({ phase: 'update', causeCode: 'ICMD_FW_BUSY' });
  });

  it('ACTIVATE_ALL answered FSM error 1 "general error"', () => {
    // MCC SETs: LOCK 1, UPDATE 2, VERIFY 3, ACTIVATE 4
    const e = failsCleanly('FW_MANAGED_FSM_ERROR', { sim: { faults: ['fsm-error:1,reg=MCC,method=set,nth=4'] } });
    expect(e.message).toMatch(/general error/);
    expect(e.data).toMatchObject({ phase: 'activate' });
    expect(e.message).toMatch(/may have written part of the inactive image slot/);
  });

  it('UPDATE_COMPONENT answered an unknown FSM error code: "unknown error"', () => {
    const e = failsCleanly('FW_MANAGED_FSM_ERROR', { sim: { faults: ['fsm-error:42,reg=MCC,method=set,nth=2'] } });
    expect(e.message).toMatch(/unknown error/);
  });

  it('VERIFY that never ends hits the per-state bound (on the virtual clock)', () => {
    const e = failsCleanly('FW_MANAGED_FSM_TIMEOUT', { sim: { knobs: { fsmVerifyPolls: 1000 } }, burn: { stateTimeoutMs: 2000, pollIntervalMs: 200 } });
    expect(e.data).toMatchObject({ waitingFor: 'FSMST_LOCKED', seen: 'FSMST_VERIFY', polls: 10 });
  });

  it('the default bound is the kernel’s 30 s per state (150 polls of 200 ms)', () => {
    const e = failsCleanly('FW_MANAGED_FSM_TIMEOUT', { sim: { knobs: { fsmInitializePolls: 100000 } } });
    expect(e.data).toMatchObject({ waitingFor: 'FSMST_DOWNLOAD', seen: 'FSMST_INITIALIZE', polls: 150, elapsedMs: 30000 });
  });
});

describe('abort', () => {
  it('an AbortSignal mid-download cancels and releases', () => {
    const ac = new AbortController();
    const e = failsCleanly('FW_MANAGED_ABORTED', {
      burn: { signal: ac.signal, onEvent: (ev) => ev.phase === 'download' && ev.done >= 0x40000 && ac.abort(new Error('user pressed ^C')) },
    });
    expect(e.message).toMatch(/user pressed \^C/);
    expect(e.data).toMatchObject({ phase: 'download' });
  });

  it('an already aborted signal stops before the lock', () => {
    const { device, model } = card();
    const ac = new AbortController();
    ac.abort();
    expect(caught(() => burnFwManaged(device, target, targetImage, { signal: ac.signal })).code).toBe('FW_MANAGED_ABORTED');
    expect(model.stats().icmd.byRegister.MCC?.set ?? 0).toBe(0);
  });
});

describe('failures the cleanup cannot reach', () => {
  it('ICMD hangs on an MCDA block: cleanup fails, reported; reset frees the FSM and boots the old image', () => {
    const e = failsCleanly('FW_MANAGED_DOWNLOAD_FAILED', {
      sim: { faults: ['busy-stuck,reg=MCDA,method=set,nth=3'] },
      dev: { icmd: { pollBudget: 32 } },
      cleanupOk: false,
    });
    const c = e.data?.cleanup as { cancel: string; release: string; finalState?: string };
    expect(c.cancel).toMatch(/^failed/);
    expect(c.release).toMatch(/^failed/);
  });

  it('power lost while the FW writes the new slot: the old slot still boots', () => {
    const e = failsCleanly('FW_MANAGED_DEVICE_ERROR', { sim: { faults: ['power-cut,op=flash-program,nth=200'] }, cleanupOk: false, dev: { icmd: { pollBudget: 32 }, vsec: { semRetries: 8 } } });
    expect(e.data).toMatchObject({ phase: 'activate' });
    expect(e.message).toMatch(/ACTIVATE_ALL/);
    // the client lost the card mid-activation: it cannot know whether the FW finished, and says so
    expect(e.message).toMatch(/boots either FW 14\.25\.1020 \(the activation did not finish\) or the new image \(it did\)/);
    expect(e.message).toMatch(/fs3burn -d DEVICE query after the reset says which/);
  });
});
