/**
 * Guards that refuse a burn before any write (docs/guards.md), where the existing tests
 * (flows-burn-guards, burn-cli) leave gaps: HW ID through the CLI, write-protected flash
 * (legacy, FW-managed and direct-gateway paths, and the CLI), the absolute-section guard the
 * fuzzer found, and each CLI refusal's reason, exit status and override flag side by side.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Device } from '../src/device/index.js';
import { ExitCode, Fs3BurnError } from '../src/errors.js';
import { burnImage, type BurnOptions } from '../src/flows/index.js';
import { catalogImage } from '../src/image/catalog.js';
import { createSimDevice, type SimDevice } from '../src/sim/index.js';
import { virtualClock } from '../src/vsec/index.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/fixtures.js';
import { SMALL_SECTIONS, Workbench, mapImage } from './helpers/mutate.js';
import { refusedWithoutWrites, simCard } from './helpers/sim-card.js';

const FAST: BurnOptions = { retry: { retries: 2, minTimeoutMs: 0, maxTimeoutMs: 0 } };
const small = (name: string, extra: Record<string, unknown> = {}) => catalogImage(name, { sections: SMALL_SECTIONS, ...extra });

/** A refusal (refusedWithoutWrites) with a hint. */
async function refused(sim: SimDevice, burn: () => Promise<unknown>): Promise<Fs3BurnError> {
  const err = await refusedWithoutWrites(sim, burn);
  expect(err.hint).toBeTruthy();
  return err;
}

describe('write-protected flash (sim knob writeProtect)', () => {
  it('legacy flow (14.14.1100): refused before any write; fs3burn does not lift the protection', async () => {
    const { sim, dev } = simCard({ personality: 'cx4lx@14.14.1100', knobs: { writeProtect: true } });
    const e = await refused(sim, () => burnImage(dev, small('cx4lx-14.32.1908'), FAST));
    expect(e.code).toBe('BURN_WRITE_PROTECTED');
    expect(e.message).toBe(
      'The flash is write-protected (MFPA sector_wrp / subsector_wrp); fs3burn does not remove write protection itself. Nothing was written: the card is left as it was and stays bootable.',
    );
    expect(e.hint).toMatch(/no fs3burn flag overrides it/);
    expect(sim.model.flash.writeProtected).toBe(true); // still protected: nobody wrote the status register
  });

  it('FW-managed flow (14.25.1020) and the overrides do not get past it', async () => {
    const { sim, dev } = simCard({ personality: 'cx4lx@14.25.1020', knobs: { writeProtect: true } });
    const e = await refused(sim, () => burnImage(dev, small('cx4lx-14.32.1908'), { ...FAST, force: true, allowDowngrade: true, allowPsidChange: true, nofs: true }));
    expect(e.code).toBe('BURN_WRITE_PROTECTED');
    expect(sim.model.stats().icmd.byRegister['MCC']).toBeUndefined(); // the FSM was never asked
  });

  it('the direct gateway: the status register\'s block-protect bits', async () => {
    const { sim, dev } = simCard({ personality: 'cx4lx@14.14.1100', knobs: { writeProtect: true } }, { flash: { forceGateway: true } });
    const e = await refused(sim, () => burnImage(dev, small('cx4lx-14.32.1908'), { ...FAST, deviceOptions: { clock: virtualClock(), flash: { forceGateway: true } } }));
    expect(e.code).toBe('BURN_WRITE_PROTECTED');
    expect(e.message).toMatch(/^The flash is write-protected \(the block-protect bits of the flash status register\)/);
  });
});

describe('a section with an absolute address that is not device data (found by fuzzing)', () => {
  it('is refused before the card is asked anything; it would have been written over the running image', async () => {
    const img = small('cx4lx-14.32.1908');
    const map = mapImage('14.32', img);
    const main = map.sections.findIndex((s) => s.name === 'MAIN_CODE');
    // relative_addr cleared, CRCs fixed: the image still verifies
    const bad = new Workbench(img, map).materialize({ kind: 'entry', pick: main, field: 'relative', value: 1, fix: 'both' });
    const { sim, dev } = simCard('cx4lx@14.14.1100');
    const reads = sim.model.stats().config.reads;
    const e = await refused(sim, () => burnImage(dev, bad, FAST));
    expect(e.code).toBe('BURN_IMAGE_INVALID');
    expect(e.message).toMatch(/its MAIN_CODE section has an absolute flash address \(relative_addr 0, 0x9000\) but is not device data/);
    expect(sim.model.stats().config.reads).toBe(reads);
  });
});

describe('through the CLI: each refusal with its reason, exit 7 and the flag that overrides it', () => {
  let dir: string;
  const file = (name: string, bytes: Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  let n = 0;
  const card = (v: string, extra = '') => `sim:cx4lx@${v}?state=${join(dir, `card-${++n}.sim`)}${extra}`;
  const flashOf = (dev: string) => {
    const sim = createSimDevice(dev.slice(4));
    const f = Buffer.from(sim.model.flash.dump());
    sim.close();
    return f;
  };
  beforeAll(() => {
    dir = tempDir('fs3burn-guards-cli-');
  });

  const cases: { what: string; card: string; extra?: string; image: () => Uint8Array; code: string; reason: RegExp; flag: RegExp | null; override?: string[] }[] = [
    {
      what: 'HW ID mismatch',
      card: '14.14.1100',
      image: () => small('cx4lx-14.32.1908', { supportedHwIds: [0x209] }),
      code: 'BURN_HW_ID_MISMATCH',
      reason: /Device\/Image mismatch: the image is for HW ID 0x209, the device is 0x20B/,
      flag: null, // no override: use the right image
    },
    {
      what: 'PSID mismatch',
      card: '14.14.1100',
      image: () => small('cx4lx-14.32.1908', { psid: 'MT_0000000999' }),
      code: 'BURN_PSID_MISMATCH',
      reason: /PSID mismatch: the image is for PSID MT_0000000999, the card's PSID is MT_2420110034/,
      flag: /--allow-psid-change/,
      override: ['--allow-psid-change'],
    },
    {
      what: 'downgrade',
      card: '14.25.1020',
      image: () => small('cx4lx-14.14.1100'),
      code: 'BURN_DOWNGRADE',
      reason: /The image's FW 14\.14\.1100 is older than the FW 14\.25\.1020 on flash/,
      flag: /--allow-downgrade/,
      override: ['--allow-downgrade'],
    },
    {
      what: 'write-protected flash',
      card: '14.14.1100',
      extra: '&writeProtect=1',
      image: () => small('cx4lx-14.32.1908'),
      code: 'BURN_WRITE_PROTECTED',
      reason: /The flash is write-protected .*; fs3burn does not remove write protection itself/,
      flag: /no fs3burn flag overrides it/,
    },
  ];

  for (const c of cases) {
    it(`${c.what}: ${c.code}`, () => {
      const dev = card(c.card, c.extra ?? '');
      const img = file(`${c.code}.bin`, c.image());
      const before = flashOf(dev);
      const r = runCli(['-d', dev, '-i', img, 'burn', '-y']);
      expect(r.status, r.stderr).toBe(ExitCode.REFUSED);
      expect(r.stderr).toMatch(c.reason);
      expect(r.stderr).toMatch(/Nothing was written/);
      if (c.flag) expect(r.stderr).toMatch(c.flag);
      const j = runCli(['-d', dev, '-i', img, 'burn', '-y', '--json']);
      expect(j.status).toBe(ExitCode.REFUSED);
      expect(JSON.parse(j.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'error', error: { code: c.code, exitCode: 7 } });
      expect(Buffer.compare(flashOf(dev), before)).toBe(0);
      if (c.override) {
        const o = runCli(['-d', dev, '-i', img, 'burn', '-y', ...c.override]);
        expect(o.status, o.stderr).toBe(0);
        expect(o.stdout).toMatch(/-I- fs3burn: guard overridden: /);
      }
    });
  }

  it('same version: not a refusal — exit 0, nothing written, and force named', () => {
    const dev = card('14.32.1908');
    const img = file('same.bin', catalogImage('cx4lx-14.32.1908'));
    const before = flashOf(dev);
    const r = runCli(['-d', dev, '-i', img, 'burn', '-y']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/already 14\.32\.1908: nothing to burn \(force burns it again\)/);
    expect(Buffer.compare(flashOf(dev), before)).toBe(0);
  });
});
