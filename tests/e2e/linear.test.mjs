// The first lesson in Chromium: the lecture's example on screen, bits change S, Z and the
// integer matrix to the values the C++ tests assert, URL state, and no console errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { artifacts, openBrowser } from './browser.mjs';

const lecture = JSON.parse(readFileSync(new URL('../fixtures/lecture_example.json', import.meta.url)));
let env;

before(async () => {
  env = await openBrowser();
});

after(async () => {
  await env?.close();
});

async function ready(page) {
  await page.waitForSelector('ql-linear[data-ready=true]', { timeout: 20000 });
}

async function text(page, id) {
  return (await page.locator(`ql-linear [data-testid=${id}]`).textContent()).trim();
}

async function qMatrix(page) {
  return (await page.locator('ql-linear [data-testid=q-matrix] td').allTextContents()).map(Number);
}

test('opens on the lecture example: S = 1.0667, Z = -1', async () => {
  const page = await env.newPage('?lesson=linear');
  await ready(page);
  assert.equal(await text(page, 'scale'), '1.0667');
  assert.equal(await text(page, 'zero-point'), '-1');
  assert.equal(await text(page, 'r-min'), '-1.0800');
  assert.equal(await text(page, 'r-max'), '2.1200');
  assert.equal(await text(page, 'q-range'), '[-2, 1]');
  assert.deepEqual(await qMatrix(page), lecture.asymmetric['2'].q);
  assert.match(await text(page, 'formula'), /round\(-2 − \(-1\.0800 \/ 1\.0667\)\) = -1/);
  assert.ok(await page.locator('ql-linear [data-testid=plot] canvas').count() > 0, 'plot drawn');
  assert.equal(await page.locator('ql-linear [data-testid=methods] tr').count(), 5);
  await page.screenshot({ path: join(artifacts, 'linear-lesson-2bit.png'), fullPage: true });
  await page.close();
});

test('changing bits updates S, Z and the integer matrix, and the URL', async () => {
  const page = await env.newPage('?lesson=linear');
  await ready(page);
  await page.locator('ql-linear [data-testid=bits]').selectOption('3');
  const want = lecture.asymmetric['3'];
  assert.equal(await text(page, 'scale'), want.scale.toFixed(4));
  assert.equal(await text(page, 'zero-point'), String(want.zeroPoint));
  assert.deepEqual(await qMatrix(page), want.q);
  assert.match(page.url(), /#bits=3/);
  await page.screenshot({ path: join(artifacts, 'linear-lesson-3bit.png'), fullPage: true });
  // The state survives a reload through the URL.
  await page.reload();
  await ready(page);
  assert.equal(await text(page, 'zero-point'), String(want.zeroPoint));
  assert.deepEqual(await qMatrix(page), want.q);
  await page.close();
});

test('symmetric mode has Z = 0; generators and bad input', async () => {
  const page = await env.newPage('?lesson=linear');
  await ready(page);
  await page.locator('ql-linear [data-testid=mode]').selectOption('symmetric');
  assert.equal(await text(page, 'zero-point'), '0');
  assert.equal(await text(page, 'scale'), '2.1200');  // max|r| / q_max = 2.12 / 1
  await page.locator('ql-linear [data-testid=gen-outliers]').click();
  assert.equal(await page.locator('ql-linear [data-testid=q-matrix] td').count(), 16);
  // A cell that is not a number: a clear error, and the lesson recovers when it is fixed.
  const cell = page.locator('ql-linear [data-testid=r-matrix] input').first();
  await cell.fill('abc');
  await cell.dispatchEvent('change');
  assert.match(await text(page, 'error'), /NOT_FINITE/);
  await cell.fill('1.5');
  await cell.dispatchEvent('change');
  assert.equal(await text(page, 'error'), '');
  await page.close();
});

test('no console errors on any page', () => {
  assert.deepEqual(env.consoleErrors, []);
});
