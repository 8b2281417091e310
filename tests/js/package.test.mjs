// The npm package as a consumer sees it: `npm pack`, install the tarball into an empty
// project, import 'quantlab' by name in Node (ESM and require), place the wasm with
// env.wasmPaths, and type-check a TypeScript consumer against the hand-written quantlab.d.ts.
// The bundlers and the browser: tests/e2e/consumers.test.mjs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let work;
let tarball;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'quantlab-consumer-'));
  // The runner built dist/ already; prepack would only repeat it.
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work],
    { cwd: root, encoding: 'utf8' });
  const [info] = JSON.parse(out);
  tarball = join(work, info.filename);
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], { cwd: work });
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the tarball holds the entry points, types, both wasm builds, the single-file build and the widgets only', () => {
  const files = readdirSync(join(work, 'node_modules', 'quantlab'), { recursive: true }).sort();
  for (const f of ['package.json', 'LICENSE', 'CHANGELOG.md', 'wasm/quantlab.mjs', 'wasm/quantlab-node.mjs',
    'wasm/quantlab-worker.mjs', 'wasm/js/worker-main.mjs', 'wasm/types/worker.d.ts',
    'wasm/quantlab.d.ts', 'wasm/types/env.d.ts', 'dist/quantlab-simd.mjs', 'dist/quantlab-simd.wasm',
    'dist/quantlab-scalar.mjs', 'dist/quantlab-scalar.wasm', 'dist/quantlab-single.mjs', 'dist/widgets/widgets.js']) {
    assert.ok(files.includes(f), `missing ${f}`);
  }
  assert.ok(!files.some((f) => /^(core|tests|build|web|\.ci)\b/.test(f) || f.endsWith('.symbols')), files.join(' '));
  const pkg = JSON.parse(readFileSync(join(work, 'node_modules', 'quantlab', 'package.json'), 'utf8'));
  for (const k of ['repository', 'homepage', 'bugs', 'license']) assert.ok(pkg[k], `package.json has no ${k}`);
  // The browser never sees the Node entry: every bundler condition but `node` gives the fetch one.
  assert.equal(pkg.exports['.'].browser, './wasm/quantlab.mjs');
  assert.equal(pkg.exports['.'].default, './wasm/quantlab.mjs');
  for (const f of ['load.mjs', 'platform-browser.mjs', 'env.mjs']) {
    assert.doesNotMatch(readFileSync(join(root, 'wasm', 'js', f), 'utf8'), /(from |import\()\s*['"]node:/, f);
  }
});

test('env.wasmPaths in Node: a folder path, a file: URL, a file map; a missing file is NOT_FOUND naming it', () => {
  writeFileSync(join(work, 'paths.mjs'), `
    import { cpSync, mkdirSync } from 'node:fs';
    import { pathToFileURL } from 'node:url';
    import { env, load } from 'quantlab';
    mkdirSync('wasm-copy', { recursive: true });
    cpSync('node_modules/quantlab/dist/quantlab-simd.wasm', 'wasm-copy/quantlab-simd.wasm');
    cpSync('node_modules/quantlab/dist/quantlab-scalar.wasm', 'wasm-copy/quantlab-scalar.wasm');
    const out = [];
    for (const paths of ['wasm-copy', pathToFileURL('wasm-copy/').href,
      { 'quantlab-scalar.wasm': 'wasm-copy/quantlab-scalar.wasm' }]) {
      env.wasmPaths = paths;
      const ql = await load({ simd: typeof paths !== 'object' });
      out.push(ql.paramsFromRange(-1.08, 2.12, { bits: 2 }).scale.toFixed(4));
    }
    env.wasmPaths = 'nowhere/';
    try { await load(); } catch (e) { out.push(e.code, e.message.includes('nowhere/quantlab-simd.wasm')); }
    env.wasmPaths = undefined;
    try { await load({ locateFile: (f) => 'wasm-copy/' + f + '.missing' }); } catch (e) { out.push(e.code); }
    console.log(JSON.stringify(out));
  `);
  const printed = execFileSync('node', ['paths.mjs'], { cwd: work, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(printed), ['1.0667', '1.0667', '1.0667', 'NOT_FOUND', true, 'NOT_FOUND']);
});

test('require("quantlab") from CommonJS (Node >= 20.19 loads the ES module through require(esm))', () => {
  writeFileSync(join(work, 'main.cjs'), `
    const { load } = require('quantlab');
    load().then((ql) => console.log(ql.paramsFromRange(-1.08, 2.12, { bits: 2 }).zeroPoint));
  `);
  const printed = execFileSync('node', ['main.cjs'], { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(printed.trim(), '-1');
});

test('import "quantlab" from an installed package works in Node, SIMD and scalar', () => {
  writeFileSync(join(work, 'main.mjs'), `
    import { load, QuantlabError } from 'quantlab';
    const out = [];
    for (const simd of [true, false]) {
      const ql = await load({ simd });
      const p = ql.paramsFromRange(-1.08, 2.12, { bits: 2 });
      out.push([ql.simd, p.scale.toFixed(4), p.zeroPoint]);
      try { ql.paramsFromRange(0, 1, { bits: 0 }); } catch (e) { out.push(e instanceof QuantlabError && e.code); }
    }
    console.log(JSON.stringify(out));
  `);
  const printed = execFileSync('node', ['main.mjs'], { cwd: work, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(printed), [[true, '1.0667', -1], 'INVALID_ARGUMENT', [false, '1.0667', -1], 'INVALID_ARGUMENT']);
});

test('a TypeScript consumer type-checks against quantlab.d.ts', () => {
  writeFileSync(join(work, 'consumer.ts'), `
    import load, { env, QuantlabError, type QuantParams } from 'quantlab';
    env.wasmPaths = '/assets/';
    env.wasmPaths = { 'quantlab-simd.wasm': new URL('https://cdn.example/q.wasm') };
    async function main(): Promise<number> {
      const ql = await load({ simd: 'auto' });
      const p: QuantParams = ql.paramsFromRange(-1, 1, { bits: 4, symmetric: true });
      const q: Int32Array = ql.quantize(new Float32Array([0.5]), p);
      const r = ql.calibrate([1, 2, 3], { bits: 8 }, { method: 'kl' });
      const m = ql.quantizeMultiplier(0.01);
      ql.requantize(q, { mode: 'fp32', multiplier: 0.5 });
      try { ql.quantize([], p); } catch (e) { if (e instanceof QuantlabError) return e.code.length; }
      return q[0] + r.rMax + m.M0;
    }
    main();
    // quantlab/worker: the same methods, each a Promise; handles come back as stand-ins.
    import loadWorker from 'quantlab/worker';
    async function inWorker(): Promise<number> {
      const w = await loadWorker({ simd: 'auto' });
      const p: QuantParams = await w.paramsFromRange(-1, 1, { bits: 4 });
      const model = await w.loadModel(new Uint8Array(0));
      const y = await model.run(new Float32Array(4), [1, 4]);
      w.cancel();
      return p.scale + y.data.length;
    }
    inWorker();
  `);
  writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext',
      target: 'es2022', types: [] },
    files: ['consumer.ts'],
  }));
  execFileSync('node', [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work],
    { cwd: work, encoding: 'utf8' });
  // And a wrong call must fail to type-check (the declarations are not `any`).
  writeFileSync(join(work, 'consumer.ts'), `
    import load, { env } from 'quantlab';
    const ql = await load();
    ql.paramsFromRange('a', 1);
    env.wasmPaths = 42;
  `);
  assert.throws(() => execFileSync('node', [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work],
    { cwd: work, encoding: 'utf8', stdio: 'pipe' }), (e) => /TS2345/.test(e.stdout) && /TS2322/.test(e.stdout));
});

test('the shipped JavaScript never evaluates strings (it runs under script-src without unsafe-eval)', () => {
  // Emscripten's Embind glue builds its invokers with new Function unless linked with
  // -sDYNAMIC_EXECUTION=0; a strict Content-Security-Policy then refuses the module.
  const files = [...['quantlab-simd.mjs', 'quantlab-scalar.mjs', 'quantlab-single.mjs'].map((f) => join(root, 'dist', f)),
    ...readdirSync(join(root, 'wasm', 'js')).map((f) => join(root, 'wasm', 'js', f)), join(root, 'wasm', 'quantlab.mjs')];
  for (const file of files) {
    const src = readFileSync(file, 'utf8');
    assert.doesNotMatch(src, /new Function\s*\(|\beval\s*\(|setTimeout\s*\(\s*['"`]/, file);
  }
});
