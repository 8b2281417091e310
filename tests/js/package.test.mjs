// The npm package as a consumer sees it: `npm pack`, install the tarball into an empty
// project, import 'quantlab' by name in Node, and type-check a TypeScript consumer against
// the hand-written quantlab.d.ts.
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

test('the tarball holds the entry point, types and both wasm builds only', () => {
  const files = readdirSync(join(work, 'node_modules', 'quantlab'), { recursive: true }).sort();
  for (const f of ['package.json', 'wasm/quantlab.mjs', 'wasm/quantlab.d.ts', 'dist/quantlab-simd.mjs',
    'dist/quantlab-simd.wasm', 'dist/quantlab-scalar.mjs', 'dist/quantlab-scalar.wasm']) {
    assert.ok(files.includes(f), `missing ${f}`);
  }
  assert.ok(!files.some((f) => f.startsWith('core') || f.startsWith('tests')), files.join(' '));
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
    import load, { QuantlabError, type QuantParams } from 'quantlab';
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
    import load from 'quantlab';
    const ql = await load();
    ql.paramsFromRange('a', 1);
  `);
  assert.throws(() => execFileSync('node', [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work],
    { cwd: work, encoding: 'utf8', stdio: 'pipe' }), (e) => /TS2345/.test(e.stdout));
});

test('the shipped JavaScript never evaluates strings (it runs under script-src without unsafe-eval)', () => {
  // Emscripten's Embind glue builds its invokers with new Function unless linked with
  // -sDYNAMIC_EXECUTION=0; a strict Content-Security-Policy then refuses the module.
  const files = [...['quantlab-simd.mjs', 'quantlab-scalar.mjs'].map((f) => join(root, 'dist', f)),
    ...readdirSync(join(root, 'wasm', 'js')).map((f) => join(root, 'wasm', 'js', f)), join(root, 'wasm', 'quantlab.mjs')];
  for (const file of files) {
    const src = readFileSync(file, 'utf8');
    assert.doesNotMatch(src, /new Function\s*\(|\beval\s*\(|setTimeout\s*\(\s*['"`]/, file);
  }
});
