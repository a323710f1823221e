// Runs every benchmark in bench/ (each module exports `run()` returning
// { label: { fs3burn, mstflint?|xz?, ratio?, target } }) and prints one table.
// Usage: npm run bench   (or: node bench/run.mjs [name ...] after npm run build)
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs')
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

const fmt = (x) => (typeof x === 'number' ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2)) : (x ?? '-'));
const rows = [];
for (const f of files) {
  const mod = await import(new URL(f, import.meta.url));
  if (typeof mod.run !== 'function') continue;
  process.stderr.write(`running ${f} ...\n`);
  const result = await mod.run();
  for (const [label, v] of Object.entries(result)) {
    const ref = v.mstflint ?? v.xz ?? v.reference;
    rows.push([f.replace('.mjs', ''), label, fmt(v.fs3burn), fmt(ref), fmt(v.ratio), v.target ?? '']);
  }
}
const head = ['bench', 'measure', 'fs3burn', 'reference', 'ratio', 'target'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  ');
console.log(line(head));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
