// The conv / FC shares (lecture 5, 5.5) inside the bits lesson and as <ql-layer-shares> alone: the parameter totals of
// AlexNet, VGG-16, ResNet-50 and MobileNetV2 equal torchvision's, and the conv / FC shares on
// screen equal the architecture module's counts; 390 px, axe, no console errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { standardCnns } from '../../web/src/architectures.mjs';
import { axeViolations, layoutChecks, useBrowser } from './checks.mjs';

const ctx = useBrowser();

// torchvision.models' parameter counts (sum of p.numel()).
const TORCHVISION = { AlexNet: 61100840, 'VGG-16': 138357544, 'ResNet-50': 25557032, MobileNetV2: 3504872 };

test('the architecture counts equal torchvision\'s parameter totals', () => {
  for (const net of standardCnns()) {
    assert.equal(net.conv.params + net.fc.params + net.other.params, TORCHVISION[net.name], net.name);
  }
  const [alex, vgg] = standardCnns();
  assert.ok(alex.fc.params / (alex.conv.params + alex.fc.params) > 0.95, 'AlexNet: FC holds ~96% of the weights');
  assert.ok(vgg.conv.macs / (vgg.conv.macs + vgg.fc.macs) > 0.99, 'VGG-16: conv does >99% of the MACs');
});

async function shares(page, root) {
  return page.evaluate((host) => {
    const shadow = host ? document.querySelector(host).shadowRoot : document.querySelector('ql-layer-shares').shadowRoot;
    return [...shadow.querySelectorAll('[data-testid=share-table] tr[data-net]')].map((tr) => ({
      name: tr.dataset.net,
      params: tr.querySelector('[data-col=params]').textContent,
      conv: tr.querySelector('[data-col=conv-params]').textContent,
      fcMacs: tr.querySelector('[data-col=fc-macs]').textContent,
    }));
  }, root);
}

test('inside the bits lesson, next to the curves: the shares on screen equal the module\'s', async () => {
  const page = await ctx.env.newPage('?lesson=bits');
  await page.waitForSelector('ql-bits[data-ready=true]', { timeout: 30000 });
  const rows = await shares(page, 'ql-bits');
  assert.deepEqual(rows, standardCnns().map((n) => {
    const p = n.conv.params + n.fc.params + n.other.params;
    const m = n.conv.macs + n.fc.macs + n.other.macs;
    return { name: n.name, params: p.toLocaleString('en-US'), conv: `${((100 * n.conv.params) / p).toFixed(1)}%`, fcMacs: `${((100 * n.fc.macs) / m).toFixed(1)}%` };
  }));
  await page.close();
});

test('the sweep shows a first pass on 100 images, then refines it on all images', async () => {
  const page = await ctx.env.newPage('?lesson=bits#model=lenet5&count=1000');
  await page.waitForSelector('ql-bits[data-ready=true]', { timeout: 30000 });
  const t0 = Date.now();
  await page.locator('ql-bits [data-testid=run]').click();
  await page.waitForSelector('ql-bits [data-testid=table] td.preview', { timeout: 30000 });
  // Reported, not asserted: times on this shared machine are noise (the order is what counts).
  console.log(`first point after ${Date.now() - t0} ms`);
  assert.match(await page.locator('ql-bits [data-testid=pass]').textContent(), /first 100 test images/);
  await page.waitForSelector('ql-bits[data-done=true]', { timeout: 180000 });
  assert.equal(await page.locator('ql-bits [data-testid=table] td.preview').count(), 0);
  assert.match(await page.locator('ql-bits [data-testid=pass]').textContent(), /Measured on the first 1000 test images/);
  assert.equal(await page.locator('ql-bits').evaluate((el) => el.points.filter((p) => p.preview).length), 0);
  await page.close();
});

test('alone at 390 and 1366 px: no horizontal scroll, no axe violations; screenshots', async () => {
  const page = await ctx.env.coursePage(['ql-layer-shares'], '<main><h1>course</h1><h2>5.5</h2><ql-layer-shares></ql-layer-shares></main>');
  await page.waitForSelector('ql-layer-shares[data-ready=true]');
  // The test's own course page has no <title> or lang: those two page-level rules are its own.
  const own = ['document-title', 'html-has-lang'];
  assert.deepEqual((await axeViolations(page)).filter((v) => !own.includes(v.split(':')[0])), []);
  await page.close();
  await layoutChecks(ctx.env, '?lesson=bits', 'bits-shares', (p) => p.waitForSelector('ql-bits[data-ready=true]', { timeout: 30000 }));
});

test('no console errors', () => {
  assert.deepEqual(ctx.env.consoleErrors, []);
});
