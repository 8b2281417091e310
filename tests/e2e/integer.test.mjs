// <ql-integer> (lecture 5, 5.9) in Chromium: the integer-only layer's q_Y on screen equals the
// int8 runtime kernel's output computed in Node with the JS API for the same image and layer
// (QGemm / QConv2d with uint8 output), and so do the int32 accumulator, the folded q_bias and
// M0 / shift; per-channel M for conv; fixed vs fp32; 390 px, axe, no console errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { normalize } from '../../web/src/tasks.mjs';
import { root } from './browser.mjs';
import { layoutChecks, useBrowser } from './checks.mjs';

const ctx = useBrowser();

const sel = (id) => `ql-integer [data-testid=${id}]`;
const text = async (page, id) => (await page.locator(sel(id)).textContent()).trim();
const value = async (page, node) => (await page.locator(`ql-integer [data-value=${node}]`).textContent()).trim();

async function ready(page) {
  await page.waitForSelector('ql-integer[data-ready=true]', { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('ql-integer').results?.stages, null, { timeout: 30000 });
}

/** Node: the same pipeline with the JS API; returns the runtime kernel's q_Y and intermediates. */
function expected({ model, param, before: prev = [], conv = false }, image, requant = 'fixed') {
  const net = ctx.ql.networkFromOnnx(readFileSync(join(root, `web/models/${model}.onnx`)));
  const pixels = readFileSync(join(root, 'web/data/fashion-test-2000.images.u8')).subarray(image * 784, (image + 1) * 784);
  let x = normalize(pixels);
  for (const p of prev) {
    const w = net.get(`${p}.weight`);
    const f = ctx.ql.createGemmF32({ weights: w.values, n: w.shape[0], k: w.shape[1], bias: net.get(`${p}.bias`).values, activation: 'relu' });
    x = f.run(x, 1);
    f.dispose();
  }
  const W = net.get(`${param}.weight`);
  const b = net.get(`${param}.bias`).values;
  const u8 = { bits: 8, signed: false, symmetric: false };
  const s8 = { bits: 8, signed: true, symmetric: true, narrowRange: true };
  const rX = ctx.ql.calibrate(x, u8);
  const pX = ctx.ql.paramsFromRange(rX.rMin, rX.rMax, u8);
  const qX = Uint8Array.from(ctx.ql.quantize(x, pX));
  const pW = conv ? ctx.ql.perChannelParams(W.values, W.shape, 0, s8)
    : [ctx.ql.paramsFromRange(ctx.ql.calibrate(W.values, s8).rMin, ctx.ql.calibrate(W.values, s8).rMax, s8)];
  const qW = Int8Array.from(conv ? ctx.ql.quantizePerChannel(W.values, W.shape, 0, pW) : ctx.ql.quantize(W.values, pW[0]));
  const sW = (c) => pW[conv ? c : 0].scale;
  const qB = Int32Array.from(b, (v, c) => ctx.ql.quantize([v], { scale: sW(c) * pX.scale, zeroPoint: 0, qMin: -(2 ** 31), qMax: 2 ** 31 - 1, bits: 32, signed: true })[0]);
  const geometry = conv ? { cOut: W.shape[0], cIn: W.shape[1], kernelShape: [5, 5], pads: [2, 2, 2, 2] } : { n: W.shape[0], k: W.shape[1] };
  const runK = (k, input) => {
    const r = conv ? k.run(input, [1, 1, 28, 28]).data : k.run(input, 1);
    k.dispose();
    return r;
  };
  const y = runK(conv ? ctx.ql.createConv2dF32({ weights: W.values, bias: b, ...geometry }) : ctx.ql.createGemmF32({ weights: W.values, bias: b, ...geometry }), x);
  const rY = ctx.ql.calibrate(y, u8);
  const pY = ctx.ql.paramsFromRange(rY.rMin, rY.rMax, u8);
  const make = (opts) => (conv
    ? ctx.ql.createQConv2d({ weights: qW, ...geometry, weightScales: pW.map((p) => p.scale), inputScale: pX.scale, ...opts })
    : ctx.ql.createQGemm({ weights: qW, ...geometry, weightScales: pW[0].scale, inputScale: pX.scale, ...opts }));
  const qY = runK(make({ inputZeroPoint: pX.zeroPoint, bias: qB, output: { type: 'uint8', scale: pY.scale, zeroPoint: pY.zeroPoint, requant } }), qX);
  const acc = runK(make({ inputZeroPoint: pX.zeroPoint, bias: qB, output: { type: 'int32' } }), qX);
  const qBias = runK(make({ inputZeroPoint: pX.zeroPoint, bias: qB, output: { type: 'int32' } }), new Uint8Array(qX.length));
  net.dispose();
  return { qY, acc, qBias, pX, pY, pW, M: pW.map((p) => ctx.ql.quantizeMultiplier((p.scale * pX.scale) / pY.scale)) };
}

async function tableColumn(page, col) {
  return (await page.locator(`${sel('table')} td[data-col=${col}]`).allTextContents()).map(Number);
}

test('opens on LeNet-300-100 fc3: q_Y equals the int8 runtime in Node; accumulator, q_bias and M0 too', async () => {
  const page = await ctx.env.newPage('?lesson=integer#layer=fc3');
  await ready(page);
  const want = expected({ model: 'lenet300', param: 'fc3', before: ['fc1', 'fc2'] }, 0);
  assert.deepEqual(await tableColumn(page, 'fixed'), Array.from(want.qY));
  assert.deepEqual(await tableColumn(page, 'runtime'), Array.from(want.qY));
  assert.equal(await value(page, 'qy'), String(want.qY[0]));
  assert.equal(await value(page, 'acc'), String(want.acc[0]));
  assert.equal(await value(page, 'qbias'), String(want.qBias[0]));
  assert.equal(await text(page, 'agree'), '10 of 10 outputs equal');
  assert.match(await text(page, 'formula'), new RegExp(`M0 = ${want.M[0].M0} / 2\\^31, shift ${want.M[0].shift}`));
  assert.match(await text(page, 'formula'), /M0 = 0\.\d+ in \[0\.5, 1\)/);
  await page.close();
});

test('opens on fc1 (Z_X != 0: q_bias differs from q_b)', async () => {
  const page = await ctx.env.newPage('?lesson=integer');
  await ready(page);
  const want = expected({ model: 'lenet300', param: 'fc1' }, 0);
  assert.equal(await value(page, 'qy'), String(want.qY[0]));
  assert.equal(await value(page, 'qbias'), String(want.qBias[0]));
  assert.match(await text(page, 'formula'), new RegExp(`− ${want.pX.zeroPoint} Σ q_W = ${want.qBias[0]}`));
  assert.notEqual(want.pX.zeroPoint, 0);
  await page.close();
});

test('fc1 on another image, fp32 requantization: equals the runtime in fp32 mode', async () => {
  const page = await ctx.env.newPage('?lesson=integer#layer=fc1&image=7&out=5&requant=fp32');
  await ready(page);
  const want = expected({ model: 'lenet300', param: 'fc1' }, 7, 'fp32');
  assert.deepEqual(await tableColumn(page, 'fp32'), Array.from(want.qY.slice(5, 15)));
  assert.deepEqual(await tableColumn(page, 'runtime'), Array.from(want.qY.slice(5, 15)));
  assert.equal(await value(page, 'qy'), String(want.qY[5]));
  assert.equal(await text(page, 'agree'), '300 of 300 outputs equal');
  await page.locator(sel('requant')).selectOption('fixed');
  await page.waitForFunction(() => /fixed point/.test(document.querySelector('ql-integer').shadowRoot.querySelector('[data-testid=formula]').textContent));
  const fixed = expected({ model: 'lenet300', param: 'fc1' }, 7, 'fixed');
  assert.deepEqual(await tableColumn(page, 'runtime'), Array.from(fixed.qY.slice(5, 15)));
  await page.close();
});

test('conv1 of LeNet-5: per-channel M, q_Y equals the QConv2d runtime', async () => {
  const page = await ctx.env.newPage('?lesson=integer#layer=conv1&out=1000');
  await ready(page);
  const want = expected({ model: 'lenet5', param: 'conv1', conv: true }, 0);
  assert.deepEqual(await tableColumn(page, 'fixed'), Array.from(want.qY.slice(1000, 1010)));
  assert.equal(await text(page, 'agree'), `${6 * 784} of ${6 * 784} outputs equal`);
  const rows = await page.locator(`${sel('channels')} tr`).allTextContents();
  assert.equal(rows.length, 7);
  const m0s = await page.locator(`${sel('channels')} tr td:nth-child(4)`).allTextContents();
  assert.deepEqual(m0s.map(Number), want.M.map((m) => m.M0));
  await page.close();
});

test('390 and 1366 px: no horizontal scroll, no axe violations; screenshots', async () => {
  await layoutChecks(ctx.env, '?lesson=integer', 'integer', ready);
  await layoutChecks(ctx.env, '?lesson=integer#layer=conv1&out=1000', 'integer-conv', ready);
});

test('no console errors', () => {
  assert.deepEqual(ctx.env.consoleErrors, []);
});
