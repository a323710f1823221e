// Burn benchmarks (issue: "on the model, for a legacy burn of a ~2.5 MiB image"), on the
// simulated ConnectX-4 Lx. Run on demand after `npm run build`: `node bench/burn.mjs`
// (or `node bench/run.mjs burn`). docs/performance.md explains each measure, its assumptions
// and the figures of the last run.
//   1. config-space operations per flash byte, fs3burn (counted by the card) against flint's
//      sequence counted from the facts (bench/lib/flint-count.mjs)            target <= 0.5x
//   2. modelled time against the flash-physics floor of what changed         target <= 1.15x
//   3. an identical re-burn against a full burn (modelled time)              target <= 2 %
//   4. CPU throughput of the whole stack into a zero-latency model           target >= 40 MiB/s
import { FLINT_ASSUMPTIONS, flintLegacyBurn } from './lib/flint-count.mjs';
import { ZERO_TIME, fs3burnDeviceOptions, freshCard, image, runScenario } from './lib/burn-scenario.mjs';

const MiB = 1 << 20;

/** Replay recorded config accesses against a card in the same state: the sim's own share of the time. */
function recorder() {
  const ops = [];
  let cur = new Float64Array(1 << 20);
  let n = 0;
  const push = (v) => {
    if (n === cur.length) {
      ops.push(cur);
      cur = new Float64Array(1 << 20);
      n = 0;
    }
    cur[n++] = v;
  };
  return {
    wrap: (t) => ({
      name: t.name,
      read32: (o) => (push(o), t.read32(o)),
      write32: (o, v) => (push(-1 - o), push(v >>> 0), t.write32(o, v)),
      close() {},
    }),
    chunks: () => [...ops, cur.subarray(0, n)],
  };
}

function replayMs(chunks, model) {
  const t0 = performance.now();
  let pendingWrite = -1;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++) {
      const x = c[i];
      if (pendingWrite >= 0) {
        model.configWrite(pendingWrite, x);
        pendingWrite = -1;
      } else if (x < 0) pendingWrite = -1 - x;
      else model.configRead(x);
    }
  }
  return performance.now() - t0;
}

/** The readings of the facts compared (docs/performance.md, measure 1). */
export const FLINT_READINGS = {
  // what the unmodified mstflint 4.21 does on the simulated card (bench/lib/flint-count.mjs):
  // one VSEC lock per mailbox buffer (§5.3 block access), the space select reads CTRL's status
  // back, the status is read after the poll (the brief's list)
  measured: { ...FLINT_ASSUMPTIONS, mailbox: 'block', selectReadBack: true, statusRead: true },
  // the brief's literal reading: the VSEC lock taken per dword for every mailbox dword
  brief: { ...FLINT_ASSUMPTIONS, mailbox: 'dword' },
  // the reading most favourable to flint: block mailbox, bare RMW select, no status read
  minimal: { ...FLINT_ASSUMPTIONS, mailbox: 'block' },
};

/** Unmodified mstflint through native-shims/with-sim.sh (another engineer's bridge), when present. */
async function measuredMstflint(bytes) {
  const { spawnSync } = await import('node:child_process');
  const { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const root = new URL('..', import.meta.url).pathname;
  const shim = join(root, 'native-shims/with-sim.sh');
  if (!existsSync(shim)) return undefined;
  const work = mkdtempSync(join(tmpdir(), 'fs3burn-bench-'));
  try {
    writeFileSync(join(work, 'img.bin'), bytes);
    const pci = '0000:e7:00.0'; // not the bridge's default: other runs may hold that one's lock file
    const r = spawnSync(shim, ['--personality', '14.14.1100', '--pci', pci, '--state', join(work, 'card.sim'), '--stats', join(work, 's.json'), '--', 'mstflint', '-d', pci, '-i', join(work, 'img.bin'), '-y', 'burn'], {
      cwd: root,
      env: { ...process.env, MFT_ICMD_TIMEOUT: '50', MFT_CMD_SLEEP: '1' },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const s = JSON.parse(readFileSync(join(work, 's.json'), 'utf8')).stats;
    return { config: s.config.reads + s.config.writes, icmd: s.icmd.commands, byRegister: s.icmd.byRegister, timeS: s.time.total / 1e6, exit: r.status };
  } catch {
    return undefined;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function run({ throughputRuns = 5, deviceOptions = fs3burnDeviceOptions, mstflint = false } = {}) {
  const { img, bytes: imageBytes } = image();
  const log2 = img.bootVersion.effectiveLog2Chunk;

  // ---- measures 1–3: one card, three burns, default time model ---------------------------
  const sc = await runScenario({ deviceOptions });
  const full = sc.full;
  const newStart = full.result.newImageStart;
  const slots = { img, newStart, oldStart: newStart === 0 ? 1 << log2 : 0, log2 };
  const flint = Object.fromEntries(Object.entries(FLINT_READINGS).map(([k, a]) => [k, flintLegacyBurn(slots, a)]));
  const bytes = flint.measured.bytes;
  const ours = full.config / bytes;
  const per = (k) => flint[k].total / bytes;
  const totalS = (r) => r.time.total / 1e6;

  // ---- measure 4: zero-latency model, wall clock -----------------------------------------
  // The card's own share: the very config accesses of a burn, recorded once and replayed into a
  // card in the same state. Burns and replays alternate, so that both see the same machine load.
  const rec = recorder();
  await runScenario({ simOpts: { timeModel: ZERO_TIME }, deviceOptions, only: 'full', floor: false, wrapTransport: rec.wrap });
  const walls = [];
  const replays = [];
  for (let i = 0; i < throughputRuns; i++) {
    const r = await runScenario({ simOpts: { timeModel: ZERO_TIME }, deviceOptions, only: 'full', floor: false });
    walls.push(r.full.wallMs);
    const card = await runScenario({ simOpts: { timeModel: ZERO_TIME }, deviceOptions, only: 'blank', floor: false });
    card.sim.model.reset('warm');
    replays.push(replayMs(rec.chunks(), card.sim.model));
  }
  walls.sort((a, b) => a - b);
  replays.sort((a, b) => a - b);
  const simMs = replays[0];
  const mibps = (ms) => bytes / MiB / (ms / 1000);

  const out = {
    'config ops / flash byte, full burn': {
      fs3burn: ours,
      mstflint: per('measured'),
      ratio: ours / per('measured'),
      target: '<= 0.5',
      detail: { flint: flint.measured, fs3burn: { config: full.config, reads: full.configReads, writes: full.configWrites, icmdCommands: full.icmdCommands, bytes, device: full.device } },
    },
    '  vs flint, brief (VSEC lock per dword)': { fs3burn: ours, mstflint: per('brief'), ratio: ours / per('brief'), target: '(<= 0.5)', detail: { flint: flint.brief } },
    '  vs flint, most favourable to flint': { fs3burn: ours, mstflint: per('minimal'), ratio: ours / per('minimal'), target: '(<= 0.5)', detail: { flint: flint.minimal } },
    '  blank slot': { fs3burn: sc.blank.config / bytes, mstflint: per('measured'), ratio: sc.blank.config / bytes / per('measured'), target: 'for reference' },
    'modelled time / physics floor, full burn (s)': { fs3burn: totalS(full), reference: full.floor.us / 1e6, ratio: full.time.total / full.floor.us, target: '<= 1.15', detail: { time: full.time, floor: full.floor, result: full.result.stats } },
    '  blank slot (s)': { fs3burn: totalS(sc.blank), reference: sc.blank.floor.us / 1e6, ratio: sc.blank.time.total / sc.blank.floor.us, target: 'for reference', detail: { time: sc.blank.time, floor: sc.blank.floor, result: sc.blank.result.stats } },
    'identical re-burn / full burn, time (s)': { fs3burn: totalS(sc.same), reference: totalS(full), ratio: sc.same.time.total / full.time.total, target: '<= 0.02', detail: { time: sc.same.time, result: sc.same.result.stats, newImageStart: sc.same.result.newImageStart } },
    '  in config ops': { fs3burn: sc.same.config, reference: full.config, ratio: sc.same.config / full.config, target: 'for reference' },
    'CPU throughput, zero-latency model (MiB/s)': { fs3burn: mibps(walls[0]), reference: 40, ratio: mibps(walls[0]) / 40, target: '>= 40', detail: { bestMs: walls[0], medianMs: walls[walls.length >> 1], runs: walls } },
    '  the card alone, same accesses (MiB/s)': { fs3burn: mibps(simMs), reference: 40, ratio: mibps(simMs) / 40, target: 'ceiling', detail: { simOnlyMs: simMs, replays } },
  };
  if (mstflint) {
    const m = await measuredMstflint(imageBytes);
    if (m) {
      out['  mstflint 4.21 on the card (blank slot)'] = { fs3burn: sc.blank.config / bytes, mstflint: m.config / bytes, ratio: sc.blank.config / m.config, target: 'measured', detail: m };
    }
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // --defaults: the device as openDevice opens it by default (flint's VSEC / ICMD traffic);
  // --mstflint: also run the unmodified mstflint through the bridge (about a minute)
  const defaults = process.argv.includes('--defaults');
  const r = await run({ ...(defaults ? { deviceOptions: () => ({ clock: fs3burnDeviceOptions().clock }) } : {}), mstflint: process.argv.includes('--mstflint') });
  const fmt = (x) => (typeof x === 'number' ? (Math.abs(x) >= 1000 ? x.toFixed(0) : x.toFixed(3)) : (x ?? '-'));
  for (const [k, v] of Object.entries(r)) {
    console.log(`${k.padEnd(44)} fs3burn ${fmt(v.fs3burn).padStart(9)}  reference ${fmt(v.mstflint ?? v.reference).padStart(9)}  ratio ${fmt(v.ratio).padStart(7)}  target ${v.target}`);
  }
  if (process.argv.includes('--detail')) {
    for (const [k, v] of Object.entries(r)) if (v.detail) console.log(k, JSON.stringify(v.detail, null, 1));
  }
}
