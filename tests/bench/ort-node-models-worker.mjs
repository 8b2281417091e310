// onnxruntime-node timings of the models benchmark's workloads, single thread, in a process
// of its own (models.bench.mjs spawns it with a JSON job file: onnxruntime-web and
// onnxruntime-node must never share a process, or the CPU sessions silently run on wasm).
// Jobs: [{workload, model, precision, batch, file, shape, input: {kind: 'fashion' | 'random',
// seed}}]; the inputs are rebuilt here exactly as models.bench.mjs builds them. Prints one
// JSON object per line: {workload, model, precision, batch, peer, ms, reps}.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { timeInterleaved } from './kernels-workloads.mjs';
import { fashionImages, randomImages } from './models-workloads.mjs';

const ort = createRequire(import.meta.url)('onnxruntime-node');
const minMs = Number(process.env.QL_BENCH_MIN_MS ?? 1500);
const jobs = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const options = {
  executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1,
  executionMode: 'sequential', graphOptimizationLevel: 'all',
};

for (const job of jobs) {
  const [n, , h] = job.shape;
  const x = job.input.kind === 'fashion' ? fashionImages(n) : randomImages(n, h, job.input.seed);
  const session = await ort.InferenceSession.create(job.file, options);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, job.shape) };
  const t = await timeInterleaved({ run: () => session.run(feeds) }, { minMs });
  console.log(JSON.stringify({
    workload: job.workload, model: job.model, precision: job.precision, batch: job.batch,
    peer: 'onnxruntime-node', ms: t.run.ms, reps: t.run.reps,
  }));
  await session.release();
}
