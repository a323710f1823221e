/** The ICMD interface straight on the simulated card's VSEC (§6.1, §6.2). */
import { describe, expect, it } from 'vitest';
import { IcmdInterface } from '../src/icmd/index.js';
import { MGIR, RegisterAccess } from '../src/registers/index.js';
import { createSimDevice } from '../src/sim/index.js';
import { openSpaceAccess, virtualClock } from '../src/vsec/index.js';

function icmdOn(spec: Parameters<typeof createSimDevice>[0], pollBudget = 64) {
  const sim = createSimDevice(spec);
  const o = openSpaceAccess(sim, { clock: virtualClock() });
  return { sim, icmd: new IcmdInterface(o.access, { clock: virtualClock(), pollBudget }) };
}

describe('ICMD on the simulated card', () => {
  it('reads the mailbox size (space 3, 0x1000) and runs a register access with the semaphore held', () => {
    const { sim, icmd } = icmdOn('cx4lx@14.32.1908');
    expect(icmd.mailboxSize).toBe(0x340);
    expect(icmd.isReady()).toBe(true);
    const m = new RegisterAccess(icmd).get(MGIR);
    expect([m.extendedMajor, m.extendedMinor, m.extendedSubminor]).toEqual([14, 32, 1908]);
    const s = sim.model.stats();
    expect(s.icmd.withoutSemaphore).toBe(0);
    expect(s.semaphores.takes).toBe(1);
  });

  it('an unknown opcode → ICMD_STATUS_ERROR (bad opcode) with the syndrome', () => {
    const { icmd } = icmdOn('cx4lx@14.25.1020');
    expect(() => icmd.send(0x1234, new Uint8Array(16), 16)).toThrow(
      expect.objectContaining({ code: 'ICMD_STATUS_ERROR', data: expect.objectContaining({ status: 1, statusName: 'bad opcode' }) }),
    );
  });

  it('livefish: the readiness bit is set → ICMD_NOT_READY', () => {
    const { icmd } = icmdOn({ personality: 'cx4lx@14.14.1100', knobs: { livefish: true } });
    expect(icmd.isReady()).toBe(false);
    expect(() => icmd.send(0x9001, new Uint8Array(20), 20)).toThrow(expect.objectContaining({ code: 'ICMD_NOT_READY' }));
  });

  it('a slow command (busy for a few polls) completes within the budget', () => {
    const { icmd } = icmdOn({ personality: 'cx4lx@14.25.1020', knobs: { icmdBusyPolls: 7 } }, 20);
    new RegisterAccess(icmd).get(MGIR);
    expect(icmd.stats.polls).toBeGreaterThanOrEqual(8);
    expect(icmd.stats.sleptMs).toBeGreaterThan(0);
  });
});
