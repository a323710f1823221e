/**
 * The device commands on the built-in simulated card, as a user runs them: devices,
 * -d DEVICE query / verify (compared with mstflint reading a dump of the same card), reset,
 * and a card's state kept in a file across processes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.js';
import { createSimDevice } from '../src/sim/index.js';
import { listPciFunctions } from '../src/transport/sysfs.js';
import { runCli, runCliJson } from './helpers/cli.js';
import { tempDir } from './helpers/fixtures.js';
import { describeMstflint, mstflint } from './helpers/mstflint.js';

const dir = tempDir('fs3burn-device-cli-');

function dumpOf(spec: string, file: string): string {
  const sim = createSimDevice(spec);
  writeFileSync(file, sim.model.flash.dump());
  sim.close();
  return file;
}

describe('fs3burn devices', () => {
  it('lists the Mellanox functions sysfs has and the built-in simulated cards', () => {
    const r = runCliJson<{ devices: { name: string; kind: string }[] }>(['devices']);
    expect(r.status).toBe(0);
    const pci = r.json.devices.filter((d) => d.kind === 'pci').map((d) => d.name);
    expect(pci).toEqual(listPciFunctions({ vendor: 0x15b3 }).map((f) => f.name));
    expect(r.json.devices.filter((d) => d.kind === 'sim').map((d) => d.name)).toEqual(
      expect.arrayContaining(['sim:cx4lx@14.14.1100', 'sim:cx4lx@14.25.1020', 'sim:cx4lx@14.32.1908']),
    );
  });
});

describeMstflint('fs3burn -d DEVICE query / verify agree with mstflint on a dump of the same card', () => {
  for (const v of ['14.14.1100', '14.25.1020', '14.32.1908']) {
    it(`sim:cx4lx@${v}`, () => {
      const state = join(dir, `card-${v}.sim`);
      const name = `sim:cx4lx@${v}?state=${state}`;
      const q = runCli(['-d', name, 'q']);
      expect(q.status, q.stderr).toBe(0);
      const dump = dumpOf(name, join(dir, `dump-${v}.bin`));
      const ref = mstflint(['-i', dump, 'q']);
      expect(ref.status).toBe(0);
      // the flint part of our output is exactly mstflint's image query of the card's flash
      expect(q.stdout.startsWith(ref.stdout)).toBe(true);
      expect(q.stdout).toContain(`Running FW:            ${v}`);
      expect(q.stdout).toMatch(v === '14.14.1100' ? /Update Method: +Legacy/ : /Update Method: +fw_ctrl/);

      const ver = runCli(['-d', name, 'v']);
      expect(ver.status, ver.stderr).toBe(0);
      expect(ver.stdout).toBe(mstflint(['-i', dump, 'v']).stdout);
    });
  }

  it('JSON query carries identity, versions and the update method', () => {
    const r = runCliJson(['-d', 'sim:cx4lx@14.25.1020', 'q']);
    expect(r.status).toBe(0);
    expect(r.json.identity.hwId).toBe(0x20b);
    expect(r.json.runningVersion).toBe('14.25.1020');
    expect(r.json.flashedVersion).toBe('14.25.1020');
    expect(r.json.image.psid).toBe('MT_2420110034');
    expect(r.json.updateMethod.method).toBe('fw_ctrl');
    expect(r.json.pendingReset).toBe(false);
  });
});

describeMstflint('fs3burn -d DEVICE ri FILE', () => {
  it('reads the whole flash, byte for byte, into a file mstflint verifies', () => {
    const state = join(dir, 'ri.sim');
    const name = `sim:cx4lx@14.32.1908?state=${state}`;
    const file = join(dir, 'ri.bin');
    const r = runCli(['-d', name, 'ri', file]);
    expect(r.status, r.stderr).toBe(0);
    const dump = readFileSync(dumpOf(name, join(dir, 'ri-dump.bin')));
    expect(Buffer.compare(readFileSync(file), dump)).toBe(0);
    const v = mstflint(['-i', file, 'v']);
    expect(v.status).toBe(0);
    expect(v.stdout).toContain('-I- FW image verification succeeded. Image is bootable.');
  });
});

describe('fs3burn -d DEVICE reset', () => {
  it('resets a simulated card kept in a state file; the card keeps its identity across processes', () => {
    const state = join(dir, 'reset.sim');
    const name = `sim:cx4lx@14.14.1100?state=${state}`;
    const before = runCliJson(['-d', name, 'q']).json;
    const r = runCli(['-d', name, 'reset']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('running FW 14.14.1100 from the image at 0x0');
    const after = runCliJson(['-d', name, 'q']).json;
    expect(after.image.guid).toEqual(before.image.guid);
    expect(readFileSync(state).length).toBeGreaterThan(0);
  });

  it('refuses a real device and names the tool that resets one', () => {
    const r = runCli(['-d', '0000:00:01.0', 'reset']);
    expect(r.status).toBe(ExitCode.USAGE);
    expect(r.stderr).toMatch(/does not reset real devices/);
    expect(r.stderr).toMatch(/mstfwreset/);
  });

  it('rejects device names with path tricks before touching anything', () => {
    const r = runCli(['-d', '../../etc/passwd', 'q']);
    expect(r.status).toBe(ExitCode.USAGE);
    expect(r.stderr).toMatch(/^-E- /);
  });
});
