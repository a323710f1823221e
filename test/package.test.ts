/**
 * The published shape, checked the way a user meets it: pack the package, install the
 * tarball into an empty folder, run `npx fs3burn`, and import the library from a script.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FX, PROJECT_ROOT, rawFixture, tempDir } from './helpers/fixtures.js';

let app: string;

beforeAll(() => {
  const packDir = tempDir('fs3burn-pack-');
  execFileSync('npm', ['pack', '--pack-destination', packDir, '--ignore-scripts'], { cwd: PROJECT_ROOT, stdio: 'pipe' });
  const tgz = readdirSync(packDir).find((f) => f.endsWith('.tgz'))!;
  app = tempDir('fs3burn-user-app-');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'user-app', version: '1.0.0', type: 'module', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', join(packDir, tgz)], { cwd: app, stdio: 'pipe', timeout: 300_000 });
}, 600_000);

describe('installed package', () => {
  it('npx fs3burn --help works from the installed package', () => {
    const r = spawnSync('npx', ['--no-install', 'fs3burn', '--help'], { cwd: app, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: fs3burn');
    expect(r.stdout).toMatch(/query\|q/);
    expect(r.stdout).toMatch(/verify\|v/);
  });

  it('npx fs3burn queries a real image', () => {
    const r = spawnSync('npx', ['--no-install', 'fs3burn', '-i', rawFixture(FX.fs3Hpe), 'q'], { cwd: app, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('FW Version:            13.1224.0142');
  });

  it('another Node tool can import the library and its types resolve', () => {
    const script = join(app, 'use.mjs');
    writeFileSync(
      script,
      `import { readFileSync } from 'node:fs';
import { parseFs3, verifyFs3, describeImage, Fs3BurnError, ExitCode } from 'fs3burn';
const buf = readFileSync(process.argv[2]);
const q = describeImage(parseFs3(buf));
const v = verifyFs3(buf);
let code;
try { parseFs3(Buffer.alloc(64)); } catch (e) { code = e instanceof Fs3BurnError ? e.code : 'other'; }
console.log(JSON.stringify({ fw: q.fwVersion, psid: q.psid, bootable: v.bootable, code, ok: ExitCode.OK }));
`,
    );
    const out = execFileSync(process.execPath, [script, rawFixture(FX.fs3Hpe)], { cwd: app, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ fw: '13.1224.0142', psid: 'HPE3230110035', bootable: true, code: 'IMAGE_CORRUPT', ok: 0 });
    const pkg = JSON.parse(execFileSync(process.execPath, ['-p', 'JSON.stringify(require("fs3burn/package.json"))'], { cwd: app, encoding: 'utf8' }));
    expect(pkg.exports['.'].types).toBe('./dist/index.d.ts');
    expect(readdirSync(join(app, 'node_modules/fs3burn/dist'))).toContain('index.d.ts');
  });

  it('a TypeScript consumer type-checks against the published declarations (NodeNext, strict)', () => {
    writeFileSync(
      join(app, 'use.ts'),
      `import { parseFs3, verifyFs3, type ImageQuery, type VerifyReport, Fs3BurnError, describeImage } from 'fs3burn';
const report: VerifyReport = verifyFs3(new Uint8Array(16));
const q: ImageQuery = describeImage(parseFs3(new Uint8Array(16)));
const code: string = new Fs3BurnError('INTERNAL', 'x').code;
export { report, q, code };
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      // a Node tool has @types/node; borrow the project's copy rather than download one
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          target: 'ES2022',
          typeRoots: [join(PROJECT_ROOT, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['use.ts'],
      }),
    );
    const tsc = join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
