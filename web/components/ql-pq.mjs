// <ql-pq>: product quantization (MIT 6.5940 lecture 5, section 5.7; Jégou et al. 2011;
// Stock et al. 2020, "And the Bit Goes Down"). Each conv filter is cut into C_in subvectors
// of d = K x K values, one codebook of k codewords is shared by the whole layer, and each
// subvector is stored as a ceil(log2 k)-bit index. The byte count (indices, codebook, ratio)
// follows d and k live for LeNet-5's conv2 or the lecture's 128x128x3x3 layer (the page's
// quantlab instance: ql.pqStorageBytes); Run quantizes LeNet-5 conv2 in the element's Web
// Worker with both objectives, weight-only ||W - q(W)||^2 and activation-aware
// ||x (W - q(W))||^2 (ql.pqCompress on that layer alone, no fine-tuning), and draws the
// filters as K x K tiles framed by their codeword's colour beside the k codeword tiles.
// Every number comes from the wasm core; this file only formats and draws.
// State (attributes in kebab-case, URL with `sync-url`; web/src/lesson.mjs): layer, d, k,
// view (which objective's codes are drawn), order (kernels by position or grouped by
// codeword), calibration, test.
import { define, Lesson } from '../src/lesson.mjs';
import { quantlab } from '../src/runtime.mjs';
import { cards, controls, esc, int, pct, runButtons, STATUS_HTML, tableHtml } from '../src/ui.mjs';

/** The layers whose storage the byte panel counts: weight shape OIHW. */
const LAYERS = {
  conv2: { label: 'LeNet-5 conv2 (16×6×5×5)', shape: [16, 6, 5, 5] },
  lecture: { label: "the lecture's 128×128×3×3", shape: [128, 128, 3, 3] },
};
const K_OPTIONS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

const SCHEMA = {
  layer: { type: 'enum', default: 'conv2', label: 'layer', options: Object.fromEntries(Object.entries(LAYERS).map(([k, v]) => [k, v.label])) },
  d: { type: 'int', default: 25, label: 'd (values per subvector)', min: 1, max: 1152, step: 1 },
  k: { type: 'int', default: 64, label: 'k (codewords)', options: K_OPTIONS },
  view: { type: 'enum', default: 'activation', label: 'draw the codes of', options: { weight: 'weight-only', activation: 'activation-aware' } },
  order: { type: 'enum', default: 'filter', label: 'kernels', options: { filter: 'by filter and channel', codeword: 'grouped by codeword' } },
  calibration: { type: 'int', default: 512, label: 'calibration images', options: [256, 512, 1000] },
  test: { type: 'int', default: 1000, label: 'test images', options: [500, 1000, 2000] },
};

const OBJECTIVES = { weight: 'weight-only ‖W − q(W)‖²', activation: 'activation-aware ‖x(W − q(W))‖²' };

const TEMPLATE = `
<h2>Product quantization: vectors share codewords</h2>
<p class="lead">Cut every filter of a conv layer into its C<sub>in</sub> kernels of d = K×K weights, cluster all of
them with k-means into one codebook of <i>k</i> codewords shared by the layer, and store each kernel as the
⌈log<sub>2</sub> k⌉-bit index of its codeword (Stock et al., "And the Bit Goes Down"). d = 1 is scalar K-means
(Deep Compression's weight sharing); d = the whole filter is vector quantization. The activation-aware objective
weights each kernel's error by the statistics of the layer's real inputs, so it spends the codewords where
the outputs need them.</p>
<div class="controls">
  ${controls(SCHEMA, ['layer', 'd', 'k'])}
</div>
<div class="controls" role="group" aria-label="presets">
  <button data-preset="lecture" data-testid="preset-lecture">Lecture example: 128×128×3×3, d = 9, k = 256</button>
  <button data-preset="kxk" data-testid="preset-kxk">d = K×K (a kernel)</button>
  <button data-preset="scalar" data-testid="preset-scalar">d = 1: scalar K-means</button>
  <button data-preset="vector" data-testid="preset-vector">d = whole filter: vector quantization</button>
</div>
<h3>Storage of <span data-testid="layer-name"></span></h3>
${cards([['indices', 'indices'], ['codebook', 'codebook (fp16)'], ['total', 'total (fp32 → PQ)'], ['ratio', 'compression']])}
<p class="note" data-testid="bytes-note"></p>
<h3>Weight-only against activation-aware on LeNet-5 conv2</h3>
<div class="controls">
  ${controls(SCHEMA, ['calibration', 'test', 'view', 'order'])}
  ${runButtons('Quantize conv2')}
</div>
${STATUS_HTML}
<div class="scroll"><table class="data" data-testid="compare"></table></div>
<p class="note" data-testid="compare-note"></p>
<div class="draw">
  <figure>
    <figcaption data-testid="filters-caption"></figcaption>
    <div class="scroll" data-testid="filters" role="img" aria-label="conv2 filters as 5 by 5 tiles framed by codeword colour; the table above has the numbers"></div>
  </figure>
  <figure>
    <figcaption>Codebook: <span data-testid="codebook-size"></span> codewords (decoded values), with how many subvectors use each</figcaption>
    <div class="scroll" data-testid="codebook-tiles" role="img" aria-label="the codebook as tiles with usage counts; the summary below has the numbers"></div>
  </figure>
</div>
<p class="note" data-testid="draw-summary"></p>
`;

const hue = (c) => (c * 137.508) % 360;
const frame = (c) => `hsl(${hue(c).toFixed(1)} 70% 40%)`;

/** A diverging colour for w in [-m, m]: blue - white - red. */
function cellColour(w, m) {
  const t = m > 0 ? Math.max(-1, Math.min(1, w / m)) : 0;
  const a = Math.round(255 * (1 - Math.abs(t)));
  return t >= 0 ? `rgb(255,${a},${a})` : `rgb(${a},${a},255)`;
}

/** SVG rects of a kh x kw tile of values at (x, y), cells of `cell` px. */
function tileRects(values, offset, kh, kw, x, y, cell, m) {
  let s = '';
  for (let i = 0; i < kh; ++i) {
    for (let j = 0; j < kw; ++j) {
      s += `<rect x="${x + j * cell}" y="${y + i * cell}" width="${cell}" height="${cell}" fill="${cellColour(values[offset + i * kw + j], m)}"/>`;
    }
  }
  return s;
}

export class QlPq extends Lesson {
  static schema = SCHEMA;
  static template = TEMPLATE;
  static css = `
  .draw { display: flex; flex-wrap: wrap; gap: 1rem 2rem; }
  figure { margin: 0; min-width: 0; max-width: 100%; }
  figcaption { font-size: .9em; color: #444; margin-bottom: .3rem; max-width: 30rem; }
  svg { display: block; }`;

  #ql = null;

  async prepare() {
    this.#ql = await quantlab();
    this.render(this.state, this.results);
  }

  setup() {
    this.$$('[data-preset]').forEach((b) => b.addEventListener('click', () => {
      const s = this.state;
      const [, cin, kh, kw] = LAYERS[s.layer].shape;
      const preset = b.dataset.preset;
      if (preset === 'lecture') this.state = { layer: 'lecture', d: 9, k: 256 };
      else if (preset === 'kxk') this.state = { d: kh * kw };
      else if (preset === 'scalar') this.state = { d: 1 };
      else this.state = { d: cin * kh * kw };
    }));
  }

  /** Results of a run belong to its (d, k, calibration, test); the byte panel is live. */
  invalidate(changed, results) {
    return changed.every((n) => n === 'layer' || n === 'view' || n === 'order') ? results : null;
  }

  /** Bytes of the current layer shape at (d, k): {indices, codebook, total, fp32} from the core. */
  storage(s = this.state) {
    if (!this.#ql) return null;
    const [o, cin, kh, kw] = LAYERS[s.layer].shape;
    const weights = o * cin * kh * kw;
    const b = this.#ql.pqStorageBytes(weights / s.d, s.k, s.d, 'fp16');
    return { ...b, weights, fp32: 4 * weights };
  }

  compute(s, ctx) {
    return ctx.call('pqLayer', {
      model: 'lenet5', param: 'conv2.weight', d: s.d, k: s.k,
      trainCount: s.calibration, testCount: s.test, calibrationCount: s.calibration,
    });
  }

  render(state, r) {
    this.#renderBytes(state);
    if (!r?.objectives) {
      for (const id of ['compare', 'compare-note', 'filters', 'codebook-tiles', 'draw-summary', 'codebook-size']) {
        this.$(`[data-testid=${id}]`).innerHTML = '';
      }
      return;
    }
    const rows = Object.entries(r.objectives).map(([name, o]) => `<tr data-objective="${name}">` +
      `<td class="l">${esc(OBJECTIVES[name])}</td><td>${o.d}</td><td>${o.k}</td>` +
      `<td data-field="bytes">${int(o.bytes.total)}</td><td>${(o.fp32Bytes / o.bytes.total).toFixed(1)}×</td>` +
      `<td data-field="weightMse">${o.weightMse.toExponential(3)}</td><td data-field="outputMse">${o.outputMse.toExponential(3)}</td>` +
      `<td data-field="accuracy">${pct(o.fp32Accuracy)} → ${pct(o.accuracy)}</td><td>${(o.ms / 1000).toFixed(2)} s</td></tr>`);
    this.$('[data-testid=compare]').innerHTML = tableHtml([['objective', 'l'], 'd', 'k', 'bytes (conv2)', 'layer ratio',
      'weight MSE', 'output MSE (held out)', 'accuracy fp32 → PQ', 'time'], rows);
    const w = r.objectives.weight;
    const a = r.objectives.activation;
    this.$('[data-testid=compare-note]').textContent = `Same size (${int(w.bytes.total)} B). Activation-aware: output MSE ` +
      `${(a.outputMse / w.outputMse).toFixed(2)}× the weight-only one, weight MSE ${(a.weightMse / w.weightMse).toFixed(2)}×. ` +
      `Calibrated on ${r.calibrationCount ?? state.calibration} training images, measured on ${state.test} test images; no fine-tuning.`;
    this.#renderTiles(r, r.objectives[state.view]);
  }

  #renderBytes(state) {
    const name = LAYERS[state.layer].label;
    this.$('[data-testid=layer-name]').textContent = name;
    let b = null;
    let error = '';
    try {
      b = this.storage(state);
    } catch (e) {
      error = `${e.code ?? 'ERROR'}: ${e.message}`;
    }
    const set = (id, text) => { this.$(`[data-testid=${id}]`).textContent = text; };
    if (!b) {
      for (const id of ['indices', 'codebook', 'total', 'ratio']) set(id, '–');
      set('bytes-note', error || 'loading the wasm core…');
      return;
    }
    const [o, cin, kh, kw] = LAYERS[state.layer].shape;
    const bits = this.#ql.pqIndexBits(state.k);
    set('indices', `${int(b.indices)} B`);
    set('codebook', `${int(b.codebook)} B`);
    set('total', `${int(b.fp32)} → ${int(b.total)} B`);
    set('ratio', `${(b.fp32 / b.total).toFixed(1)}×`);
    const kind = state.d === 1 ? ' (d = 1: scalar K-means)' : state.d === cin * kh * kw ? ' (d = the whole filter: vector quantization)'
      : state.d === kh * kw ? ' (d = K×K: one kernel per subvector)' : '';
    set('bytes-note', `${int(b.weights)} weights = ${int(b.weights / state.d)} subvectors of d = ${state.d}${kind}, ` +
      `${bits}-bit indices; ${state.k} × ${state.d} fp16 codewords. Layer ${o}×${cin}×${kh}×${kw}.`);
  }

  #renderTiles(r, o) {
    const [rows, cin, kh, kw] = r.shape;
    const cols = cin * kh * kw;
    const { codes, codebook, d, k } = o.layer;
    const M = cols / d;
    const m = Math.max(...r.weights.map(Math.abs));
    const cell = 6;
    const gap = 4;
    const tile = kw * cell;
    // Filters: one tile per (filter, channel); the frame shows the codeword of the subvector
    // holding the kernel's first weight (with d = K x K, exactly the kernel's codeword).
    // Grouped: the same tiles ordered by that codeword (then by position), 8 to a row.
    const kernels = [];
    for (let f = 0; f < rows; ++f) {
      for (let c = 0; c < cin; ++c) kernels.push({ f, c, code: codes[f * M + Math.floor((c * kh * kw) / d)] });
    }
    const grouped = this.state.order === 'codeword';
    if (grouped) kernels.sort((a, b) => a.code - b.code || a.f - b.f || a.c - b.c);
    const across = grouped ? 8 : cin;
    let svg = '';
    kernels.forEach(({ f, c, code }, i) => {
      const x = (i % across) * (tile + gap) + 2;
      const y = Math.floor(i / across) * (kh * cell + gap) + 2;
      svg += `<rect x="${x - 1.5}" y="${y - 1.5}" width="${tile + 3}" height="${kh * cell + 3}" fill="none" stroke="${frame(code)}" stroke-width="2"/>`;
      svg += tileRects(r.weights, f * cols + c * kh * kw, kh, kw, x, y, cell, m);
    });
    this.$('[data-testid=filters-caption]').textContent = grouped
      ? `The ${kernels.length} ${kh}×${kw} kernels (fp32 weights) grouped by their codeword (frame colour), 8 to a row`
      : `Filters: ${rows} rows × ${cin} input channels of ${kh}×${kw} kernels (fp32 weights), framed by the colour of their codeword`;
    const fw = across * (tile + gap) + 2;
    const fh = Math.ceil(kernels.length / across) * (kh * cell + gap) + 2;
    this.$('[data-testid=filters]').innerHTML = `<svg width="${fw}" height="${fh}" viewBox="0 0 ${fw} ${fh}" aria-hidden="true">${svg}</svg>`;
    // Codebook: k tiles (a K x K square when d = K x K, else a strip of d cells, wrapped).
    const uses = new Uint32Array(k);
    for (const c of codes) uses[c] += 1;
    const square = d === kh * kw;
    const perRow = square ? kw : Math.min(d, 25);
    const th = Math.ceil(d / perRow);
    const cw = perRow * cell;
    const perLine = Math.max(1, Math.floor(340 / (cw + 10)));
    let cb = '';
    for (let c = 0; c < k; ++c) {
      const x = (c % perLine) * (cw + 10) + 2;
      const y = Math.floor(c / perLine) * (th * cell + 18) + 2;
      cb += `<rect x="${x - 1.5}" y="${y - 1.5}" width="${cw + 3}" height="${th * cell + 3}" fill="none" stroke="${frame(c)}" stroke-width="2"/>`;
      for (let t = 0; t < d; ++t) {
        cb += `<rect x="${x + (t % perRow) * cell}" y="${y + Math.floor(t / perRow) * cell}" width="${cell}" height="${cell}" fill="${cellColour(codebook[c * d + t], m)}"/>`;
      }
      cb += `<text x="${x}" y="${y + th * cell + 13}" font-size="10" fill="#333">${uses[c]}</text>`;
    }
    const cbw = Math.min(k, perLine) * (cw + 10) + 2;
    const cbh = Math.ceil(k / perLine) * (th * cell + 18) + 2;
    this.$('[data-testid=codebook-tiles]').innerHTML = `<svg width="${cbw}" height="${cbh}" viewBox="0 0 ${cbw} ${cbh}" aria-hidden="true">${cb}</svg>`;
    this.$('[data-testid=codebook-size]').textContent = String(k);
    const used = uses.filter((u) => u > 0).length;
    const most = Math.max(...uses);
    this.$('[data-testid=draw-summary]').textContent = `${OBJECTIVES[this.state.view]}: ${int(codes.length)} subvectors of d = ${d} ` +
      `share ${k} codewords (${used} used; the most used one holds ${most}). Colours: blue negative, red positive, ` +
      `white 0, scaled to the largest |w| = ${m.toPrecision(3)}.`;
  }
}

define('ql-pq', QlPq);
