/**
 * burnImage: flint's lines (fs3-facts.md §2.5), the flow choice (§3.1: legacy on 14.14, the
 * FW-managed flow on 14.25), the boot-address step's variants (§2.3 step 4, §8) and the
 * result record.
 */
import { describe, expect, it } from 'vitest';
import { openDevice } from '../src/device/index.js';
import { burnImage, nextStepText, BOOT_ADDRESS_WARNING, type BurnOptions } from '../src/flows/index.js';
import { catalogImage } from '../src/image/catalog.js';
import { createSimDevice, findPersonality } from '../src/sim/index.js';
import { virtualClock } from '../src/vsec/index.js';
import { simCard } from './helpers/sim-card.js';

const FAST: BurnOptions = { retry: { retries: 2, minTimeoutMs: 0, maxTimeoutMs: 0 } };
const NEW = catalogImage('cx4lx-14.32.1908');


describe('flint-compatible lines', () => {
  it('banner, progress, OK, Restoring signature, the trailer', async () => {
    const { sim, dev } = simCard('cx4lx@14.14.1100');
    const lines: string[] = [];
    const r = await burnImage(dev, NEW, { ...FAST, log: (l) => lines.push(l) });
    expect(lines.slice(0, 4)).toEqual(['', '    Current FW version on flash:  14.14.1100', '    New FW version:               14.32.1908', '']);
    const progress = lines.filter((l) => l.startsWith('Burning FW image without signatures - '));
    expect(progress[0]).toBe('Burning FW image without signatures -   0%');
    expect(progress).toContain('Burning FW image without signatures -  50%');
    expect(progress.at(-1)).toBe('Burning FW image without signatures - OK');
    expect(progress.length).toBe(101); // one line per percent, then OK
    expect(lines.slice(-2)).toEqual(['Restoring signature                     - OK', `-I- To load new FW run fs3burn -d ${sim.name} reset.`]);
    expect(r.stats.bytesWritten).toBeGreaterThan(0x200000);
    expect(r.stats.sectorsSkipped).toBe(0);
  });

  it("the real-device trailer is 4.21's (§2.5)", () => {
    expect(nextStepText('/sys/bus/pci/devices/0000:03:00.0/config', true)).toBe('To load new FW run mstfwreset or reboot machine.');
    expect(nextStepText('/dev/mst/mt4117_pciconf0', false)).toBe('To load new FW run reboot machine.');
  });
});

describe('flow choice (§3.1)', () => {
  it('14.25.1020 with the signed 14.32.1908 image: the FW-managed flow', async () => {
    const { sim, dev } = simCard('cx4lx@14.25.1020');
    const lines: string[] = [];
    const r = await burnImage(dev, NEW, { ...FAST, log: (l) => lines.push(l) });
    expect(r).toMatchObject({ flow: 'fw-managed', outcome: 'burned', toVersion: '14.32.1908' });
    expect(lines.at(-1)).toBe(`-I- ${r.nextStep}`);
    sim.model.reset('warm');
    expect(sim.model.running).toMatchObject({ versionString: '14.32.1908' });
  });

  it('14.14.1100 answers no MCAM: the legacy flow', async () => {
    const { dev } = simCard('cx4lx@14.14.1100');
    const seen: string[][] = [];
    const r = await burnImage(dev, NEW, { ...FAST, confirm: (i) => (seen.push(i.reasons), true) });
    expect(r.flow).toBe('legacy');
    expect(seen[0]!.join(' ')).toMatch(/does not answer MCAM/);
  });
});

describe('boot address (§2.3 step 4, §8)', () => {
  it('MFRL level 0x40 not supported: MFAI only, 0x40 not sent', async () => {
    const p = findPersonality('cx4lx@14.14.1100')!;
    const { sim, dev } = simCard({ personality: { ...p, mfrlLevels: 0x09 } });
    const r = await burnImage(dev, NEW, FAST);
    expect(r.bootAddressUpdated).toBe(true);
    expect(r.mitigations.join('\n')).toMatch(/MFRL level 0x40 is not among the supported levels \(mask 0x9\): not sent/);
    expect(sim.model.stats().icmd.byRegister['MFRL']?.set ?? 0).toBe(0);
    sim.model.reset('warm');
    expect(sim.model.running).toMatchObject({ versionString: '14.32.1908', bootedVia: 'mfai' });
  });

  it('MFAI refused: a warning, then the CR path (0xF0000 / 0xF0204)', async () => {
    const { sim, dev } = simCard({ personality: 'cx4lx@14.14.1100', faults: ['reg-status:7,reg=MFAI,method=set'] });
    const lines: string[] = [];
    const r = await burnImage(dev, NEW, { ...FAST, log: (l) => lines.push(l) });
    expect(r.bootAddressUpdated).toBe(true);
    expect(lines.some((l) => l.startsWith('Failed to activate image. '))).toBe(true);
    expect(r.mitigations.join('\n')).toMatch(/MFAI failed \(REGISTER_BAD_PARAM\): set the boot address through CR/);
    sim.model.reset('warm');
    expect(sim.model.running).toMatchObject({ start: 0x400000, versionString: '14.32.1908', bootedVia: 'cr' });
  });

  it('a device opened with the gateway forced (flint -ocr): the CR path, no MFAI (§2.3 step 4)', async () => {
    const sim = createSimDevice('cx4lx@14.14.1100');
    const dev = openDevice(sim, { clock: virtualClock(), icmd: { pollBudget: 64 }, flash: { forceGateway: true } });
    const r = await burnImage(dev, NEW, FAST);
    expect(r).toMatchObject({ flow: 'legacy', outcome: 'burned', newImageStart: 0x400000, bootAddressUpdated: true });
    expect(sim.model.stats().icmd.byRegister['MFAI']?.set ?? 0).toBe(0);
    expect(sim.model.stats().icmd.byRegister['MFBA']?.set ?? 0).toBe(0);
    sim.model.reset('warm');
    expect(sim.model.running).toMatchObject({ start: 0x400000, versionString: '14.32.1908', bootedVia: 'cr' });
  });

  it("flintOrder with MFAI refused: flint's warning, no CR fallback, the burn itself completes", async () => {
    const { dev } = simCard({ personality: 'cx4lx@14.14.1100', faults: ['reg-status:7,reg=MFAI,method=set'] });
    const lines: string[] = [];
    const r = await burnImage(dev, NEW, { flintOrder: true, log: (l) => lines.push(l) });
    expect(r).toMatchObject({ outcome: 'burned', bootAddressUpdated: false, mitigations: [] });
    expect(lines).toContain(BOOT_ADDRESS_WARNING);
    expect(lines.at(-2)).toBe('Restoring signature                     - OK');
  });
});
