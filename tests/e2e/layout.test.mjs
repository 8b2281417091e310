// Every lesson at a phone's width (390 px) and a laptop's (1366 px): no horizontal page
// scroll (wide tables scroll inside their own box), and a screenshot of each in
// test-results/ (layout-<lesson>-<width>.png) to look at. The heavy lessons are shown with
// results from small runs, so that their tables are filled.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { artifacts, openBrowser } from './browser.mjs';

let env;

before(async () => {
  env = await openBrowser();
});

after(async () => {
  await env?.close();
});

const LESSONS = [
  ['linear', 'ql-linear', ''],
  ['models', 'ql-models', '', 'run-fp32', 'data-fp32'],
  ['bits', 'ql-bits', '#model=lenet300&count=250', 'run', 'data-done'],
  ['deep-compression', 'ql-deep-compression', '#pruneSteps=1&train=1000&test=500&epochs=0', 'run', 'data-done'],
];

for (const width of [390, 1366]) {
  test(`${width} px: no horizontal scroll on any lesson`, async () => {
    for (const [lesson, tag, hash, button, done] of LESSONS) {
      const page = await env.newPage(`?lesson=${lesson}${hash}`, { width, height: 844 });
      await page.waitForSelector(`${tag}[data-ready=true]`, { timeout: 30000 });
      if (button) {
        await page.locator(`${tag} [data-testid=${button}]`).click();
        await page.waitForSelector(`${tag}[${done}]`, { timeout: 120000 });
      }
      const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
      await page.screenshot({ path: join(artifacts, `layout-${lesson}-${width}.png`), fullPage: true });
      assert.ok(scroll <= width, `${lesson} at ${width} px is ${scroll} px wide`);
      await page.close();
    }
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
