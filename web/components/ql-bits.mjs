// <ql-bits>: "How many bits?" (MIT 6.5940 lecture 5, section 5.5; Han et al. 2015, fig. 8):
// accuracy against the bit width 1..8 when only the conv weights or only the FC weights are
// quantized, with K-means (weight sharing) and with linear quantization, measured live on a
// demo model in the playground's Web Worker. Every accuracy comes from the quantlab core
// (Network.quantize / calibrate + quantize + dequantize, Network.evaluate); this file plots.
// Attributes (initial state): model (lenet5 | lenet300 | cnn_bn), count (test images),
// kmeans (optimal | lloyd), linear (per-channel | per-tensor), autorun; `sync-url` mirrors
// the state in the URL hash.
import { call, terminate } from '../src/client.mjs';
import { linePlot, uplotCss } from '../src/plot.mjs';
import { readHash, writeHash } from '../src/state.mjs';
import { esc, LESSON_CSS, pct, PROGRESS_HTML, progressBar } from '../src/ui.mjs';

const DEFAULTS = {
  model: 'lenet5',
  count: 1000,
  kmeans: 'optimal',
  linear: 'per-channel',
};

const BITS = [1, 2, 3, 4, 5, 6, 7, 8];
const SERIES = [
  { group: 'conv', method: 'kmeans', label: 'conv only, K-means', stroke: '#d62728' },
  { group: 'conv', method: 'linear', label: 'conv only, linear', stroke: '#ff9896' },
  { group: 'fc', method: 'kmeans', label: 'FC only, K-means', stroke: '#1f77b4' },
  { group: 'fc', method: 'linear', label: 'FC only, linear', stroke: '#9ecae1' },
];

const TEMPLATE = `
<style>${LESSON_CSS}</style>
<link rel="stylesheet" href="${uplotCss}">
<h2>How many bits? Accuracy against bit width</h2>
<p class="lead">Quantize only the convolution weights, or only the fully-connected weights, to
<i>b</i> bits, keep everything else in fp32, and measure the accuracy on the test images. K-means
quantization (weight sharing: 2<sup><i>b</i></sup> shared centroids per layer) against linear
quantization (an affine grid of 2<sup><i>b</i></sup> levels, min-max range). In Deep Compression
(fig. 8), conv layers needed about 4 bits and FC layers about 2 before accuracy fell.</p>
<div class="controls">
  <label>model <select name="model" data-testid="model">
    <option value="lenet5">LeNet-5</option><option value="lenet300">LeNet-300-100 (FC only)</option>
    <option value="cnn_bn">CNN with BatchNorm</option></select></label>
  <label>test images <select name="count" data-testid="count">
    ${[250, 500, 1000, 2000].map((n) => `<option value="${n}">${n}</option>`).join('')}</select></label>
  <label>K-means <select name="kmeans" data-testid="kmeans">
    <option value="optimal">optimal (exact 1-D)</option><option value="lloyd">Lloyd, linear init (paper)</option></select></label>
  <label>linear <select name="linear" data-testid="linear">
    <option value="per-channel">per output channel</option><option value="per-tensor">per tensor</option></select></label>
  <button class="primary" data-testid="run">Measure</button>
  <button data-testid="stop" hidden>Stop</button>
</div>
${PROGRESS_HTML('progress')}
<div class="error" data-testid="error" role="alert"></div>
<div class="cards">
  <div class="card"><div class="name">fp32 accuracy</div><div class="value" data-testid="fp32">–</div></div>
  <div class="card"><div class="name">conv weights</div><div class="value" data-testid="conv-params">–</div></div>
  <div class="card"><div class="name">FC weights</div><div class="value" data-testid="fc-params">–</div></div>
  <div class="card"><div class="name">fewest bits within 1 point</div><div class="value" data-testid="summary">–</div></div>
</div>
<div class="scroll" data-testid="plot"></div>
<div class="scroll"><table class="data" data-testid="table"></table></div>
<p class="note">The core's linear quantizer takes 2 to 8 bits, so linear has no 1-bit point. Biases stay fp32
throughout; accuracy is measured on the first <i>n</i> test images.</p>
`;

export class QlBits extends HTMLElement {
  #root;
  #state;
  #busy = false;
  #stopped = false;
  #progress;
  #plot = null;
  #points = [];
  #fp32 = null;
  #members = null;

  connectedCallback() {
    if (this.#root) return;
    this.#root = this.attachShadow({ mode: 'open' });
    this.#root.innerHTML = TEMPLATE;
    const attr = (name, def) => (this.hasAttribute(name) ? this.getAttribute(name) : def);
    const fromAttrs = {
      model: attr('model', DEFAULTS.model),
      count: Number(attr('count', DEFAULTS.count)),
      kmeans: attr('kmeans', DEFAULTS.kmeans),
      linear: attr('linear', DEFAULTS.linear),
    };
    this.#state = this.hasAttribute('sync-url') ? readHash(fromAttrs) : fromAttrs;
    this.#progress = progressBar(this.#$('[data-testid=progress]'));
    for (const name of Object.keys(DEFAULTS)) {
      const el = this.#$(`[name=${name}]`);
      el.value = String(this.#state[name]);
      el.addEventListener('change', () => {
        Object.assign(this.#state, { [name]: typeof DEFAULTS[name] === 'number' ? Number(el.value) : el.value });
        if (this.hasAttribute('sync-url')) writeHash(this.#state, DEFAULTS);
      });
    }
    this.#$('[data-testid=run]').addEventListener('click', () => this.run());
    // Stopping ends the page's worker (the wasm call cannot be interrupted); the next call
    // starts a fresh one.
    this.#$('[data-testid=stop]').addEventListener('click', () => {
      this.#stopped = true;
      terminate();
    });
    this.#render();
    this.dataset.ready = 'true';
    this.dispatchEvent(new CustomEvent('ql-ready'));
    if (this.hasAttribute('autorun')) this.run();
  }

  disconnectedCallback() {
    this.#plot?.destroy();
    this.#plot = null;
  }

  #$(sel) {
    return this.#root.querySelector(sel);
  }

  get state() {
    return structuredClone(this.#state);
  }

  /** The measured points so far: [{group, method, bits, accuracy}]. */
  get points() {
    return structuredClone(this.#points);
  }

  /** Measure the sweep (also the page's API). */
  async run() {
    if (this.#busy) return;
    this.#busy = true;
    this.#stopped = false;
    delete this.dataset.done;
    this.#root.querySelectorAll('button, select').forEach((b) => { b.disabled = true; });
    const stop = this.#$('[data-testid=stop]');
    stop.disabled = false;
    stop.hidden = false;
    this.#$('[data-testid=error]').textContent = '';
    this.#points = [];
    this.#fp32 = null;
    this.#render();
    this.#progress.start('loading the model');
    const { model, count, kmeans, linear } = this.#state;
    try {
      const r = await call('bitsSweep', { model, count, bits: BITS, kmeans, linear }, {
        onProgress: (fraction, message, data) => {
          this.#progress.update(fraction, message);
          if (data?.fp32 != null) {
            this.#fp32 = data.fp32;
            this.#members = data.members;
          }
          if (data?.point) this.#points.push(data.point);
          if (data) this.#render();
        },
      });
      this.#fp32 = r.fp32;
      this.#members = r.members;
      this.#points = r.points;
      this.#render();
      this.#progress.done();
      this.dataset.done = 'true';
      this.dispatchEvent(new CustomEvent('ql-done', { detail: { fp32: r.fp32, points: r.points } }));
    } catch (e) {
      this.#progress.done(this.#stopped ? 'stopped' : '');
      if (!this.#stopped) this.#$('[data-testid=error]').textContent = `${e.code ?? 'ERROR'}: ${e.message}`;
    } finally {
      this.#busy = false;
      this.#$('[data-testid=stop]').hidden = true;
      this.#root.querySelectorAll('button, select').forEach((b) => { b.disabled = false; });
    }
  }

  #render() {
    const at = (s, b) => this.#points.find((p) => p.group === s.group && p.method === s.method && p.bits === b)?.accuracy ?? null;
    const present = SERIES.filter((s) => !this.#members || this.#members[s.group].length > 0);
    this.#$('[data-testid=fp32]').textContent = pct(this.#fp32);
    this.#$('[data-testid=conv-params]').textContent = this.#members ? (this.#members.conv.join(', ') || 'none') : '–';
    this.#$('[data-testid=fc-params]').textContent = this.#members ? (this.#members.fc.join(', ') || 'none') : '–';
    // Fewest bits whose accuracy is within one point of fp32, per series.
    const fewest = present.map((s) => {
      const b = BITS.find((bits) => {
        const a = at(s, bits);
        return a != null && this.#fp32 != null && a >= this.#fp32 - 1;
      });
      return b ? `${s.label}: ${b}` : null;
    }).filter(Boolean);
    this.#$('[data-testid=summary]').innerHTML = fewest.length ? fewest.map(esc).join('<br>') : '–';
    this.#$('[data-testid=table]').innerHTML = `<tr><th>bits</th>${present.map((s) => `<th>${esc(s.label)}</th>`).join('')}</tr>` +
      BITS.map((b) => `<tr data-bits="${b}"><td>${b}</td>${present.map((s) => `<td data-series="${s.group}-${s.method}">${pct(at(s, b))}</td>`).join('')}</tr>`).join('');
    this.#plot ??= linePlot(this.#$('[data-testid=plot]'), {
      xLabel: 'bits',
      yLabel: 'accuracy (%)',
      width: Math.max(380, Math.min(760, this.clientWidth || 640)),
      height: 300,
    });
    const series = present.map((s) => ({ label: s.label, stroke: s.stroke, values: BITS.map((b) => at(s, b)) }));
    series.push({ label: 'fp32', stroke: '#888', values: BITS.map(() => this.#fp32) });
    this.#plot.update(BITS, series);
  }
}

customElements.define('ql-bits', QlBits);
