// Configures and builds the CMake presets: native (tests, benchmarks) and the two wasm
// modules (SIMD128 and scalar) written to dist/, and `sanitize` (ASan + UBSan, fuzz
// targets); then the JavaScript bundles (.ci/bundles.mjs): dist/quantlab-single.mjs (the
// SIMD128 module with its wasm embedded), dist/widgets/ (every ql-* element in one script)
// and the static site (dist-site/).
//   --wasm   only the two Embind modules (target quantlab_wasm), no test suite (npm start)
//   --pack   what the package ships: --wasm, the single-file build and the widgets (prepack)
//   --site   the static site only (npm run build:site; needs the wasm modules built)
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildSingle, buildSite, buildWidgets } from './bundles.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const has = (flag) => process.argv.includes(flag);
const siteOnly = has('--site');
const pack = has('--pack');
const wasmOnly = has('--wasm') || pack;
// sanitize: clang with ASan + UBSan, the Catch2 suite and the libFuzzer targets (tests only).
const presets = siteOnly ? [] : wasmOnly ? ['wasm-simd', 'wasm-scalar'] : ['native', 'sanitize', 'wasm-simd', 'wasm-scalar'];
// Emscripten's tools need acorn from Debian's node-acorn.
const env = { ...process.env, NODE_PATH: process.env.NODE_PATH || '/usr/share/nodejs' };
const jobs = String(Math.max(1, cpus().length));

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`[build] failed: ${cmd} ${args.join(' ')}`);
    process.exit(r.status ?? 1);
  }
}

for (const preset of presets) {
  const started = Date.now();
  const cache = join(root, 'build', preset, 'CMakeCache.txt');
  // Reconfigure when the presets changed; CMake itself tracks CMakeLists.txt and globs.
  if (!existsSync(cache) ||
      statSync(join(root, 'CMakePresets.json')).mtimeMs > statSync(cache).mtimeMs) {
    run('cmake', ['--preset', preset, '-Wno-dev']);
  }
  run('cmake', ['--build', '--preset', preset, '-j', jobs, ...(wasmOnly ? ['--target', 'quantlab_wasm'] : [])]);
  console.log(`[build] ${preset} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function step(name, fn) {
  const started = Date.now();
  await fn();
  console.log(`[build] ${name} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// npm start serves the unbundled playground: no bundle needed.
if (siteOnly) {
  await step('site (dist-site/)', buildSite);
} else if (pack || !wasmOnly) {
  await step('dist/quantlab-single.mjs', buildSingle);
  await step('dist/widgets/', buildWidgets);
  if (!pack) await step('site (dist-site/)', buildSite);
}
