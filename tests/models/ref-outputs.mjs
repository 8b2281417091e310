// Fixture generator (issue 10): adds to tests/fixtures/torch/inputs.json the outputs
// onnxruntime-node computes for each torch export (written by make_torch_exports.py) on its
// fixed inputs, at batch 1 and batch 3. Those are the references tests/js/torch-export.test.mjs
// holds quantlab to.
//
// Usage: node tests/models/ref-outputs.mjs [--all]   (default: only entries that have no
// onnxruntime outputs yet, so the committed references of the others stay as they are)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import ort from 'onnxruntime-node';

import { fixedInput, inputShape } from './torch-inputs.mjs';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'torch');
const path = join(dir, 'inputs.json');
const record = JSON.parse(readFileSync(path, 'utf8'));

const all = process.argv.includes('--all');
for (const [file, entry] of Object.entries(record.models)) {
  if (entry.onnxruntime && !all) continue;
  const session = await ort.InferenceSession.create(readFileSync(join(dir, file)), {
    executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3,
  });
  entry.onnxruntime = {};
  for (const batch of [1, 3]) {
    const x = new ort.Tensor('float32', fixedInput(record, entry, batch), inputShape(record, entry, batch));
    const out = await session.run({ [session.inputNames[0]]: x });
    entry.onnxruntime[batch] = Array.from(out[session.outputNames[0]].data);
  }
  await session.release();
  console.log(`${file}: onnxruntime outputs at batch 1, 3`);
}
writeFileSync(path, JSON.stringify(record) + '\n');
