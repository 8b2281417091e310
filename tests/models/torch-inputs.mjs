// Fixed inputs of the torch-export fixtures (issue 10), shared by the reference generator
// (tests/models/ref-outputs.mjs) and the test (tests/js/torch-export.test.mjs): the LeNet files
// use the values stored in inputs.json; the other models draw uniform [0, 1) values (as
// torch.rand) from a seeded mulberry32 per (model shape, batch), so no large arrays are stored.

/** n values uniform in [0, 1) from mulberry32(seed). */
export function uniform(n, seed) {
  let s = seed >>> 0;
  const x = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    x[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return x;
}

/** The model's input shape at `batch` (entry.input_shape has null for N; LeNet: record's). */
export function inputShape(record, entry, batch) {
  const s = entry.input_shape ?? record.input_shape;
  return [batch, ...s.slice(1)];
}

/** The fixed input of a fixture at batch 1 or 3. */
export function fixedInput(record, entry, batch) {
  if (!entry.input_shape) return Float32Array.from(record.inputs[String(batch)]);
  const shape = inputShape(record, entry, batch);
  return uniform(shape.reduce((a, b) => a * b, 1), 1000 + batch);
}
