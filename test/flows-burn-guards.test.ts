/**
 * The guards of burnImage (fs3-facts.md §2.1): every refusal happens before ANY write reaches
 * the card (the sim's writesToFlash does not move), is a typed Fs3BurnError with exit status
 * REFUSED (7), says the card is left bootable, and hints at what to run next.
 */
import { describe, expect, it } from 'vitest';
import type { Device } from '../src/device/index.js';
import { Fs3BurnError } from '../src/errors.js';
import { burnImage, type BurnOptions, type ConfirmInfo } from '../src/flows/index.js';
import { catalogImage, catalogImageDetailed } from '../src/image/catalog.js';
import { SectionType } from '../src/image/sections.js';
import type { SimDevice } from '../src/sim/index.js';
import { refusedWithoutWrites, simCard } from './helpers/sim-card.js';

const FAST: BurnOptions = { retry: { retries: 2, minTimeoutMs: 0, maxTimeoutMs: 0 } };

/** A refusal (refusedWithoutWrites) that sent no boot-address request either and says the card is untouched. */
async function refused(sim: SimDevice, burn: () => Promise<unknown>): Promise<Fs3BurnError> {
  const mfai = sim.model.stats().icmd.byRegister['MFAI']?.set ?? 0;
  const err = await refusedWithoutWrites(sim, burn);
  expect(sim.model.stats().icmd.byRegister['MFAI']?.set ?? 0).toBe(mfai); // nor a boot-address request
  expect(err.message).toMatch(/Nothing was written: the card is left as it was and stays bootable\.$/);
  expect(err.hint).toBeTruthy();
  return err;
}

describe('refusals before any write', () => {
  it('PSID mismatch → BURN_PSID_MISMATCH; allowPsidChange burns', async () => {
    const { sim, dev } = simCard('cx4lx@14.14.1100');
    const image = catalogImage('cx4lx-14.32.1908', { psid: 'MT_0000000999' });
    const e = await refused(sim, () => burnImage(dev, image, FAST));
    expect(e.code).toBe('BURN_PSID_MISMATCH');
    expect(e.message).toMatch(/^PSID mismatch: the image is for PSID MT_0000000999, the card's PSID is MT_2420110034/);
    expect(e.hint).toMatch(/allowPsidChange/);
    const r = await burnImage(dev, image, { ...FAST, allowPsidChange: true });
    expect(r.outcome).toBe('burned');
    expect(r.mitigations[0]).toBe('guard overridden: PSID changes from MT_2420110034 to MT_0000000999 (allowPsidChange)');
  });

  it('HW ID mismatch (supported_hw_id vs CR 0xF0014) → BURN_HW_ID_MISMATCH', async () => {
    const { sim, dev } = simCard('cx4lx@14.14.1100');
    const e = await refused(sim, () => burnImage(dev, catalogImage('cx4lx-14.32.1908', { supportedHwIds: [0x209] }), { ...FAST, allowPsidChange: true, force: true }));
    expect(e.code).toBe('BURN_HW_ID_MISMATCH');
    expect(e.message).toMatch(/^Device\/Image mismatch: the image is for HW ID 0x209, the device is 0x20B \(ConnectX4LX\)/);
  });

  it('older version → BURN_DOWNGRADE unless allowDowngrade', async () => {
    const { sim, dev } = simCard('cx4lx@14.25.1020');
    const e = await refused(sim, () => burnImage(dev, catalogImage('cx4lx-14.14.1100'), FAST));
    expect(e.code).toBe('BURN_DOWNGRADE');
    expect(e.message).toMatch(/^The image's FW 14.14.1100 is older than the FW 14.25.1020 on flash/);
    expect(e.hint).toMatch(/allowDowngrade/);
  });

  it('an image that does not verify → BURN_IMAGE_INVALID, without asking the card anything', async () => {
    const { sim, dev } = simCard('cx4lx@14.14.1100');
    const built = catalogImageDetailed('cx4lx-14.32.1908');
    const main = built.layout.sections.find((s) => s.type === SectionType.MAIN_CODE)!;
    const bad = built.image.slice();
    bad[main.addr + 0x100] ^= 0x40;
    const reads = sim.model.stats().config.reads;
    const e = await refused(sim, () => burnImage(dev, bad, FAST));
    expect(e.code).toBe('BURN_IMAGE_INVALID');
    expect(e.message).toMatch(/does not verify: Bad CRC\. \(bad: MAIN_CODE\)/);
    expect(sim.model.stats().config.reads).toBe(reads);
  });

  it('a write-protected flash → BURN_WRITE_PROTECTED', async () => {
    const { sim, dev } = simCard({ personality: 'cx4lx@14.14.1100', knobs: { writeProtect: true } });
    const e = await refused(sim, () => burnImage(dev, catalogImage('cx4lx-14.32.1908'), FAST));
    expect(e.code).toBe('BURN_WRITE_PROTECTED');
  });

  it('a declined confirmation → BURN_DECLINED; the prompt saw flow and versions', async () => {
    const { sim, dev } = simCard('cx4lx@14.14.1100');
    const seen: ConfirmInfo[] = [];
    const e = await refused(sim, () => burnImage(dev, catalogImage('cx4lx-14.32.1908'), { ...FAST, confirm: (i) => (seen.push(i), false) }));
    expect(e.code).toBe('BURN_DECLINED');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ device: sim.name, flow: 'legacy', fromVersion: '14.14.1100', toVersion: '14.32.1908' });
    expect(seen[0]!.reasons.join(' ')).toMatch(/MCAM/);
  });

  it('an abort before the start → BURN_ABORTED, nothing written', async () => {
    const { sim, dev } = simCard('cx4lx@14.14.1100');
    const ac = new AbortController();
    ac.abort();
    const writes = sim.model.writesToFlash;
    await expect(burnImage(dev, catalogImage('cx4lx-14.32.1908'), { ...FAST, signal: ac.signal })).rejects.toMatchObject({ code: 'BURN_ABORTED' });
    expect(sim.model.writesToFlash).toBe(writes);
  });
});

describe('same version', () => {
  it('is skipped (outcome skipped-same-version, nothing written); force burns it to the other slot', async () => {
    const { sim, dev } = simCard('cx4lx@14.14.1100');
    const lines: string[] = [];
    const writes = sim.model.writesToFlash;
    const r = await burnImage(dev, catalogImage('cx4lx-14.14.1100'), { ...FAST, log: (l) => lines.push(l) });
    expect(r).toMatchObject({ flow: 'none', outcome: 'skipped-same-version', fromVersion: '14.14.1100', toVersion: '14.14.1100', bootAddressUpdated: false });
    expect(sim.model.writesToFlash).toBe(writes);
    expect(lines).toContain('-I- The FW on flash is already 14.14.1100: nothing to burn (force burns it again).');

    const forced = await burnImage(dev, catalogImage('cx4lx-14.14.1100'), { ...FAST, force: true });
    expect(forced).toMatchObject({ flow: 'legacy', outcome: 'burned', newImageStart: 0x400000 });
    expect(forced.mitigations).toContain('guard overridden: same version 14.14.1100 burned again (force)');
  });

  it('nofs performs no version check (§2.4)', async () => {
    const { dev } = simCard('cx4lx@14.14.1100');
    const r = await burnImage(dev, catalogImage('cx4lx-14.14.1100'), { ...FAST, nofs: true });
    expect(r).toMatchObject({ flow: 'legacy', outcome: 'burned' });
  });
});
