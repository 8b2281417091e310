// onnxruntime-node timings of the kernels benchmark's int8 workloads, single thread, in a
// process of its own (kernels.bench.mjs spawns it: onnxruntime-web and onnxruntime-node must
// never share a process, or the CPU sessions silently run on wasm). Prints one JSON object
// per line: {workload, peer, ms, reps}. onnxruntime-node's uint8 x int8 GEMM is not exact
// for full-range int8 weights (int16 saturation in its AVX2 kernels): a timing reference only.
import { createRequire } from 'node:module';

import {
  ACTIVATION_TYPES, CONVS, GEMMS, convData, convName, gemmData, gemmName, qlinearConvModel,
  qlinearMatMulModel, timeInterleaved,
} from './kernels-workloads.mjs';

const ort = createRequire(import.meta.url)('onnxruntime-node');
const minMs = Number(process.env.QL_BENCH_MIN_MS ?? 1500);

const options = {
  executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1,
  executionMode: 'sequential', graphOptimizationLevel: 'all',
};

async function measure(name, model, feeds) {
  const session = await ort.InferenceSession.create(model, options);
  const t = await timeInterleaved({ run: () => session.run(feeds) }, { minMs });
  console.log(JSON.stringify({ workload: name, peer: 'onnxruntime-node', ms: t.run.ms, reps: t.run.reps }));
  await session.release();
}

for (const shape of GEMMS) {
  for (const xType of ACTIVATION_TYPES) {
    const d = gemmData(xType, shape);
    await measure(gemmName(xType, shape), qlinearMatMulModel(xType, shape, d),
      { a: new ort.Tensor(xType, d.a, [shape[0], shape[1]]) });
  }
}
for (const c of CONVS) {
  for (const xType of ACTIVATION_TYPES) {
    const d = convData(xType, c);
    await measure(convName(xType, c), qlinearConvModel(xType, c, d),
      { x: new ort.Tensor(xType, d.x, [1, c.cIn, c.hw, c.hw]) });
  }
}
