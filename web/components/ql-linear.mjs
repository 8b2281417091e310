// <ql-linear>: the linear quantization lesson (MIT 6.5940 lecture 5, section 5.8) as an
// embeddable custom element. Every number on it comes from the quantlab wasm core (on the
// page: these calls take microseconds); this file only formats.
// State (attributes, URL with `sync-url`; web/src/lesson.mjs): bits, symmetric, signed,
// method, percentile, size and the matrix w.
import { define, Lesson } from '../src/lesson.mjs';
import { linePlot, uplotCss } from '../src/plot.mjs';
import { LECTURE_W } from '../src/lecture.mjs';
import { quantlab } from '../src/runtime.mjs';
import { rng } from '../src/state.mjs';
import { cards, controls, fixed, STATUS_HTML, tableHtml } from '../src/ui.mjs';

export { LECTURE_W };

const METHODS = {
  minmax: { label: 'min-max', stroke: '#444' },
  percentile: { label: 'percentile', stroke: '#8a5a00' },
  mse: { label: 'MSE-optimal', stroke: '#1f5fa8' },
  kl: { label: 'KL (entropy)', stroke: '#7b3fa6' },
};

const SCHEMA = {
  bits: { type: 'int', default: 2, label: 'bits', options: [2, 3, 4, 5, 6, 7, 8] },
  symmetric: {
    type: 'bool', default: false, label: 'mapping', id: 'mode',
    values: ['asymmetric', 'symmetric'], labels: ['asymmetric', 'symmetric (Z = 0)'],
  },
  signed: { type: 'bool', default: true, label: 'integers', id: 'signedness', values: ['unsigned', 'signed'], labels: ['unsigned', 'signed'] },
  method: { type: 'enum', default: 'minmax', label: 'clipping range', options: Object.fromEntries(Object.entries(METHODS).map(([k, m]) => [k, m.label])) },
  percentile: { type: 'number', default: 99, label: 'percentile', min: 50.1, max: 100, step: 0.1, enabled: (s) => s.method === 'percentile' },
  size: { type: 'int', default: 4, label: 'matrix', options: [4, 8], labels: ['4×4', '8×8'] },
  w: { type: 'numbers', default: LECTURE_W },
};

const fmt = (v, digits = 4) => (Number.isInteger(v) && Math.abs(v) < 1e6 ? String(v) : fixed(v, digits));
const sci = (v) => (v === 0 ? '0' : v.toExponential(3));

function generate(kind, size, seed) {
  const u = rng(seed);
  const n = size * size;
  const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const round2 = (v) => Math.round(v * 100) / 100;
  switch (kind) {
    case 'uniform': return Array.from({ length: n }, () => round2(u() * 4 - 2));
    case 'normal': return Array.from({ length: n }, () => round2(normal()));
    case 'outliers': {
      const w = Array.from({ length: n }, () => round2(0.5 * normal()));
      const k = Math.max(1, Math.round(n / 16));
      for (let i = 0; i < k; ++i) w[Math.floor(u() * n)] = round2((u() < 0.5 ? -1 : 1) * (4 + 4 * u()));
      return w;
    }
    default: return LECTURE_W.slice();
  }
}

const TEMPLATE = `
<link rel="stylesheet" href="${uplotCss}">
<h2>Linear quantization: r = S (q − Z)</h2>
<p class="lead">An affine map between real numbers r and integers q. The scale S and zero point Z come
from the real range [r<sub>min</sub>, r<sub>max</sub>] and the integer range [q<sub>min</sub>, q<sub>max</sub>]:
S = (r<sub>max</sub> − r<sub>min</sub>) / (q<sub>max</sub> − q<sub>min</sub>), Z = round(q<sub>min</sub> − r<sub>min</sub> / S).
Edit the weights, change the bit width, and watch the round error and the clip error trade off.</p>
<div class="controls">
  ${controls(SCHEMA, ['bits', 'symmetric', 'signed', 'method', 'percentile'])}
  <span>generate:
    <button data-gen="lecture" data-testid="gen-lecture">lecture example</button>
    <button data-gen="uniform" data-testid="gen-uniform">random</button>
    <button data-gen="normal" data-testid="gen-normal">normal</button>
    <button data-gen="outliers" data-testid="gen-outliers">outliers</button>
  </span>
  ${controls(SCHEMA, ['size'])}
</div>
${STATUS_HTML}
<div class="matrices">
  <figure><figcaption>Weights r <small>(editable, fp32)</small></figcaption>
    <table data-testid="r-matrix"></table></figure>
  <figure><figcaption>Quantized q <small data-testid="q-caption"></small></figcaption>
    <table data-testid="q-matrix"></table></figure>
  <figure><figcaption>Reconstruction S (q − Z)</figcaption>
    <table data-testid="rec-matrix"></table></figure>
  <figure><figcaption>Error r − S (q − Z)</figcaption>
    <table data-testid="err-matrix"></table></figure>
</div>
${cards([['r-min', 'r<sub>min</sub> (clip)'], ['r-max', 'r<sub>max</sub> (clip)'], ['q-range', 'q<sub>min</sub>, q<sub>max</sub>'],
  ['scale', 'scale S'], ['zero-point', 'zero point Z'], ['mse', 'MSE: round + clip']])}
<div class="formula" data-testid="formula"></div>
<figure>
  <figcaption>Round error, clip error and their sum against the clipping range
    <small>(ranges a·[r<sub>min</sub>, r<sub>max</sub>] of the data; dashed: each calibration method's choice.
    An element counts as clipped when it lies more than S/2 beyond the grid's last level, so round
    error is always at most S/2 per element.)</small></figcaption>
  <div class="scroll" data-testid="plot" role="img" aria-label="round, clip and total error against the clipping range; the summary and the table below give the numbers"></div>
  <p class="note" data-testid="plot-summary"></p>
  <div class="scroll" tabindex="0" role="region" aria-label="calibration methods"><table class="methods" data-testid="methods"></table></div>
  <p class="note" data-testid="methods-note"></p>
</figure>
`;

export class QlLinear extends Lesson {
  static schema = SCHEMA;
  static template = TEMPLATE;
  static live = true;
  static css = `
  .matrices { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 19rem), 1fr)); gap: 1rem; }
  figure { margin: 0; min-width: 0; overflow-x: auto; }
  figcaption { font-weight: 600; margin-bottom: .3rem; }
  figcaption small { font-weight: 400; color: #555; }
  table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
  td { border: 1px solid #ccd; padding: 0; text-align: right; min-width: 3.2em; height: 1.9em; }
  td span { display: block; padding: 0 .35em; }
  td input { width: 4.2em; border: 0; font: inherit; text-align: right; padding: .2em .3em;
    background: transparent; }
  td input:focus { outline: 2px solid #4a7; }
  td.bad input { background: #fdd; }
  .small td { min-width: 2.4em; font-size: 12px; }
  .small td input { width: 3.4em; font-size: 12px; }
  .formula { font-family: ui-monospace, monospace; background: #fbfbf3; border-left: 3px solid #cc9;
    padding: .5rem .8rem; margin: .5rem 0 1rem; white-space: pre-wrap; overflow-wrap: anywhere; }
  .methods { font-size: .9em; color: #333; }
  .methods td, .methods th { border: 1px solid #dde; padding: .15rem .5rem; }
  .methods th { background: #f4f6f8; }`;

  #ql = null;

  async prepare() {
    this.#ql = await quantlab();
  }

  setup() {
    this.$$('[data-gen]').forEach((b) => b.addEventListener('click', () => {
      const kind = b.dataset.gen;
      const n = kind === 'lecture' ? 4 : this.state.size;
      this.state = { size: n, w: generate(kind, n, (Math.random() * 2 ** 31) >>> 0) };
    }));
  }

  // A new size comes with a new matrix.
  fromControl(name, value) {
    return name === 'size' ? { size: value, w: generate('normal', value, Date.now() & 0xffff) } : undefined;
  }

  // A matrix from the URL or an attribute that does not match the size.
  coerce(s) {
    if (s.w.length !== s.size ** 2) {
      s.size = Math.round(Math.sqrt(s.w.length)) === 8 ? 8 : 4;
      if (s.w.length !== s.size ** 2) s.w = LECTURE_W.slice();
    }
    return s;
  }

  /** One compute call: every number of the lesson, from the core. */
  compute(s) {
    const ql = this.#ql;
    const spec = { bits: s.bits, signed: s.signed, symmetric: s.symmetric };
    const w = Float32Array.from(s.w);
    const range = ql.calibrate(w, spec, { method: s.method, percentile: s.percentile });
    const p = ql.paramsFromRange(range.rMin, range.rMax, spec);
    const q = ql.quantize(w, p);
    const rec = ql.dequantize(q, p);
    const methods = Object.keys(METHODS).map((key) => {
      const r = ql.calibrate(w, spec, { method: key, percentile: s.percentile });
      const pm = ql.paramsFromRange(r.rMin, r.rMax, spec);
      return { key, range: r, error: ql.quantizationError(w, pm) };
    });
    return {
      range, p, q, rec,
      errors: Array.from(w, (v, i) => v - rec[i]),
      error: ql.quantizationError(w, p),
      sweep: ql.errorSweep(w, spec, 120),
      methods,
    };
  }

  #matrix(table, n, values, { editable = false, format = fmt, color = null } = {}) {
    if (editable && table.querySelectorAll('input').length === n * n) {
      // Update in place: rebuilding would remove the input whose change event is firing.
      table.querySelectorAll('input').forEach((input, k) => {
        if (Number(input.value) !== values[k] || input.value.trim() === '') input.value = String(values[k]);
      });
      return;
    }
    table.classList.toggle('small', n > 4);
    const rows = [];
    for (let i = 0; i < n && values; ++i) {
      const cells = [];
      for (let j = 0; j < n; ++j) {
        const k = i * n + j;
        const v = values[k];
        const style = color ? ` data-css="background:${color(v)}"` : '';
        cells.push(editable
          ? `<td><input data-k="${k}" value="${v}" inputmode="decimal" aria-label="w${i}${j}"></td>`
          : `<td${style}><span>${format(v)}</span></td>`);
      }
      rows.push(`<tr>${cells.join('')}</tr>`);
    }
    table.innerHTML = rows.join('');
    if (editable) {
      table.querySelectorAll('input').forEach((input) => input.addEventListener('change', () => {
        const w = this.state.w;
        w[Number(input.dataset.k)] = input.value.trim() === '' ? NaN : Number(input.value);
        this.state = { w };
      }));
    }
  }

  render(s, r) {
    const n = s.size;
    this.#matrix(this.$('[data-testid=r-matrix]'), n, s.w, { editable: true });
    this.$$('[data-testid=r-matrix] td').forEach((td, k) => td.classList.toggle('bad', !Number.isFinite(s.w[k])));
    const set = (id, text) => { this.$(`[data-testid=${id}]`).textContent = text; };
    this.#matrix(this.$('[data-testid=q-matrix]'), n, r && Array.from(r.q), { format: String });
    this.#matrix(this.$('[data-testid=rec-matrix]'), n, r && Array.from(r.rec), { format: (v) => fmt(v, 2) });
    const maxErr = r ? Math.max(...r.errors.map(Math.abs), 1e-12) : 1;
    this.#matrix(this.$('[data-testid=err-matrix]'), n, r?.errors, {
      format: (v) => fmt(v, 2),
      color: (v) => `rgba(${v > 0 ? '214,39,40' : '31,119,180'},${(0.6 * Math.abs(v) / maxErr).toFixed(3)})`,
    });
    if (!r) {
      for (const id of ['q-caption', 'r-min', 'r-max', 'q-range', 'scale', 'zero-point', 'mse', 'formula', 'plot-summary', 'methods-note']) set(id, '');
      this.$('[data-testid=methods]').innerHTML = '';
      this.dropPlot('main');
      return;
    }
    const { range, p } = r;
    set('q-caption', `(${s.signed ? 'int' : 'uint'}${s.bits} in [${p.qMin}, ${p.qMax}])`);
    set('r-min', fmt(range.rMin, 4));
    set('r-max', fmt(range.rMax, 4));
    set('q-range', `[${p.qMin}, ${p.qMax}]`);
    set('scale', fixed(p.scale));
    set('zero-point', String(p.zeroPoint));
    set('mse', `${sci(r.error.roundMse)} + ${sci(r.error.clipMse)}`);
    set('formula', s.symmetric
      ? `S = max|r| / (q_max − Z) = ${fmt(Math.max(-range.rMin, range.rMax))} / ${p.qMax - p.zeroPoint} = ${fixed(p.scale)}\n` +
        `Z = ${p.zeroPoint} (symmetric: the middle of the integer range)`
      : `S = (r_max − r_min) / (q_max − q_min) = (${fmt(range.rMax)} − (${fmt(range.rMin)})) / (${p.qMax} − (${p.qMin})) = ${fixed(p.scale)}\n` +
        `Z = round(q_min − r_min / S) = round(${p.qMin} − (${fmt(range.rMin)} / ${fixed(p.scale)})) = ${p.zeroPoint}`);
    this.#renderPlot(s, r);
  }

  #renderPlot(s, r) {
    const { sweep } = r;
    const width = Array.from(sweep.clipMax, (hi, i) => hi - sweep.clipMin[i]);
    const positive = (a) => Array.from(a, (v) => (v > 0 ? v : null));
    this.$('[data-testid=methods]').innerHTML = tableHtml(['method', 'clipping range', 'round MSE', 'clip MSE', 'total MSE'],
      r.methods.map(({ key, range, error: e }) => `<tr${key === s.method ? ' data-css="font-weight:600"' : ''}><td>${METHODS[key].label}</td>` +
        `<td>[${fmt(range.rMin, 3)}, ${fmt(range.rMax, 3)}]</td><td>${sci(e.roundMse)}</td><td>${sci(e.clipMse)}</td>` +
        `<td>${sci(e.totalMse)}</td></tr>`));
    // A method that did not keep its own range says so (KL's guard).
    this.$('[data-testid=methods-note]').textContent = r.methods.filter(({ range }) => range.note)
      .map(({ key, range }) => `${METHODS[key].label}: ${range.note}.`).join(' ');
    const markers = r.methods.map(({ key, range }) => ({ label: METHODS[key].label, x: range.rMax - range.rMin, stroke: METHODS[key].stroke }));
    const plot = this.plot('main', (w) => linePlot(this.$('[data-testid=plot]'), {
      xLabel: 'clipping range width r_max − r_min',
      yLabel: 'MSE (log)',
      width: w,
      logY: true,
    }));
    // The total first, wide and grey: where the clip error dominates, the two coincide, and
    // the clip curve drawn on top stays visible inside it.
    plot.update(width, [
      { label: 'total', stroke: '#9e9e9e', width: 6, values: positive(sweep.totalMse) },
      { label: 'round error', stroke: '#2e7d32', values: positive(sweep.roundMse) },
      { label: 'clip error', stroke: '#c62828', values: positive(sweep.clipMse) },
    ], markers);
    // The plot's text alternative: where the total is smallest, and each method's choice (the table).
    let best = 0;
    sweep.totalMse.forEach((v, i) => { if (v < sweep.totalMse[best]) best = i; });
    this.$('[data-testid=plot-summary]').textContent = `Smallest total error ${sci(sweep.totalMse[best])} at a clipping range ` +
      `width of ${fmt(width[best], 3)} (round ${sci(sweep.roundMse[best])}, clip ${sci(sweep.clipMse[best])}); ` +
      `narrower ranges clip more, wider ones round more coarsely.`;
  }
}

define('ql-linear', QlLinear);
