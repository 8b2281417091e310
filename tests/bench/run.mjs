// Runs every tests/bench/*.bench.mjs in sequence (one Node process each, so peers that must
// not share a process stay apart), then lists the JSON results they wrote.
// Usage: node tests/bench/run.mjs [name-substring ...]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const results = join(root, 'bench-results');
mkdirSync(results, { recursive: true });

const filters = process.argv.slice(2);
const benches = readdirSync(here).filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => !filters.length || filters.some((s) => f.includes(s))).sort();
if (!benches.length) {
  console.error(`no *.bench.mjs in ${relative(root, here)}${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(2);
}

const started = Date.now();
const outcomes = [];
for (const b of benches) {
  console.log(`\n=== ${b} ===`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(here, b)], { cwd: root, stdio: 'inherit' });
  outcomes.push({ b, ok: r.status === 0, seconds: (Date.now() - t0) / 1000 });
}

console.log('\n=== benchmarks ===');
for (const o of outcomes) {
  console.log(`${o.ok ? 'done  ' : 'FAILED'} ${o.b.padEnd(28)} [${o.seconds.toFixed(1)} s]`);
}
const written = existsSync(results) ? readdirSync(results).filter((f) => f.endsWith('.json'))
  .map((f) => join(results, f)).filter((f) => statSync(f).mtimeMs >= started) : [];
console.log(written.length ? `JSON results:\n${written.map((f) => `  ${relative(root, f)}`).join('\n')}`
  : 'no JSON results were written');
process.exit(outcomes.every((o) => o.ok) ? 0 : 1);
