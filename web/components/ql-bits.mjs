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
// A colour per group, a line style per method (K-means solid, linear dashed), every colour
// at 4.5:1 or more on white.
const SERIES = [
  { group: 'conv', method: 'kmeans', label: 'conv only, K-means', stroke: '#c62828' },
  { group: 'conv', method: 'linear', label: 'conv only, linear', stroke: '#c62828', dash: [7, 4] },
  { group: 'fc', method: 'kmeans', label: 'FC only, K-means', stroke: '#1f5fa8' },
  { group: 'fc', method: 'linear', label: 'FC only, linear', stroke: '#1f5fa8', dash: [7, 4] },
];
// Fashion-MNIST has 10 classes: guessing scores 10%. The y axis starts at 0, so falls to
// chance are drawn to scale; the chance level is a dotted line.
const CHANCE = 10;
const PREVIEW = 100;   // test images of the first, quick pass

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
<div class="note" data-testid="pass" aria-live="polite"></div>
<div class="scroll" tabindex="0" role="region" aria-label="accuracy table"><table class="data" data-testid="table"></table></div>
${SHARES_HTML}
<p class="note">The core's linear quantizer takes 2 to 8 bits, so linear has no 1-bit point. Biases stay fp32
throughout; accuracy is measured on the first <i>n</i> test images.</p>
`;

export class QlBits extends Lesson {
  static schema = SCHEMA;
  static template = TEMPLATE;
  static css = `
  td.preview { font-style: italic; color: #595959; }`;
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
    const finished = await super.run();
    if (finished) {
      const { fp32, points } = this.results;
      this.dispatchEvent(new CustomEvent('ql-done', { detail: { fp32, points } }));
    }
    return finished;
  }

  async compute({ model, count, kmeans, linear }, ctx) {
    // A quick pass on the first PREVIEW images, then all `count`: the points of the second
    // pass replace those of the first as they come.
    let points = [];
    const same = (a, b) => a.group === b.group && a.method === b.method && a.bits === b.bits;
    ctx.partial({ fp32: null, members: null, points, measured: null });
    const r = await ctx.call('bitsSweep', { model, count, first: PREVIEW, bits: BITS, kmeans, linear }, {
      onData: (data) => {
        if (data.point) {
          points = [...points.filter((p) => !same(p, data.point)), data.point];
          ctx.partial({ points });
        } else {
          ctx.partial({ fp32: data.fp32, members: data.members, measured: { count: data.count, preview: data.preview } });
        }
      },
    });
    return { fp32: r.fp32, members: r.members, points: r.points, measured: { count: r.count, preview: false } };
  }

  render(state, results) {
    const { fp32 = null, members = null, points = [], measured = null } = results ?? {};
    const point = (s, b) => points.find((p) => p.group === s.group && p.method === s.method && p.bits === b);
    const at = (s, b) => point(s, b)?.accuracy ?? null;
    const present = SERIES.filter((s) => !members || members[s.group].length > 0);
    this.$('[data-testid=fp32]').textContent = pct(fp32);
    this.$('[data-testid=conv-params]').textContent = members ? (members.conv.join(', ') || 'none') : '–';
    this.$('[data-testid=fc-params]').textContent = members ? (members.fc.join(', ') || 'none') : '–';
    // Fewest bits whose accuracy is within one point of fp32, per series.
    const fewest = present.map((s) => {
      const b = BITS.find((bits) => at(s, bits) != null && fp32 != null && at(s, bits) >= fp32 - 1);
      return b ? `${s.label}: ${b}` : null;
    }).filter(Boolean);
    this.$('[data-testid=summary]').innerHTML = fewest.length ? fewest.map(esc).join('<br>') : '–';
    const previews = points.filter((p) => p.preview).length;
    this.$('[data-testid=pass]').textContent = !measured ? ''
      : measured.preview || previews ? `First pass on the first ${PREVIEW} test images (in italics); ` +
        `refining on all ${state.count} now: ${points.length - previews} of the points measured.`
        : `Measured on the first ${measured.count} test images.`;
    this.$('[data-testid=table]').innerHTML = tableHtml(['bits', ...present.map((s) => esc(s.label))],
      BITS.map((b) => `<tr data-bits="${b}"><td>${b}</td>${present.map((s) => {
        const p = point(s, b);
        return `<td data-series="${s.group}-${s.method}"${p?.preview ? ` class="preview" title="first ${p.count} images"` : ''}>${pct(at(s, b))}</td>`;
      }).join('')}</tr>`));
    const plot = this.plot('main', (width) => linePlot(this.$('[data-testid=plot]'), {
      xLabel: 'bits', yLabel: 'accuracy (%)', width, height: 300, xTicks: BITS, yRange: [0, 100],
    }));
    const series = present.map((s) => ({ label: s.label, stroke: s.stroke, dash: s.dash, values: BITS.map((b) => at(s, b)) }));
    series.push({ label: 'fp32', stroke: '#4d4d4d', width: 1.5, values: BITS.map(() => fp32) });
    series.push({ label: `chance (${CHANCE}%)`, stroke: '#4d4d4d', width: 1, dash: [2, 3], values: BITS.map(() => CHANCE) });
    plot.update(BITS, series);
  }
}

define('ql-bits', QlBits);
