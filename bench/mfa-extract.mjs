#!/usr/bin/env node
/**
 * Benchmark: extract the LAST image of the 36-image Spectrum-1 MFA1 archive (PSID
 * MT_2370110033: about 590 MB of the DATA stream must be decoded to reach it) with fs3burn,
 * in this process and through the CLI, against the shell pipeline
 *   dd (the DATA section's bytes) | xz -dc | dd (skip dataOffset, count dataSize)
 * Targets: fs3burn CLI wall time <= 1.2 x the pipeline's; CLI peak RSS <= 96 MiB.
 *
 *   npm run build && node bench/mfa-extract.mjs          (prints the figures)
 *   import { run } from './mfa-extract.mjs'; await run()   (bench/run.mjs's { label: {...} } form)
 *   import { measure } from './mfa-extract.mjs'; await measure()   (every figure)
 *
 * Options for run() and measure(): { archive, psid, runs (default 3), backends (default: all available) }.
 * The xz backend of the CLI is chosen with FS3BURN_XZ (see src/mfa/xz.ts).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_ARCHIVE = resolve(ROOT, '../shared/fixtures/mfa1/fw-SPC-rel-13_1224_0142-EVB.mfa');
const DEFAULT_PSID = 'MT_2370110033';
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const TARGET_RATIO = 1.2;
const TARGET_RSS_MIB = 96;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x, d = 0) => Math.round(x * 10 ** d) / 10 ** d;
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const sh = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** Runs argv (under /usr/bin/time -v when present): wall ms and the max RSS in MiB. */
function timed(argv, env = {}) {
  const full = TIME ? [TIME, '-v', ...argv] : argv;
  const t0 = performance.now();
  const r = spawnSync(full[0], full.slice(1), { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 16 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '');
  return { ms, maxRssMiB: m ? Number(m[1]) / 1024 : undefined, stdout: r.stdout, stderr: r.stderr };
}

/** Without /usr/bin/time: run the CLI inside a node child that reports its own max RSS. */
function timedCliFallback(args, env) {
  const script = `
    const { main } = await import(${JSON.stringify(CLI)});
    const code = await main(${JSON.stringify(args)});
    process.stderr.write('\\nMAXRSS ' + process.resourceUsage().maxRSS + '\\n');
    process.exitCode = code;`;
  const r = timed([process.execPath, '--input-type=module', '-e', script], env);
  const m = /MAXRSS (\d+)/.exec(r.stderr);
  return { ...r, maxRssMiB: m ? Number(m[1]) / 1024 : undefined };
}

/** Every figure, in detail. */
export async function measure(opts = {}) {
  const archive = opts.archive ?? DEFAULT_ARCHIVE;
  const psid = opts.psid ?? DEFAULT_PSID;
  const runs = opts.runs ?? 3;
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const { readMfa1Index, extractMfa1Image, xzBackends } = await import('../dist/mfa/index.js');
  const index = await readMfa1Index(archive);
  const entry = index.entries.find((e) => e.psid === psid);
  if (!entry) throw new Error(`${psid} is not in ${archive}`);
  const data = index.sections.find((s) => s.name === 'DATA');
  const available = (await xzBackends()).filter((b) => b.available);
  const backends = opts.backends ?? available.map((b) => b.name);
  const dir = mkdtempSync(join(tmpdir(), 'fs3burn-bench-mfa-'));
  try {
    // The reference: the same slice of the file through xz(1).
    const refOut = join(dir, 'pipeline.bin');
    const pipeline =
      `dd if=${sh(archive)} bs=64K iflag=skip_bytes,count_bytes skip=${data.payloadOffset} count=${data.length} status=none` +
      ` | xz -dc` +
      ` | dd of=${sh(refOut)} bs=1M iflag=skip_bytes,count_bytes,fullblock skip=${entry.dataOffset} count=${entry.dataSize} status=none`;
    const pipelineRuns = [];
    for (let i = 0; i < runs; i++) pipelineRuns.push(timed(['bash', '-c', `set -o pipefail; ${pipeline}`]));
    const refSha = sha256(refOut);

    // For scale: xz(1) alone decoding the whole DATA stream to /dev/null (no pipes, no dd).
    const slice = join(dir, 'data.xz');
    writeFileSync(slice, readFileSync(archive).subarray(data.payloadOffset, data.payloadOffset + data.length));
    const xzOnlyRuns = [];
    for (let i = 0; i < runs; i++) xzOnlyRuns.push(timed(['bash', '-c', `xz -dc ${sh(slice)} > /dev/null`]));

    // In this process (the first run also loads the decoder).
    const inProcessRuns = [];
    const ipOut = join(dir, 'in-process.bin');
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await extractMfa1Image(archive, psid, ipOut);
      inProcessRuns.push(performance.now() - t0);
    }
    const inProcessIdentical = sha256(ipOut) === refSha;

    // Through the CLI, once per xz backend.
    const cli = {};
    for (const backend of backends) {
      const out = join(dir, `cli-${backend}.bin`);
      const args = ['mfa', 'extract', archive, '--psid', psid, '-o', out];
      const env = { FS3BURN_XZ: backend };
      const rs = [];
      for (let i = 0; i < runs; i++) {
        rs.push(TIME ? timed([process.execPath, CLI, ...args], env) : timedCliFallback(args, env));
      }
      const ms = median(rs.map((r) => r.ms));
      const rss = Math.max(...rs.map((r) => r.maxRssMiB ?? NaN));
      cli[backend] = {
        wallMs: round(ms),
        runsMs: rs.map((r) => round(r.ms)),
        maxRssMiB: round(rss, 1),
        ratio: round(ms / median(pipelineRuns.map((r) => r.ms)), 2),
        identical: sha256(out) === refSha,
      };
    }

    const pipelineMs = median(pipelineRuns.map((r) => r.ms));
    const inProcessMs = median(inProcessRuns);
    const primary = cli[backends[0]];
    const result = {
      name: 'mfa-extract',
      archive,
      psid,
      bytes: entry.dataSize,
      decodedBytes: entry.dataOffset + entry.dataSize,
      runs,
      memoryProbe: TIME ? '/usr/bin/time -v' : 'process.resourceUsage().maxRSS in the child',
      pipeline: {
        wallMs: round(pipelineMs),
        runsMs: pipelineRuns.map((r) => round(r.ms)),
        maxRssMiB: round(Math.max(...pipelineRuns.map((r) => r.maxRssMiB ?? NaN)), 1),
      },
      xzOnly: {
        wallMs: round(median(xzOnlyRuns.map((r) => r.ms))),
        runsMs: xzOnlyRuns.map((r) => round(r.ms)),
      },
      inProcess: {
        wallMs: round(inProcessMs),
        runsMs: inProcessRuns.map((x) => round(x)),
        ratio: round(inProcessMs / pipelineMs, 2),
        identical: inProcessIdentical,
      },
      cli,
      defaultBackend: backends[0],
      targets: { ratio: TARGET_RATIO, maxRssMiB: TARGET_RSS_MIB },
      met: {
        ratio: primary ? primary.ratio <= TARGET_RATIO : false,
        maxRss: primary ? primary.maxRssMiB <= TARGET_RSS_MIB : false,
        identical: inProcessIdentical && Object.values(cli).every((c) => c.identical),
      },
    };
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The figures in bench/run.mjs's shape: { label: { fs3burn, xz, ratio?, target } }, times in
 * ms (median), memory in MiB. The reference is the `dd | xz -dc | dd` pipeline.
 */
export async function run(opts = {}) {
  const r = await measure(opts);
  const out = {};
  const ratioTarget = `ratio <= ${r.targets.ratio}`;
  out['last image, in-process ms'] = { fs3burn: r.inProcess.wallMs, xz: r.pipeline.wallMs, ratio: r.inProcess.ratio, target: ratioTarget };
  for (const [backend, c] of Object.entries(r.cli)) {
    const tag = backend === r.defaultBackend ? 'CLI' : `CLI ${backend}`;
    out[`last image, ${tag} ms`] = { fs3burn: c.wallMs, xz: r.pipeline.wallMs, ratio: c.ratio, target: backend === r.defaultBackend ? ratioTarget : 'fallback' };
    out[`last image, ${tag} max RSS MiB`] = {
      fs3burn: c.maxRssMiB,
      xz: r.pipeline.maxRssMiB,
      target: backend === r.defaultBackend ? `<= ${r.targets.maxRssMiB} MiB` : 'fallback',
    };
  }
  return out;
}

function print(r) {
  const lines = [
    `MFA1 extract of ${r.psid} (${r.bytes} bytes; ${r.decodedBytes} bytes decoded) from ${r.archive}`,
    `  dd | xz -dc | dd        ${r.pipeline.wallMs} ms   (runs ${r.pipeline.runsMs.join(', ')})   max RSS ${r.pipeline.maxRssMiB} MiB`,
    `  xz -dc > /dev/null      ${r.xzOnly.wallMs} ms   (runs ${r.xzOnly.runsMs.join(', ')})   (whole DATA stream, for scale)`,
    `  fs3burn in-process      ${r.inProcess.wallMs} ms   (runs ${r.inProcess.runsMs.join(', ')})   ratio ${r.inProcess.ratio}`,
  ];
  for (const [backend, c] of Object.entries(r.cli)) {
    lines.push(
      `  fs3burn CLI, ${backend.padEnd(11)} ${c.wallMs} ms   (runs ${c.runsMs.join(', ')})   ratio ${c.ratio}   max RSS ${c.maxRssMiB} MiB   identical: ${c.identical}`,
    );
  }
  lines.push(
    `  targets (default backend ${r.defaultBackend}): ratio <= ${r.targets.ratio}: ${r.met.ratio ? 'met' : 'MISSED'};` +
      ` max RSS <= ${r.targets.maxRssMiB} MiB: ${r.met.maxRss ? 'met' : 'MISSED'}; output identical: ${r.met.identical}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await measure();
  print(r);
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}
