// Checks every issue-13 lesson test shares: zero axe-core violations (axe injected from
// node_modules), no horizontal scroll, and screenshots at a phone's width (390 px), a course
// column (760 px) and a laptop's (1366 px) in test-results/ (<name>-390.png, <name>-760.png,
// <name>-1366.png); and the shared before/after hooks.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before } from 'node:test';

import { load } from '../../wasm/quantlab.mjs';
import { artifacts, axeRun, openBrowser } from './browser.mjs';

/** axe-core on the page (shadow DOM included): the violations, as `id: targets` strings. */
export async function axeViolations(page) {
  return (await axeRun(page)).map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify([n])).join(' ')}`);
}

/**
 * Open `path` at 390, 760 and 1366 px, wait with `ready(page)`, then: screenshot, no
 * horizontal page scroll, no axe violations.
 */
export async function layoutChecks(env, path, name, ready) {
  for (const width of [390, 760, 1366]) {
    const page = await env.newPage(path, { width, height: 844 });
    await ready(page);
    await page.screenshot({ path: join(artifacts, `${name}-${width}.png`), fullPage: true });
    const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scroll <= width, `${name} at ${width} px is ${scroll} px wide`);
    assert.deepEqual(await axeViolations(page), [], `${name} at ${width} px`);
    await page.close();
  }
}

/** Register before/after hooks: one browser (and the quantlab JS API in Node) per test file. */
export function useBrowser() {
  const ctx = { env: null, ql: null };
  before(async () => {
    [ctx.env, ctx.ql] = await Promise.all([openBrowser(), load()]);
  });
  after(async () => {
    await ctx.env?.close();
  });
  return ctx;
}
