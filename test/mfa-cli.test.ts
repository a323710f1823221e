/**
 * `fs3burn mfa list` and `fs3burn mfa extract` as a user runs them: the built CLI in a
 * child process, checked by exit status and output.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.js';
import { FX, PROJECT_ROOT, fixturePath, rawFixture, tempDir } from './helpers/fixtures.js';

const CLI = join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
const SPC = fixturePath(FX.mfaSpc);
const SPC2 = fixturePath(FX.mfaSpc2);
const HPE = 'HPE3230110035';

interface Run {
  status: number;
  stdout: string;
  stderr: string;
  raw: Buffer;
}

function fs3burn(args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20, timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), raw: r.stdout };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npx tsc -p .)`);
});

describe('fs3burn mfa list', () => {
  it('--json prints one document with all 36 entries', () => {
    const r = fs3burn(['mfa', 'list', SPC, '--json']);
    expect(r.status).toBe(ExitCode.OK);
    const doc = JSON.parse(r.stdout);
    expect(doc.archive).toBe(SPC);
    expect(doc.formatVersion).toBe(1);
    expect(doc.entries).toHaveLength(36);
    expect(doc.entries[0]).toMatchObject({
      psid: HPE,
      versionString: '13.1224.0142',
      version: { major: 13, minor: 1224, subminor: 142 },
      partNumber: '866573-B21_Ax',
      description: 'HPE Synergy 25/50Gb Switch Module',
      dataOffset: 0,
      dataSize: 16_748_544,
    });
  });

  it('prints a table: PSID, version, part number, description', () => {
    const r = fs3burn(['mfa', 'list', SPC2]);
    expect(r.status).toBe(ExitCode.OK);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^PSID\s+FW version\s+Part number\s+Description$/);
    expect(lines).toHaveLength(1 + 6 + 1);
    expect(lines[1]).toMatch(/^MT_0000000199\s+29\.1961\.0006\s+MSN3700-Cxxx_Ax\s+Spectrum\(TM\)-2 based 100GbE/);
    expect(lines.at(-1)).toBe(`6 image(s) in ${SPC2}`);
  });

  it('takes the archive from -i too, with --json before the subcommand', () => {
    const r = fs3burn(['--json', '-i', SPC2, 'mfa', 'list']);
    expect(r.status).toBe(ExitCode.OK);
    expect(JSON.parse(r.stdout).entries.map((e: { psid: string }) => e.psid)).toContain('MT_0000000269');
  });

  it('without an archive: a usage error', () => {
    const r = fs3burn(['mfa', 'list']);
    expect(r.status).toBe(ExitCode.USAGE);
    expect(r.stderr).toMatch(/-E- missing archive/);
  });

  it('on a file that is not an archive: MFA_NOT_ARCHIVE, exit 3', () => {
    const r = fs3burn(['mfa', 'list', rawFixture(FX.fs3Hpe), '--json']);
    expect(r.status).toBe(ExitCode.BAD_INPUT);
    expect(JSON.parse(r.stdout).error.code).toBe('MFA_NOT_ARCHIVE');
  });
});

describe('fs3burn mfa extract', () => {
  it('writes the raw image and prints a one-line summary', () => {
    const out = join(tempDir('fs3burn-mfa-cli-'), 'hpe.bin');
    const r = fs3burn(['mfa', 'extract', SPC, '--psid', HPE, '-o', out]);
    expect(r.status).toBe(ExitCode.OK);
    expect(r.stdout).toBe(`Extracted ${HPE} FW 13.1224.0142 (866573-B21_Ax): 16748544 bytes -> ${out}\n`);
    expect(sha256(readFileSync(out))).toBe(sha256(readFileSync(rawFixture(FX.fs3Hpe))));
  });

  it('--json describes what was written; a Spectrum-2 image starts with the FS4 magic', () => {
    const out = join(tempDir('fs3burn-mfa-cli-'), 'spc2.bin');
    const r = fs3burn(['--psid', 'MT_0000000127', 'mfa', 'extract', SPC2, '-o', out, '--json']);
    expect(r.status).toBe(ExitCode.OK);
    expect(JSON.parse(r.stdout)).toEqual({
      archive: SPC2,
      psid: 'MT_0000000127',
      version: '29.1961.0006',
      partNumber: 'PALADIUM_SPC-2_MNG_Ax',
      bytes: 33_554_432,
      output: out,
    });
    const head = readFileSync(out).subarray(0, 16).toString('hex');
    expect(head).toBe('4d544657abcdef00fade12345678dead');
  });

  it('-o - writes the image to stdout and the summary to stderr', () => {
    const r = fs3burn(['mfa', 'extract', SPC, '--psid', HPE, '-o', '-']);
    expect(r.status).toBe(ExitCode.OK);
    expect(r.raw.length).toBe(16_748_544);
    expect(sha256(r.raw)).toBe(sha256(readFileSync(rawFixture(FX.fs3Hpe))));
    expect(r.stderr).toMatch(/^Extracted HPE3230110035 /);
  });

  it('without --psid: MFA_PSID_REQUIRED listing the PSIDs, exit 3', () => {
    const dir = tempDir('fs3burn-mfa-cli-');
    const r = fs3burn(['mfa', 'extract', SPC2, '-o', join(dir, 'x.bin'), '--json']);
    expect(r.status).toBe(ExitCode.BAD_INPUT);
    const err = JSON.parse(r.stdout).error;
    expect(err.code).toBe('MFA_PSID_REQUIRED');
    expect(err.hint).toContain('MT_0000000199');
    const text = fs3burn(['mfa', 'extract', SPC2, '-o', join(dir, 'x.bin')]);
    expect(text.status).toBe(ExitCode.BAD_INPUT);
    expect(text.stderr).toMatch(/^-E- .*--psid/m);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an unknown PSID: MFA_PSID_NOT_FOUND, exit 3, no file', () => {
    const dir = tempDir('fs3burn-mfa-cli-');
    const r = fs3burn(['mfa', 'extract', SPC2, '--psid', 'NOPE', '-o', join(dir, 'x.bin'), '--json']);
    expect(r.status).toBe(ExitCode.BAD_INPUT);
    expect(JSON.parse(r.stdout).error.code).toBe('MFA_PSID_NOT_FOUND');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('without -o: a usage error', () => {
    const r = fs3burn(['mfa', 'extract', SPC2, '--psid', 'MT_0000000199']);
    expect(r.status).toBe(ExitCode.USAGE);
    expect(r.stderr).toMatch(/--output/);
  });
});
