/**
 * docs/api.md's examples, run as written: each ```js block becomes a module importing the
 * built library, and every `console.log(...); // expected` line must print `expected`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, tempDir } from './helpers/fixtures.js';

const doc = readFileSync(join(PROJECT_ROOT, 'docs/api.md'), 'utf8');
const blocks = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = tempDir('fs3burn-api-docs-');
const lib = pathToFileURL(join(PROJECT_ROOT, 'dist/index.js')).href;
const sim = pathToFileURL(join(PROJECT_ROOT, 'dist/sim/index.js')).href;

describe('docs/api.md examples', () => {
  it('has examples', () => expect(blocks.length).toBeGreaterThanOrEqual(5));
  blocks.forEach((code, i) => {
    const title = code.split('\n').find((l) => l.startsWith('import {'))?.slice(0, 60) ?? `block ${i}`;
    it(`example ${i + 1}: ${title}`, () => {
      const expected = [...code.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]!.trim());
      expect(expected.length).toBeGreaterThan(0);
      const file = join(dir, `example-${i + 1}.mjs`);
      writeFileSync(file, code.replaceAll("from 'fs3burn/sim'", `from '${sim}'`).replaceAll("from 'fs3burn'", `from '${lib}'`));
      const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 120_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual(expected);
    });
  });
});
