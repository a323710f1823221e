/**
 * Spec strings and state files: one simulated card seen by a sequence of processes.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cardIdentity, createSimDevice, decodeState, encodeState, makeMiniFlash, parseSimSpec } from '../src/sim/index.js';
import { tempDir } from './helpers/fixtures.js';
import { IcmdTimeout, IfcBusy, RawCard } from './sim-helper.js';

const dirs: string[] = [];
function tmp(): string {
  const d = tempDir('fs3burn-sim-');
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('spec strings', () => {
  it('parses device, version, state, faults, seed and knobs', () => {
    const p = parseSimSpec('sim:cx4lx@14.14.1100?state=/tmp/a.sim&fault=busy-stuck,reg=MFBA,method=set&seed=5&spiWipPolls=3&writeProtect=1&warmBootHang=off');
    expect(p).toMatchObject({
      text: 'cx4lx@14.14.1100?state=/tmp/a.sim&fault=busy-stuck,reg=MFBA,method=set&seed=5&spiWipPolls=3&writeProtect=1&warmBootHang=off',
      device: 'cx4lx',
      version: [14, 14, 1100],
      statePath: '/tmp/a.sim',
      seed: 5,
      knobs: { spiWipPolls: 3, writeProtect: true, warmBootHang: 'off' },
    });
    expect(p.faults).toEqual([{ effect: { kind: 'busy-stuck' }, register: 0x9011, method: 'set' }]);
    expect(parseSimSpec('cx4lx@14.32.1908').statePath).toBeUndefined();
  });

  it('rejects bad specs with SIM_BAD_SPEC and names the form', () => {
    for (const bad of ['cx5@16.1.1', 'cx4lx', 'cx4lx@14.x', 'cx4lx@14.14.1100?color=red', 'cx4lx@14.14.1100?seed=abc', 'cx4lx@14.14.1100?fault=nope', 'cx4lx@14.14.1100?state=', 'cx4lx@14.14.1100?spiWipPolls=-1']) {
      expect(() => parseSimSpec(bad), bad).toThrow(expect.objectContaining({ code: 'SIM_BAD_SPEC' }));
    }
  });

  it('unknown versions are not fresh cards: SIM_UNKNOWN_PERSONALITY; with flash contents any version is a card', () => {
    expect(() => createSimDevice('cx4lx@14.99.1000')).toThrow(expect.objectContaining({ code: 'SIM_UNKNOWN_PERSONALITY' }));
    const dev = createSimDevice({ personality: '14.20.1010', flash: makeMiniFlash({ version: [14, 20, 1010] }) });
    expect(dev.model.nominal.name).toBe('cx4lx@14.14.1100');
    expect(dev.model.running?.versionString).toBe('14.20.1010');
  });

  it('a spec card from the catalog holds its version, its own GUID/MAC, and runs it', () => {
    const dev = createSimDevice('sim:cx4lx@14.25.1020?seed=9');
    expect(dev.name).toBe('sim:cx4lx@14.25.1020?seed=9');
    expect(dev.model.running).toMatchObject({ start: 0, versionString: '14.25.1020' });
    const id = cardIdentity(9);
    const guid = Buffer.from(dev.model.flash.read(0xfee000 + 0x28, 8)).toString('hex');
    expect(guid).toBe(id.guid.toString(16).padStart(16, '0'));
    const other = createSimDevice('sim:cx4lx@14.25.1020?seed=10');
    expect(Buffer.from(other.model.flash.read(0xfee000 + 0x28, 8)).toString('hex')).not.toBe(guid);
    expect(new RawCard(dev).mgirVersion().version).toEqual([14, 25, 1020]);
  });
});

describe('state files', () => {
  it('round-trips flash and card state through encode/decode', () => {
    const dev = createSimDevice({ personality: 'cx4lx@14.14.1100', flash: makeMiniFlash() });
    const c = new RawCard(dev);
    c.mfbaWrite(0x500000, Uint8Array.from([1, 2, 3, 4]));
    c.takePidSem(0x10, 99);
    const back = decodeState(encodeState(dev.model));
    expect(Buffer.compare(Buffer.from(back.flash), Buffer.from(dev.model.flash.data))).toBe(0);
    expect(back.state.sems[4]).toBe(99);
    expect(back.state.running?.versionString).toBe('14.14.1100');
  });

  it('a sequence of devices on one state file sees one card (writes, held semaphores, the 14.14 hang)', () => {
    const path = join(tmp(), 'card.sim');
    const spec = `sim:cx4lx@14.14.1100?state=${path}`;
    const a = createSimDevice(spec);
    expect(existsSync(path)).toBe(true);
    const ca = new RawCard(a);
    expect(ca.mfbaWrite(0x500000, Uint8Array.from([0xde, 0xad, 0xbe, 0xef])).status).toBe(0);
    expect(ca.mfrl(0x40)).toBe(0); // arms the 14.14 hang
    a.close();

    const b = createSimDevice(spec);
    const cb = new RawCard(b);
    expect(Array.from(b.model.flash.read(0x500000, 4))).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(() => cb.mgirVersion()).toThrow(IcmdTimeout);
    b.close();

    const c = createSimDevice(spec);
    expect(() => new RawCard(c).mgirVersion()).toThrow(IfcBusy); // still hung in the next process
    c.model.reset(); // saved at once
    c.close();

    const d = createSimDevice(spec);
    expect(new RawCard(d).mgirVersion().status).toBe(0);
    expect(d.model.stats().config.reads).toBeGreaterThan(0); // stats are per process
    d.close();
  });

  it('a power cut is kept: the next process finds a dead card until reset', () => {
    const path = join(tmp(), 'card.sim');
    const a = createSimDevice({ personality: 'cx4lx@14.14.1100', flash: makeMiniFlash(), statePath: path });
    a.model.powerCut();
    a.close();
    const b = createSimDevice({ personality: 'cx4lx@14.14.1100', statePath: path });
    expect(b.read32(0)).toBe(0xffffffff);
    b.model.reset();
    expect(b.read32(0)).toBe(0x101515b3);
  });

  it('a state file that is not one is SIM_STATE_CORRUPT', () => {
    const path = join(tmp(), 'bad.sim');
    writeFileSync(path, 'hello');
    expect(() => createSimDevice({ personality: 'cx4lx@14.14.1100', statePath: path })).toThrow(
      expect.objectContaining({ code: 'SIM_STATE_CORRUPT' }),
    );
    const dev = createSimDevice({ personality: 'cx4lx@14.14.1100', flash: makeMiniFlash() });
    const enc = encodeState(dev.model);
    expect(() => decodeState(enc.subarray(0, enc.length - 1))).toThrow(expect.objectContaining({ code: 'SIM_STATE_CORRUPT' }));
  });
});
