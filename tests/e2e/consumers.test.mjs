// The npm package as bundler users get it: `npm pack` once, the tarball installed offline
// into empty temporary projects, each built with its tool at default settings and run in
// Chromium, checking the lecture's S and Z (r in [-1.08, 2.12], 2 bits: S = 1.0667, Z = -1)
// on the main thread and, where the set-up has one, in a worker. Vite, esbuild and webpack
// come from the repository's node_modules (linked, not installed: the test stays offline).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { openBrowser, root } from './browser.mjs';
import { staticServer } from './static-server.mjs';

const EXPECTED = ['1.0667', -1];
const SZ = `const p = ql.paramsFromRange(-1.08, 2.12, { bits: 2 });
  const sz = [p.scale.toFixed(4), p.zeroPoint];`;
const PAGE = (script, type = 'module') => `<!doctype html><html><head><meta charset="utf-8">
  <link rel="icon" href="/favicon.svg"><title>consumer</title></head><body><pre id="out">loading</pre>
  <script${type ? ` type="${type}"` : ''} src="${script}"></script></body></html>`;
// The main-thread script: S and Z here, then the same in `worker` (when given), shown in #out.
const MAIN = (importLine, { worker = null, before = '' } = {}) => `${importLine}
${before}
const out = document.getElementById('out');
load().then((ql) => {
  ${SZ}
  ${worker ? `const w = new Worker(${worker});
  w.onmessage = (e) => { out.textContent = JSON.stringify({ main: sz, worker: e.data }); };
  w.onerror = (e) => { out.textContent = 'worker error ' + e.message; };` : 'out.textContent = JSON.stringify({ main: sz });'}
}, (e) => { out.textContent = 'error ' + e.code + ': ' + e.message; });
`;
const WORKER = (importLine) => `${importLine}
load().then((ql) => { ${SZ} postMessage(sz); }, (e) => postMessage('error ' + e.code + ': ' + e.message));
`;

let work;
let tarball;
let browser;
let session;
const servers = [];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'quantlab-bundlers-'));
  // The runner built dist/ (the wasm, the single-file build, the widgets): prepack would only repeat it.
  const [info] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work],
    { cwd: root, encoding: 'utf8' }));
  tarball = join(work, info.filename);
  session = await openBrowser();
  browser = session.browser;
});

after(async () => {
  for (const s of servers) await s.close();
  await session?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** An empty project with the tarball installed and `tools` linked from the repository's node_modules. */
function project(name, files, tools = []) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], { cwd: dir, stdio: 'pipe' });
  for (const t of tools) symlinkSync(realpathSync(join(root, 'node_modules', t)), join(dir, 'node_modules', t));
  const icon = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>';
  for (const [path, text] of Object.entries({ 'favicon.svg': icon, ...files })) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function serve(dir, prefix = '/', headers = {}) {
  const s = await staticServer(dir, { prefix, headers });
  servers.push(s);
  return s.url;
}

/** Opens `url`, waits for #out to leave "loading" and returns it parsed (or its text), with
 * the page's errors (a missing favicon aside) and the wasm URLs it fetched. */
async function result(url) {
  const page = await browser.newPage();
  const errors = [];
  const wasm = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('response', (r) => { if (/\.wasm(\?|$)/.test(r.url())) wasm.push(`${r.status()} ${r.url()}`); });
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'loading', null, { timeout: 60_000 });
    const text = await page.locator('#out').textContent();
    let value = text;
    try {
      value = JSON.parse(text);
    } catch {
      // an error message
    }
    return { value, errors, wasm };
  } finally {
    await page.close();
  }
}

test('Vite: build + preview and dev, main thread and a module worker, no configuration', async () => {
  const { build, createServer, preview } = await import('vite');
  const dir = project('vite', {
    'index.html': PAGE('./main.js'),
    'main.js': MAIN("import { load } from 'quantlab';", { worker: "new URL('./worker.js', import.meta.url), { type: 'module' }" }),
    'worker.js': WORKER("import { load } from 'quantlab';"),
  }, ['vite']);
  const config = { root: dir, configFile: false, logLevel: 'error' };
  await build(config);
  const previewServer = await preview({ ...config, preview: { port: 0, host: '127.0.0.1' } });
  try {
    const r = await result(previewServer.resolvedUrls.local[0]);
    assert.deepEqual(r.value, { main: EXPECTED, worker: EXPECTED }, JSON.stringify(r));
    assert.ok(r.wasm.every((w) => /^200 .*\/assets\/quantlab-simd-[\w-]+\.wasm$/.test(w)), r.wasm.join('\n'));
  } finally {
    await previewServer.close();
  }
  // Dev: the dependency optimizer pre-bundles quantlab into node_modules/.vite/deps/ and
  // rewrites its new URL('…wasm', import.meta.url); no optimizeDeps.exclude needed.
  const devServer = await createServer({ ...config, server: { port: 0, host: '127.0.0.1' } });
  await devServer.listen();
  try {
    const r = await result(devServer.resolvedUrls.local[0]);
    assert.deepEqual(r.value, { main: EXPECTED, worker: EXPECTED }, JSON.stringify(r));
    assert.deepEqual(r.errors, []);
  } finally {
    await devServer.close();
  }
});

test('esbuild at default settings (iife): env.wasmPaths names the copied wasm; without it, NOT_FOUND says what to do', async () => {
  const dir = project('esbuild', {
    'index.html': PAGE('out/main.js', ''),
    'main.js': MAIN("import { env, load } from 'quantlab';", { before: "env.wasmPaths = new URL('./wasm/', location.href).href;" }),
    'bare/index.html': PAGE('out/main.js', ''),
    'bare/main.js': MAIN("import { load } from 'quantlab';"),
  }, ['esbuild']);
  const esbuild = join(dir, 'node_modules', 'esbuild', 'bin', 'esbuild');
  execFileSync(esbuild, ['main.js', '--bundle', '--outdir=out', '--log-level=error'], { cwd: dir });
  execFileSync(esbuild, ['bare/main.js', '--bundle', '--outdir=bare/out', '--log-level=error'], { cwd: dir });
  mkdirSync(join(dir, 'wasm'));
  for (const f of ['quantlab-simd.wasm', 'quantlab-scalar.wasm']) cpSync(join(dir, 'node_modules', 'quantlab', 'dist', f), join(dir, 'wasm', f));
  const url = await serve(dir);
  const r = await result(url);
  assert.deepEqual(r.value, { main: EXPECTED }, JSON.stringify(r));
  assert.deepEqual(r.wasm, [`200 ${url}wasm/quantlab-simd.wasm`]);
  const bare = await result(`${url}bare/`);
  assert.match(bare.value, /^error NOT_FOUND: .*env\.wasmPaths/, JSON.stringify(bare));
});

test('esbuild with quantlab/single: one file, nothing to copy or configure', async () => {
  const dir = project('esbuild-single', {
    'index.html': PAGE('out/main.js'),
    'main.js': MAIN("import { load } from 'quantlab/single';"),
  }, ['esbuild']);
  execFileSync(join(dir, 'node_modules', 'esbuild', 'bin', 'esbuild'),
    ['main.js', '--bundle', '--format=esm', '--outdir=out', '--log-level=error'], { cwd: dir });
  const r = await result(await serve(dir));
  assert.deepEqual(r.value, { main: EXPECTED }, JSON.stringify(r));
  assert.deepEqual(r.wasm, []);
});

test('webpack 5 without a configuration file: main thread and a worker', async () => {
  const dir = project('webpack', {
    'index.html': PAGE('dist/main.js', ''),
    'src/index.js': MAIN("import { load } from 'quantlab';", { worker: "new URL('./worker.js', import.meta.url)" }),
    'src/worker.js': WORKER("import { load } from 'quantlab';"),
  }, ['webpack', 'webpack-cli']);
  execFileSync('node', [join(dir, 'node_modules', 'webpack-cli', 'bin', 'cli.js'), '--mode', 'production'],
    { cwd: dir, stdio: 'pipe' });
  const r = await result(await serve(dir));
  assert.deepEqual(r.value, { main: EXPECTED, worker: EXPECTED }, JSON.stringify(r));
  assert.deepEqual(r.errors, []);
});

test('a plain HTML page, no build step: the single-file build from node_modules', async () => {
  const dir = project('plain', {
    'index.html': PAGE('main.js'),
    'main.js': MAIN("import { load } from './node_modules/quantlab/dist/quantlab-single.mjs';"),
  });
  // Under the playground's strict policy: nothing but this origin, wasm compiled from its bytes.
  const r = await result(await serve(dir, '/', { 'content-security-policy': "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'" }));
  assert.deepEqual(r.value, { main: EXPECTED }, JSON.stringify(r));
  assert.deepEqual(r.errors, []);
});

test('a wasm that is not there: QuantlabError NOT_FOUND naming the URL, in the browser', async () => {
  const dir = project('missing', {
    'index.html': PAGE('main.js'),
    'main.js': MAIN("import { env, load } from './node_modules/quantlab/wasm/quantlab.mjs';", { before: "env.wasmPaths = { 'quantlab-simd.wasm': '/nowhere/q.wasm' };" }),
  });
  const url = await serve(dir);
  const r = await result(url);
  assert.equal(r.value, `error NOT_FOUND: cannot load the quantlab wasm from ${url}nowhere/q.wasm: HTTP 404 ` +
    "(set env.wasmPaths, load({locateFile}) or load({wasmBinary}); see the README's Bundlers section)");
});

test('a course page with only the widgets script tag, under a subpath and a strict CSP: the linear lesson and LeNet-5 in the worker', async () => {
  // The widgets folder of the installed package, copied as a teacher would (vendor/quantlab/);
  // a second copy whose models and data live elsewhere, named by data-base.
  const dir = project('course', {
    'lesson.html': `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="favicon.svg"><title>course</title>
      <script type="module" src="vendor/quantlab/widgets.js"></script></head>
      <body><ql-linear></ql-linear><ql-models model="lenet5"></ql-models></body></html>`,
    'moved.html': `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="favicon.svg"><title>course</title>
      <script type="module" src="lean/widgets.js" data-base="demo-files/" data-wasm-base="wasm-files/"></script></head>
      <body><ql-linear></ql-linear><ql-models model="lenet5"></ql-models></body></html>`,
  });
  const widgets = join(dir, 'node_modules', 'quantlab', 'dist', 'widgets');
  cpSync(widgets, join(dir, 'vendor', 'quantlab'), { recursive: true });
  cpSync(widgets, join(dir, 'lean'), { recursive: true });
  for (const d of ['models', 'data']) {
    cpSync(join(widgets, d), join(dir, 'demo-files', d), { recursive: true });
    rmSync(join(dir, 'lean', d), { recursive: true });
  }
  // ... and whose wasm files, under their plain names, live in wasm-files/ (data-wasm-base).
  mkdirSync(join(dir, 'wasm-files'));
  for (const f of readdirSync(join(dir, 'lean')).filter((n) => n.endsWith('.wasm'))) {
    cpSync(join(dir, 'lean', f), join(dir, 'wasm-files', f.replace(/-[\w-]{8}\.wasm$/, '.wasm')));
    rmSync(join(dir, 'lean', f));
  }
  const url = await serve(dir, '/course/', { 'content-security-policy': "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'" });
  const { load } = await import('../../wasm/quantlab.mjs');
  const { argmaxRows, normalize } = await import('../../web/src/tasks.mjs');
  const { readFileSync } = await import('node:fs');
  const ql = await load();
  const images = readFileSync(join(root, 'web', 'data', 'fashion-test-2000.images.u8'));
  const labels = readFileSync(join(root, 'web', 'data', 'fashion-test-2000.labels.u8'));
  const model = ql.loadModel(readFileSync(join(root, 'web', 'models', 'lenet5.onnx')));
  const pred = argmaxRows(model.run(normalize(images), [2000, 1, 28, 28]).data, 2000, 10);
  model.dispose();
  const fp32 = (100 * pred.reduce((n, p, i) => n + (p === labels[i] ? 1 : 0), 0)) / 2000;

  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
  const wasm = [];
  page.on('response', (r) => { if (r.url().endsWith('.wasm')) wasm.push(`${r.status()} ${r.url()}`); });
  const wasmName = readdirSync(widgets).find((n) => /^quantlab-simd-.*\.wasm$/.test(n));
  await page.goto(`${url}lesson.html`);
  await page.waitForFunction(() => document.querySelector('ql-linear')?.shadowRoot?.querySelector('[data-testid=scale]')?.textContent.trim() === '1.0667', null, { timeout: 30_000 });
  await page.waitForSelector('ql-models[data-ready=true]', { timeout: 30_000 });
  await page.locator('ql-models [data-testid=run-fp32]').click();
  await page.waitForSelector('ql-models[data-fp32]', { timeout: 60_000 });
  assert.equal(await page.locator('ql-models').getAttribute('data-fp32'), fp32.toFixed(2));
  assert.ok(await page.locator('ql-linear [data-testid=plot] canvas').count() > 0, 'uPlot drew (bundled, its stylesheet found)');
  await page.goto(`${url}moved.html`);
  await page.waitForSelector('ql-models[data-ready=true]', { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector('ql-linear')?.shadowRoot?.querySelector('[data-testid=scale]')?.textContent.trim() === '1.0667', null, { timeout: 30_000 });
  await page.locator('ql-models [data-testid=run-fp32]').click();
  await page.waitForSelector('ql-models[data-fp32]', { timeout: 60_000 });
  // lesson.html: next to widgets.js (page and worker); moved.html: from wasm-files/ only.
  const [vendor, moved] = [wasm.filter((w) => !w.includes('/wasm-files/')), wasm.filter((w) => w.includes('/wasm-files/'))];
  assert.ok(vendor.length > 0 && vendor.every((w) => w === `200 ${url}vendor/quantlab/${wasmName}`), wasm.join('\n'));
  assert.ok(moved.length > 0 && moved.every((w) => w === `200 ${url}wasm-files/quantlab-simd.wasm`), wasm.join('\n'));
  await page.close();
  assert.deepEqual(problems, []);
});

test('quantlab/worker through Vite: the same API off the main thread, handles, progress, cancel', async () => {
  const { build, preview } = await import('vite');
  const dir = project('worker-mode', {
    'index.html': PAGE('./main.js'),
    'main.js': `import { load, QuantlabError } from 'quantlab/worker';
import modelUrl from './lenet5.onnx?url';
import imagesUrl from './images.u8?url';
const out = document.getElementById('out');
const bytes = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
try {
  const ql = await load();
  const p = await ql.paramsFromRange(-1.08, 2.12, { bits: 2 });
  const model = await ql.loadModel(await bytes(modelUrl));
  const pixels = (await bytes(imagesUrl)).subarray(0, 200 * 784);
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < x.length; ++i) x[i] = (pixels[i] / 255 - 0.286) / 0.353;
  let ticks = 0;
  const timer = setInterval(() => { ticks += 1; }, 1);
  const progress = [];
  const y = await model.run(x, [200, 1, 28, 28], { batchSize: 50, onProgress: (r) => progress.push(r.stage) });
  clearInterval(timer);
  const pred = [];
  for (let r = 0; r < 8; ++r) {
    const row = y.data.subarray(r * 10, r * 10 + 10);
    pred.push(row.indexOf(Math.max(...row)));
  }
  const q = await ql.quantizeModel(model, x.subarray(0, 64 * 784), [64, 1, 28, 28], { onProgress: (r) => progress.push(r.stage) });
  const yq = await q.model.run(x.subarray(0, 784), [1, 1, 28, 28]);
  const pending = model.run(x, [200, 1, 28, 28]);
  ql.cancel();
  const cancelled = await pending.then(() => 'ran', (e) => e instanceof QuantlabError && e.code);
  const after = await ql.paramsFromRange(0, 1).then(() => 'ran', (e) => e.code);
  out.textContent = JSON.stringify({ sz: [p.scale.toFixed(4), p.zeroPoint], inputs: model.inputs.length, pred,
    int8: yq.data.length, stages: [...new Set(progress)].sort(), ticked: ticks > 0, cancelled, after });
} catch (e) {
  out.textContent = 'error ' + e.code + ': ' + e.message;
}
`,
  }, ['vite']);
  cpSync(join(root, 'web', 'models', 'lenet5.onnx'), join(dir, 'lenet5.onnx'));
  cpSync(join(root, 'web', 'data', 'fashion-test-2000.images.u8'), join(dir, 'images.u8'));
  // The expected predictions, from the API on this thread.
  const { load } = await import('../../wasm/quantlab.mjs');
  const { normalize, argmaxRows } = await import('../../web/src/tasks.mjs');
  const { readFileSync } = await import('node:fs');
  const ql = await load();
  const model = ql.loadModel(readFileSync(join(root, 'web', 'models', 'lenet5.onnx')));
  const images = readFileSync(join(root, 'web', 'data', 'fashion-test-2000.images.u8')).subarray(0, 8 * 784);
  const want = [...argmaxRows(model.run(normalize(images), [8, 1, 28, 28]).data, 8, 10)];
  model.dispose();

  await build({ root: dir, configFile: false, logLevel: 'error' });
  const server = await preview({ root: dir, configFile: false, logLevel: 'error', preview: { port: 0, host: '127.0.0.1' } });
  try {
    const r = await result(server.resolvedUrls.local[0]);
    // Progress from run (per batch) and quantizeModel (its stages) reached the page's callbacks;
    // the page's timer ticked while the worker ran.
    assert.deepEqual(r.value, { sz: EXPECTED, inputs: 1, pred: want, int8: 10, stages: r.value.stages,
      ticked: true, cancelled: 'CANCELLED', after: 'CANCELLED' }, JSON.stringify(r));
    for (const s of ['batch', 'calibrate']) assert.ok(r.value.stages.includes(s), JSON.stringify(r.value.stages));
    assert.deepEqual(r.errors, []);
  } finally {
    await server.close();
  }
});
