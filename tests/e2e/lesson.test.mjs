// The lesson framework (web/src/lesson.mjs) in Chromium: two lessons on one page keep their
// own URL keys and their own cancellation, `el.state` moves the controls, a bad attribute
// or URL value shows a message (and the control shows the value, not a blank), an error
// replaces the results instead of sitting above stale ones, and an unknown ?lesson= lists
// the lessons.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { LESSONS } from '../../web/src/lessons.mjs';
import { openBrowser } from './browser.mjs';

let env;

before(async () => {
  env = await openBrowser();
});

after(async () => {
  await env?.close();
});

const hashOf = (page) => new URLSearchParams(new URL(page.url()).hash.slice(1));

test('two sync-url lessons on one page keep separate URL keys, restored on reload', async () => {
  const page = await env.coursePage(['ql-linear'],
    '<ql-linear id="one" sync-url></ql-linear><ql-linear id="two" sync-url></ql-linear><ql-linear id="three" sync-url="left"></ql-linear>');
  await page.waitForSelector('#three[data-ready=true]', { timeout: 20000 });
  await page.locator('#one [data-testid=bits]').selectOption('3');
  await page.locator('#two [data-testid=bits]').selectOption('5');
  await page.locator('#three [data-testid=mode]').selectOption('symmetric');
  const hash = hashOf(page);
  // The first unnamed element keeps plain keys (the playground's links); the second gets its
  // tag's short name; a named one its name.
  assert.equal(hash.get('bits'), '3');
  assert.equal(hash.get('linear.bits'), '5');
  assert.equal(hash.get('left.symmetric'), 'symmetric');
  assert.equal([...hash.keys()].length, 3);
  await page.reload();
  await page.waitForSelector('#three[data-ready=true]', { timeout: 20000 });
  assert.equal(await page.locator('#one [data-testid=bits]').inputValue(), '3');
  assert.equal(await page.locator('#two [data-testid=bits]').inputValue(), '5');
  assert.equal(await page.locator('#three [data-testid=bits]').inputValue(), '2');
  assert.equal((await page.locator('#three [data-testid=zero-point]').textContent()).trim(), '0');
  // Editing the hash in the same tab moves the lessons it names and only those.
  await page.evaluate(() => { location.hash = 'bits=4&linear.bits=5&left.symmetric=symmetric'; });
  await page.waitForFunction(() => document.querySelector('#one').state.bits === 4);
  assert.equal(await page.locator('#one [data-testid=bits]').inputValue(), '4');
  assert.equal(await page.locator('#two [data-testid=bits]').inputValue(), '5');
  await page.close();
});

test('Stop in one lesson cancels only its own task', async () => {
  const page = await env.coursePage(['ql-bits', 'ql-deep-compression'],
    '<ql-bits model="lenet5" count="500"></ql-bits><ql-deep-compression></ql-deep-compression>');
  await page.waitForSelector('ql-deep-compression[data-ready=true]', { timeout: 20000 });
  await page.waitForSelector('ql-bits[data-ready=true]', { timeout: 20000 });
  await page.locator('ql-bits [data-testid=run]').click();
  await page.locator('ql-deep-compression [data-testid=run]').click();
  // Focus moves to the Stop button of the lesson that runs (not to the body).
  assert.equal(await page.locator('ql-deep-compression').evaluate((el) => el.shadowRoot.activeElement?.dataset.testid), 'stop');
  await page.waitForFunction(() => /prune|train/.test(document.querySelector('ql-deep-compression')
    .shadowRoot.querySelector('[data-testid=progress] span').textContent), null, { timeout: 60000 });
  const bitsRunning = await page.locator('ql-bits').evaluate((el) => el.busy);
  await page.locator('ql-deep-compression [data-testid=stop]').click();
  await page.waitForSelector('ql-deep-compression [data-testid=stop][hidden]', { state: 'attached', timeout: 10000 });
  assert.equal((await page.locator('ql-deep-compression [data-testid=progress] span').textContent()).trim(), 'stopped');
  assert.ok(await page.locator('ql-deep-compression [data-testid=progress] progress').evaluate((b) => b.value) < 0.5,
    'after Stop the bar stays where the work stopped');
  // The other lesson's sweep goes on in its own worker and finishes without an error.
  await page.waitForSelector('ql-bits[data-done=true]', { timeout: 180000 });
  assert.equal(bitsRunning, true, 'the sweep was running when the other lesson stopped');
  assert.equal(await page.locator('ql-bits [data-testid=error]').textContent(), '');
  assert.equal(await page.locator('ql-bits').evaluate((el) => el.points.length), 32);
  assert.equal(await page.locator('ql-deep-compression [data-testid=error]').textContent(), '');
  assert.equal(await page.locator('ql-deep-compression').evaluate((el) => el.shadowRoot.activeElement?.dataset.testid), 'run');
  await page.close();
});

test('Deep Compression progress rises with the batches trained', async () => {
  const page = await env.newPage('?lesson=deep-compression#pruneSteps=2&train=1000&test=500');
  await page.waitForSelector('ql-deep-compression[data-ready=true]', { timeout: 30000 });
  // Every value the bar takes, with its message.
  await page.evaluate(() => {
    const root = document.querySelector('ql-deep-compression').shadowRoot;
    const bar = root.querySelector('[data-testid=progress] progress');
    const label = root.querySelector('[data-testid=progress] span');
    window.seen = [];
    new MutationObserver(() => window.seen.push([bar.value, label.textContent]))
      .observe(root.querySelector('[data-testid=progress]'), { subtree: true, attributes: true, childList: true, characterData: true });
  });
  await page.locator('ql-deep-compression [data-testid=run]').click();
  await page.waitForSelector('ql-deep-compression[data-done=true]', { timeout: 120000 });
  const seen = await page.evaluate(() => window.seen);
  const values = seen.map(([v]) => v);
  for (let i = 1; i < values.length - 1; ++i) assert.ok(values[i] >= values[i - 1], `the bar went back at ${seen[i][1]}`);
  // Two prune steps with retraining, then fine-tuning: three training phases of equal size.
  const at = (re) => seen.find(([, m]) => re.test(m))?.[0];
  assert.ok(at(/^train .*phase 1 of 3/) < 0.32, `first phase at ${at(/^train .*phase 1 of 3/)}`);
  const third = at(/^train .*phase 3 of 3/);
  assert.ok(third > 0.6 && third < 0.7, `third phase starts at ${third}`);
  await page.close();
});

test('a shared link restores the results without a click', async () => {
  const page = await env.newPage('?lesson=bits#model=lenet300&count=250');
  await page.waitForSelector('ql-bits[data-ready=true]', { timeout: 30000 });
  await page.locator('ql-bits [data-testid=run]').click();
  await page.waitForSelector('ql-bits[data-done=true]', { timeout: 120000 });
  const link = page.url();
  assert.equal(hashOf(page).get('run'), '1');
  const cells = await page.locator('ql-bits [data-testid=table] td').allTextContents();
  await page.close();
  const shared = await env.newPage(link.slice(env.url.length));
  await shared.waitForSelector('ql-bits[data-done=true]', { timeout: 120000 });
  assert.deepEqual(await shared.locator('ql-bits [data-testid=table] td').allTextContents(), cells);
  // A new setting drops `run` from the link: the results on screen are gone with it.
  await shared.locator('ql-bits [data-testid=kmeans]').selectOption('lloyd');
  assert.equal(hashOf(shared).get('run'), null);
  assert.equal(hashOf(shared).get('kmeans'), 'lloyd');
  assert.equal((await shared.locator('ql-bits [data-testid=fp32]').textContent()).trim(), '–');
  await shared.close();
});

test('in an iframe a lesson comes without the site header', async () => {
  const page = await env.coursePage([], '<iframe src="/?lesson=linear" width="800" height="600" title="lesson"></iframe>');
  const frame = page.frameLocator('iframe');
  await frame.locator('ql-linear[data-ready=true]').waitFor({ timeout: 20000 });
  assert.equal(await frame.locator('header').isHidden(), true);
  await page.close();
});

test('setting el.state moves the controls and fires one change event', async () => {
  const page = await env.coursePage(['ql-linear'], '<ql-linear></ql-linear>');
  await page.waitForSelector('ql-linear[data-ready=true]', { timeout: 20000 });
  const events = await page.locator('ql-linear').evaluate((el) => {
    const seen = [];
    el.addEventListener('change', (e) => seen.push(e.detail.changed));
    el.state = { bits: 3, symmetric: true, method: 'percentile', percentile: 99.5 };
    return seen;
  });
  assert.deepEqual(events, [['bits', 'symmetric', 'method', 'percentile']]);
  const value = (id) => page.locator(`ql-linear [data-testid=${id}]`).inputValue();
  assert.equal(await value('bits'), '3');
  assert.equal(await value('mode'), 'symmetric');
  assert.equal(await value('method'), 'percentile');
  assert.equal(await value('percentile'), '99.5');
  assert.equal(await page.locator('ql-linear [data-testid=percentile]').isEnabled(), true);
  assert.equal((await page.locator('ql-linear [data-testid=zero-point]').textContent()).trim(), '0');
  // A bad value is refused with the schema's message; the state stays.
  const refused = await page.locator('ql-linear').evaluate((el) => {
    try {
      el.state = { bits: 9 };
      return null;
    } catch (e) {
      return `${e.code}: ${e.message}`;
    }
  });
  assert.equal(refused, "INVALID_ARGUMENT: bits: must be one of 2, 3, 4, 5, 6, 7, 8; got '9'");
  assert.equal(await value('bits'), '3');
  // An attribute set later moves the state too.
  await page.locator('ql-linear').evaluate((el) => el.setAttribute('bits', '6'));
  assert.equal(await value('bits'), '6');
  assert.equal(await page.locator('ql-linear').evaluate((el) => el.state.bits), 6);
  await page.close();
});

test('a bad attribute or URL value shows a message, its control shows it, nothing is computed', async () => {
  const page = await env.coursePage(['ql-bits'], '<ql-bits count="7" kmeans="lloyd"></ql-bits>');
  await page.waitForSelector('ql-bits[data-ready=true]', { timeout: 20000 });
  const error = page.locator('ql-bits [data-testid=error]');
  assert.equal(await error.textContent(), "INVALID_ARGUMENT: test images: must be one of 250, 500, 1000, 2000; got '7' (count=\"7\")");
  const count = page.locator('ql-bits [data-testid=count]');
  assert.equal(await count.inputValue(), '7');
  assert.equal(await count.locator('option:checked').textContent(), '7 (not valid)');
  assert.equal(await count.getAttribute('aria-invalid'), '');
  assert.equal(await page.locator('ql-bits [data-testid=kmeans]').inputValue(), 'lloyd');
  await page.locator('ql-bits [data-testid=run]').click();
  assert.equal(await page.locator('ql-bits [data-testid=progress]').isHidden(), true, 'Measure waits for a valid state');
  await count.selectOption('250');
  assert.equal(await error.textContent(), '');
  assert.equal(await count.getAttribute('aria-invalid'), null);
  assert.equal(await count.locator('option').count(), 4);
  await page.close();

  // From the URL: the linear lesson with 9 bits shows the message and no stale numbers.
  const linear = await env.newPage('?lesson=linear#bits=9&mode=symmetric');
  await linear.waitForSelector('ql-linear[data-ready=true]', { timeout: 20000 });
  assert.match(await linear.locator('ql-linear [data-testid=error]').textContent(), /bits: must be one of 2, .*got '9' \(#bits=9\)/);
  assert.equal(await linear.locator('ql-linear [data-testid=q-matrix] td').count(), 0);
  assert.equal((await linear.locator('ql-linear [data-testid=scale]').textContent()).trim(), '');
  await linear.close();
});

test('an error replaces the results: a NaN cell, a percentile out of range', async () => {
  const page = await env.newPage('?lesson=linear#method=percentile');
  await page.waitForSelector('ql-linear[data-ready=true]', { timeout: 20000 });
  const scale = page.locator('ql-linear [data-testid=scale]');
  assert.notEqual((await scale.textContent()).trim(), '');
  const percentile = page.locator('ql-linear [data-testid=percentile]');
  await percentile.fill('200');
  await percentile.dispatchEvent('change');
  assert.equal(await page.locator('ql-linear [data-testid=error]').textContent(),
    "INVALID_ARGUMENT: percentile: must be in [50.1, 100]; got '200'");
  assert.equal((await scale.textContent()).trim(), '');
  assert.equal(await page.locator('ql-linear [data-testid=q-matrix] td').count(), 0);
  assert.equal(await percentile.getAttribute('aria-invalid'), '');
  await percentile.fill('99');
  await percentile.dispatchEvent('change');
  assert.equal(await page.locator('ql-linear [data-testid=error]').textContent(), '');
  assert.notEqual((await scale.textContent()).trim(), '');
  const cell = page.locator('ql-linear [data-testid=r-matrix] input').first();
  await cell.fill('abc');
  await cell.dispatchEvent('change');
  assert.match(await page.locator('ql-linear [data-testid=error]').textContent(), /NOT_FINITE/);
  assert.equal((await scale.textContent()).trim(), '');
  await page.close();
});

test('an unknown ?lesson= shows a message and the list of lessons', async () => {
  const page = await env.newPage('?lesson=transformers');
  const box = page.locator('[data-testid=unknown-lesson]');
  await box.waitFor({ timeout: 10000 });
  assert.match(await box.textContent(), /There is no lesson 'transformers'/);
  // The lessons written so far, in lecture order (web/src/lessons.mjs).
  assert.deepEqual(await box.locator('a').evaluateAll((as) => as.map((a) => a.dataset.lesson)),
    LESSONS.filter((l) => l.available).map((l) => l.id));
  assert.equal(await page.locator('ql-linear').count(), 0);
  await page.close();
});

test('every control has a label', async () => {
  for (const lesson of ['linear', 'models', 'bits', 'deep-compression']) {
    const page = await env.newPage(`?lesson=${lesson}`);
    await page.waitForSelector('[data-ready=true]', { timeout: 30000 });
    const unlabelled = await page.evaluate(() => [...document.querySelector('main > *').shadowRoot
      .querySelectorAll('select, input')].filter((el) => !el.closest('label') && !el.getAttribute('aria-label'))
      .map((el) => el.name));
    assert.deepEqual(unlabelled, [], lesson);
    await page.close();
  }
});

test('no console errors on any page', () => {
  assert.deepEqual(env.consoleErrors, []);
});
