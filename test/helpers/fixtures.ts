/**
 * The real vendor fixtures live in ../shared/fixtures (never copied into the project).
 * xz-compressed images are decompressed once per machine into a cache folder under the
 * system temp dir, keyed by the fixture's name and size, so tests read plain files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const FIXTURES = resolve(PROJECT_ROOT, '../shared/fixtures');

export const FX = {
  fs3Hpe: 'fs3/fw-SPC-rel-13_1224_0142-EVB_HPE3230110035.bin.xz',
  fs3Ibm: 'fs3/fw-SPC-rel-13_2000_2162-EVB_IBM0000000028.bin.xz',
  fs4: 'fs4/fw-SPC2-rel-29_2000_2162-EVB_MT_0000000199.bin.xz',
  fs2: 'fs2/fw-ConnectX3Pro-rel-2_42_5000-MCX312B-XCC_Ax-FlexBoot-3.4.752.bin.xz',
  mfaSpc: 'mfa1/fw-SPC-rel-13_1224_0142-EVB.mfa',
  mfaSpc2: 'mfa1/fw-SPC2-rel-29_1961_0006-EVB.mfa',
} as const;

export function fixturePath(rel: string): string {
  return join(FIXTURES, rel);
}

const CACHE = join(tmpdir(), 'fs3burn-fixture-cache');

/** Path of the decompressed raw image of an `.xz` fixture (decompressed with the xz tool). */
export function rawFixture(rel: string): string {
  const src = fixturePath(rel);
  const st = statSync(src);
  mkdirSync(CACHE, { recursive: true });
  const out = join(CACHE, `${st.size}-${basename(rel, '.xz')}`);
  if (!existsSync(out)) {
    const data = execFileSync('xz', ['-dc', src], { maxBuffer: 64 << 20 });
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, data);
    renameSync(tmp, out);
  }
  return out;
}

export function rawFixtureBytes(rel: string): Buffer {
  return readFileSync(rawFixture(rel));
}

/** A fresh temp directory for one test. */
export function tempDir(prefix = 'fs3burn-test-'): string {
  const d = join(tmpdir(), `${prefix}${process.pid}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(d, { recursive: true });
  return d;
}
