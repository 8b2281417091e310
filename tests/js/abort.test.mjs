// A trap or an abort inside the module (issue 18): the instance is marked dead and every
// later call throws ABORTED at once, instead of the abort being reported as INVALID_ARGUMENT
// and the next correct call misbehaving ("Cannot pass non-string to std::string").
//
// No valid use of the API still traps (the cases that did are now refused before they
// allocate), so the trap is simulated: one function of a real instance's Embind module is
// replaced by one that throws what Emscripten throws, a WebAssembly.RuntimeError (abort()
// throws RuntimeError('Aborted(...)'); an out-of-bounds access throws RuntimeError
// 'memory access out of bounds'), and the module is registered again (watchModule).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { load, QuantlabError } from '../../wasm/quantlab.mjs';
import { call, watchModule } from '../../wasm/js/errors.mjs';
import { MODULE } from '../../wasm/js/handle.mjs';

const lenet = readFileSync(new URL('../../web/models/lenet5.onnx', import.meta.url));

const P = { scale: 1, zeroPoint: 0, qMin: -128, qMax: 127 };

const isAborted = (e) => e instanceof QuantlabError && e.code === 'ABORTED' &&
  /load\(\) a new instance/.test(e.message);

/** A real instance whose paramsFromRange traps with `error`. */
async function trapping(simd, error) {
  const ql = await load({ simd });
  const module = ql[MODULE];
  module.paramsFromRange = () => {
    throw error;
  };
  watchModule(module);
  return ql;
}

for (const simd of [true, false]) {
  describe(`a trapped instance is dead (${simd ? 'SIMD128' : 'scalar'})`, () => {
    for (const [what, error] of [
      ['abort()', new WebAssembly.RuntimeError('Aborted(OOM)')],
      ['an out-of-bounds access', new WebAssembly.RuntimeError('memory access out of bounds')],
    ]) {
      test(`${what} throws ABORTED, and so does every later call`, async () => {
        const ql = await trapping(simd, error);
        const model = ql.loadModel(lenet);  // a handle made before the trap
        assert.throws(() => ql.paramsFromRange(-1, 1, { bits: 8 }), (e) => isAborted(e) &&
          e.message.includes(error.message));
        // Every later call, to any function of the instance, fails at once the same way.
        assert.throws(() => ql.paramsFromRange(-1, 1, { bits: 8 }), isAborted);
        assert.throws(() => ql.integerRange({ bits: 8 }), isAborted);
        assert.throws(() => ql.quantize([1, 2], P), isAborted);
        assert.throws(() => ql.loadModel(lenet), isAborted);
        assert.throws(() => model.run(new Float32Array(28 * 28), [1, 1, 28, 28]), isAborted);
        assert.throws(() => ql.memoryUsage(), isAborted);
        // dispose() of a handle of the dead instance does not throw (a `using` block would
        // otherwise replace the error that ended the instance), and the handle is disposed.
        model.dispose();
        assert.equal(model.disposed, true);
        assert.throws(() => model.run(new Float32Array(28 * 28), [1, 1, 28, 28]), (e) =>
          e instanceof QuantlabError && /disposed/.test(e.message));
        // A new instance works.
        const fresh = await load({ simd });
        assert.equal(fresh.paramsFromRange(-1.08, 2.12, { bits: 2 }).zeroPoint, -1);
      });
    }

    test('an Embind argument error is still INVALID_ARGUMENT and the instance lives', async () => {
      const ql = await load({ simd });
      const module = ql[MODULE];
      // Past the JS checks, straight to Embind: a number where the binding wants a string
      // (a BindingError), and a wrong argument count.
      const invalid = (e) => e instanceof QuantlabError && e.code === 'INVALID_ARGUMENT';
      assert.throws(() => call(module.ptqToOnnx, 0, 5), invalid);
      assert.throws(() => call(module.paramsFromRange), invalid);
      assert.throws(() => ql.quantize('not an array', P), (e) =>
        e instanceof QuantlabError && e.code === 'INVALID_ARGUMENT');
      assert.equal(ql.paramsFromRange(-1.08, 2.12, { bits: 2 }).zeroPoint, -1);
    });

    test('a trap in one instance leaves another instance usable', async () => {
      const other = await load({ simd });
      const ql = await trapping(simd, new WebAssembly.RuntimeError('Aborted()'));
      assert.throws(() => ql.paramsFromRange(-1, 1), isAborted);
      assert.equal(other.paramsFromRange(-1.08, 2.12, { bits: 2 }).zeroPoint, -1);
      assert.throws(() => ql.integerRange({ bits: 8 }), isAborted);
    });
  });
}
