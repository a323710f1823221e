/**
 * The real, unmodified mstflint 4.21 drives the simulated card: native-shims/with-sim.sh
 * starts `fs3burn sim serve` and runs mstflint with native-shims/sim-preload.so, which makes
 * the fake PCI function 0000:ee:00.0 answer from the model (docs/mstflint-bridge.md).
 *
 * Needs the built project (npm test builds it; by hand: npx tsc -p .), mstflint and a C
 * compiler. Under CI a missing mstflint fails these tests instead of skipping them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { catalogImage } from '../src/image/catalog.js';
import { parseFs3 } from '../src/image/fs3.js';
import { describeImage } from '../src/image/query.js';
import { cardIdentity, createSimDevice } from '../src/sim/index.js';
import { PROJECT_ROOT, tempDir } from './helpers/fixtures.js';
import { describeMstflint, MSTFLINT } from './helpers/mstflint.js';

const WITH_SIM = join(PROJECT_ROOT, 'native-shims/with-sim.sh');
const FAKE = '0000:ee:00.0';
/** mstflint's ICMD busy-bit wait (§4.5): 50 polls, 1 ms sleeps instead of 5120 polls, ≈40 s. */
const SHORT_WAITS = { MFT_ICMD_TIMEOUT: '50', MFT_CMD_SLEEP: '1' };
const BURN_TIMEOUT = 300_000;

const dir = tempDir('fs3burn-mstflint-bridge-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  status: number;
  stdout: string;
  stderr: string;
  /** stdout + stderr with the progress lines' carriage returns turned into newlines. */
  text: string;
}

/** `with-sim.sh ARGS -- mstflint -d 0000:ee:00.0 MSTFLINT_ARGS`. */
function withSim(simArgs: string[], mstflintArgs: string[], env: Record<string, string> = {}): Run {
  if (!MSTFLINT) throw new Error('mstflint is not installed: apt-get install -y mstflint (CI installs it in .ci/run)');
  const r = spawnSync(WITH_SIM, [...simArgs, '--', MSTFLINT, '-d', FAKE, ...mstflintArgs], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: BURN_TIMEOUT - 10_000,
    maxBuffer: 64 << 20,
  });
  const stdout = r.stdout ?? '';
  const stderr = r.stderr ?? '';
  return { status: r.status ?? -1, stdout, stderr, text: `${stdout}\n${stderr}`.replace(/\r/g, '\n') };
}

function field(text: string, label: string): string | undefined {
  const m = new RegExp(`^${label}:\\s+(.*)$`, 'm').exec(text);
  return m?.[1]?.trim();
}

/** The card as the model holds it after a reset, loaded from its state file in-process. */
function resetCard(personality: string, state: string) {
  const dev = createSimDevice({ personality, statePath: state });
  dev.model.reset('warm');
  const running = dev.model.running;
  dev.close();
  return running;
}

const images: Record<string, string> = {};

beforeAll(() => {
  if (!existsSync(join(PROJECT_ROOT, 'dist/cli/main.js'))) {
    throw new Error('dist/ is missing: build the project first (npx tsc -p .; npm test does it)');
  }
  for (const v of ['14.25.1020', '14.32.1908']) {
    const file = join(dir, `fw-${v}.bin`);
    writeFileSync(file, catalogImage(`cx4lx-${v}`));
    images[v] = file;
  }
});

describeMstflint('the unmodified mstflint drives the simulated card (sim-preload.so + sim serve)', () => {
  it('mstflint q prints the FW version, PSID, GUIDs and MACs the model holds', () => {
    // the card of seed 1: the catalog image with its own GUID/MAC (src/sim/identity.ts)
    const id = cardIdentity(1);
    const expected = describeImage(parseFs3(catalogImage('cx4lx-14.14.1100', { guid: id.guid, mac: id.mac })));
    const r = withSim(['--personality', '14.14.1100'], ['q']);
    expect(r.status, r.text).toBe(0);
    expect(field(r.stdout, 'Image type')).toBe('FS3');
    expect(field(r.stdout, 'FW Version')).toBe('14.14.1100');
    expect(field(r.stdout, 'PSID')).toBe(expected.psid);
    expect(field(r.stdout, 'Base GUID')).toMatch(new RegExp(`^${expected.guid!.base}\\s+${expected.guid!.count}$`));
    expect(field(r.stdout, 'Base MAC')).toMatch(new RegExp(`^${expected.mac!.base}\\s+${expected.mac!.count}$`));
    expect(expected.guid!.base).toBe(id.guid.toString(16).padStart(16, '0'));
  });

  it('on FW that does MCC (14.25.1020), mstflint q asks the FW (MCQI, MGIR, MNVDA) and prints the same identity', () => {
    const id = cardIdentity(1);
    const r = withSim(['--personality', '14.25.1020'], ['q', 'full']);
    expect(r.status, r.text).toBe(0);
    expect(field(r.stdout, 'FW Version')).toBe('14.25.1020');
    expect(field(r.stdout, 'PSID')).toBe('MT_2420110034');
    expect(field(r.stdout, 'Base GUID')).toMatch(new RegExp(`^${id.guid.toString(16).padStart(16, '0')}\\s+8$`));
    expect(field(r.stdout, 'Base MAC')).toMatch(new RegExp(`^${id.mac.toString(16).padStart(12, '0')}\\s+8$`));
    expect(r.stdout).not.toMatch(/^Orig Base/m); // MGIR's manufacturing MAC and MNVDA's defaults agree
    expect(field(r.stdout, 'Default Update Method')).toBe('fw_ctrl');
  });

  it('the shim adds exactly one PCI function and passes everything else through; the socket-only path works too', () => {
    const sh = spawnSync(
      WITH_SIM,
      ['--personality', '14.14.1100', '--', 'sh', '-c', `ls /sys/bus/pci/devices; cat /sys/bus/pci/devices/${FAKE}/vendor /sys/bus/pci/devices/${FAKE}/device; od -A n -t x4 -N 4 /sys/bus/pci/devices/${FAKE}/config; cat /proc/self/comm`],
      { cwd: PROJECT_ROOT, encoding: 'utf8' },
    );
    expect(sh.status, sh.stderr).toBe(0);
    const lines = sh.stdout.trim().split('\n');
    expect(lines.filter((l) => l === FAKE)).toHaveLength(1);
    expect(lines).toContain('0x15b3');
    expect(lines).toContain('0x1015');
    expect(lines.map((l) => l.trim())).toContain('101515b3'); // config dword 0: device 0x1015, vendor 0x15B3
    expect(lines[lines.length - 1]).toBe('cat'); // a real file, untouched
    // without the fake socket the shim is inert: mstflint finds no such device
    const bare = spawnSync(MSTFLINT ?? 'mstflint', ['-d', FAKE, 'q'], {
      encoding: 'utf8',
      env: { ...process.env, LD_PRELOAD: join(PROJECT_ROOT, 'native-shims/build/sim-preload.so'), FS3BURN_SIM_SOCKET: '' },
    });
    expect(bare.status).not.toBe(0);
    expect(`${bare.stdout}${bare.stderr}`).toContain('Cannot open Device');
    // and the plain socket protocol (no shared memory) gives the same answer
    const r = withSim(['--personality', '14.14.1100'], ['q'], { FS3BURN_SIM_SHM: '0' });
    expect(r.status, r.text).toBe(0);
    expect(field(r.stdout, 'FW Version')).toBe('14.14.1100');
  });

  const legacyState = join(dir, 'legacy.sim');
  const legacyStats = join(dir, 'legacy-stats.json');

  it(
    '14.14.1100 ← 14.25.1020 legacy burn fails as in the field report: the old signature cannot be invalidated (ICMD busy-bit timeout)',
    () => {
      const r = withSim(['--personality', '14.14.1100', '--state', legacyState, '--stats', legacyStats], ['-i', images['14.25.1020']!, '-y', 'burn'], SHORT_WAITS);
      expect(r.status, r.text).not.toBe(0);
      expect(r.text).toContain('Current FW version on flash:  14.14.1100');
      expect(r.text).toContain('New FW version:               14.25.1020');
      expect(r.text).toMatch(/^Burning FW image without signatures - OK {2}$/m);
      // mstflint 4.21 names the ICMD busy-bit timeout MFE_CMDIF_TIMEOUT_ERR (docs/device-model.md)
      expect(r.text).toContain(
        '-E- Burning FS3 image failed: Failed to invalidate old fw signature: Flash write of 4 bytes to address physical 0x0 failed: MFE_CMDIF_TIMEOUT_ERR',
      );
      expect(r.text).not.toContain('Restoring signature');
      // the server answered every poll of the hung interface, and its statistics after it
      const s = JSON.parse(readFileSync(legacyStats, 'utf8')) as {
        icmdHung: boolean;
        stats: { icmd: { hung: number; byRegister: Record<string, { get: number; set: number }> } };
      };
      expect(s.icmdHung).toBe(true);
      expect(s.stats.icmd.hung).toBe(1);
      expect(s.stats.icmd.byRegister.MFAI?.set).toBe(1);
      expect(s.stats.icmd.byRegister.MFRL?.set).toBe(1);
      expect(s.stats.icmd.byRegister.MFBA?.set).toBeGreaterThan(1000);
    },
    BURN_TIMEOUT,
  );

  it(
    'after that failed burn the flash is still bootable: a reset boots an image, and mstflint queries it',
    () => {
      expect(existsSync(legacyState)).toBe(true);
      const running = resetCard('cx4lx@14.14.1100', legacyState);
      expect(running).not.toBeNull();
      expect(['14.14.1100', '14.25.1020']).toContain(running!.versionString);
      const r = withSim(['--state', legacyState], ['q']);
      expect(r.status, r.text).toBe(0);
      expect(field(r.stdout, 'FW Version')).toBe(running!.versionString);
    },
    BURN_TIMEOUT,
  );

  const mccState = join(dir, 'mcc.sim');

  it(
    '14.25.1020 ← signed 14.32.1908 goes through the FW-managed (MCC) flow',
    () => {
      const r = withSim(['--personality', '14.25.1020', '--state', mccState], ['-i', images['14.32.1908']!, '-y', 'burn'], SHORT_WAITS);
      expect(r.status, r.text).toBe(0);
      expect(r.text).toContain('Current FW version on flash:  14.25.1020');
      expect(r.text).toContain('New FW version:               14.32.1908');
      expect(r.text).toMatch(/^FSMST_INITIALIZE - {3}OK$/m);
      expect(r.text).toMatch(/^Writing Boot image component - {3}OK$/m);
      expect(r.text).toContain('-I- To load new FW run mstfwreset or reboot machine.');
      expect(r.text).not.toContain('-E-');
    },
    BURN_TIMEOUT,
  );

  it(
    'after a reset the card boots 14.32.1908, with its GUIDs and MACs kept',
    () => {
      const running = resetCard('cx4lx@14.25.1020', mccState);
      expect(running).toMatchObject({ versionString: '14.32.1908', bootedVia: 'activation' });
      const r = withSim(['--state', mccState], ['q']);
      expect(r.status, r.text).toBe(0);
      expect(field(r.stdout, 'FW Version')).toBe('14.32.1908');
      // the device data stayed: the image that runs still names the card's own GUID/MAC
      const dev = createSimDevice({ personality: 'cx4lx@14.25.1020', statePath: mccState });
      const flash = dev.model.flash.dump().slice();
      dev.close();
      flash.fill(0xff, 0, 16); // hide the (invalidated) old slot
      const q = describeImage(parseFs3(flash));
      expect(q.fwVersion).toBe('14.32.1908');
      expect(q.guid?.base).toBe(cardIdentity(1).guid.toString(16).padStart(16, '0'));
      expect(q.mac?.base).toBe(cardIdentity(1).mac.toString(16).padStart(12, '0'));
    },
    BURN_TIMEOUT,
  );
});
