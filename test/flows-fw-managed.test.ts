/**
 * The FW-managed (MCC) burn on the simulated card: the whole FSM, flint-compatible lines,
 * FSM progress events, the card after reset (new FW, same GUIDs / MACs), mstflint's verdict.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDevice } from '../src/device/index.js';
import { Fs3BurnError } from '../src/errors.js';
import { burnFwManaged, componentLength, extractComponent, RESTORING_SIGNATURE_LINE } from '../src/flows/fw-managed/index.js';
import type { BurnEvent } from '../src/flows/types.js';
import { catalogImage } from '../src/image/catalog.js';
import { parseFs3 } from '../src/image/fs3.js';
import { createSimDevice, type SimOptions } from '../src/sim/index.js';
import { virtualClock } from '../src/vsec/index.js';
import { tempDir } from './helpers/fixtures.js';
import { describeMstflint, mstflint } from './helpers/mstflint.js';

const dir = tempDir('fs3burn-flows-fw-managed-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const IDLE = 0;
const target = catalogImage('cx4lx-14.32.1908');
const targetImage = parseFs3(target);

function card(spec: string | SimOptions = 'cx4lx@14.25.1020') {
  const sim = createSimDevice(spec);
  const clock = virtualClock();
  const device = openDevice(sim, { clock });
  return { sim, model: sim.model, device, clock };
}

function identityOf(flash: Uint8Array) {
  const img = parseFs3(flash.subarray(0));
  return {
    guid: img.devInfo?.guid.uid,
    mac: img.devInfo?.mac.uid,
    origGuid: img.mfgInfo?.guid.uid,
    origMac: img.mfgInfo?.mac.uid,
    psid: img.mfgInfo?.psid,
  };
}

describe('burnFwManaged on cx4lx@14.25.1020 with the 14.32.1908 catalog image', () => {
  // VERIFY made to take polls (mstflint needs the default, 0) so the flow's polling is exercised
  const { sim, model, device, clock } = card({ personality: 'cx4lx@14.25.1020', knobs: { fsmVerifyPolls: 2 } });
  const before = identityOf(model.flash.dump());
  const lines: string[] = [];
  const events: BurnEvent[] = [];
  const result = burnFwManaged(device, target, targetImage, { log: (l) => lines.push(l), onEvent: (e) => events.push(e) });

  it('runs the whole FSM and returns a fw-managed result', () => {
    expect(result).toMatchObject({ flow: 'fw-managed', outcome: 'burned', fromVersion: '14.25.1020', toVersion: '14.32.1908', bootAddressUpdated: true });
    expect(result.stats.bytesWritten).toBe(componentLength(targetImage));
    expect(result.nextStep).toMatch(/^To load new FW run fs3burn -d sim:cx4lx@14.25.1020.* reset\.$/);
    expect(model.fsmState).toBe(IDLE);
    const st = model.stats();
    expect(st.icmd.byRegister.MCDA!.set).toBe(Math.ceil(componentLength(targetImage) / 128));
  });

  it('logs flint’s MCC-path lines (§2.5)', () => {
    expect(lines).toContain('FSMST_INITIALIZE -   OK');
    expect(lines).toContain('Writing Boot image component -   OK');
    expect(lines).toContain('Writing Boot image component -  50%');
    expect(lines[lines.length - 1]).toBe(RESTORING_SIGNATURE_LINE);
    expect(lines.indexOf('FSMST_INITIALIZE -   OK')).toBeLessThan(lines.findIndex((l) => l.startsWith('Writing Boot image component')));
    expect(lines).toContain('Writing Boot image component -   0%');
  });

  it('reports every FSM state it saw as a progress event', () => {
    const phases = [...new Set(events.map((e) => e.phase))];
    expect(phases).toEqual(['fsm:FSMST_LOCKED', 'fsm:FSMST_INITIALIZE', 'fsm:FSMST_DOWNLOAD', 'download', 'fsm:FSMST_VERIFY', 'fsm:FSMST_ACTIVATE', 'fsm:FSMST_IDLE', 'done']);
    const dl = events.filter((e) => e.phase === 'download');
    expect(dl[dl.length - 1]).toMatchObject({ done: result.stats.bytesWritten, total: result.stats.bytesWritten });
  });

  it('never sleeps for real on the simulator: the device’s virtual clock took the polls', () => {
    expect(clock.sleeps).toBeGreaterThan(0);
  });

  it('after reset the card runs 14.32.1908 with its GUIDs and MACs unchanged', () => {
    model.reset();
    expect(model.running).toMatchObject({ versionString: '14.32.1908', start: 0x400000 });
    expect(identityOf(model.flash.dump())).toEqual(before);
    const again = openDevice(sim, { clock: virtualClock() });
    expect(again.fwVersion().text).toBe('14.32.1908');
  });

  describeMstflint('mstflint', () => {
    it('verifies the flash dump after the burn', () => {
      const file = join(dir, 'after-mcc.bin');
      writeFileSync(file, model.flash.dump());
      const r = mstflint(['-i', file, 'v']);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('FW image verification succeeded');
      expect(mstflint(['-i', file, 'q']).stdout).toMatch(/FW Version:\s+14\.32\.1908/);
    });
  });
});

describe('the BOOT_IMG component (§3.2 step 1)', () => {
  it('is the image slot up to its last non-device-data section, magic masked to 0xFF', () => {
    const c = extractComponent(target, targetImage);
    expect(c.data.length).toBe(componentLength(targetImage));
    expect(c.data.length).toBeLessThan(0x400000);
    expect([...c.data.subarray(0, 16)].every((b) => b === 0xff)).toBe(true);
    expect(Buffer.from(c.data.subarray(16, 0x1000)).equals(Buffer.from(target.subarray(16, 0x1000)))).toBe(true);
    const last = targetImage.entries.filter((e) => !e.deviceData).reduce((m, e) => Math.max(m, e.address + e.size), 0);
    expect(c.data.length).toBe(last);
  });
});

describe('refusals (exit 7) before anything is sent', () => {
  it('an unsigned image (14.14.1100) is refused with flint’s SM_NONE text', () => {
    const { device, model } = card();
    const bytes = catalogImage('cx4lx-14.14.1100');
    const e = caught(() => burnFwManaged(device, bytes, parseFs3(bytes)));
    expect(e.code).toBe('FW_MANAGED_IMAGE_UNSIGNED');
    expect(e.exitCode).toBe(7);
    expect(e.message).toMatch(/old image format that does not have a signature/);
    expect(e.message).toMatch(/still runs FW 14\.25\.1020/);
    expect(model.stats().icmd.byRegister.MCC).toBeUndefined();
  });

  it('a 14.14.1100 card (no MCAM) is refused, naming MCAM', () => {
    const { device } = card('cx4lx@14.14.1100');
    const e = caught(() => burnFwManaged(device, target, targetImage));
    expect(e.code).toBe('FW_MANAGED_UNSUPPORTED');
    expect(e.message).toMatch(/MCAM/);
  });

  it('noFwCtrl is refused', () => {
    const { device } = card();
    expect(caught(() => burnFwManaged(device, target, targetImage, { noFwCtrl: true })).code).toBe('FW_MANAGED_UNSUPPORTED');
  });

  it('an FSM already locked by another tool is refused and left alone', () => {
    const { device, model } = card();
    const q = device.mccQuery({ updateHandle: 0 });
    device.mcc({ instruction: 1, updateHandle: q.updateHandle });
    const e = caught(() => burnFwManaged(device, target, targetImage));
    expect(e.code).toBe('FW_MANAGED_FSM_BUSY');
    expect(e.exitCode).toBe(7);
    expect(model.fsmState).toBe(1); // still the other tool's LOCKED
  });

  it('takes the flash-programming semaphore first (§3.2 step 2): held by another owner, nothing is sent', () => {
    const { device, model } = card({ personality: 'cx4lx@14.25.1020', faults: ['sem-held:4242,op=sem-flash,times=inf'] });
    const e = caught(() => burnFwManaged(device, target, targetImage));
    expect(e.code).toBe('SEMAPHORE_HELD');
    expect(model.stats().icmd.byRegister.MCC).toBeUndefined();
    expect(model.fsmState).toBe(IDLE);
  });

  it('a second update before reset is refused by the card: pending reset (FSM error 9)', () => {
    const { device, model } = card();
    burnFwManaged(device, target, targetImage);
    const e = caught(() => burnFwManaged(device, target, targetImage));
    expect(e.code).toBe('FW_MANAGED_PENDING_RESET');
    expect(e.message).toMatch(/pending reset/);
    expect(e.hint).toMatch(/reset/);
    expect(model.fsmState).toBe(IDLE);
  });
});

export function caught(fn: () => unknown): Fs3BurnError {
  try {
    fn();
  } catch (e) {
    if (e instanceof Fs3BurnError) return e;
    throw e;
  }
  throw new Error('expected an Fs3BurnError');
}
