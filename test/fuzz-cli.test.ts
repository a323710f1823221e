/**
 * Bad input, fuzzed through the CLI processes (issue 5 part 1): a sample of mutated images
 * (test/helpers/mutate.ts, fixed seeds) written to files and run as a user would —
 * `fs3burn -i FILE q`, `fs3burn -i FILE v`, and `fs3burn -d sim:…?state=CARD -i FILE burn -y`
 * on a fresh simulated card — in text and JSON mode. Each process:
 *
 * - ends within its time bound (a hang is a failure), with a documented status (0, 3, 4, 5, 7, 8:
 *   never 1, the internal-error status, and never a stack trace);
 * - in JSON mode names a code whose exit status is the one the process ended with;
 * - agrees with the library in-process (same outcome for query; verify passes exactly when
 *   verifyFs3 says bootable);
 * - burn: leaves the card's flash as it was unless the image verifies and the burn ran (exit 0
 *   or 8), and after a burn the card boots the new image.
 *
 * Needs the built CLI (npm test builds it first). FS3BURN_LONG=1: 10× the sample.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors.js';
import { catalogImage } from '../src/image/catalog.js';
import { parseFs3 } from '../src/image/fs3.js';
import { verifyFs3 } from '../src/image/verify.js';
import { requireFs3 } from '../src/io/open-image.js';
import { createSimDevice } from '../src/sim/index.js';
import { CLI } from './helpers/cli.js';
import { FX, PROJECT_ROOT, rawFixtureBytes, tempDir } from './helpers/fixtures.js';
import { LONG, SMALL_SECTIONS, Tally, Workbench, describeMutation, fuzzSeed, imageCase, mapImage, mutationArb, type Mutation } from './helpers/mutate.js';

const SCALE = LONG ? 10 : 1;
const T = LONG ? 3_600_000 : 600_000;
const DOCUMENTED = new Set([0, 3, 4, 5, 7, 8]);
const TIMEOUT_MS = 90_000;
const STACK = /\n\s+at .*:\d+:\d+/;

interface Run {
  args: string[];
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ args, status, signal, stdout, stderr });
    });
  });
}

/** Run jobs two at a time (this machine has two cores). */
async function pool<T>(jobs: (() => Promise<T>)[], width = 2): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}

/** JSON output: one document, or one object per line (burn's events). */
function parseJson(stdout: string): any[] {
  try {
    return [JSON.parse(stdout)];
  } catch {
    return stdout
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l));
  }
}

function checkProcess(r: Run, what: string): void {
  const where = `${what}: fs3burn ${r.args.join(' ')}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;
  expect(r.signal, `killed (hang?) ${where}`).toBeNull();
  expect(DOCUMENTED.has(r.status!), `status ${r.status} ${where}`).toBe(true);
  expect(STACK.test(r.stdout + r.stderr), `stack trace ${where}`).toBe(false);
  if (r.status !== 0 && !r.args.includes('--json')) expect(r.stderr, where).toMatch(/^-E- |\n-E- /);
}

interface Mutant {
  label: string;
  file: string;
  bytes: Uint8Array;
  m: Mutation;
  burn: boolean;
}

let dir: string;
let cardTemplate: string;
const mutants: Mutant[] = [];
const tally = new Tally();

function sample(label: string, base: Uint8Array, n: number, seed: number, burn: boolean, validWeight: number): void {
  const map = mapImage(label, base);
  const bench = new Workbench(base, map);
  const ms = fc.sample(mutationArb(map, { validWeight }), { seed: fuzzSeed(seed), numRuns: n * SCALE });
  for (const [i, m] of ms.entries()) {
    const bytes = bench.materialize(m);
    const file = join(dir, `${label}-${i}.bin`);
    writeFileSync(file, bytes);
    mutants.push({ label: `${label} #${i}`, file, bytes, m, burn });
  }
}

beforeAll(() => {
  dir = tempDir('fs3burn-fuzz-cli-');
  // one fresh card, copied for each burn
  cardTemplate = join(dir, 'card-template.sim');
  createSimDevice(`cx4lx@14.14.1100?state=${cardTemplate}`).close();
  sample('small-14.32', catalogImage('cx4lx-14.32.1908', { sections: SMALL_SECTIONS }), 16, 0xc11, true, 4);
  sample('fixture-hpe', rawFixtureBytes(FX.fs3Hpe), 6, 0xc12, false, 1);
});

afterAll(() => {
  console.log(`CLI: ${mutants.length} mutants, processes by command and status:\n${tally}`);
});

const flashOf = (state: string) => {
  const sim = createSimDevice(`cx4lx@14.14.1100?state=${state}`);
  const f = Uint8Array.from(sim.model.flash.dump());
  sim.close();
  return f;
};

describe('fuzz: mutated images through the CLI', () => {
  it('query and verify (text and JSON) agree with the library and exit with their code\'s status', async () => {
    const jobs = mutants.flatMap((x, i) => {
      const qJson = i % 2 === 0;
      return [
        async () => ({ x, kind: 'q', r: await run(['-i', x.file, 'q', ...(qJson ? ['--json'] : [])]) }),
        async () => ({ x, kind: 'v', r: await run(['-i', x.file, 'v', ...(qJson ? [] : ['--json'])]) }),
      ];
    });
    for (const { x, kind, r } of await pool(jobs)) {
      const what = `${x.label} ${describeMutation(x.m)}`;
      checkProcess(r, what);
      tally.add(`${kind} exit ${r.status}`);
      const lib = imageCase(x.bytes);
      if (kind === 'q') {
        expect(r.status === 0, `query: CLI exit ${r.status}, library ${lib.query} (${what})`).toBe(lib.query === 'OK');
        if (r.status !== 0) expect(r.status, what).toBe(ErrorCodes[lib.query as keyof typeof ErrorCodes]);
        if (r.args.includes('--json')) {
          const [doc] = parseJson(r.stdout);
          if (r.status === 0) expect(doc.fwVersion, what).toBeDefined();
          else expect(doc.error.code, what).toBe(lib.query);
        }
      } else {
        expect(r.status === 0, `verify: CLI exit ${r.status}, library ${lib.verify} (${what})`).toBe(lib.verify === 'OK');
        if (r.args.includes('--json')) {
          const [doc] = parseJson(r.stdout);
          if (doc.error) expect(ErrorCodes[doc.error.code as keyof typeof ErrorCodes], what).toBe(r.status);
          else {
            expect(doc.bootable, what).toBe(r.status === 0);
            if (r.status !== 0) expect(r.status, what).toBe(5); // docs/cli.md: a failed verify exits 5
          }
        }
      }
    }
  }, T);

  it('burn -y on a simulated card: refusals write nothing, burns boot', async () => {
    const burns = mutants.filter((x) => x.burn);
    const jobs = burns.map((x, i) => async () => {
      const state = join(dir, `card-${i}.sim`);
      copyFileSync(cardTemplate, state);
      const before = flashOf(state);
      const json = i % 2 === 0;
      const r = await run(['-d', `sim:cx4lx@14.14.1100?state=${state}`, '-i', x.file, 'burn', '-y', ...(json ? ['--json'] : [])]);
      return { x, r, state, before };
    });
    for (const { x, r, state, before } of await pool(jobs)) {
      const what = `${x.label} ${describeMutation(x.m)}`;
      checkProcess(r, what);
      tally.add(`burn exit ${r.status}`);
      if (r.args.includes('--json')) {
        const events = parseJson(r.stdout);
        const last = events.at(-1);
        if (r.status === 0) expect(last.type, what).toBe('result');
        else expect(ErrorCodes[last.error.code as keyof typeof ErrorCodes], what).toBe(r.status); // {type:'error', error} or {error}
      }
      let verifies = false;
      try {
        requireFs3(x.bytes, 'mutant');
        verifies = verifyFs3(x.bytes).bootable;
      } catch {
        // not an image
      }
      const after = flashOf(state);
      const same = Buffer.compare(Buffer.from(before), Buffer.from(after)) === 0;
      if (!verifies || (r.status !== 0 && r.status !== 8)) expect(same, `the flash changed: exit ${r.status}, verifies ${verifies} (${what})`).toBe(true);
      if (r.status === 0 && !same) {
        const sim = createSimDevice(`cx4lx@14.14.1100?state=${state}`);
        sim.model.reset('warm');
        const v = parseFs3(x.bytes).imageInfo!.fwVersion;
        expect(sim.model.running?.version, what).toEqual([v.major, v.minor, v.subminor]);
        sim.close();
      }
    }
  }, T);
});
