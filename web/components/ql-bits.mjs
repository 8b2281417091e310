// <ql-bits>: "How many bits?" (MIT 6.5940 lecture 5, section 5.5; Han et al. 2015, fig. 8):
// accuracy against the bit width 1..8 when only the conv weights or only the FC weights are
// quantized, with K-means (weight sharing) and with linear quantization, measured live on a
// demo model in the element's Web Worker. Every accuracy comes from the quantlab core
// (Network.quantize / calibrate + quantize + dequantize, Network.evaluate); this file plots.
// State (attributes, URL with `sync-url`; web/src/lesson.mjs): model, count, kmeans, linear.
import { define, Lesson } from '../src/lesson.mjs';
import { linePlot, uplotCss } from '../src/plot.mjs';
import { cards, controls, esc, pct, runButtons, STATUS_HTML, tableHtml } from '../src/ui.mjs';
import { standardCnns } from '../src/architectures.mjs';
import { drawShares, SHARES_HTML } from './ql-layer-shares.mjs';

const SCHEMA = {
  model: {
    type: 'enum', default: 'lenet5', label: 'model',
    options: { lenet5: 'LeNet-5', lenet300: 'LeNet-300-100 (FC only)', cnn_bn: 'CNN with BatchNorm' },
  },
  count: { type: 'int', default: 1000, label: 'test images', options: [250, 500, 1000, 2000] },
  kmeans: { type: 'enum', default: 'optimal', label: 'K-means', options: { optimal: 'optimal (exact 1-D)', lloyd: 'Lloyd, linear init (paper)' } },
  linear: { type: 'enum', default: 'per-channel', label: 'linear', options: { 'per-channel': 'per output channel', 'per-tensor': 'per tensor' } },
};

const BITS = [1, 2, 3, 4, 5, 6, 7, 8];
const PREVIEW = 100;   // test images of the first, quick pass
const SERIES = [
  { group: 'conv', method: 'kmeans', label: 'conv only, K-means', stroke: '#d62728' },
  { group: 'conv', method: 'linear', label: 'conv only, linear', stroke: '#ff9896' },
  { group: 'fc', method: 'kmeans', label: 'FC only, K-means', stroke: '#1f77b4' },
  { group: 'fc', method: 'linear', label: 'FC only, linear', stroke: '#9ecae1' },
];

const TEMPLATE = `
<link rel="stylesheet" href="${uplotCss}">
<h2>How many bits? Accuracy against bit width</h2>
<p class="lead">Quantize only the convolution weights, or only the fully-connected weights, to
<i>b</i> bits, keep everything else in fp32, and measure the accuracy on the test images. K-means
quantization (weight sharing: 2<sup><i>b</i></sup> shared centroids per layer) against linear
quantization (an affine grid of 2<sup><i>b</i></sup> levels, min-max range). In Deep Compression
(fig. 8), conv layers needed about 4 bits and FC layers about 2 before accuracy fell.</p>
<div class="controls">
  ${controls(SCHEMA, ['model', 'count', 'kmeans', 'linear'])}
  ${runButtons('Measure')}
</div>
${STATUS_HTML}
${cards([['fp32', 'fp32 accuracy'], ['conv-params', 'conv weights'], ['fc-params', 'FC weights'], ['summary', 'fewest bits within 1 point']])}
<div class="scroll" data-testid="plot" role="img" aria-label="accuracy against bits per series; the table below holds the same values"></div>
<div class="scroll"><table class="data" data-testid="table"></table></div>
<p class="note" data-testid="preview-note" aria-live="polite"></p>
${SHARES_HTML}
<p class="note">The core's linear quantizer takes 2 to 8 bits, so linear has no 1-bit point. Biases stay fp32
throughout; accuracy is measured on the first <i>n</i> test images.</p>
`;

export class QlBits extends Lesson {
  static schema = SCHEMA;
  static template = TEMPLATE;
  static css = 'td.preview { font-style: italic; color: #555; }';
  // Section 5.5's figure next to the curves: parameters and MACs, conv against FC.
  setup() {
    drawShares(this.$('[data-testid=share-bars]'), this.$('[data-testid=share-table]'), standardCnns());
  }

  /** The measured points so far: [{group, method, bits, accuracy}]. */
  get points() {
    return structuredClone(this.results?.points ?? []);
  }

  /** Measure the sweep (also the page's API). */
  async run() {
    if (await super.run()) {
      const { fp32, points } = this.results;
      this.dispatchEvent(new CustomEvent('ql-done', { detail: { fp32, points } }));
    }
  }

  // A first picture within a couple of seconds: the sweep runs on the first PREVIEW test images,
  // then again on all `count`; each refined point replaces its preview as it arrives.
  async compute({ model, count, kmeans, linear }, ctx) {
    const same = (a, b) => a.group === b.group && a.method === b.method && a.bits === b.bits;
    const preview = [];
    if (count > PREVIEW) {
      ctx.partial({ fp32: null, members: null, points: [], previewCount: PREVIEW });
      await ctx.call('bitsSweep', { model, count: PREVIEW, bits: BITS, kmeans, linear }, {
        onData: (data) => {
          if (data.point) preview.push({ ...data.point, preview: true });
          ctx.partial(data.fp32 != null ? { fp32: data.fp32, members: data.members, fp32Preview: true } : { points: preview.slice() });
        },
      });
    }
    const points = [];
    const merged = () => [...points, ...preview.filter((p) => !points.some((q) => same(p, q)))];
    const r = await ctx.call('bitsSweep', { model, count, bits: BITS, kmeans, linear }, {
      onData: (data) => {
        if (data.point) points.push(data.point);
        ctx.partial(data.fp32 != null ? { fp32: data.fp32, members: data.members, fp32Preview: false } : { points: merged() });
      },
    });
    return { fp32: r.fp32, members: r.members, points: r.points, fp32Preview: false };
  }

  render(state, results) {
    const { fp32 = null, members = null, points = [], fp32Preview = false } = results ?? {};
    const find = (s, b) => points.find((p) => p.group === s.group && p.method === s.method && p.bits === b);
    const at = (s, b) => find(s, b)?.accuracy ?? null;
    const previewing = points.some((p) => p.preview) || fp32Preview;
    const present = SERIES.filter((s) => !members || members[s.group].length > 0);
    this.$('[data-testid=fp32]').textContent = pct(fp32);
    this.$('[data-testid=preview-note]').textContent = previewing
      ? `Italic values are a first pass on ${PREVIEW} test images; they are replaced as the ${state.count} images are measured.` : '';
    this.$('[data-testid=conv-params]').textContent = members ? (members.conv.join(', ') || 'none') : '–';
    this.$('[data-testid=fc-params]').textContent = members ? (members.fc.join(', ') || 'none') : '–';
    // Fewest bits whose accuracy is within one point of fp32, per series.
    const fewest = present.map((s) => {
      const b = BITS.find((bits) => at(s, bits) != null && fp32 != null && at(s, bits) >= fp32 - 1);
      return b ? `${s.label}: ${b}` : null;
    }).filter(Boolean);
    this.$('[data-testid=summary]').innerHTML = fewest.length ? fewest.map(esc).join('<br>') : '–';
    this.$('[data-testid=table]').innerHTML = tableHtml(['bits', ...present.map((s) => esc(s.label))],
      BITS.map((b) => `<tr data-bits="${b}"><td>${b}</td>${present.map((s) => `<td data-series="${s.group}-${s.method}"${find(s, b)?.preview ? ' class="preview" title="first pass"' : ''}>${pct(at(s, b))}</td>`).join('')}</tr>`));
    const plot = this.plot('main', (width) => linePlot(this.$('[data-testid=plot]'), { xLabel: 'bits', yLabel: 'accuracy (%)', width, height: 300 }));
    const series = present.map((s) => ({ label: s.label, stroke: s.stroke, values: BITS.map((b) => at(s, b)) }));
    series.push({ label: 'fp32', stroke: '#888', values: BITS.map(() => fp32) });
    plot.update(BITS, series);
  }
}

define('ql-bits', QlBits);
