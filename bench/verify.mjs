// Verify benchmarks (issue 2): whole-process `fs3burn verify` against `mstflint -i IMAGE v`
// on the 16 MiB real FS3 image (target ratio <= 1.8), and in-process verify after warm-up
// (target <= 8 ms). Run on demand: `node bench/verify.mjs` after `npm run build`.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = join(root, '../shared/fixtures/fs3/fw-SPC-rel-13_1224_0142-EVB_HPE3230110035.bin.xz');

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function timeProcess(cmd, args, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  }
  return median(times);
}

export async function run({ runs = 21 } = {}) {
  const image = join(tmpdir(), 'fs3burn-bench-hpe.bin');
  try {
    statSync(image);
  } catch {
    writeFileSync(image, execFileSync('xz', ['-dc', fixture], { maxBuffer: 64 << 20 }));
  }
  const cli = join(root, 'dist/cli/main.js');
  timeProcess(process.execPath, [cli, '-i', image, 'v'], 3); // warm the page cache
  const ours = timeProcess(process.execPath, [cli, '-i', image, 'v'], runs);
  let ref;
  try {
    ref = timeProcess('mstflint', ['-i', image, 'v'], runs);
  } catch {
    ref = undefined;
  }
  const nodeStart = timeProcess(process.execPath, ['-e', '0'], runs);

  const { verifyFs3 } = await import(join(root, 'dist/index.js'));
  const buf = readFileSync(image);
  for (let i = 0; i < 20; i++) verifyFs3(buf);
  const inproc = [];
  for (let i = 0; i < 50; i++) {
    const t = process.hrtime.bigint();
    const r = verifyFs3(buf);
    inproc.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (!r.bootable) throw new Error('fixture did not verify');
  }
  return {
    'verify process (ms)': { fs3burn: ours, mstflint: ref, ratio: ref ? ours / ref : undefined, target: '<= 1.8' },
    'node -e 0 (ms)': { fs3burn: nodeStart, mstflint: ref, ratio: ref ? nodeStart / ref : undefined, target: 'for reference' },
    'verify in-process (ms)': { fs3burn: median(inproc), target: '<= 8' },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await run();
  for (const [k, v] of Object.entries(r)) {
    const fmt = (x) => (typeof x === 'number' ? x.toFixed(2) : x ?? '-');
    console.log(`${k.padEnd(26)} fs3burn ${fmt(v.fs3burn)}  mstflint ${fmt(v.mstflint)}  ratio ${fmt(v.ratio)}  target ${v.target}`);
  }
}
