// Configures and builds the CMake presets: native (tests, benchmarks) and the two wasm
// modules (SIMD128 and scalar) written to dist/, and `sanitize` (ASan + UBSan, fuzz targets). `--wasm` builds only what the package ships:
// the two Embind modules (target quantlab_wasm), not the test suites (npm start, npm pack).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wasmOnly = process.argv.includes('--wasm');
// sanitize: clang with ASan + UBSan, the Catch2 suite and the libFuzzer targets (tests only).
const presets = wasmOnly ? ['wasm-simd', 'wasm-scalar'] : ['native', 'sanitize', 'wasm-simd', 'wasm-scalar'];
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
