// Side by side on the same simulated card: the legacy burn of the catalog 14.25.1020 image onto a
// 14.14.1100 card (the seed case, docs/seed-case.md) by the unmodified mstflint 4.21 — through
// native-shims/with-sim.sh, the server reporting the model's statistics — and by fs3burn's own
// burn (src/flows, in-process on a card of the same seed). Figures: config-space reads/writes,
// ICMD commands, modelled device time, wall time, and how each burn ended.
//
// Usage: node bench/mstflint-vs-fs3burn.mjs (after npm run build; needs mstflint and cc), or
// through bench/run.mjs. mstflint's ICMD wait is shortened (MFT_ICMD_TIMEOUT=50, MFT_CMD_SLEEP=1)
// so that its busy-bit timeout costs seconds, not the default ≈40 s.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (p) => join(root, 'dist', p);

function summary(stats) {
  const s = stats.stats ?? stats;
  return {
    configReads: s.config.reads,
    configWrites: s.config.writes,
    icmdCommands: s.icmd.commands,
    icmdByRegister: s.icmd.byRegister,
    deviceTimeS: s.time.total / 1e6,
  };
}

function runMstflint(image, work) {
  const statsFile = join(work, 'mstflint-stats.json');
  const t = process.hrtime.bigint();
  const r = spawnSync(
    join(root, 'native-shims/with-sim.sh'),
    ['--personality', '14.14.1100', '--state', join(work, 'mstflint.sim'), '--stats', statsFile, '--', 'mstflint', '-d', '0000:ee:00.0', '-i', image, '-y', 'burn'],
    { cwd: root, encoding: 'utf8', env: { ...process.env, MFT_ICMD_TIMEOUT: '50', MFT_CMD_SLEEP: '1' }, maxBuffer: 64 << 20 },
  );
  const wallS = Number(process.hrtime.bigint() - t) / 1e9;
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.replace(/\r/g, '\n');
  const outcome = text.split('\n').find((l) => l.startsWith('-E-') || l.startsWith('-I-')) ?? `exit ${r.status}`;
  let stats;
  try {
    stats = summary(JSON.parse(readFileSync(statsFile, 'utf8')));
  } catch (e) {
    throw new Error(`no statistics from the bridge (${e.message}); output:\n${text.slice(-2000)}`);
  }
  return { ...stats, wallS, status: r.status, outcome };
}

async function runFs3burn(imageBytes) {
  let mods;
  try {
    mods = {
      sim: await import(dist('sim/index.js')),
      device: await import(dist('device/index.js')),
      flows: await import(dist('flows/index.js')),
      vsec: await import(dist('vsec/index.js')),
    };
  } catch (e) {
    return { unavailable: `fs3burn's burn flows are not built (${e.message})` };
  }
  if (typeof mods.flows.burnImage !== 'function' || typeof mods.device.openDevice !== 'function') {
    return { unavailable: 'src/flows does not export burnImage yet' };
  }
  const sim = mods.sim.createSimDevice({ personality: 'cx4lx@14.14.1100' });
  const dev = mods.device.openDevice(sim, { clock: mods.vsec.virtualClock() });
  const t = process.hrtime.bigint();
  let outcome;
  try {
    const r = await mods.flows.burnImage(dev, imageBytes, { noFwCtrl: true });
    outcome = `-I- ${r.nextStep ?? 'done'}`;
  } catch (e) {
    outcome = `-E- ${e.code ?? ''} ${e.message}`;
  }
  const wallS = Number(process.hrtime.bigint() - t) / 1e9;
  const stats = summary(sim.model.stats());
  sim.model.reset('warm');
  return { ...stats, wallS, outcome, bootsAfterReset: sim.model.running?.versionString ?? null };
}

export async function run() {
  const { catalogImage } = await import(dist('image/catalog.js'));
  const work = mkdtempSync(join(tmpdir(), 'fs3burn-bench-bridge-'));
  try {
    const imageBytes = catalogImage('cx4lx-14.25.1020');
    const image = join(work, 'fw-14.25.1020.bin');
    writeFileSync(image, imageBytes);
    const m = runMstflint(image, work);
    const f = await runFs3burn(imageBytes);
    process.stderr.write(`mstflint 4.21: ${m.outcome}\n`);
    if (f.unavailable) process.stderr.write(`fs3burn: ${f.unavailable} — mstflint's figures only\n`);
    else process.stderr.write(`fs3burn: ${f.outcome} (after a reset the card boots ${f.bootsAfterReset})\n`);
    const row = (key, target = '') => {
      const out = { mstflint: m[key], target };
      if (!f.unavailable) {
        out.fs3burn = f[key];
        out.ratio = m[key] ? f[key] / m[key] : undefined;
      }
      return out;
    };
    return {
      'config reads': row('configReads'),
      'config writes': row('configWrites'),
      'ICMD commands': row('icmdCommands'),
      'modelled device time (s)': row('deviceTimeS'),
      'wall time (s)': row('wallS'),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await run();
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(26)} mstflint ${String(v.mstflint).padEnd(14)} fs3burn ${v.fs3burn ?? '-'}`);
}
