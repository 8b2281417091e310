// <ql-kmeans>: K-means weight quantization (MIT 6.5940 lecture 5, section 5.6.1; Deep
// Compression's weight sharing). The lecture's 4x4 example: the weights coloured by cluster,
// lines from each weight to its centroid, the fp32 codebook, the index matrix, the
// reconstruction and its error, and the byte account (64 B -> 4 B + 16 B = 20 B at 2 bits);
// Lloyd's steps one at a time from a chosen start against the exact 1-D optimum; then one
// layer of a demo model (histogram with its centroids, bytes, the ratio against tensor size).
// Every number comes from the quantlab core in the element's worker (web/src/tasks-lessons.mjs).
// State (attributes, URL with `sync-url`): bits, init, steps, seed, model, layer.
import { byteBars, clusterColor, GRID_CSS, gridRows, numberLine, signedFill, swatches } from '../src/draw.mjs';
import { define, Lesson } from '../src/lesson.mjs';
import { coerceLayer, modelLayerFields, showLayerOptions } from '../src/model-layers.mjs';
import { histogramPlot, uplotCss } from '../src/plot.mjs';
import { bytes, cards, controls, esc, int, STATUS_HTML, tableHtml } from '../src/ui.mjs';

const SCHEMA = {
  bits: { type: 'int', default: 2, label: 'bits', options: [1, 2, 3, 4] },
  init: {
    type: 'enum', default: 'linear', label: 'start',
    options: { linear: 'linear (Deep Compression)', density: 'density', random: 'random', 'kmeans++': 'k-means++' },
  },
  steps: { type: 'int', default: 0, label: 'Lloyd steps', min: 0, max: 50, step: 1 },
  seed: { type: 'int', default: 1, label: 'seed', min: 0, max: 1000000, step: 1, enabled: (s) => s.init === 'random' || s.init === 'kmeans++' },
  ...modelLayerFields(),
};

const fmt = (v, d = 2) => (Math.abs(v) < 5e-7 ? '0' : v.toFixed(d));
const sci = (v) => (v === 0 ? '0' : v.toExponential(3));
const ratio = (v) => `${v.toFixed(2)}×`;

const TEMPLATE = `
<link rel="stylesheet" href="${uplotCss}">
<h2>K-means weight quantization: weights share a codebook</h2>
<p class="lead">Group the weights into 2<sup><i>b</i></sup> clusters and keep one fp32 centroid per
cluster. The layer then stores a <i>b</i>-bit cluster index per weight plus the small codebook, and
every weight is read back as its centroid. The centroids sit where the weights are dense, so this
grid is not evenly spaced as a linear one is. Lloyd's algorithm alternates two moves: give every
weight to its nearest centroid, then move every centroid to the mean of its weights.</p>
<div class="controls">
  ${controls(SCHEMA, ['bits', 'init', 'seed', 'steps'])}
  <button data-testid="step">one Lloyd step</button>
  <button data-testid="reset">back to the start</button>
</div>
${STATUS_HTML}
<h3>The lecture's 4×4 example</h3>
<figure><figcaption>Weights (dots) and centroids (diamonds) on one axis <small data-testid="line-caption"></small></figcaption>
  <div data-testid="line"></div></figure>
<figure><figcaption>Codebook <small>(index in binary, fp32 centroid)</small></figcaption>
  <ul class="swatches" data-testid="codebook"></ul></figure>
<div class="figs">
  <figure><figcaption>Weights <small>(fp32, coloured by cluster)</small></figcaption><table class="grid" data-testid="w-grid"></table></figure>
  <figure><figcaption>Cluster index <small data-testid="index-caption"></small></figcaption><table class="grid" data-testid="index-grid"></table></figure>
  <figure><figcaption>Reconstruction <small>(centroid of each index)</small></figcaption><table class="grid" data-testid="rec-grid"></table></figure>
  <figure><figcaption>Error <small>(weight − reconstruction)</small></figcaption><table class="grid" data-testid="err-grid"></table></figure>
</div>
${cards([['mse', 'MSE after these steps'], ['mse-converged', 'MSE when Lloyd converges'], ['mse-optimal', 'MSE, exact optimum'], ['converged', 'Lloyd converges after']])}
<h3>Storage</h3>
<div class="formula" data-testid="account"></div>
<div data-testid="bars"></div>
<h3>A real layer</h3>
<div class="controls">${controls(SCHEMA, ['model', 'layer'])}</div>
${cards([['layer-n', 'weights'], ['layer-fp32', 'fp32'], ['layer-total', 'indices + codebook'], ['layer-ratio', 'compression'],
  ['layer-mse', 'MSE (Lloyd, converged)'], ['layer-optimal', 'MSE (optimal)']])}
<figure><figcaption>Histogram of the layer's weights <small>(red stems: the centroids, height = weights in the cluster)</small></figcaption>
  <div class="scroll" data-testid="hist" role="img" aria-label="histogram of the layer's weights with its centroids; the codebook below lists them"></div>
  <ul class="swatches" data-testid="layer-codebook"></ul></figure>
<figure><figcaption>The ratio grows with the tensor: every layer of the model at these bits</figcaption>
  <div class="scroll" tabindex="0" role="region" aria-label="bytes per layer"><table class="data" data-testid="layers"></table></div></figure>
<p class="note">The codebook costs 2<sup><i>b</i></sup> × 4 bytes whatever the layer's size, so it is
paid back only by large tensors: the ratio approaches 32 / <i>b</i> as the tensor grows, and a
layer of a few hundred weights keeps a visible share in the codebook.</p>
`;

export class QlKmeans extends Lesson {
  static schema = SCHEMA;
  static template = TEMPLATE;
  static live = true;
  static css = `${GRID_CSS}
  .bar { display: inline-block; height: .7em; background: #7f9fbf; vertical-align: middle; margin-right: .3em; }`;

  setup() {
    this.$('[data-testid=step]').addEventListener('click', () => {
      this.state = { steps: Math.min(SCHEMA.steps.max, this.state.steps + 1) };
    });
    this.$('[data-testid=reset]').addEventListener('click', () => {
      this.state = { steps: 0 };
    });
  }

  // The layer belongs to the model; a new model starts on its first FC layer.
  coerce(s) {
    return coerceLayer(s);
  }

  compute(s, ctx) {
    return ctx.call('kmeansLesson', { bits: s.bits, init: s.init, steps: s.steps, seed: s.seed, model: s.model, layer: s.layer });
  }

  render(s, r) {
    showLayerOptions(this.$('[data-testid=layer]'), s.model, s.layer);
    const set = (id, text) => { this.$(`[data-testid=${id}]`).textContent = text; };
    const ids = ['line', 'codebook', 'w-grid', 'index-grid', 'rec-grid', 'err-grid', 'bars', 'layer-codebook', 'layers'];
    if (!r) {
      for (const id of ids) this.$(`[data-testid=${id}]`).innerHTML = '';
      for (const id of ['mse', 'mse-converged', 'mse-optimal', 'converged', 'account', 'layer-n', 'layer-fp32', 'layer-total', 'layer-ratio', 'layer-mse', 'layer-optimal']) set(id, '–');
      this.dropPlot('hist');
      return;
    }
    const { toy, layer, layers } = r;
    const k = 2 ** toy.bits;
    const { centroids, labels } = toy.lloyd;
    const cl = (i) => clusterColor(labels[i], k);
    set('line-caption', `(${toy.lloyd.iterations} Lloyd step${toy.lloyd.iterations === 1 ? '' : 's'} from the ${SCHEMA.init.options[s.init]} start)`);
    this.$('[data-testid=line]').innerHTML = numberLine({
      values: toy.w, labels, centroids, k,
      marks: [{ label: 'start', values: toy.start, shape: 'ring' }, { label: 'best', values: toy.optimal.centroids, shape: 'tick' }],
      title: `the 16 weights and the ${k} centroids on a number line; rings: the starting centroids, ticks: the optimal ones. The codebook and grids below hold the same values.`,
    });
    this.$('[data-testid=codebook]').innerHTML = swatches(centroids, toy.bits, null);
    const n = 4;
    this.$('[data-testid=w-grid]').innerHTML = gridRows(16, n, (i) => ({ text: fmt(toy.w[i]), fill: cl(i).fill, title: `cluster ${labels[i]}` }));
    set('index-caption', `(${toy.bits}-bit integers)`);
    this.$('[data-testid=index-grid]').innerHTML = gridRows(16, n, (i) => ({ text: labels[i].toString(2).padStart(toy.bits, '0'), fill: cl(i).fill, title: `index ${labels[i]}` }));
    this.$('[data-testid=rec-grid]').innerHTML = gridRows(16, n, (i) => ({ text: fmt(toy.rec[i]), fill: cl(i).fill }));
    const maxErr = Math.max(...Array.from(toy.err, Math.abs));
    this.$('[data-testid=err-grid]').innerHTML = gridRows(16, n, (i) => ({ text: fmt(toy.err[i]), fill: signedFill(toy.err[i], maxErr) }));
    set('mse', sci(toy.lloyd.mse));
    set('mse-converged', sci(toy.convergedMse));
    set('mse-optimal', sci(toy.optimal.mse));
    set('converged', `${toy.convergedAt} step${toy.convergedAt === 1 ? '' : 's'}`);
    const a = toy.account;
    set('account', `before: ${a.n} weights × 32 bits = ${a.fp32} B\n` +
      `after:  ${a.n} indices × ${a.bits} bits = ${a.indices} B  +  codebook ${k} × 32 bits = ${a.codebook} B  =  ${a.total} B\n` +
      `ratio:  ${a.fp32} B / ${a.total} B = ${ratio(a.ratio)}`);
    this.$('[data-testid=bars]').innerHTML = byteBars([
      { label: 'fp32 weights', parts: [{ bytes: a.fp32, label: `${a.fp32} B fp32`, fill: '#c9d6e8' }] },
      { label: 'K-means', parts: [{ bytes: a.indices, label: `${a.indices} B indices`, fill: '#f6c89f' }, { bytes: a.codebook, label: `${a.codebook} B codebook`, fill: '#b9e0b0' }] },
    ], `bytes before (${a.fp32} B) and after (${a.indices} B of indices and ${a.codebook} B of codebook)`);

    set('layer-n', `${int(layer.n)} (${layer.shape.join('×')})`);
    set('layer-fp32', bytes(layer.account.fp32));
    set('layer-total', `${bytes(layer.account.indices)} + ${bytes(layer.account.codebook)}`);
    set('layer-ratio', ratio(layer.account.ratio));
    set('layer-mse', `${sci(layer.mse)} (${layer.iterations} steps)`);
    set('layer-optimal', sci(layer.optimalMse));
    this.plot('hist', (width) => histogramPlot(this.$('[data-testid=hist]'), {
      xLabel: 'weight', yLabel: 'count', width, height: 240, barLabel: 'weights',
    })).update(layer.histogram.x, layer.histogram.counts, { x: layer.centroids, y: layer.sizes });
    this.$('[data-testid=layer-codebook]').innerHTML = swatches(layer.centroids, toy.bits, layer.sizes);
    const best = Math.max(...layers.map((l) => l.ratio));
    this.$('[data-testid=layers]').innerHTML = tableHtml([['layer', 'l'], 'weights', 'fp32', 'indices', 'codebook', ['compression', 'l']],
      layers.map((l) => `<tr${l.param === layer.param ? ' data-css="font-weight:600"' : ''}><td class="l">${esc(l.param)}</td><td>${int(l.n)}</td>` +
        `<td>${bytes(l.fp32)}</td><td>${bytes(l.indices)}</td><td>${bytes(l.codebook)}</td>` +
        `<td class="l"><span class="bar" data-css="width:${((4 * l.ratio) / best).toFixed(2)}em"></span>${ratio(l.ratio)}</td></tr>`));
  }
}

define('ql-kmeans', QlKmeans);
