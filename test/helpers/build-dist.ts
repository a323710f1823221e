/**
 * vitest globalSetup: the tests run the built package (dist/), loaded by Node itself, not
 * src/ through vite's transform (vitest.config.ts says why). When any file under src/ is newer
 * than the build, build first, so `npx vitest run FILE` after an edit never tests stale code.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export default function setup(): void {
  const stamp = join(ROOT, 'dist', 'index.js');
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  const changed = Math.max(newest(join(ROOT, 'src')), statSync(join(ROOT, 'tsconfig.json')).mtimeMs);
  if (changed <= built) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  console.log('src/ is newer than dist/: building (tsc -p tsconfig.json)');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit', cwd: ROOT });
}
