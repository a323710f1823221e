/**
 * fs3burn burn and plan as a user runs them, on simulated cards kept in state files:
 * the 14.14.1100 case in one command, the FW-managed flow on 14.25.1020, flint's failure
 * reproduced with --flint-order, refusals that write nothing, JSON events, Ctrl-C and resume.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.js';
import { createSimDevice } from '../src/sim/index.js';
import { CLI, runCli, runCliJson } from './helpers/cli.js';
import { tempDir } from './helpers/fixtures.js';
import { describeMstflint, mstflint } from './helpers/mstflint.js';

const dir = tempDir('fs3burn-burn-cli-');
const img: Record<string, string> = {};

beforeAll(() => {
  for (const v of ['14.14.1100', '14.25.1020', '14.32.1908']) {
    img[v] = join(dir, `fw-${v}.bin`);
    expect(runCli(['image', 'build', '--catalog', `cx4lx-${v}`, '-o', img[v]!]).status).toBe(0);
  }
  img.otherPsid = join(dir, 'other-psid.bin');
  expect(runCli(['image', 'build', '--fw-version', '14.32.1908', '--psid', 'MT_0000000001', '-o', img.otherPsid]).status).toBe(0);
});

let n = 0;
const card = (v: string) => `sim:cx4lx@${v}?state=${join(dir, `card-${v}-${++n}.sim`)}`;
const flashOf = (name: string) => {
  const sim = createSimDevice(name.slice(4));
  const f = Buffer.from(sim.model.flash.dump());
  sim.close();
  return f;
};

describeMstflint('the 14.14.1100 case in one command', () => {
  it('burns 14.32.1908 onto a 14.14.1100 card; after a reset it runs 14.32.1908 with its GUIDs and MACs', () => {
    const dev = card('14.14.1100');
    const before = runCliJson(['-d', dev, 'q']).json;
    const r = runCli(['-d', dev, '-i', img['14.32.1908']!, 'burn', '-y']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const order = [
      '    Current FW version on flash:  14.14.1100',
      '    New FW version:               14.32.1908',
      'Burning FW image without signatures - OK',
      'Restoring signature                     - OK',
    ].map((l) => lines.indexOf(l));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(r.stdout).toMatch(/-I- To load new FW run .*reset/);
    expect(r.stdout).toMatch(/-I- fs3burn: .*invalidat/i);

    expect(runCli(['-d', dev, 'reset']).stdout).toContain('running FW 14.32.1908');
    const after = runCliJson(['-d', dev, 'q']).json;
    expect(after.runningVersion).toBe('14.32.1908');
    expect(after.image.guid).toEqual(before.image.guid);
    expect(after.image.mac).toEqual(before.image.mac);
    const dump = join(dir, 'seed-dump.bin');
    expect(runCli(['-d', dev, 'ri', dump]).status).toBe(0);
    expect(mstflint(['-i', dump, 'v']).status).toBe(0);
  });

  it('succeeds where mstflint 4.21 fails (test/mstflint-bridge.test.ts): 14.25.1020 onto 14.14.1100', () => {
    const dev = card('14.14.1100');
    const r = runCli(['-d', dev, '-i', img['14.25.1020']!, 'burn', '-y']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/-E-/);
    runCli(['-d', dev, 'reset']);
    expect(runCliJson(['-d', dev, 'q']).json.runningVersion).toBe('14.25.1020');
  });

  it('--flint-order reproduces flint\'s error line, and the card still boots', () => {
    const dev = card('14.14.1100');
    const r = runCli(['-d', dev, '-i', img['14.32.1908']!, 'burn', '-y', '--flint-order']);
    expect(r.status).toBe(ExitCode.BURN_FAILED);
    expect(r.stderr).toContain(
      '-E- Burning FS3 image failed: Failed to invalidate old fw signature: Flash write of 4 bytes to address physical 0x0 failed: MFE_CMDIF_TIMEOUT_ERR',
    );
    const reset = runCli(['-d', dev, 'reset']);
    expect(reset.stdout).toMatch(/running FW 14\.(14\.1100|32\.1908)/);
  });

  it('the same command on 14.25.1020 uses the FW-managed flow', () => {
    const dev = card('14.25.1020');
    const r = runCli(['-d', dev, '-i', img['14.32.1908']!, 'burn', '-y']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/FSMST_INITIALIZE - +OK/);
    expect(r.stdout).toMatch(/Writing Boot image component - +OK/);
    runCli(['-d', dev, 'reset']);
    expect(runCliJson(['-d', dev, 'q']).json.runningVersion).toBe('14.32.1908');
  });
});

describe('burn --via: several hops with a reset between them', () => {
  it('14.14.1100 -> 14.25.1020 (legacy) -> reset -> 14.32.1908 (FW-managed)', () => {
    const dev = card('14.14.1100');
    const r = runCli(['-d', dev, '-i', img['14.32.1908']!, 'burn', '-y', '--via', img['14.25.1020']!]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('-I- Hop 1/2');
    expect(r.stdout).toContain('-I- Hop 2/2');
    expect(r.stdout).toMatch(/Reset .*: running FW 14\.25\.1020/);
    expect(r.stdout).toMatch(/FSMST_INITIALIZE - +OK/);
    runCli(['-d', dev, 'reset']);
    expect(runCliJson(['-d', dev, 'q']).json.runningVersion).toBe('14.32.1908');
  });

  it('is refused on a real device, before anything is opened', () => {
    const r = runCli(['-d', '0000:00:01.0', '-i', img['14.32.1908']!, 'burn', '-y', '--via', img['14.25.1020']!]);
    expect(r.status).toBe(ExitCode.USAGE);
    expect(r.stderr).toMatch(/--via needs a reset between hops/);
  });
});

describe('refusals write nothing', () => {
  it('without -y on a non-terminal stdin it refuses before any write', () => {
    const dev = card('14.14.1100');
    const before = flashOf(dev);
    const r = runCli(['-d', dev, '-i', img['14.32.1908']!, 'burn']);
    expect(r.status).toBe(ExitCode.USAGE);
    expect(r.stderr).toMatch(/pass -y/);
    expect(Buffer.compare(flashOf(dev), before)).toBe(0);
  });

  it('a PSID mismatch is refused (exit 7) with the override named, and nothing is written', () => {
    const dev = card('14.14.1100');
    const before = flashOf(dev);
    const r = runCli(['-d', dev, '-i', img.otherPsid!, 'burn', '-y']);
    expect(r.status).toBe(ExitCode.REFUSED);
    expect(r.stderr).toMatch(/PSID/);
    expect(r.stderr + r.stdout).toMatch(/allow.psid.change/i);
    expect(Buffer.compare(flashOf(dev), before)).toBe(0);
  });

  it('the same version is skipped with exit 0 and a message', () => {
    const dev = card('14.32.1908');
    const r = runCli(['-d', dev, '-i', img['14.32.1908']!, 'burn', '-y']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/already 14\.32\.1908/);
  });

  it('an older version needs --allow-downgrade', () => {
    const dev = card('14.25.1020');
    const r = runCli(['-d', dev, '-i', img['14.14.1100']!, 'burn', '-y']);
    expect(r.status).toBe(ExitCode.REFUSED);
    expect(r.stderr + r.stdout).toMatch(/allow.downgrade/i);
  });
});

describe('on a terminal', () => {
  it('shows a progress bar with elapsed time and an estimate (run under a pseudo-terminal with script(1))', () => {
    const cmd = [process.execPath, CLI, '-d', card('14.14.1100'), '-i', img['14.32.1908']!, 'burn', '-y'].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
    if (r.error) throw new Error(`script(1) (util-linux/bsdutils) is needed for this test: ${r.error.message}`);
    expect(r.status).toBe(0);
    const screen = r.stdout.replace(/\r/g, '\n');
    expect(screen).toMatch(/\[[█░]+\] \d+% \| \S+ elapsed \| ETA \S+/);
    expect(screen).toContain('Restoring signature                     - OK');
    expect(screen).not.toMatch(/without signatures - +\d+%/); // the bar replaces flint's percentage lines
  });
});

describe('JSON events, plan, Ctrl-C and resume', () => {
  it('--json prints one JSON object per line, ending with the result', () => {
    const r = runCli(['-d', card('14.14.1100'), '-i', img['14.32.1908']!, 'burn', '-y', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0].type).toBe('start');
    expect(events.some((e) => e.type === 'progress')).toBe(true);
    expect(events.some((e) => e.type === 'log' && /Restoring signature/.test(e.line))).toBe(true);
    const last = events.at(-1);
    expect(last).toMatchObject({ type: 'result', flow: 'legacy', outcome: 'burned', toVersion: '14.32.1908' });
  });

  it('plan explains the flow, steps, risks and modelled time without writing', () => {
    const dev = card('14.14.1100');
    const before = flashOf(dev);
    const p = runCliJson(['-d', dev, '-i', img['14.32.1908']!, 'plan']);
    expect(p.status).toBe(0);
    expect(p.json.flow).toBe('legacy');
    expect(p.json.steps.length).toBeGreaterThanOrEqual(4);
    expect(p.json.time.totalSeconds).toBeGreaterThan(0);
    expect(Buffer.compare(flashOf(dev), before)).toBe(0);
    const text = runCli(['-d', card('14.25.1020'), '-i', img['14.32.1908']!, 'plan']);
    expect(text.stdout).toMatch(/Flow: FW-managed/);
  });

  it('Ctrl-C stops at a safe point, says what to run next, and the next burn finishes the job', async () => {
    const dev = card('14.14.1100');
    const child = spawn(process.execPath, [CLI, '-d', dev, '-i', img['14.32.1908']!, 'burn', '-y'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!sent && /without signatures - +[1-9]\d%/.test(stdout)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    const status = await new Promise<number>((res) => child.on('close', (c) => res(c ?? -1)));
    expect(sent).toBe(true);
    expect(status).toBe(ExitCode.BURN_FAILED);
    expect(stdout + stderr).toMatch(/stopping at the next safe point/);
    expect(stderr).toMatch(/bootable/);
    expect(stderr).toMatch(/burn/); // what to run next
    expect(runCli(['-d', dev, 'reset']).stdout).toContain('running FW 14.14.1100'); // the old image still boots
    const again = runCli(['-d', dev, '-i', img['14.32.1908']!, 'burn', '-y']);
    expect(again.status, again.stderr).toBe(0);
    runCli(['-d', dev, 'reset']);
    expect(runCliJson(['-d', dev, 'q']).json.runningVersion).toBe('14.32.1908');
  });
});

