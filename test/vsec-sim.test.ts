/** The VSEC layer and the legacy CR gateway against the simulated card (§5.2, §5.3). */
import { describe, expect, it } from 'vitest';
import { openDevice } from '../src/device/index.js';
import { readHwId } from '../src/registers/index.js';
import { createSimDevice } from '../src/sim/index.js';
import { openSpaceAccess, Space, virtualClock } from '../src/vsec/index.js';

describe('VSEC on the simulated card', () => {
  it('finds the VSEC, probes CR / ICMD / ICMD_EXT / SEMAPHORE, reads the HW id; counts match the card', () => {
    const sim = createSimDevice('cx4lx@14.14.1100');
    const o = openSpaceAccess(sim, { clock: virtualClock() });
    expect(o.mode).toBe('vsec');
    expect([...o.supportedSpaces].sort((a, b) => a - b)).toEqual([Space.ICMD_EXT, Space.CR, Space.ICMD, Space.SEMAPHORE]);
    expect(readHwId(o.access)).toMatchObject({ hwId: 0x20b, revision: 0, locked: false, deviceName: 'ConnectX4LX' });
    const card = sim.model.stats();
    expect(o.configCounts).toEqual(card.config);
    expect(card.vsec.unlockedAccesses).toBe(0);
    expect(card.vsec.semTakes).toBe(o.vsecStats.semAcquires);
  });

  it('a semaphore read-back that lost a bit: the ticket is still ours at the next attempt, not a semaphore held by nobody', () => {
    const at = openSpaceAccess(createSimDevice('cx4lx@14.25.1020'), { clock: virtualClock() }).vsecOffset!;
    // the card's 2nd read of VSEC SEMAPHORE (the first acquisition's read-back) comes back with bit 0 flipped
    const sim = createSimDevice({ personality: 'cx4lx@14.25.1020', faults: [`bit-flip:0,op=config-read,addr=${at + 0x0c},nth=2`] });
    const o = openSpaceAccess(sim, { clock: virtualClock(), semRetries: 4 });
    expect(sim.model.fired).toHaveLength(1);
    expect(o.mode).toBe('vsec');
    expect(readHwId(o.access).hwId).toBe(0x20b);
    expect(sim.read32(at + 0x0c)).toBe(0); // released: free for the next tool
  });

  it('a space-select read-back that lost a bit is read again, not taken as a refused space', () => {
    const at = openSpaceAccess(createSimDevice('cx4lx@14.25.1020'), { clock: virtualClock() }).vsecOffset!;
    // the 2nd read of VSEC CTRL (the first space select's read-back) comes back with bit 0 of the space flipped
    const sim = createSimDevice({ personality: 'cx4lx@14.25.1020', faults: [`bit-flip:0,op=config-read,addr=${at + 0x04},nth=2`] });
    const o = openSpaceAccess(sim, { clock: virtualClock() });
    expect(sim.model.fired).toHaveLength(1);
    expect([...o.supportedSpaces].sort((a, b) => a - b)).toEqual([Space.ICMD_EXT, Space.CR, Space.ICMD, Space.SEMAPHORE]);
  });

  it('a syndrome bit that a read flipped is read again, not reported as a failed access', () => {
    const at = openSpaceAccess(createSimDevice('cx4lx@14.25.1020'), { clock: virtualClock() }).vsecOffset!;
    const sim = createSimDevice({ personality: 'cx4lx@14.25.1020', faults: [`bit-flip:30,op=config-read,addr=${at + 0x10},nth=2`] });
    const o = openSpaceAccess(sim, { clock: virtualClock() });
    for (let i = 0; i < 4; i++) expect(readHwId(o.access).hwId).toBe(0x20b);
    expect(sim.model.fired).toHaveLength(1);
    // a real syndrome stays: an address beyond the CR space is still refused
    expect(() => o.access.readSpace32(Space.CR, 0x3fff0000)).toThrow(expect.objectContaining({ code: 'VSEC_ADDRESS_OUT_OF_RANGE' }));
  });

  it('a PCI_* space (0x102) is refused: the card drops the space MSB (§4.6 PR #1047)', () => {
    const sim = createSimDevice('cx4lx@14.25.1020');
    const o = openSpaceAccess(sim, { clock: virtualClock() });
    expect(() => o.access.readSpace32(Space.PCI_CR, 0xf0014)).toThrow(expect.objectContaining({ code: 'VSEC_SPACE_UNSUPPORTED' }));
  });

  it('an address beyond the CR space sets the syndrome → VSEC_ADDRESS_OUT_OF_RANGE', () => {
    const o = openSpaceAccess(createSimDevice('cx4lx@14.25.1020'), { clock: virtualClock() });
    expect(() => o.access.readSpace32(Space.CR, 0x3fff0000)).toThrow(expect.objectContaining({ code: 'VSEC_ADDRESS_OUT_OF_RANGE' }));
  });

  it('falls back to the legacy 0x58/0x5C gateway without the SEMAPHORE space; flash then goes through the HW gateway', () => {
    const sim = createSimDevice({ personality: 'cx4lx@14.14.1100', knobs: { supportedSpaces: [Space.CR, Space.ICMD] } });
    const dev = openDevice(sim, { clock: virtualClock() });
    const id = dev.identify();
    expect(id).toMatchObject({ accessMode: 'legacy', hwId: 0x20b, accessMethod: { method: 'gateway' } });
    expect(id.fwVersion).toBeUndefined();
    expect(id.psid).toMatch(/^MT_/);
    expect(sim.model.stats().legacyGateway.reads).toBeGreaterThan(0);
  });

  it('forceLegacy uses the legacy gateway even with a VSEC', () => {
    const sim = createSimDevice('cx4lx@14.25.1020');
    const o = openSpaceAccess(sim, { forceLegacy: true });
    expect(o.mode).toBe('legacy');
    expect(readHwId(o.access).hwId).toBe(0x20b);
  });
});
