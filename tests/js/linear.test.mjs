// JS API: linear quantization and requantization through the ES module, on both builds.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { load, QuantlabError, simdSupported } from '../../wasm/quantlab.mjs';

const lecture = JSON.parse(readFileSync(new URL('../fixtures/lecture_example.json', import.meta.url)));

function close(a, b, tol = 1e-6) {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} != ${b}`);
}

test('the loader picks SIMD128 when the engine validates it', async () => {
  assert.equal(simdSupported(), true);  // Node 20 has SIMD128
  const ql = await load();
  assert.equal(ql.simd, true);
});

for (const simd of [true, false]) {
  describe(`${simd ? 'SIMD128' : 'scalar'} build`, async () => {
    const ql = await load({ simd });

    test('arrayStats and compareArrays: the statistics and SQNR the pages show, from the core', () => {
      const st = ql.arrayStats([1, 2, 3, 4]);
      assert.deepEqual({ ...st, std: undefined }, { count: 4, min: 1, max: 4, mean: 2.5, std: undefined });
      close(st.std, Math.sqrt(1.25), 1e-12);
      const c = ql.compareArrays([3, 4], [3, 3]);
      close(c.sqnrDb, 10 * Math.log10(25), 1e-12);  // signal 9 + 16, noise 1
      assert.equal(c.mse, 0.5);
      assert.equal(c.maxAbsDiff, 1);
      assert.equal(ql.compareArrays(lecture.W, lecture.W).sqnrDb, Infinity);
      // The lecture's 2-bit reconstruction: SQNR from the quantization MSE.
      const p = ql.paramsFromRange(lecture.rMin, lecture.rMax, { bits: 2 });
      const r = ql.dequantize(ql.quantize(lecture.W, p), p);
      const e = ql.quantizationError(lecture.W, p);
      close(ql.compareArrays(lecture.W, r).mse, e.totalMse, 1e-6);
      for (const [fn, code] of [[() => ql.compareArrays([1, 2], [1]), 'SHAPE_MISMATCH'],
        [() => ql.arrayStats([]), 'EMPTY_INPUT'], [() => ql.compareArrays([1, NaN], [1, 2]), 'NOT_FINITE']]) {
        assert.throws(fn, (err) => err instanceof QuantlabError && err.code === code);
      }
    });

    test('lecture example: S = 1.0667, Z = -1, and the integer matrix', () => {
      for (const bits of ['2', '3']) {
        const want = lecture.asymmetric[bits];
        const p = ql.paramsFromRange(lecture.rMin, lecture.rMax, { bits: Number(bits) });
        close(p.scale, want.scale);
        assert.equal(p.zeroPoint, want.zeroPoint);
        assert.equal(p.qMin, want.qMin);
        assert.equal(p.qMax, want.qMax);
        const q = ql.quantize(lecture.W, p);
        assert.ok(q instanceof Int32Array);
        assert.deepEqual(Array.from(q), want.q);
        const r = ql.dequantize(q, p);
        assert.ok(r instanceof Float32Array);
        r.forEach((v, i) => close(v, p.scale * (want.q[i] - p.zeroPoint), 1e-6));
      }
    });

    test('reconstruction error is at most S/2 over the min-max range', () => {
      const data = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 0.37) * 3 + 0.5);
      for (const spec of [{ bits: 4 }, { bits: 8, signed: false }, { bits: 5, symmetric: true }]) {
        const range = ql.calibrate(data, spec);
        const p = ql.paramsFromRange(range.rMin, range.rMax, spec);
        const r = ql.dequantize(ql.quantize(data, p), p);
        r.forEach((v, i) => assert.ok(Math.abs(v - data[i]) <= p.scale / 2 * (1 + 1e-5)));
      }
    });

    test('error split and sweep: round + clip = total', () => {
      const data = Float32Array.from({ length: 2001 }, (_, i) => Math.tan((i / 2001 - 0.5) * 3));
      const sweep = ql.errorSweep(data, { bits: 4 }, 40);
      assert.equal(sweep.totalMse.length, 40);
      for (let i = 0; i < 40; ++i) close(sweep.roundMse[i] + sweep.clipMse[i], sweep.totalMse[i], 1e-9);
      assert.equal(sweep.clipMse[39], 0);
      const p = ql.paramsFromRange(sweep.clipMin[10], sweep.clipMax[10], { bits: 4 });
      const e = ql.quantizationError(data, p);
      close(e.totalMse, sweep.totalMse[10], 1e-9);
      assert.ok(e.clipped > 0);
    });

    test('calibration: percentile, MSE and KL clip outliers that min-max keeps', () => {
      // Gaussian bulk (Box-Muller over a fixed LCG) plus two far outliers.
      let seed = 12345;
      const uniform = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) + 1) / (2 ** 31 + 1);
      const data = Float32Array.from({ length: 20000 }, () =>
        Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
      data[0] = -15;
      data[1] = 20;
      const spec = { bits: 8, symmetric: true };
      const mm = ql.calibrate(data, spec, { method: 'minmax' });
      assert.deepEqual([mm.rMin, mm.rMax], [-15, 20]);
      const pc = ql.calibrate(data, spec, { method: 'percentile', percentile: 99.9 });
      const mse = ql.calibrate(data, spec, { method: 'mse' });
      const kl = ql.calibrate(data, spec, { method: 'kl' });
      close(pc.rMax, 3.09, 0.05);  // the 99.9th percentile of N(0, 1)
      for (const r of [pc, kl]) assert.ok(r.rMax < 12 && r.rMax > 2.5, JSON.stringify(r));
      // At 8 bits the two outliers' clip error outweighs the finer grid: MSE clips a little.
      assert.ok(mse.rMax < mm.rMax && mse.rMax > 12, JSON.stringify(mse));
      const err = (r) => ql.quantizationError(data, ql.paramsFromRange(r.rMin, r.rMax, spec)).totalMse;
      assert.ok(err(mse) < err(mm));
      assert.ok(err(mse) <= err(pc) * 1.0001);
      assert.ok(err(mse) <= err(kl) * 1.0001);
    });

    test('per-channel parameters and round trip', () => {
      const shape = [3, 2, 2];
      const w = Float32Array.from({ length: 12 }, (_, i) => (i % 5 - 2) * 10 ** Math.floor(i / 4));
      const params = ql.perChannelParams(w, shape, 0, { bits: 8, symmetric: true });
      assert.equal(params.length, 3);
      const q = ql.quantizePerChannel(w, shape, 0, params);
      const r = ql.dequantizePerChannel(q, shape, 0, params);
      r.forEach((v, i) => assert.ok(Math.abs(v - w[i]) <= params[Math.floor(i / 4)].scale / 2 + 1e-6));
    });

    test('requantization: fixed point and fp32', () => {
      const m = ql.quantizeMultiplier(0.25);
      assert.equal(m.M0, 2 ** 30);
      assert.equal(m.shift, -1);
      const acc = Int32Array.from([2, -2, 6, -6, 1000, -1000]);
      assert.deepEqual(Array.from(ql.requantize(acc, { mode: 'fixed', ...m })), [1, -1, 2, -2, 127, -128]);
      assert.deepEqual(Array.from(ql.requantize(acc, { mode: 'fp32', multiplier: 0.25 })),
        [0, 0, 2, -2, 127, -128]);  // ties to even: 0.5 -> 0, 1.5 -> 2
    });

    test('invalid input throws QuantlabError and the module keeps working', () => {
      const cases = [
        [() => ql.paramsFromRange(-1, 1, { bits: 0 }), 'INVALID_ARGUMENT', /bits/],
        [() => ql.paramsFromRange(-1, 1, { bits: 9 }), 'INVALID_ARGUMENT', /got 9/],
        [() => ql.paramsFromRange(NaN, 1), 'NOT_FINITE', /finite/],
        [() => ql.paramsFromRange(-Infinity, 1), 'NOT_FINITE', /finite/],
        [() => ql.paramsFromRange(2, 1), 'INVALID_ARGUMENT', /r_min/],
        [() => ql.quantize([], ql.paramsFromRange(-1, 1)), 'EMPTY_INPUT', /empty/],
        [() => ql.quantize([1, NaN], ql.paramsFromRange(-1, 1)), 'NOT_FINITE', /NaN/],
        [() => ql.calibrate([1, 2], {}, { method: 'median' }), 'INVALID_ARGUMENT', /median/],
        [() => ql.perChannelParams([1, 2, 3, 4], [2, 2], 2), 'OUT_OF_RANGE', /axis 2/],
        [() => ql.perChannelParams([1, 2, 3], [2, 2], 0), 'SHAPE_MISMATCH', /3/],
        [() => ql.quantize('abc', ql.paramsFromRange(-1, 1)), 'INVALID_ARGUMENT', /array/],
        [() => ql.quantize(['x'], ql.paramsFromRange(-1, 1)), 'INVALID_ARGUMENT', /not a number/],
        [() => ql.quantizeMultiplier(-1), 'INVALID_ARGUMENT', />= 0/],
        [() => ql.requantize([1], { mode: 'fp64', multiplier: 1 }), 'INVALID_ARGUMENT', /mode/],
      ];
      for (const [fn, code, message] of cases) {
        assert.throws(fn, (e) => {
          assert.ok(e instanceof QuantlabError, `not a QuantlabError: ${e}`);
          assert.ok(e instanceof Error);
          assert.equal(e.code, code);
          assert.match(e.message, message);
          return true;
        });
        // Still usable, with correct results.
        const p = ql.paramsFromRange(lecture.rMin, lecture.rMax, { bits: 2 });
        assert.equal(p.zeroPoint, -1);
        assert.deepEqual(Array.from(ql.quantize(lecture.W, p)), lecture.asymmetric['2'].q);
      }
    });
  });
}
