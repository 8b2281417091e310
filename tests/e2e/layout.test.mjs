// The start page and every lesson at a phone's width (390 px), a course column (760 px) and a
// laptop's (1366 px), after computing: no horizontal page scroll (wide tables scroll inside
// their own box), zero axe-core violations (WCAG 2.1 A/AA rules, contrast 4.5:1 included),
// and a screenshot of each in test-results/ (layout-<page>-<width>.png) to look at. The heavy
// lessons are shown with results from small runs, so that their tables are filled.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { artifacts, axeRun as axeViolations, openBrowser } from './browser.mjs';

let env;

before(async () => {
  env = await openBrowser();
});

after(async () => {
  await env?.close();
});

// [page, path, element, [[button, attribute it sets when done], ...]]
const PAGES = [
  ['start', '', '[data-testid=start][data-ready=true]', []],
  ['bits', '?lesson=bits#model=lenet300&count=250', 'ql-bits', [['run', 'data-done']]],
  ['deep-compression', '?lesson=deep-compression#pruneSteps=1&train=1000&test=500&epochs=0', 'ql-deep-compression', [['run', 'data-done']]],
  ['linear', '?lesson=linear', 'ql-linear', []],
  ['models', '?lesson=models#count=500&calibration=64', 'ql-models', [['run-fp32', 'data-fp32'], ['quantize', 'data-int8']]],
];

for (const width of [390, 760, 1366]) {
  test(`${width} px: the start page and every lesson, computed, without horizontal scroll or axe violations`, async () => {
    const problems = [];
    for (const [name, path, ready, steps] of PAGES) {
      const page = await env.newPage(path, { width, height: 844 });
      await page.waitForSelector(ready.startsWith('ql-') ? `${ready}[data-ready=true]` : ready, { timeout: 30000 });
      for (const [button, done] of steps) {
        await page.locator(`${ready} [data-testid=${button}]`).click();
        await page.waitForSelector(`${ready}[${done}]`, { timeout: 120000 });
      }
      const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
      await page.screenshot({ path: join(artifacts, `layout-${name}-${width}.png`), fullPage: true });
      if (scroll > width) problems.push(`${name} is ${scroll} px wide`);
      for (const v of await axeViolations(page)) problems.push(`${name}: axe ${v.id} (${v.impact}) on ${v.nodes.join(', ')}`);
      await page.close();
    }
    assert.deepEqual(problems, []);
  });
}

test('plots follow the width: 1366 px turned into 390 px', async () => {
  const page = await env.newPage('?lesson=linear', { width: 1366, height: 844 });
  await page.waitForSelector('ql-linear[data-ready=true]', { timeout: 20000 });
  const plotWidth = () => page.locator('ql-linear [data-testid=plot] .uplot').evaluate((el) => el.getBoundingClientRect().width);
  assert.ok(await plotWidth() > 600);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForFunction(() => document.querySelector('ql-linear').shadowRoot
    .querySelector('[data-testid=plot] .uplot').getBoundingClientRect().width <= 390, null, { timeout: 5000 });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390);
  await page.close();
});

test('no console errors on any page', () => {
  assert.deepEqual(env.consoleErrors, []);
});
