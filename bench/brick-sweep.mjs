// The long, on-demand "can a burn brick the card?" run (docs/robustness.md): the power cut
// after EVERY flash operation of a legacy and a FW-managed burn (clean and half-done, both
// slot orders), plus a sample on the full catalog image, plus seeded random faults; prints the
// counts and exits 1 if any cut point or seed went wrong.
//
//   node bench/brick-sweep.mjs [--kib 32] [--catalog 1000] [--seeds 300] [--double 5] [--jobs 2]
//                              [--only legacy|fw-managed] [--no-half] [--no-mstflint] [--json FILE]
//
// --kib      payload of the small images (KiB); every k of their burns is cut
// --catalog  even sample of cut points on the full catalog 14.32.1908 burns (plus the window); 0 = none
// --seeds    seeds per seeded-fault case (~1 % and ~0.1 % of ICMD / flash operations); 0 = none
// --double   every N-th cut point also cuts the re-burn (0 = never)
// --jobs     worker processes (the cut points are dealt round-robin); default: the CPU count
//
// It shares its code with test/brick-*.test.ts (test/helpers/brick.ts, loaded through vite as
// vitest does), so it needs no build. Not part of `npm run bench`: it exports no run().
// Needs `npm run build` (the helper runs dist/). Takes minutes: ~2 600 small cut points at
// ~0.07 s each, catalog cut points at ~0.7 s each.
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

function parseArgs(argv) {
  const o = { kib: 32, catalog: 1000, seeds: 300, double: 5, jobs: availableParallelism(), only: undefined, half: true, mstflint: true, json: undefined, worker: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--kib') o.kib = Number(next());
    else if (a === '--catalog') o.catalog = Number(next());
    else if (a === '--seeds') o.seeds = Number(next());
    else if (a === '--double') o.double = Number(next());
    else if (a === '--jobs') o.jobs = Math.max(1, Number(next()));
    else if (a === '--only') o.only = next();
    else if (a === '--no-half') o.half = false;
    else if (a === '--no-mstflint') o.mstflint = false;
    else if (a === '--json') o.json = next();
    else if (a === '--worker') o.worker = next();
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/brick-sweep.mjs [--kib N] [--catalog N] [--seeds N] [--double N] [--jobs N] [--only legacy|fw-managed] [--no-half] [--no-mstflint] [--json FILE]');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/**
 * Load the TypeScript helper the way vitest does (vitest.config.ts): vite transforms the helper,
 * its imports of ../../src/X.js go to the built dist/X.js, which Node loads itself (through
 * vite's module runner a simulated burn is ~5x slower). Run `npm run build` first.
 */
async function loadHelper() {
  const { createServer } = await import(pathToFileURL(`${ROOT}node_modules/vite/dist/node/index.js`).href);
  const dist = `${ROOT}dist/`;
  const server = await createServer({
    root: ROOT,
    configFile: false,
    logLevel: 'error',
    appType: 'custom',
    server: { middlewareMode: true, hmr: false, ws: false },
    optimizeDeps: { noDiscovery: true, include: [] },
    plugins: [
      {
        name: 'fs3burn-dist-external',
        enforce: 'pre',
        resolveId(id, importer) {
          const m = /^((?:\.\.\/)+)src\/(.*)\.js$/.exec(id);
          if (!m || !importer) return null;
          const abs = fileURLToPath(new URL(`${m[1]}dist/${m[2]}.js`, pathToFileURL(importer)));
          return abs.startsWith(dist) ? { id: abs, external: true } : null;
        },
      },
    ],
  });
  const brick = await server.ssrLoadModule('/test/helpers/brick.ts');
  return { brick, close: () => server.close() };
}

/** The work list: every scenario with its cut points, then the seeded-fault cases. */
function tasks(o) {
  const flows = o.only ? [o.only] : ['legacy', 'fw-managed'];
  const list = [];
  for (const flow of flows) for (const oldSlot of [0, 1]) list.push({ kind: 'sweep', flow, oldSlot, size: o.kib });
  if (o.catalog > 0) for (const flow of flows) list.push({ kind: 'sweep', flow, oldSlot: 0, size: 'catalog', sample: o.catalog });
  if (o.seeds > 0) {
    for (const flow of flows) {
      list.push({ kind: 'seeds', flow, oldSlot: 0, scale: 1, base: 0 });
      list.push({ kind: 'seeds', flow, oldSlot: 1, scale: 1, base: 10000 });
      list.push({ kind: 'seeds', flow, oldSlot: 0, scale: 0.1, base: 20000 });
    }
  }
  return list;
}

/** One worker: its share (index % jobs === part) of every task's cut points / seeds. */
async function worker(o) {
  const [part, jobs] = o.worker.split('/').map(Number);
  const { brick, close } = await loadHelper();
  const out = [];
  try {
    for (const t of tasks(o)) {
      const sc = brick.scenario(t.flow, { size: t.size ?? o.kib, oldSlot: t.oldSlot });
      if (t.kind === 'sweep') {
        const p = await brick.profileBurn(sc);
        let all = brick.sweepPlan(p, { ...(t.size === 'catalog' ? { sample: t.sample } : {}), icmdSample: 40 });
        if (!o.half && t.size !== 'catalog') all = all.filter((c) => !c.half || p.window.includes(c.k));
        // each worker takes every jobs-th point; the index in the whole plan picks the double cuts
        const indexed = all.map((c, i) => ({ c, i })).filter(({ i }) => i % jobs === part);
        const points = indexed.map(({ c }) => c);
        const s = await brick.sweep(sc, p, {
          points,
          // mstflint: every dump after a cut, and the final dump of every 10th point
          mstflint: (c, j) => (!o.mstflint ? 'none' : c.op === 'icmd' || indexed[j].i % 10 === 0 ? 'all' : 'cut'),
          // a second cut during the re-burn at every --double-th point
          secondCut: (_c, j) => brick.secondCutFor(p, indexed[j].i, o.double),
          onCut: (r) => {
            if (r.problems.length > 0) process.stderr.write(`FAIL ${brick.cutName(sc, r.cut)}: ${r.problems.join(' | ')}\n`);
          },
        });
        out.push({ kind: 'sweep', summary: s });
        process.stderr.write(`[${part + 1}/${jobs}] ${brick.sweepLine(s)}\n`);
      } else {
        sc.name = `${sc.name} at ~${t.scale} %`;
        const seeds = Array.from({ length: o.seeds }, (_, i) => t.base + i + 1).filter((_, i) => i % jobs === part);
        const s = await brick.runSeeds(sc, seeds, { scale: t.scale, mstflint: o.mstflint && brick.haveMstflint() });
        out.push({ kind: 'seeds', summary: s });
        process.stderr.write(`[${part + 1}/${jobs}] ${brick.seedLine(s)}\n`);
      }
    }
  } finally {
    brick.cleanupDumps();
    await close();
  }
  return out;
}

function mergeSeeds(a, b) {
  for (const k of ['seeds', 'newImage', 'cleanFailures', 'failureNewBoots', 'corrupt', 'faultsFired', 'mstflintChecked', 'ms']) a[k] += b[k];
  for (const [k, v] of Object.entries(b.failureCodes)) a.failureCodes[k] = (a.failureCodes[k] ?? 0) + v;
  a.bad.push(...b.bad);
  return a;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.worker) {
    const result = await worker(o);
    process.send?.(result);
    return;
  }
  const t0 = performance.now();
  const args = process.argv.slice(2).filter((a, i, all) => a !== '--json' && all[i - 1] !== '--json');
  const parts = await Promise.all(
    Array.from({ length: o.jobs }, (_, part) =>
      new Promise((resolve, reject) => {
        const child = fork(SELF, [...args, '--worker', `${part}/${o.jobs}`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        let got;
        child.on('message', (m) => (got = m));
        child.on('exit', (code) => (code === 0 && got ? resolve(got) : reject(new Error(`worker ${part} exited ${code}`))));
      }),
    ),
  );
  // merge the workers' parts, task by task (every worker returns its tasks in the same order)
  const { brick, close } = await loadHelper();
  const merged = parts[0].map((r, i) => {
    if (r.kind === 'sweep') {
      const s = brick.emptySweep(r.summary.scenario, r.summary.flashOps);
      for (const p of parts) brick.mergeSweep(s, p[i].summary);
      return { kind: 'sweep', summary: s };
    }
    const s = { ...r.summary, seeds: 0, newImage: 0, cleanFailures: 0, failureNewBoots: 0, corrupt: 0, faultsFired: 0, mstflintChecked: 0, ms: 0, failureCodes: {}, bad: [] };
    for (const p of parts) mergeSeeds(s, p[i].summary);
    return { kind: 'seeds', summary: s };
  });
  await close();

  console.log(`\nbrick sweep (--kib ${o.kib}, --catalog ${o.catalog}, --seeds ${o.seeds}, --double ${o.double}, ${o.jobs} jobs, ${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  let bad = 0;
  const tot = { tried: 0, booted: 0, reburned: 0, mstflint: 0, doubleFired: 0, doubleBooted: 0 };
  console.log('power cuts:');
  for (const r of merged.filter((x) => x.kind === 'sweep')) {
    const s = r.summary;
    console.log(`  ${brick.sweepLine(s)}`);
    console.log(`      first burn: ${JSON.stringify(s.firstOutcomes)}; second burn: ${JSON.stringify(s.secondOutcomes)}`);
    if (s.failures.length > 0) console.log(`    ${brick.sweepFailures(s, 50).replace(/\n/g, '\n    ')}`);
    bad += s.failures.length;
    tot.tried += s.tried;
    tot.booted += s.booted;
    tot.reburned += s.reburned;
    tot.mstflint += s.mstflintChecked;
    tot.doubleFired += s.doubleFired;
    tot.doubleBooted += s.doubleBooted;
  }
  console.log(`  total: ${tot.tried} cut points tried, ${tot.booted} booted, ${tot.reburned} re-burned to the new version; ${tot.doubleFired} second cuts during a re-burn, ${tot.doubleBooted} booted; ${tot.mstflint} checked by mstflint`);
  const seeds = merged.filter((x) => x.kind === 'seeds');
  if (seeds.length > 0) {
    console.log('\nseeded faults:');
    for (const r of seeds) {
      const s = r.summary;
      console.log(`  ${brick.seedLine(s)}`);
      console.log(`      failures: ${JSON.stringify(s.failureCodes)}`);
      if (s.bad.length > 0) console.log(`    ${brick.seedFailures(s, 50).replace(/\n/g, '\n    ')}`);
      bad += s.corrupt;
    }
  }
  if (o.json) writeFileSync(o.json, JSON.stringify(merged, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
  console.log(bad === 0 ? '\nOK: every cut point booted and re-burned; no corrupt outcome.' : `\nFAILED: ${bad} cut points / seeds went wrong (replay with FS3BURN_CUT / FS3BURN_SEED, see docs/robustness.md).`);
  process.exitCode = bad === 0 ? 0 : 1;
}

// bench/run.mjs imports every bench module: run only when started directly
if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) await main();
