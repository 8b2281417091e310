// Strict Content-Security-Policy and memory over time in Chromium (issue 18).
//
// The playground server sends `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'`
// (plus the hash of the page's one inline script, its import map) with every response, so
// every browser test runs under it. This file checks the header itself; that every lesson
// computes under it in its worker with no CSP violation (worker violations never reach the
// page's console, so the test asks the worker); that a teacher's page with the widgets, served
// under the same policy, works; and that repeated runs of each lesson leave its worker's
// and the page's malloc heaps and WebAssembly memory where the second run left them.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LESSONS } from '../../web/src/lessons.mjs';
import { contentSecurityPolicy } from '../../web/serve.mjs';
import { useBrowser } from './checks.mjs';

const ctx = useBrowser();

/** Light states for the heavy lessons (the same the lesson tests use). */
const LIGHT = {
  bits: 'model=lenet300&count=250',
  'deep-compression': 'pruneSteps=1&train=1000&test=500&epochs=0',
  models: 'count=500&calibration=64',
  pq: 'calibration=256&test=500',
};
const RUNS = 4;
const HEAP_SLACK = 256 << 10;

/** Every securitypolicyviolation on the page, from its first script on. */
async function recordViolations(page) {
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(
      `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`), true);
  });
}

test('every response carries the strict policy; it allows nothing inline but the import map', async () => {
  const policy = contentSecurityPolicy();
  assert.match(policy, /^default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-[A-Za-z0-9+/]+=*'$/);
  assert.doesNotMatch(policy, /'unsafe-eval'|'unsafe-inline'/);
  for (const path of ['', 'src/worker.mjs', 'wasm/quantlab.mjs', 'dist/quantlab-simd.wasm', 'dist/quantlab-scalar.mjs',
    'components/ql-linear.mjs', 'node_modules/uplot/dist/uPlot.min.css']) {
    const r = await fetch(ctx.env.url + path);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers.get('content-security-policy'), policy, path);
    await r.arrayBuffer();
  }
});

for (const lesson of LESSONS.filter((l) => l.available)) {
  test(`${lesson.id}: computes under the strict CSP, no violation; ${RUNS} runs leave memory flat`, async () => {
    const page = await ctx.env.browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await recordViolations(page);
    await page.goto(`${ctx.env.url}?lesson=${lesson.id}${LIGHT[lesson.id] ? `#${LIGHT[lesson.id]}` : ''}`);
    await page.waitForFunction((tag) => customElements.get(tag) && document.querySelector(tag)?.shadowRoot, lesson.tag);
    const rounds = await page.evaluate(async ({ tag, runs }) => {
      const el = document.querySelector(tag);
      // An autorun lesson is busy with its first run; a live one computes on load.
      while (el.busy) await new Promise((resolve) => setTimeout(resolve, 50));
      const out = [];
      for (let i = 0; i < runs; ++i) {
        // The Models lesson's second step (PTQ, int8 inference, both exports) runs too.
        const finished = (await el.run()) && (tag === 'ql-models' ? await el.quantize() : true);
        // The worker's instance and the page's own (lessons such as linear compute there).
        const worker = await el.tasks.call('memoryUsage');
        const ql = await (await import('/src/runtime.mjs')).quantlab();
        const memory = { heapInUse: worker.heapInUse + ql.memoryUsage().heapInUse, wasmBytes: worker.wasmBytes + ql.memoryBytes() };
        const error = el.shadowRoot.querySelector('[role=alert]')?.textContent ?? '';
        out.push({ finished, results: el.results != null, memory, error });
      }
      return out;
    }, { tag: lesson.tag, runs: RUNS });
    const violations = await page.evaluate(() => window.__violations);
    await page.close();
    assert.deepEqual(violations, [], `${lesson.id}: CSP violations`);
    for (const [i, r] of rounds.entries()) {
      assert.ok(r.finished && r.results, `${lesson.id}: run ${i + 1} did not finish with results ${r.error}`);
    }
    const [, second, ...rest] = rounds.map((r) => r.memory);
    const last = rest.at(-1);
    console.log(`# ${lesson.id}: heap (worker + page) after runs 1..${RUNS}: ${rounds.map((r) => r.memory.heapInUse).join(', ')} B; ` +
      `wasm memory ${rounds.map((r) => (r.memory.wasmBytes / 2 ** 20).toFixed(0)).join(', ')} MiB`);
    assert.ok(last.heapInUse - second.heapInUse <= HEAP_SLACK,
      `${lesson.id}: the heap grew by ${last.heapInUse - second.heapInUse} B from run 2 to run ${RUNS}`);
    assert.equal(last.wasmBytes, second.wasmBytes, `${lesson.id}: WebAssembly memory grew`);
  });
}

test('a course page of widgets, served under the same policy, computes without violations', async () => {
  const page = await ctx.env.coursePage(['ql-linear', 'ql-kmeans'], '<ql-linear></ql-linear><ql-kmeans></ql-kmeans>');
  await page.waitForFunction(() => ['ql-linear', 'ql-kmeans'].every((t) => document.querySelector(t)?.results));
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  // The policy is in force: an inline script added now is refused, and reported.
  const ran = await page.evaluate(async () => {
    const s = document.createElement('script');
    s.textContent = 'window.__inline = true;';
    document.head.append(s);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return window.__inline === true;
  });
  const violations = await page.evaluate(() => window.__violations);
  await page.close();
  assert.equal(ran, false);
  assert.equal(violations.length, 1);
  assert.match(violations[0], /^script-src-elem blocked inline/);
});
