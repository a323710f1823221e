/**
 * Guard: a semaphore held by another owner (fs3-facts.md §5.3; docs/guards.md). The ICMD
 * semaphore (space 0xA offset 0) and the flash-programming semaphore (0x10) must be free
 * before a burn starts. Held: the burn is refused (GUARD_SEMAPHORE_HELD, exit 7) naming the
 * owner id read back, before anything is written or any ICMD command is sent. With
 * clearSemaphore / --clear-semaphore fs3burn writes 0 to it, says so, and burns.
 *
 * Two models of "held": the sim's `sem-held` fault (an owner that holds it for N takes, then
 * lets go), and a stale owner that only a 0 write clears (an address-space wrapper below),
 * which is what a crashed tool leaves on a real card.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDevice } from '../src/device/index.js';
import { ExitCode, Fs3BurnError } from '../src/errors.js';
import { burnImage, type BurnOptions } from '../src/flows/index.js';
import { catalogImage } from '../src/image/catalog.js';
import { createSimDevice, type SimDevice, type SimOptions } from '../src/sim/index.js';
import type { AddressSpaceAccess } from '../src/transport/mst/address-space.js';
import { Space } from '../src/vsec/constants.js';
import { openSpaceAccess, virtualClock } from '../src/vsec/index.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/fixtures.js';
import { SMALL_SECTIONS } from './helpers/mutate.js';
import { refusedWithoutWrites, simCard } from './helpers/sim-card.js';

const FAST: BurnOptions = { retry: { retries: 2, minTimeoutMs: 0, maxTimeoutMs: 0 } };
const TRIES = 6;
const image = () => catalogImage('cx4lx-14.32.1908', { sections: SMALL_SECTIONS });

const open = (spec: string | SimOptions) => simCard(spec, { icmd: { semaphoreTries: TRIES }, flash: { semaphoreTries: TRIES } });

/** A refusal (refusedWithoutWrites) for a held semaphore, before a single ICMD command was sent. */
async function refused(sim: SimDevice, burn: () => Promise<unknown>): Promise<Fs3BurnError> {
  const commands = sim.model.stats().icmd;
  const err = await refusedWithoutWrites(sim, burn);
  expect(sim.model.stats().icmd).toEqual(commands); // not one ICMD command was sent
  expect(err.code).toBe('GUARD_SEMAPHORE_HELD');
  expect(err.message).toMatch(/Nothing was written: the card is left as it was and stays bootable\.$/);
  return err;
}

/** A card whose semaphore at `offset` a crashed tool left held by `owner`: only a 0 write clears it. */
function staleOwner(access: AddressSpaceAccess, offset: number, owner: number): AddressSpaceAccess & { zeroWrites: number; held: boolean } {
  const w = {
    name: access.name,
    held: true,
    zeroWrites: 0,
    readSpace32(space: number, off: number): number {
      if (space === Space.SEMAPHORE && off === offset && w.held) return owner;
      return access.readSpace32(space, off);
    },
    writeSpace32(space: number, off: number, value: number): void {
      if (space === Space.SEMAPHORE && off === offset && w.held) {
        if (value === 0) {
          w.zeroWrites++;
          w.held = false;
        }
        return; // a take while held does nothing (§5.3)
      }
      access.writeSpace32(space, off, value);
    },
    close: () => access.close(),
  };
  return w;
}

describe('the sim\'s sem-held fault', () => {
  it('ICMD semaphore held by owner 4242 → refused with the owner id and the flag that clears it', async () => {
    const { sim, dev } = open({ personality: 'cx4lx@14.14.1100', faults: ['sem-held:4242,op=sem-icmd,times=inf'] });
    const e = await refused(sim, () => burnImage(dev, image(), FAST));
    expect(e.message).toMatch(/^Another tool is using the card: the ICMD semaphore \(space 0xA offset 0x0\) is held by owner id 4242 \(0x1092\)\./);
    expect(e.hint).toMatch(/wait for process 4242 to finish/);
    expect(e.hint).toMatch(/--clear-semaphore \(library: clearSemaphore\)/);
    expect(e.data).toMatchObject({ semaphores: [{ label: 'ICMD', offset: 0, owner: 4242 }] });
  });

  it('flash-programming semaphore (0x10) held by owner 777 → refused the same way', async () => {
    const { sim, dev } = open({ personality: 'cx4lx@14.25.1020', faults: ['sem-held:777,op=sem-flash,times=inf'] });
    const e = await refused(sim, () => burnImage(dev, image(), FAST));
    expect(e.message).toContain('the flash-programming semaphore (space 0xA offset 0x10) is held by owner id 777 (0x309)');
  });

  it('clearSemaphore writes 0, says so, and the burn proceeds once the owner lets go', async () => {
    // the owner holds it for the probe's tries, then lets go (the sim's model of an owner)
    const { sim, dev } = open({ personality: 'cx4lx@14.14.1100', faults: [`sem-held:4242,op=sem-icmd,times=${TRIES}`] });
    const lines: string[] = [];
    const r = await burnImage(dev, image(), { ...FAST, clearSemaphore: true, log: (l) => lines.push(l) } as BurnOptions);
    expect(r.outcome).toBe('burned');
    expect(lines).toContain('-W- fs3burn: cleared the ICMD semaphore (space 0xA offset 0x0) held by owner id 4242: wrote 0, it reads 0x1092 now (clearSemaphore)');
    expect(r.mitigations[0]).toMatch(/^guard overridden: cleared the ICMD semaphore .* held by owner id 4242/);
    sim.model.reset('warm');
    expect(sim.model.running?.versionString).toBe('14.32.1908');
  });

  it('an owner that takes it again at once: refused after the clear, still nothing written', async () => {
    const { sim, dev } = open({ personality: 'cx4lx@14.14.1100', faults: ['sem-held:4242,op=sem-icmd,times=inf'] });
    const e = await refused(sim, () => burnImage(dev, image(), { ...FAST, clearSemaphore: true } as BurnOptions));
    expect(e.message).toMatch(/^The semaphores were cleared and taken again at once: the ICMD semaphore .* owner id 4242/);
    expect(e.data).toMatchObject({ cleared: true });
  });

  it('a free semaphore costs one take and release each, and is not cleared', async () => {
    const { sim, dev } = open('cx4lx@14.14.1100');
    const r = await burnImage(dev, image(), { ...FAST, clearSemaphore: true } as BurnOptions);
    expect(r.mitigations.join(' ')).not.toMatch(/cleared/);
    sim.close();
  });
});

describe('a stale owner that only a 0 write clears (what a crashed tool leaves)', () => {
  function staleCard(offset: number) {
    const sim = createSimDevice('cx4lx@14.14.1100');
    const opened = openSpaceAccess(sim);
    const access = staleOwner(opened.access, offset, 31337);
    const dev = openDevice(access, { clock: virtualClock(), icmd: { pollBudget: 64, semaphoreTries: TRIES }, flash: { semaphoreTries: TRIES } });
    return { sim, access, dev };
  }

  it('without the flag: refused; the semaphore is left as it was', async () => {
    const { sim, access, dev } = staleCard(0x0);
    const e = await refused(sim, () => burnImage(dev, image(), FAST));
    expect(e.message).toContain('held by owner id 31337');
    expect(access.zeroWrites).toBe(0);
    expect(access.held).toBe(true);
  });

  it('with clearSemaphore: one 0 written, the burn runs, the card boots the new image', async () => {
    for (const offset of [0x0, 0x10]) {
      const { sim, access, dev } = staleCard(offset);
      const lines: string[] = [];
      const r = await burnImage(dev, image(), { ...FAST, clearSemaphore: true, log: (l) => lines.push(l) } as BurnOptions);
      expect(access.zeroWrites).toBe(1);
      expect(r.outcome).toBe('burned');
      expect(lines.find((l) => l.startsWith('-W- fs3burn: cleared'))).toMatch(new RegExp(`offset 0x${offset.toString(16).toUpperCase()}\\) held by owner id 31337: wrote 0, it reads 0x0 now`));
      sim.model.reset('warm');
      expect(sim.model.running?.versionString).toBe('14.32.1908');
    }
  });
});

describe('through the CLI', () => {
  let dir: string;
  let img: string;
  beforeAll(async () => {
    dir = tempDir('fs3burn-guards-sem-');
    img = join(dir, 'fw.bin');
    (await import('node:fs')).writeFileSync(img, image());
  });
  const flashOf = (spec: string) => {
    const sim = createSimDevice(spec);
    const f = Buffer.from(sim.model.flash.dump());
    sim.close();
    return f;
  };

  it('burn -y with the ICMD semaphore held: exit 7, the owner id and --clear-semaphore named, nothing written', () => {
    const state = join(dir, 'held.sim');
    const dev = `sim:cx4lx@14.14.1100?state=${state}&fault=sem-held:4242,op=sem-icmd,times=inf`;
    const before = flashOf(dev.slice(4));
    const r = runCli(['-d', dev, '-i', img, 'burn', '-y']);
    expect(r.status).toBe(ExitCode.REFUSED);
    expect(r.stderr).toContain('-E- Another tool is using the card: the ICMD semaphore (space 0xA offset 0x0) is held by owner id 4242 (0x1092).');
    expect(r.stderr).toMatch(/-I- .*--clear-semaphore/);
    expect(Buffer.compare(flashOf(dev.slice(4)), before)).toBe(0);
  });

  it('burn -y --clear-semaphore: says what it cleared and burns', () => {
    const state = join(dir, 'cleared.sim');
    // 256 = the ICMD semaphore tries (§5.3): the owner holds it through the probe, then lets go
    const dev = `sim:cx4lx@14.14.1100?state=${state}&fault=sem-held:4242,op=sem-icmd,times=256`;
    const r = runCli(['-d', dev, '-i', img, 'burn', '-y', '--clear-semaphore']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('-W- fs3burn: cleared the ICMD semaphore (space 0xA offset 0x0) held by owner id 4242: wrote 0');
    expect(r.stdout).toContain('-I- fs3burn: guard overridden: cleared the ICMD semaphore');
    expect(runCli(['-d', `sim:cx4lx@14.14.1100?state=${state}`, 'reset']).stdout).toContain('running FW 14.32.1908');
  });
});
