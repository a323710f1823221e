/**
 * Bad input through the CLI: each gives a clear message, a stable error code, its exit
 * status, and never a stack trace.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, ExitCode } from '../src/errors.js';
import { CLI, runCli } from './helpers/cli.js';
import { FX, fixturePath, rawFixtureBytes, tempDir } from './helpers/fixtures.js';
import { flipByte } from './helpers/patch.js';

let dir: string;
const file = (name: string, bytes: Uint8Array | string) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

beforeAll(() => {
  dir = tempDir('fs3burn-bad-input-');
});

/** Run query and verify (text and JSON) on `path`; check code, status and message hygiene. */
function expectFailure(args: string[], code: keyof typeof ErrorCodes, message: RegExp) {
  for (const cmd of [['q'], ['v']]) {
    const text = runCli([...args, ...cmd]);
    expect(text.status, `${cmd} ${args.join(' ')}: ${text.stdout}${text.stderr}`).toBe(ErrorCodes[code]);
    expect(text.stderr).toMatch(/^-E- /);
    expect(text.stderr).toMatch(message);
    expect(text.stderr + text.stdout).not.toMatch(/\n\s+at .*:\d+:\d+/); // no stack trace
    const json = runCli([...args, ...cmd, '--json']);
    expect(json.status).toBe(ErrorCodes[code]);
    const doc = JSON.parse(json.stdout);
    // verify --json prints its report; query --json prints { error }
    if (doc.error) {
      expect(doc.error.code).toBe(code);
      expect(doc.error.exitCode).toBe(ErrorCodes[code]);
    } else {
      expect(doc.bootable).toBe(false);
      expect(doc.code).toBe(code);
    }
  }
}

describe('bad input files', () => {
  it('missing file', () => expectFailure(['-i', join(dir, 'nope.bin')], 'FILE_NOT_FOUND', /no such file/));
  it('a directory', () => expectFailure(['-i', dir], 'FILE_IS_DIRECTORY', /is a directory/));
  it('empty file', () => expectFailure(['-i', file('empty.bin', '')], 'FILE_EMPTY', /empty/));
  it('3 bytes', () => expectFailure(['-i', file('three.bin', 'abc')], 'IMAGE_TOO_SHORT', /too short .*3 bytes/));
  it('random bytes', () => {
    let s = 7;
    const rnd = Uint8Array.from({ length: 1 << 20 }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24));
    expectFailure(['-i', file('random.bin', rnd)], 'IMAGE_UNKNOWN_FORMAT', /no firmware image found/);
  });

  it('no read permission (as an unprivileged user)', () => {
    const p = file('secret.bin', rawFixtureBytes(FX.fs3Hpe).subarray(0, 0x10000));
    chmodSync(p, 0o000);
    chmodSync(dir, 0o755);
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, '-i', p, 'q'], {
      encoding: 'utf8',
    });
    if (r.error) throw new Error(`setpriv is needed to test as an unprivileged user: ${r.error.message}`);
    expect(r.stderr).toMatch(/^-E- .*permission denied/);
    expect(r.status).toBe(ErrorCodes.FILE_NOT_READABLE);
  });

  it('FS2 and FS4 images are recognised and refused, naming the format', () => {
    expectFailure(['-i', file('fs2.bin', rawFixtureBytes(FX.fs2))], 'FORMAT_UNSUPPORTED', /FS2 image .* is not supported/);
    expectFailure(['-i', file('fs4.bin', rawFixtureBytes(FX.fs4))], 'FORMAT_UNSUPPORTED', /FS4 image .* is not supported/);
    expect(ErrorCodes.FORMAT_UNSUPPORTED).toBe(ExitCode.UNSUPPORTED);
  });

  it('MFA2 archives are recognised and refused', () => {
    expectFailure(['-i', file('x.mfa2', Buffer.concat([Buffer.from('MLNX.MFA2.XZ.00!'), Buffer.alloc(64)]))], 'FORMAT_UNSUPPORTED', /MFA2 archive is not supported/);
  });
});

describe('damaged FS3 images', () => {
  it('a real image truncated at several points', () => {
    const img = rawFixtureBytes(FX.fs3Hpe);
    expectFailure(['-i', file('cut-0x20.bin', img.subarray(0, 0x20))], 'IMAGE_TOO_SHORT', /too short/);
    expectFailure(['-i', file('cut-0x1000.bin', img.subarray(0, 0x1000))], 'IMAGE_CORRUPT', /truncated inside BOOT2/);
    expectFailure(['-i', file('cut-0x2010.bin', img.subarray(0, 0x2010))], 'IMAGE_CORRUPT', /No valid ITOC was found/);
    expectFailure(['-i', file('cut-0x2100.bin', img.subarray(0, 0x2100))], 'IMAGE_CORRUPT', /truncated inside the ITOC/);
    for (const cut of [0x10000, 0x800000, 0xff8100]) {
      expectFailure(['-i', file(`cut-${cut.toString(16)}.bin`, img.subarray(0, cut))], 'IMAGE_CORRUPT', /truncated|out of image limits/);
    }
  });

  it('a byte flipped in the ITOC entries (query and verify both refuse)', () => {
    const p = file('itoc-flip.bin', flipByte(rawFixtureBytes(FX.fs3Hpe), 0x2000 + 0x20 * 3 + 2));
    expectFailure(['-i', p], 'IMAGE_CORRUPT', /Bad Itoc Entry CRC/);
  });

  it('a byte flipped in IMAGE_INFO, a code section or BOOT2: verify fails with exit 5', () => {
    const img = rawFixtureBytes(FX.fs3Hpe);
    for (const [name, off] of [
      ['IMAGE_INFO', 0x1ca010],
      ['MAIN_CODE', 0x60000],
      ['BOOT2', 0x100],
    ] as const) {
      const p = file(`flip-${name}.bin`, flipByte(img, off));
      const r = runCli(['-i', p, 'v']);
      expect(r.status).toBe(ExitCode.VERIFY_FAILED);
      expect(r.stdout).toContain(`(${name}) /0x`);
      expect(r.stderr).toMatch(/^-E- FW image verification failed: Bad CRC/);
    }
  });
});

describe('MFA1 archives through query and verify', () => {
  it('without --psid: says to choose one and how to list them', () => {
    expectFailure(['-i', fixturePath(FX.mfaSpc)], 'MFA_PSID_REQUIRED', /--psid/);
  });
  it('with an unknown PSID', () => {
    expectFailure(['-i', fixturePath(FX.mfaSpc), '--psid', 'NO_SUCH_PSID'], 'MFA_PSID_NOT_FOUND', /NO_SUCH_PSID/);
  });
  it('with a wrong CRC32 trailer', () => {
    const b = Buffer.from(readFileSync(fixturePath(FX.mfaSpc)));
    b[b.length - 1] ^= 0xff;
    expectFailure(['-i', file('bad-crc.mfa', b), '--psid', 'HPE3230110035'], 'MFA_CRC_MISMATCH', /CRC/);
  });
  it('with a query of a good image inside: works', () => {
    const r = runCli(['-i', fixturePath(FX.mfaSpc), '--psid', 'HPE3230110035', 'q']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('PSID:                  HPE3230110035');
  });
});

describe('usage errors', () => {
  it('query without an image', () => {
    const r = runCli(['q']);
    expect(r.status).toBe(ExitCode.USAGE);
    expect(r.stderr).toMatch(/-E- query needs an image/);
  });
  it('an unknown command', () => {
    const r = runCli(['frobnicate']);
    expect(r.status).toBe(ExitCode.USAGE);
    expect(r.stderr).toMatch(/unknown command/);
  });
});

