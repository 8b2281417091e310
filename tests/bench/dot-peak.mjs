// The machine's SIMD128 int8-GEMM ceiling, measured: a hand-assembled WebAssembly module
// whose loop body is nothing but `acc_i = i32x4.add(acc_i, i32x4.dot_i16x8_s(acc_i, b))`
// on register-resident locals: 8 independent accumulator chains and one operand (10 live
// v128 values with the dot's temporary; measured on x64 in Node 20, 9 or more chains spill
// and halve the rate). One dot16x2 is 8 multiplies + 8 adds = 16 ops. Each dot reads its own
// accumulator, so V8 can neither hoist it out of the loop nor merge repeated ones (with
// loop-invariant operands it does, and the "peak" doubles); eight chains hide the dot's
// latency. The values wrap around harmlessly. The body is unrolled 8 times to amortize the
// loop counter.

const ACCS = 8;
const OPERANDS = 1;  // b
const UNROLL = 8;

function uleb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function section(id, payload) {
  return [id, ...uleb(payload.length), ...payload];
}

function moduleBytes() {
  const SIMD = 0xfd;
  const op = {
    localGet: 0x20, localSet: 0x21, localTee: 0x22,
    v128Const: [SIMD, 0x0c], dot: [SIMD, ...uleb(186)], add: [SIMD, ...uleb(174)],
    extractLane: [SIMD, ...uleb(27)],
  };
  const acc = (i) => 1 + i;             // locals 1..ACCS
  const operand = (i) => 1 + ACCS + i;  // then the operands
  const body = [];
  // Distinct non-trivial constants for the operands.
  for (let i = 0; i < OPERANDS; ++i) {
    const bytes = Array.from({ length: 16 }, (_, j) => (i * 37 + j * 11 + 3) & 0x7f);
    body.push(...op.v128Const, ...bytes, op.localSet, operand(i));
  }
  body.push(0x03, 0x40);  // loop
  for (let u = 0; u < UNROLL; ++u) {
    for (let i = 0; i < ACCS; ++i) {
      body.push(op.localGet, acc(i), op.localGet, acc(i), op.localGet, operand(0), ...op.dot,
        ...op.add, op.localSet, acc(i));
    }
  }
  // n = n - 1; br_if n != 0
  body.push(op.localGet, 0, 0x41, 1, 0x6b, op.localTee, 0, 0x0d, 0, 0x0b);
  body.push(op.localGet, acc(0));
  for (let i = 1; i < ACCS; ++i) body.push(op.localGet, acc(i), ...op.add);
  body.push(...op.extractLane, 0, 0x0b);
  const locals = [1, ...uleb(ACCS + OPERANDS), 0x7b];  // one group of v128 locals
  const func = [...locals, ...body];
  const code = [1, ...uleb(func.length), ...func];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7f]),              // (i32) -> i32
    ...section(3, [1, 0]),
    ...section(7, [1, 4, ...new TextEncoder().encode('peak'), 0x00, 0]),
    ...section(10, code),
  ]);
}

/** Ops per call of peak(iterations). */
export function dotPeakOps(iterations) {
  return iterations * UNROLL * ACCS * 16;
}

/**
 * The peak loop as a timeable function: run() executes `iterations` iterations and returns
 * its wall time in ms (so it can be interleaved with the workloads it is compared with);
 * ops is the op count of one run().
 */
export async function createDotPeak(iterations = 60000) {
  const { instance } = await WebAssembly.instantiate(moduleBytes());
  const peak = instance.exports.peak;
  for (let i = 0; i < 5; ++i) peak(iterations);  // tier up to TurboFan
  return {
    ops: dotPeakOps(iterations),
    run() {
      const t0 = performance.now();
      peak(iterations);
      return performance.now() - t0;
    },
  };
}

/** {gops, ms, reps}: median over `reps` timed calls of peak(iterations) after a warm-up. */
export async function measureDotPeak({ iterations = 200000, reps = 25 } = {}) {
  const p = await createDotPeak(iterations);
  const times = [];
  for (let i = 0; i < reps; ++i) times.push(p.run());
  times.sort((x, y) => x - y);
  const ms = times[times.length >> 1];
  return { gops: p.ops / (ms * 1e6), ms, reps };
}
