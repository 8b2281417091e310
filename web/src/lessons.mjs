// The playground's lessons in lecture order (MIT 6.5940 EfficientML, lecture 5, sections 5.5
// to 5.9): the one list that the start page, the nav and the ?lesson= router read (app.mjs).
// Adding a lesson is one row:
//   id         the ?lesson= value and the URL-state key of the lesson
//   section    the lecture's section number; rows are listed in this array's order
//   title      the nav's link text and the card's name
//   question   the card's heading: what the lesson answers
//   tag        the custom element (ql-*) that `module` defines
//   module     the element's file, relative to this one
//   available  false: shown as a "coming" card, without a link
//   autorun    optional true: opened without state in the link, the lesson computes at once
//   preview    optional (ql) => string: a one-line live result from the wasm core (the
//              page's quantlab instance; microseconds, no worker), shown on the card
// No DOM here, so Node tests can import the list.
import { LECTURE_W } from './lecture.mjs';

/** The lecture's sections, in order. */
export const SECTIONS = [
  { section: '5.5', title: 'How many bits?' },
  { section: '5.6', title: 'Deep Compression: pruning, K-means, fine-tuning, limits, Huffman' },
  { section: '5.7', title: 'Product quantization' },
  { section: '5.8', title: 'Linear quantization' },
  { section: '5.9', title: 'Integer-only inference' },
];

const f2 = (v) => (Math.abs(v) < 5e-3 ? 0 : v).toFixed(2);

export const LESSONS = [
  {
    id: 'bits', section: '5.5', title: 'How many bits?', question: 'How many bits does a layer need?',
    tag: 'ql-bits', module: '../components/ql-bits.mjs', available: true, autorun: true,
    preview: (ql) => `lecture matrix, K-means MSE: ${[1, 2, 3].map((b) => `${b} bit${b > 1 ? 's' : ''} ${ql.kMeansQuantize(LECTURE_W, b, { method: 'optimal' }).mse.toExponential(1)}`).join(', ')}`,
  },
  {
    id: 'deep-compression', section: '5.6', title: 'Deep Compression', question: 'How small can a network get?',
    tag: 'ql-deep-compression', module: '../components/ql-deep-compression.mjs', available: true,
    preview: (ql) => {
      const kept = ql.magnitudePruneMask(LECTURE_W, 0.5).reduce((a, m) => a + m, 0);
      return `prune 50% of the lecture matrix: ${kept} of ${LECTURE_W.length} weights kept`;
    },
  },
  {
    id: 'kmeans', section: '5.6', title: 'K-means weight sharing', question: 'Can weights share values?',
    tag: 'ql-kmeans', module: '../components/ql-kmeans.mjs', available: true,
    preview: (ql) => `2-bit codebook of the lecture matrix: ${Array.from(ql.kMeansQuantize(LECTURE_W, 2).centroids, f2).join(', ')}`,
  },
  {
    id: 'finetune', section: '5.6', title: 'Fine-tuning the centroids', question: 'Can shared values keep learning?',
    tag: 'ql-finetune', module: '../components/ql-finetune.mjs', available: true,
  },
  {
    id: 'kmeans-limits', section: '5.6', title: 'Limits of K-means', question: 'Why not share values everywhere?',
    tag: 'ql-kmeans-limits', module: '../components/ql-kmeans-limits.mjs', available: true,
  },
  {
    id: 'huffman', section: '5.6', title: 'Huffman coding', question: 'Can frequent indices take fewer bits?',
    tag: 'ql-huffman', module: '../components/ql-huffman.mjs', available: true,
    preview: (ql) => {
      const h = ql.huffmanCompress(ql.kMeansQuantize(LECTURE_W, 2).labels, 4);
      return `the lecture's 2-bit indices: entropy ${h.entropy.toFixed(3)} bits, Huffman ${h.averageLength.toFixed(2)} bits per weight`;
    },
  },
  {
    id: 'pq', section: '5.7', title: 'Product quantization', question: 'Can vectors share codewords?',
    tag: 'ql-pq', module: '../components/ql-pq.mjs', available: true,
    preview: (ql) => {
      const b = ql.pqStorageBytes((128 * 128 * 3 * 3) / 9, 256, 9, 'fp16');
      return `128×128×3×3 at k = 256, d = 9: ${b.indices.toLocaleString('en-US')} B indices + ${b.codebook.toLocaleString('en-US')} B fp16 codebook`;
    },
  },
  {
    id: 'linear', section: '5.8', title: 'Linear quantization', question: 'How do real numbers map to integers?',
    tag: 'ql-linear', module: '../components/ql-linear.mjs', available: true,
    preview: (ql) => {
      const r = ql.calibrate(LECTURE_W, { bits: 2 });
      const p = ql.paramsFromRange(r.rMin, r.rMax, { bits: 2 });
      return `lecture matrix, 2 bits: S = ${p.scale.toFixed(4)}, Z = ${p.zeroPoint}`;
    },
  },
  {
    id: 'integer', section: '5.9', title: 'Integer-only layer', question: 'Can a layer run on integers alone?',
    tag: 'ql-integer', module: '../components/ql-integer.mjs', available: true,
    preview: (ql) => {
      const m = ql.quantizeMultiplier(0.0072);
      return `M = 0.0072 = ${m.M0} · 2^(${m.shift} − 31)`;
    },
  },
  {
    id: 'models', section: '5.9', title: 'Models: fp32 and int8', question: 'Does int8 keep the accuracy?',
    tag: 'ql-models', module: '../components/ql-models.mjs', available: true,
    preview: (ql) => `the runtime runs ${ql.supportedOperators().length} ONNX operators; kernels: ${ql.kernelVariants().join(', ')}`,
  },
];

/** The row of `id`, or null. */
export const lessonById = (id) => LESSONS.find((l) => l.id === id) ?? null;
