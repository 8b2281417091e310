// Runs every test layer and prints their counts: the requirements check (every program, system
// path and Python script the tests use comes from a package .ci/setup.mjs installs); Catch2
// natively, under ASan + UBSan (clang), in wasm with SIMD128 and without (Node, via ctest);
// a libFuzzer smoke of each fuzz target; JS API tests (node --test); browser tests in
// Chromium via playwright-core.
// Usage: node tests/run.mjs [layer ...]   (layers: requirements native sanitize fuzz wasm-simd wasm-scalar js browser)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { checkRequirements } from '../.ci/check-requirements.mjs';
import { fuzzTargets, runTarget } from './fuzz/run.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, NODE_PATH: process.env.NODE_PATH || '/usr/share/nodejs' };
const jobs = String(Math.max(1, cpus().length));
const all = ['requirements', 'native', 'sanitize', 'fuzz', 'wasm-simd', 'wasm-scalar', 'js', 'browser'];
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : all;
for (const c of chosen) {
  if (!all.includes(c)) {
    console.error(`unknown layer '${c}' (${all.join(', ')})`);
    process.exit(2);
  }
}
mkdirSync(join(root, 'test-results'), { recursive: true });

function decode(s) {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

// Catch2 summaries in ctest's JUnit file, one per ctest entry (one per test source file).
function catchCounts(junitFile) {
  const xml = readFileSync(junitFile, 'utf8');
  const out = { files: 0, cases: 0, failedCases: 0, assertions: 0, failedAssertions: 0 };
  for (const m of xml.matchAll(/<system-out>([\s\S]*?)<\/system-out>/g)) {
    const text = decode(m[1]);
    out.files += 1;
    const passed = text.match(/All tests passed \((\d+) assertions? in (\d+) test cases?\)/);
    if (passed) {
      out.assertions += Number(passed[1]);
      out.cases += Number(passed[2]);
      continue;
    }
    const cases = text.match(/test cases:\s+(\d+)\s+\|\s+(\d+) passed\s+\|\s+(\d+) failed/);
    const asserts = text.match(/assertions:\s+(\d+)\s+\|\s+(\d+) passed\s+\|\s+(\d+) failed/);
    if (cases) {
      out.cases += Number(cases[1]);
      out.failedCases += Number(cases[3]);
    }
    if (asserts) {
      out.assertions += Number(asserts[1]);
      out.failedAssertions += Number(asserts[3]);
    }
  }
  return out;
}

function listedCases(preset) {
  const dir = join(root, 'build', preset);
  const exe = preset.startsWith('wasm') ? ['node', join(dir, 'quantlab_tests.js')] : [join(dir, 'quantlab_tests')];
  const r = spawnSync(exe[0], [...exe.slice(1), '--list-test-names-only'], { encoding: 'utf8', env });
  return r.stdout.split('\n').filter((l) => l.trim().length > 0).length;
}

function runCatchLayer(preset) {
  const junit = join(root, 'build', preset, 'ctest-junit.xml');
  const started = Date.now();
  const r = spawnSync('ctest', ['--preset', preset, '-j', jobs, '--output-junit', junit,
    // Passed tests' output is cut at 1 kB by default, which would hide Catch2's summary line.
    '--test-output-size-passed', '10000000', '--test-output-size-failed', '10000000'],
    { cwd: root, stdio: 'inherit', env });
  const seconds = (Date.now() - started) / 1000;
  const c = existsSync(junit) ? catchCounts(junit) : null;
  if (!c) return { ok: false, summary: 'no results', seconds };
  const listed = listedCases(preset);
  const complete = listed === c.cases;
  const ok = r.status === 0 && c.failedCases === 0 && complete;
  let summary = `${c.cases} test cases (${c.failedCases} failed), ${c.assertions} assertions ` +
    `(${c.failedAssertions} failed), ${c.files} files`;
  if (!complete) summary += `; ${listed} test cases exist but ${c.cases} ran`;
  return { ok, summary, seconds };
}

function runNodeLayer(name, dir) {
  const tap = join(root, 'test-results', `${name}.tap`);
  const files = readdirSync(join(root, dir)).filter((f) => f.endsWith('.test.mjs'))
    .map((f) => join(dir, f));
  if (!files.length) return { ok: false, summary: `no *.test.mjs files in ${dir}`, seconds: 0 };
  const started = Date.now();
  const r = spawnSync('node', ['--test', '--test-concurrency=1',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
  { cwd: root, stdio: 'inherit', env });
  const seconds = (Date.now() - started) / 1000;
  const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  const num = (k) => Number((text.match(new RegExp(`^# ${k} (\\d+)`, 'm')) ?? [0, 0])[1]);
  const tests = num('tests'), pass = num('pass'), fail = num('fail'), skipped = num('skipped');
  const ok = r.status === 0 && fail === 0 && tests > 0 && skipped === 0;
  return { ok, summary: `${tests} tests (${pass} passed, ${fail} failed, ${skipped} skipped), ` +
    `${files.length} files`, seconds };
}

function runRequirementsLayer() {
  const started = Date.now();
  const r = checkRequirements();
  for (const p of r.problems) console.error(`[requirements] ${p}`);
  return {
    ok: r.problems.length === 0,
    summary: `${r.uses} uses in tests/, ${r.declared} installed programs, paths and modules, ` +
      `${r.problems.length} problems`,
    seconds: (Date.now() - started) / 1000,
  };
}

// Each libFuzzer target for a short smoke (QL_FUZZ_SECONDS, default 30) under ASan + UBSan.
function runFuzzLayer() {
  const started = Date.now();
  const seconds = Number(process.env.QL_FUZZ_SECONDS ?? 30);
  const rows = fuzzTargets().map((t) => runTarget(t, seconds));
  for (const r of rows) {
    if (!r.ok) console.log(r.log ?? '');
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.target.padEnd(22)} ${r.executions} executions, ` +
      `coverage ${r.coverage} ${r.detail}`);
  }
  const failed = rows.filter((r) => !r.ok).length;
  const runs = rows.reduce((a, r) => a + (r.executions || 0), 0);
  return { ok: failed === 0, summary: `${rows.length} targets (${failed} failed), ${runs} executions, ` +
    `${seconds} s each`, seconds: (Date.now() - started) / 1000 };
}

const layers = {
  requirements: runRequirementsLayer,
  sanitize: () => runCatchLayer('sanitize'),
  fuzz: runFuzzLayer,
  native: () => runCatchLayer('native'),
  'wasm-simd': () => runCatchLayer('wasm-simd'),
  'wasm-scalar': () => runCatchLayer('wasm-scalar'),
  js: () => runNodeLayer('js', 'tests/js'),
  browser: () => runNodeLayer('browser', 'tests/e2e'),
};
const titles = {
  requirements: 'Requirements (.ci/requirements.mjs)',
  sanitize: 'Catch2, native ASan + UBSan (clang)',
  fuzz: 'libFuzzer smoke (ASan + UBSan)',
  native: 'Catch2, native (xsimd)',
  'wasm-simd': 'Catch2, wasm SIMD128 (Node)',
  'wasm-scalar': 'Catch2, wasm scalar (Node)',
  js: 'JS API (node --test)',
  browser: 'Browser (Chromium, playwright-core)',
};

const results = [];
for (const name of chosen) {
  console.log(`\n=== ${titles[name]} ===`);
  results.push({ name, ...layers[name]() });
}
console.log('\n=== quantlab test summary ===');
for (const r of results) {
  console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${titles[r.name].padEnd(36)} ${r.summary}  ` +
    `[${r.seconds.toFixed(1)} s]`);
}
process.exit(results.every((r) => r.ok) ? 0 : 1);
