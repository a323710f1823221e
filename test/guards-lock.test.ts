/**
 * Guard: one burn per device at a time (src/flows/lock.ts, docs/guards.md). The lock is taken
 * before the first device access of a burn and released on every exit path; a second burn is
 * refused (GUARD_DEVICE_LOCKED, exit 7) naming the holder's pid and what to do; a lock whose
 * holder died is taken over. In-process and with concurrent CLI processes on one simulated
 * card kept in a state file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDevice } from '../src/device/index.js';
import { ExitCode, Fs3BurnError } from '../src/errors.js';
import { burnImage, type BurnOptions } from '../src/flows/index.js';
import { acquireDeviceLock, lockTarget, sanitise, withDeviceLock } from '../src/flows/lock.js';
import { catalogImage } from '../src/image/catalog.js';
import { createSimDevice } from '../src/sim/index.js';
import { virtualClock } from '../src/vsec/index.js';
import { CLI, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/fixtures.js';
import { SMALL_SECTIONS } from './helpers/mutate.js';

const FAST: BurnOptions = { retry: { retries: 2, minTimeoutMs: 0, maxTimeoutMs: 0 } };
let dir: string;
let n = 0;
const stateFile = () => join(dir, `card-${++n}.sim`);

beforeAll(() => {
  dir = tempDir('fs3burn-guards-lock-');
});

async function refusal(p: Promise<unknown>): Promise<Fs3BurnError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Fs3BurnError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

/** A pid that is not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('lock names', () => {
  it('a sim card with a state file locks the state file; one without has nothing to lock', () => {
    const s = join(dir, 'x.sim');
    expect(lockTarget(`sim:cx4lx@14.14.1100?state=${s}&seed=3`)).toBe(s);
    expect(lockTarget('sim:cx4lx@14.14.1100')).toBeUndefined();
  });

  it('other devices: fs3burn-NAME under the temp dir, sanitised; one PCI function, one lock', () => {
    const d = '/locks';
    expect(lockTarget('0000:03:00.0', { dir: d })).toBe('/locks/fs3burn-pci-0000_03_00.0');
    expect(lockTarget('03:00.0', { dir: d })).toBe('/locks/fs3burn-pci-0000_03_00.0');
    expect(lockTarget('/sys/bus/pci/devices/0000:03:00.0/config', { dir: d })).toBe('/locks/fs3burn-pci-0000_03_00.0');
    expect(lockTarget('/dev/0000:03:00.0_mstconf', { dir: d })).toBe('/locks/fs3burn-pci-0000_03_00.0');
    expect(lockTarget('/dev/mst/mt4117_pciconf0', { dir: d })).toBe('/locks/fs3burn-mst-mt4117_pciconf0');
    expect(lockTarget('0000:03:00.0')).toBe(join(tmpdir(), 'fs3burn-pci-0000_03_00.0'));
    expect(sanitise('../a b/..')).toBe('__a_b_..');
    const long = sanitise('x'.repeat(300));
    expect(long.length).toBeLessThanOrEqual(120);
    expect(long).toMatch(/^x+-[0-9a-f]{16}$/);
  });
});

describe('in-process', () => {
  it('a second lock on the same device is refused with the holder and what to do; released, it can be taken again', async () => {
    const name = `sim:cx4lx@14.14.1100?state=${stateFile()}`;
    const first = await acquireDeviceLock(name, { command: 'test burn' });
    expect(first.locked).toBe(true);
    expect(existsSync(first.lockPath!)).toBe(true);
    expect(JSON.parse(readFileSync(first.ownerPath!, 'utf8'))).toMatchObject({ pid: process.pid, command: 'test burn', device: name });
    const e = await refusal(acquireDeviceLock(name));
    expect(e.code).toBe('GUARD_DEVICE_LOCKED');
    expect(e.exitCode).toBe(ExitCode.REFUSED);
    expect(e.message).toContain(`another burn holds it: pid ${process.pid} (this process), running \`test burn\``);
    expect(e.message).toMatch(/Nothing was written/);
    expect(e.hint).toMatch(/wait for that burn to finish/);
    expect(e.hint).toContain(first.lockPath!);
    expect(e.data).toMatchObject({ device: name, lockPath: first.lockPath, owner: { pid: process.pid } });
    await first.release();
    await first.release(); // twice is harmless
    expect(existsSync(first.lockPath!)).toBe(false);
    expect(existsSync(first.ownerPath!)).toBe(false);
    const again = await acquireDeviceLock(name);
    await again.release();
  });

  it('a sim card without a state file is not locked (it lives in one process)', async () => {
    const l = await acquireDeviceLock('sim:cx4lx@14.14.1100');
    expect(l.locked).toBe(false);
    const l2 = await acquireDeviceLock('sim:cx4lx@14.14.1100');
    await l.release();
    await l2.release();
  });

  it('two concurrent burns of one card: the second is refused before it touches the card', async () => {
    const state = stateFile();
    const name = `sim:cx4lx@14.14.1100?state=${state}`;
    createSimDevice(name.slice(4)).close();
    const image = catalogImage('cx4lx-14.32.1908', { sections: SMALL_SECTIONS });
    let letGo!: () => void;
    const gate = new Promise<void>((r) => (letGo = r));
    let stateTouched = 0;
    const first = withDeviceLock(name, async () => {
      await gate; // the first burn is "in progress" while the second starts
      const sim = createSimDevice(name.slice(4));
      try {
        return await burnImage(openDevice(sim, { clock: virtualClock(), icmd: { pollBudget: 64 } }), image, FAST);
      } finally {
        sim.close();
      }
    });
    const mtime = statSync(state).mtimeMs;
    const second = withDeviceLock(name, () => {
      stateTouched++;
      return 'burned';
    });
    const e = await refusal(second);
    expect(e.code).toBe('GUARD_DEVICE_LOCKED');
    expect(stateTouched).toBe(0);
    expect(statSync(state).mtimeMs).toBe(mtime);
    letGo();
    expect((await first).outcome).toBe('burned');
    await (await acquireDeviceLock(name)).release(); // released after the burn
  });

  it('is released on every exit path: success, refusal, failure, abort, exception', async () => {
    const image = catalogImage('cx4lx-14.32.1908', { sections: SMALL_SECTIONS });
    const cases: [string, string | undefined, (sim: ReturnType<typeof createSimDevice>) => Promise<unknown>][] = [
      ['success', undefined, (sim) => burnImage(openDevice(sim, { clock: virtualClock() }), image, FAST)],
      ['refusal', 'BURN_PSID_MISMATCH', (sim) => burnImage(openDevice(sim, { clock: virtualClock() }), catalogImage('cx4lx-14.32.1908', { sections: SMALL_SECTIONS, psid: 'MT_0000000999' }), FAST)],
      [
        'failure',
        'BURN_WRITE_FAILED',
        (sim) => {
          sim.model.faults.add('icmd-status:5,reg=MFBA,method=set,times=inf');
          return burnImage(openDevice(sim, { clock: virtualClock(), icmd: { pollBudget: 64 } }), image, { ...FAST, gatewayFallback: false });
        },
      ],
      [
        'abort',
        'BURN_ABORTED',
        (sim) => {
          const ac = new AbortController();
          ac.abort();
          return burnImage(openDevice(sim, { clock: virtualClock() }), image, { ...FAST, signal: ac.signal });
        },
      ],
      [
        'exception',
        'TypeError',
        async () => {
          throw new TypeError('a bug in the caller');
        },
      ],
    ];
    for (const [what, expected, fn] of cases) {
      const state = stateFile();
      const name = `sim:cx4lx@14.14.1100?state=${state}`;
      let outcome = 'ok';
      try {
        await withDeviceLock(name, async () => {
          const sim = createSimDevice(name.slice(4));
          try {
            return await fn(sim);
          } finally {
            sim.close();
          }
        });
      } catch (e) {
        outcome = e instanceof Fs3BurnError ? e.code : (e as Error).name;
      }
      expect(outcome, what).toBe(expected ?? 'ok');
      expect(existsSync(`${state}.lock`), `${what}: lock left`).toBe(false);
      expect(existsSync(`${state}.lock-owner.json`), `${what}: owner record left`).toBe(false);
    }
  });

  it('a lock whose holder died is taken over, and says whose it was', async () => {
    const state = stateFile();
    const name = `sim:cx4lx@14.14.1100?state=${state}`;
    // what a burn killed with SIGKILL leaves: the lock directory and its owner record
    mkdirSync(`${state}.lock`);
    const pid = deadPid();
    writeFileSync(`${state}.lock-owner.json`, JSON.stringify({ pid, host: (await import('node:os')).hostname(), command: 'fs3burn burn', device: name, since: '2024-01-01T00:00:00.000Z', lockIno: statSync(`${state}.lock`).ino }));
    const l = await acquireDeviceLock(name);
    expect(l.tookOver).toMatchObject({ owner: { pid }, reason: `its holder, pid ${pid}, is no longer running` });
    expect(JSON.parse(readFileSync(l.ownerPath!, 'utf8')).pid).toBe(process.pid);
    await l.release();
  });

  it('a lock without an owner record: refused while fresh, taken over once old', async () => {
    const state = stateFile();
    const name = `sim:cx4lx@14.14.1100?state=${state}`;
    mkdirSync(`${state}.lock`);
    const e = await refusal(acquireDeviceLock(name));
    expect(e.code).toBe('GUARD_DEVICE_LOCKED');
    expect(e.message).toMatch(/no owner record yet/);
    const old = new Date(Date.now() - 3600_000);
    utimesSync(`${state}.lock`, old, old);
    const l = await acquireDeviceLock(name);
    expect(l.tookOver?.reason).toMatch(/no owner record and is \d+ s old/);
    await l.release();
  });

  it('an owner record of another lock generation (a stale record) does not name the holder', async () => {
    const state = stateFile();
    const name = `sim:cx4lx@14.14.1100?state=${state}`;
    writeFileSync(`${state}.lock-owner.json`, JSON.stringify({ pid: deadPid(), host: 'h', command: 'old', device: name, since: 'then', lockIno: -1 }));
    const l = await acquireDeviceLock(name); // no lock directory: the record is ignored and replaced
    expect(l.tookOver).toBeUndefined();
    const e = await refusal(acquireDeviceLock(name));
    expect(e.data?.owner).toMatchObject({ pid: process.pid });
    await l.release();
  });
});

describe('two CLI processes on one simulated card', () => {
  const img32 = () => {
    const f = join(dir, 'fw-14.32.1908.bin');
    if (!existsSync(f)) writeFileSync(f, catalogImage('cx4lx-14.32.1908'));
    return f;
  };

  /** Start a burn and wait until it is writing the flash. */
  function startBurn(dev: string, image: string) {
    const child = spawn(process.execPath, [CLI, '-d', dev, '-i', image, 'burn', '-y'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const writing = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => {
        if (/without signatures - +\d+%/.test(stdout)) resolve();
      });
      child.on('close', () => reject(new Error(`the burn ended before it wrote: ${stdout}${stderr}`)));
    });
    const done = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    return { child, writing, done, out: () => stdout + stderr };
  }

  it('the second burn is refused with the first one\'s pid while it runs; after it, burns work again', async () => {
    const state = stateFile();
    const dev = `sim:cx4lx@14.14.1100?state=${state}`;
    const a = startBurn(dev, img32());
    await a.writing;
    a.child.kill('SIGSTOP'); // hold the first burn mid-write, so the second surely overlaps it
    try {
      const before = readFileSync(state);
      const b = runCli(['-d', dev, '-i', img32(), 'burn', '-y']);
      expect(b.status).toBe(ExitCode.REFUSED);
      expect(b.stderr).toContain(`-E- ${dev} is locked: another burn holds it: pid ${a.child.pid}`);
      expect(b.stderr).toMatch(/-I- wait for that burn to finish/);
      expect(Buffer.compare(readFileSync(state), before)).toBe(0); // the second never opened the card
      const j = runCli(['-d', dev, '-i', img32(), 'burn', '-y', '--json']);
      expect(j.status).toBe(ExitCode.REFUSED);
      const last = JSON.parse(j.stdout.trim().split('\n').at(-1)!);
      expect(last).toMatchObject({ type: 'error', error: { code: 'GUARD_DEVICE_LOCKED', exitCode: 7, data: { owner: { pid: a.child.pid } } } });
    } finally {
      a.child.kill('SIGCONT');
    }
    expect(await a.done, a.out()).toBe(0);
    expect(existsSync(`${state}.lock`)).toBe(false);
    expect(runCli(['-d', dev, 'reset']).stdout).toContain('running FW 14.32.1908'); // FW 14.14 waits for a reset after a burn
    const c = runCli(['-d', dev, '-i', img32(), 'burn', '-y']);
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/already 14\.32\.1908/);
  });

  it('a burn killed with SIGKILL leaves its lock; the next burn takes it over, says so, and finishes', async () => {
    const state = stateFile();
    const dev = `sim:cx4lx@14.14.1100?state=${state}`;
    const a = startBurn(dev, img32());
    await a.writing;
    const pid = a.child.pid;
    a.child.kill('SIGKILL');
    await a.done;
    expect(existsSync(`${state}.lock`)).toBe(true);
    const b = runCli(['-d', dev, '-i', img32(), 'burn', '-y']);
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toContain(`-W- fs3burn: took over the burn lock of ${dev} left by pid ${pid}`);
    expect(b.stdout).toContain(`its holder, pid ${pid}, is no longer running`);
    expect(existsSync(`${state}.lock`)).toBe(false);
    expect(runCli(['-d', dev, 'reset']).stdout).toContain('running FW 14.32.1908');
  });

  it('the lock is released after a refusal, a failure and an interrupt', async () => {
    const state = stateFile();
    const dev = `sim:cx4lx@14.14.1100?state=${state}`;
    const other = join(dir, 'other-psid.bin');
    writeFileSync(other, catalogImage('cx4lx-14.32.1908', { psid: 'MT_0000000001' }));
    expect(runCli(['-d', dev, '-i', other, 'burn', '-y']).status).toBe(ExitCode.REFUSED);
    expect(existsSync(`${state}.lock`)).toBe(false);
    expect(runCli(['-d', dev, '-i', img32(), 'burn', '-y', '--flint-order']).status).toBe(ExitCode.BURN_FAILED);
    expect(existsSync(`${state}.lock`)).toBe(false);
    const s2 = stateFile();
    const a = startBurn(`sim:cx4lx@14.14.1100?state=${s2}`, img32());
    await a.writing;
    a.child.kill('SIGINT');
    expect(await a.done).toBe(ExitCode.BURN_FAILED);
    expect(existsSync(`${s2}.lock`)).toBe(false);
    expect(existsSync(`${s2}.lock-owner.json`)).toBe(false);
  });
});
