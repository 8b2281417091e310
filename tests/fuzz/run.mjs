// Runs each libFuzzer target (build/sanitize/*_fuzz, ASan + UBSan) for a short smoke on its
// committed seed corpus (tests/fuzz/corpus/<target>/) plus the project's real files named
// below; new inputs go to build/fuzz-corpus/<target>/, crashes to test-results/fuzz/.
// Used by tests/run.mjs (layer "fuzz"); alone: node tests/fuzz/run.mjs [seconds] [target ...]
// A long run: QL_FUZZ_SECONDS=3600 node tests/fuzz/run.mjs, or -runs=N through QL_FUZZ_ARGS.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const build = join(root, 'build', 'sanitize');

/** Extra read-only seed folders per target (real files the project already has); only their
 * files up to SEED_MAX_BYTES are used (the larger torch fixtures would make each execution
 * slow under the sanitizers and raise libFuzzer's input length for the whole run). */
const SEED_MAX_BYTES = 256 * 1024;
const SEEDS = {
  onnx_model_fuzz: ['web/models', 'tests/fixtures/torch'],
  ptq_fuzz: ['web/models', 'tests/fixtures/torch'],
  compressed_fuzz: [],
  huffman_decode_fuzz: [],
  rans_decode_fuzz: [],
  idx_fuzz: [],
};

export function fuzzTargets() {
  return Object.keys(SEEDS);
}

/** Runs one target; returns {target, ok, executions, coverage, seconds, detail}. */
export function runTarget(target, seconds) {
  const exe = join(build, target);
  if (!existsSync(exe)) return { target, ok: false, detail: `${exe} is not built (preset sanitize)` };
  const corpus = join(root, 'build', 'fuzz-corpus', target);
  const artifacts = join(root, 'test-results', 'fuzz', target) + '/';
  mkdirSync(corpus, { recursive: true });
  mkdirSync(artifacts, { recursive: true });
  const seeds = [join(root, 'tests', 'fuzz', 'corpus', target)].filter((d) => existsSync(d));
  if (SEEDS[target].length) {
    // libFuzzer takes corpus folders: the small files of the real folders, copied into one.
    const small = join(root, 'build', 'fuzz-seeds', target);
    rmSync(small, { recursive: true, force: true });
    mkdirSync(small, { recursive: true });
    for (const d of SEEDS[target].map((f) => join(root, f)).filter((f) => existsSync(f))) {
      for (const f of readdirSync(d)) {
        const path = join(d, f);
        if (statSync(path).isFile() && statSync(path).size <= SEED_MAX_BYTES) copyFileSync(path, join(small, f));
      }
    }
    seeds.push(small);
  }
  const started = Date.now();
  const r = spawnSync(exe, [`-max_total_time=${seconds}`, '-rss_limit_mb=2560', '-malloc_limit_mb=2048',
    '-timeout=20', '-print_final_stats=1', `-artifact_prefix=${artifacts}`,
    ...(process.env.QL_FUZZ_ARGS ? process.env.QL_FUZZ_ARGS.split(' ') : []), corpus, ...seeds],
  { encoding: 'utf8', maxBuffer: 1 << 28,
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1' } });
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const stat = (k) => Number((log.match(new RegExp(`stat::${k}:\\s+(\\d+)`)) ?? [0, NaN])[1]);
  const cov = Number((log.match(/cov: (\d+)/g) ?? ['cov: NaN']).at(-1).slice(5));
  const ok = r.status === 0;
  const crash = ok ? '' : (log.match(/(ERROR: [^\n]+|SUMMARY: [^\n]+|==\d+== ?ERROR[^\n]*)/) ?? ['exit ' + r.status])[0];
  const found = readdirSync(artifacts).filter((f) => /^(crash|leak|oom|timeout)-/.test(f));
  return {
    target, ok, executions: stat('number_of_executed_units'), coverage: cov,
    seconds: (Date.now() - started) / 1000,
    detail: ok ? '' : `${crash}${found.length ? ` (inputs: ${found.map((f) => artifacts + f).join(', ')})` : ''}`,
    log: ok ? '' : log.slice(-4000),
  };
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const seconds = Number(args.find((a) => /^\d+$/.test(a)) ?? process.env.QL_FUZZ_SECONDS ?? 30);
  const chosen = args.filter((a) => !/^\d+$/.test(a));
  let failed = 0;
  for (const t of chosen.length ? chosen : fuzzTargets()) {
    const r = runTarget(t, seconds);
    if (!r.ok) {
      failed += 1;
      console.log(r.log);
    }
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${t.padEnd(22)} ${r.executions} executions, coverage ${r.coverage}, ` +
      `${r.seconds?.toFixed(0)} s ${r.detail}`);
  }
  process.exit(failed ? 1 : 0);
}
