// JS API of the int8 / fp32 kernels (issue 3) on both builds, and proof that the shipped
// SIMD128 module's int8 GEMM micro-kernels really run i32x4.dot_i16x8_s.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { load, QuantlabError } from '../../wasm/quantlab.mjs';

const dist = (name) => fileURLToPath(new URL(`../../dist/${name}`, import.meta.url));

/** wasm-objdump -d of a module, split into function bodies by index. */
function disassemble(wasm) {
  const r = spawnSync('wasm-objdump', ['-d', wasm], { encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, `wasm-objdump failed (install Debian's wabt): ${r.stderr ?? r.error}`);
  const bodies = new Map();
  let current = null;
  for (const line of r.stdout.split('\n')) {
    const m = line.match(/^[0-9a-f]+ func\[(\d+)\]/);
    if (m) {
      current = [];
      bodies.set(Number(m[1]), current);
    } else if (current) {
      current.push(line);
    }
  }
  return bodies;
}

/**
 * Indices of the functions called `name` in the link's symbol map ("index:name(args)", with
 * name-section escapes such as \28 for "(").
 */
function functionsNamed(symbols, name) {
  return readFileSync(symbols, 'utf8').split('\n')
    .map((l) => l.match(/^(\d+):(.*)$/))
    .filter((m) => m && /^[(\\]/.test(m[2].split(`::${name}`)[1] ?? ''))
    .map((m) => Number(m[1]));
}

function count(lines, opcode) {
  return lines.filter((l) => l.split('|')[1]?.trim().startsWith(opcode)).length;
}

describe('the SIMD128 module', () => {
  const wasm = dist('quantlab-simd.wasm');
  const symbols = dist('quantlab-simd.mjs.symbols');

  test('the int8 GEMM micro-kernels multiply with i32x4.dot_i16x8_s inside their loop', () => {
    assert.ok(existsSync(symbols), `${symbols} is missing (the wasm link writes it)`);
    const bodies = disassemble(wasm);
    const kernels = [
      ['ql_qs8_gemm_minmax_fp32_ukernel_4x8c2__wasmsimd_dot16x2', 8],
      ['ql_qs8_gemm_minmax_fp32_ukernel_1x8c2__wasmsimd_dot16x2', 2],
      ['ql_qs8_convgemm_minmax_fp32_ukernel_4x8c2__wasmsimd_dot16x2', 8],
      ['ql_qs8_gemm_minmax_gemmlowp_ukernel_4x8c2__wasmsimd_dot16x2', 8],
    ];
    for (const [name, dots] of kernels) {
      const found = functionsNamed(symbols, name);
      assert.equal(found.length, 1, `${name} in the symbol map`);
      const body = bodies.get(found[0]);
      assert.ok(body, `func[${found[0]}] (${name}) in the disassembly`);
      // The dot products sit between the K loop's `loop` and its `br_if`.
      const start = body.findIndex((l) => l.includes('| ') && l.split('|')[1].trim() === 'loop');
      assert.ok(start >= 0, `${name} has a loop`);
      const inLoop = body.slice(start);
      assert.ok(count(inLoop, 'i32x4.dot_i16x8_s') >= dots,
        `${name}: expected >= ${dots} i32x4.dot_i16x8_s, found ${count(inLoop, 'i32x4.dot_i16x8_s')}`);
      assert.ok(count(inLoop, 'v128.load32_splat') + count(inLoop, 'v128.load') > 0);
    }
  });

  test('the scalar module has no SIMD at all (the fallback for engines without SIMD128)', () => {
    const r = spawnSync('wasm-objdump', ['-d', dist('quantlab-scalar.wasm')],
      { encoding: 'utf8', maxBuffer: 1 << 30 });
    assert.equal(r.status, 0);
    assert.doesNotMatch(r.stdout, /\b(v128|i32x4|i16x8|i8x16|f32x4)\./);
  });
});

// Deterministic pseudo-random bytes.
function bytes(n, seed, Type = Uint8Array) {
  const out = new Type(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; ++i) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s >>> 24) - (Type === Int8Array ? 128 : 0);
  }
  return out;
}

for (const simd of [true, false]) {
  describe(`${simd ? 'SIMD128' : 'scalar'} build: kernel handles`, async () => {
    const ql = await load({ simd });

    test('variants: scalar first; SIMD128 adds xsimd and wasmsimd', () => {
      const v = ql.kernelVariants();
      assert.deepEqual(v, simd ? ['scalar', 'xsimd', 'wasmsimd'] : ['scalar']);
    });

    test('QGemm: the hand-computed example, both requantization modes', () => {
      for (const requant of ['fp32', 'fixed']) {
        const g = ql.createQGemm({
          weights: new Int8Array([1, -1, 2, 0]), n: 2, k: 2, weightScales: 0.5, bias: [5, -3],
          inputType: 'uint8', inputScale: 2, inputZeroPoint: 1,
          output: { type: 'uint8', scale: 1, zeroPoint: 10, requant },
        });
        assert.equal(g.variant, simd ? 'wasmsimd' : 'scalar');
        const y = g.run(new Uint8Array([1, 2, 3, 4]), 2);
        assert.ok(y instanceof Uint8Array);
        assert.deepEqual(Array.from(y), [14, 7, 14, 11]);
        g.dispose();
        assert.equal(g.disposed, true);
        assert.throws(() => g.run(new Uint8Array(4), 2), (e) => e instanceof QuantlabError);
        g.dispose();  // twice is fine
      }
    });

    test('every variant gives the same bytes for GEMM, conv and depthwise conv', () => {
      const variants = ql.kernelVariants();
      const w = bytes(37 * 45, 1, Int8Array);
      const x = bytes(9 * 45, 2, Int8Array);
      const gemm = variants.map((variant) => {
        const g = ql.createQGemm({ weights: w, n: 37, k: 45, weightScales: [...Array(37)].map((_, i) => 0.01 + i * 1e-4),
          inputType: 'int8', inputScale: 0.05, inputZeroPoint: -3,
          output: { type: 'int8', scale: 0.4, zeroPoint: 2, activation: 'relu6' }, variant });
        const y = g.run(x, 9);
        g.dispose();
        return Array.from(y);
      });
      for (const y of gemm) assert.deepEqual(y, gemm[0]);
      const xc = bytes(2 * 6 * 11 * 13, 3);
      for (const groups of [1, 6]) {
        const wc = bytes((groups === 1 ? 5 * 6 : 6) * 9, 4, Int8Array);
        const conv = variants.map((variant) => {
          const c = ql.createQConv2d({ weights: wc, cOut: groups === 1 ? 5 : 6, cIn: 6, kernelShape: [3, 3],
            strides: [2, 1], pads: [1, 0, 1, 2], dilations: [1, 2], groups, weightScales: 0.02,
            inputScale: 0.03, inputZeroPoint: 120, output: { type: 'uint8', scale: 0.3, zeroPoint: 100, requant: 'fixed' },
            variant });
          assert.equal(c.depthwise, groups === 6);
          const { data, shape } = c.run(xc, [2, 6, 11, 13]);
          assert.deepEqual(shape, [2, groups === 1 ? 5 : 6, 6, 11]);
          c.dispose();
          return Array.from(data);
        });
        for (const y of conv) assert.deepEqual(y, conv[0]);
      }
    });

    test('int32 output, fp32 layers, and kernel-only timing', () => {
      const g = ql.createQGemm({ weights: [1, 2, 3], n: 1, k: 3, weightScales: 1, inputScale: 1,
        inputZeroPoint: 10, output: { type: 'int32' } });
      assert.deepEqual(Array.from(g.run(new Uint8Array([11, 12, 13]), 1)), [1 + 4 + 9]);
      const t = g.benchmark(5);
      assert.equal(t.reps, 5);
      assert.ok(t.minMs >= 0 && t.medianMs >= t.minMs);
      g.dispose();
      const f = ql.createGemmF32({ weights: [1, 2, 3, 4], n: 2, k: 2, bias: [0.5, -20], activation: 'relu' });
      assert.deepEqual(Array.from(f.run([1, 1], 1)), [3.5, 0]);
      f.dispose();
      const c = ql.createConv2dF32({ weights: [1, 1, 1, 1], cOut: 1, cIn: 1, kernelShape: [2, 2] });
      const { data, shape } = c.run(new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2]);
      assert.deepEqual(shape, [1, 1, 1, 1]);
      assert.deepEqual(Array.from(data), [10]);
      c.dispose();
    });

    test('errors are QuantlabErrors with codes; the module stays usable', () => {
      const code = (fn) => {
        try {
          fn();
        } catch (e) {
          assert.ok(e instanceof QuantlabError);
          return e.code;
        }
        return 'no error';
      };
      assert.equal(code(() => ql.createQGemm({ weights: [1, 2, 3], n: 2, k: 2, weightScales: 1, inputScale: 1 })),
        'SHAPE_MISMATCH');
      assert.equal(code(() => ql.createQGemm({ weights: [1, 2], n: 1, k: 2, weightScales: 1, inputScale: 1,
        variant: 'avx9000' })), 'INVALID_ARGUMENT');
      assert.equal(code(() => ql.createQConv2d({ weights: new Int8Array(9), cOut: 1, cIn: 1, kernelShape: [3, 3],
        weightScales: 1, inputScale: 1, output: { activation: 'gelu' } })), 'INVALID_ARGUMENT');
      const g = ql.createQGemm({ weights: [1, 2], n: 1, k: 2, weightScales: 1, inputScale: 1 });
      assert.equal(code(() => g.run(new Int8Array(2), 1)), 'INVALID_ARGUMENT');  // uint8 expected
      assert.equal(code(() => g.run(new Uint8Array(3), 1)), 'SHAPE_MISMATCH');
      assert.equal(code(() => g.benchmark(0)), 'INVALID_ARGUMENT');
      assert.deepEqual(Array.from(g.run(new Uint8Array([1, 1]), 1)), [3]);
      g.dispose();
    });
  });
}
