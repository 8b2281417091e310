// <ql-kmeans-limits>: the limits of K-means quantization (MIT 6.5940 lecture 5, section 5.6.3),
// measured, not asserted, on LeNet-300-100 fc1: (a) an inference with codebook weights must
// first rebuild the fp32 weights from codebook + indices (the core's decoder) and then run fp32
// arithmetic, against the int8 linear kernel that computes on the stored integers; (b) the
// layer's activations on real test images: their range and their own K-means codebook move
// from input to input, so activations cannot share one codebook made ahead of time, and
// making one per input costs a k-means run.
// Every number comes from the quantlab core in the element's worker (web/src/tasks-lessons.mjs).
// State (attributes, URL with `sync-url`): bits, batch.
import { clusterColor, GRID_CSS } from '../src/draw.mjs';
import { define, Lesson } from '../src/lesson.mjs';
import { bytes, cards, controls, esc, runButtons, STATUS_HTML, tableHtml } from '../src/ui.mjs';

const SCHEMA = {
  bits: { type: 'int', default: 4, label: 'K-means bits', options: [2, 4, 8] },
  batch: { type: 'int', default: 16, label: 'batch', options: [1, 16, 64] },
};
const CLASSES = ['T-shirt/top', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot'];

const TEMPLATE = `
<h2>The limits of K-means quantization</h2>
<p class="lead">A codebook saves storage, not arithmetic. To compute, the layer first turns every index back
into its fp32 centroid and then multiplies in floating point, so the work is fp32 work plus a
decoding pass; a linearly quantized layer multiplies its stored 8-bit integers directly. And the
codebook is built from the weights ahead of time, which works because weights are fixed:
activations change with every input.</p>
<div class="controls">${controls(SCHEMA, ['bits', 'batch'])} ${runButtons('Measure')}</div>
${STATUS_HTML}
<h3>One inference of LeNet-300-100 fc1 (784 → 300)</h3>
<div data-testid="time-bars"></div>
${cards([['t-kmeans', 'K-means: decode + fp32 GEMM'], ['t-fp32', 'fp32 GEMM (weights kept dense)'], ['t-int8', 'int8 GEMM (linear)'], ['bytes', 'weight bytes: fp32 / int8 / codebook']])}
<div class="scroll" tabindex="0" role="region" aria-label="timings"><table class="data" data-testid="time-table"></table></div>
<p class="note">Each time is the average over repeated calls of the core (the kernels' run on this batch, the core's decoder of the compressed layer with dense or Huffman-coded indices, quantize for the int8 input). Decoding once and
keeping the fp32 weights removes that cost but also the memory saving.</p>
<h3>Activations move from input to input</h3>
<p class="note">fc1's outputs after ReLU on real test images: the bar is each input's range, the dots are
the K-means codebook that input alone would want.</p>
<div data-testid="act-plot"></div>
<div class="scroll" tabindex="0" role="region" aria-label="activation ranges and codebooks"><table class="data" data-testid="act-table"></table></div>
`;

const ms = (v) => (v < 0.1 ? `${(1000 * v).toFixed(1)} µs` : `${v.toFixed(2)} ms`);

export class QlKmeansLimits extends Lesson {
  static schema = SCHEMA;
  static template = TEMPLATE;
  static css = `${GRID_CSS}
  svg { max-width: 640px; }
  [data-testid=act-table] td, [data-testid=time-table] td { white-space: nowrap; }`;

  compute(s, ctx) {
    return ctx.call('kmeansLimits', { bits: s.bits, batch: s.batch });
  }

  render(s, r) {
    const set = (id, text) => { this.$(`[data-testid=${id}]`).textContent = text; };
    if (!r) {
      for (const id of ['time-bars', 'time-table', 'act-plot', 'act-table']) this.$(`[data-testid=${id}]`).innerHTML = '';
      for (const id of ['t-kmeans', 't-fp32', 't-int8', 'bytes']) set(id, '–');
      return;
    }
    const t = r.ms;
    const rows = [
      { label: 'K-means (dense indices)', parts: [['decode', t.decodeDense, '#f6c89f'], ['fp32 GEMM', t.fp32, '#c9d6e8']] },
      { label: 'K-means (Huffman)', parts: [['decode', t.decodeHuffman, '#f6c89f'], ['fp32 GEMM', t.fp32, '#c9d6e8']] },
      { label: 'fp32, dense weights', parts: [['fp32 GEMM', t.fp32, '#c9d6e8']] },
      { label: 'int8 linear', parts: [['quantize input', t.quantizeInput, '#e4f2e0'], ['int8 GEMM', t.int8, '#b9e0b0']] },
    ];
    // Log-scaled bar lengths: the times differ by orders of magnitude.
    const total = (row) => row.parts.reduce((a, p) => a + p[1], 0);
    const lo = Math.min(...rows.map(total)) / 3;
    const hi = Math.max(...rows.map(total));
    const W = 400;
    const left = 150;
    const scale = (v) => ((W - left - 70) * Math.log(v / lo)) / Math.log(hi / lo);
    const out = [];
    rows.forEach((row, i) => {
      const y = 4 + i * 30;
      out.push(`<text x="0" y="${y + 15}">${esc(row.label)}</text>`);
      const len = scale(total(row));
      let x = left;
      for (const [name, v, fill] of row.parts) {
        const w = Math.max(1, (len * v) / total(row));
        out.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="22" fill="${fill}" stroke="#fff"><title>${name}: ${ms(v)}</title></rect>`);
        x += w;
      }
      out.push(`<text x="${(x + 4).toFixed(1)}" y="${y + 15}">${ms(total(row))}</text>`);
    });
    this.$('[data-testid=time-bars]').innerHTML = `<svg viewBox="0 0 ${W} ${rows.length * 30 + 4}" role="img" aria-label="time per inference, log scale; the table below lists the times">${out.join('')}</svg>`;
    set('t-kmeans', `${ms(t.decodeDense + t.fp32)} (${((t.decodeDense + t.fp32) / t.int8).toFixed(0)}× int8)`);
    set('t-fp32', ms(t.fp32));
    set('t-int8', ms(t.int8));
    set('bytes', `${bytes(r.bytes.fp32)} / ${bytes(r.bytes.int8)} / ${bytes(r.bytes.dense)}`);
    this.$('[data-testid=time-table]').innerHTML = tableHtml([['path', 'l'], 'decode / quantize input', 'GEMM', 'total'],
      rows.map((row) => `<tr><td class="l">${esc(row.label)}</td><td>${row.parts.length > 1 ? ms(row.parts[0][1]) : '–'}</td>` +
        `<td>${ms(row.parts[row.parts.length - 1][1])}</td><td>${ms(total(row))}</td></tr>`));
    // Activations: a range bar and the input's own codebook per image.
    const acts = r.activations;
    const k = acts[0].centroids.length;
    const top = Math.max(...acts.map((a) => a.rMax));
    const AW = 400;
    const aLeft = 110;
    const X = (v) => aLeft + ((AW - aLeft - 24) * v) / top;
    const parts = [];
    acts.forEach((a, i) => {
      const y = 10 + i * 20;
      parts.push(`<text x="0" y="${y + 4}" font-size="11">#${a.image} ${esc(CLASSES[a.label])}</text>`);
      parts.push(`<line x1="${X(a.rMin).toFixed(1)}" x2="${X(a.rMax).toFixed(1)}" y1="${y}" y2="${y}" stroke="#99a" stroke-width="6" stroke-linecap="round"/>`);
      Array.from(a.centroids).forEach((c, j) => parts.push(`<circle cx="${X(c).toFixed(1)}" cy="${y}" r="3" fill="${clusterColor(j, k).stroke}"/>`));
    });
    for (let tk = 0; tk <= 4; ++tk) {
      const v = (top * tk) / 4;
      parts.push(`<text x="${X(v).toFixed(1)}" y="${10 + acts.length * 20 + 6}" text-anchor="middle" font-size="10" fill="#555">${v.toFixed(1)}</text>`);
    }
    this.$('[data-testid=act-plot]').innerHTML = `<svg viewBox="0 0 ${AW} ${acts.length * 20 + 22}" role="img" aria-label="activation range and codebook per input; the table below lists them">${parts.join('')}</svg>`;
    this.$('[data-testid=act-table]').innerHTML = tableHtml(['image', ['class', 'l'], 'range', ['its own codebook', 'l'], 'k-means time'],
      acts.map((a) => `<tr><td>${a.image}</td><td class="l">${esc(CLASSES[a.label])}</td><td>[${a.rMin.toFixed(2)}, ${a.rMax.toFixed(2)}]</td>` +
        `<td class="l">${Array.from(a.centroids, (c) => c.toFixed(2)).join(', ')}</td><td>${ms(a.kmeansMs)}</td></tr>`));
  }
}

define('ql-kmeans-limits', QlKmeansLimits);
