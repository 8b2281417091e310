// <ql-linear>: the linear quantization lesson (MIT 6.5940 lecture 5, section 5.8) as an
// embeddable custom element. Every number on it comes from the quantlab wasm core; this
// file only formats. Attributes set the initial state (bits, symmetric, signed, method);
// with `sync-url` the state is mirrored in the page's URL hash.
import { QuantlabError } from 'quantlab';

import { linePlot, uplotCss } from '../src/plot.mjs';
import { quantlab } from '../src/runtime.mjs';
import { readHash, rng, writeHash } from '../src/state.mjs';

// The lecture's 4x4 weight matrix.
export const LECTURE_W = [2.09, -0.98, 1.48, 0.09, 0.05, -0.14, -1.08, 2.12, -0.91, 1.92, 0, -1.03,
  1.87, 0, 1.53, 1.49];

const DEFAULTS = {
  bits: 2,
  symmetric: false,
  signed: true,
  method: 'minmax',
  percentile: 99,
  size: 4,
  w: LECTURE_W,
};

const METHODS = {
  minmax: { label: 'min-max', stroke: '#444' },
  percentile: { label: 'percentile', stroke: '#b8860b' },
  mse: { label: 'MSE-optimal', stroke: '#1f77b4' },
  kl: { label: 'KL (entropy)', stroke: '#9467bd' },
};

const fmt = (v, digits = 4) => (Number.isInteger(v) ? String(v) : v.toFixed(digits));
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
<style>
  :host { display: block; font: 15px/1.45 system-ui, sans-serif; color: #1b1b1b; }
  h2 { margin: 0 0 .25rem; font-size: 1.3rem; }
  p.lead { margin: 0 0 1rem; color: #444; max-width: 60rem; }
  .controls { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; align-items: center;
    padding: .6rem .8rem; background: #f4f6f8; border-radius: 8px; margin-bottom: 1rem; }
  .controls label { display: inline-flex; gap: .4rem; align-items: center; }
  .controls button { font: inherit; padding: .2rem .6rem; border: 1px solid #aab; border-radius: 5px;
    background: white; cursor: pointer; }
  .controls button:hover { background: #eef; }
  select, input[type=number] { font: inherit; }
  .matrices { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 1rem; }
  figure { margin: 0; }
  figcaption { font-weight: 600; margin-bottom: .3rem; }
  figcaption small { font-weight: 400; color: #666; }
  table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
  td { border: 1px solid #ccd; padding: 0; text-align: right; min-width: 3.2em; height: 1.9em; }
  td span { display: block; padding: 0 .35em; }
  td input { width: 4.2em; border: 0; font: inherit; text-align: right; padding: .2em .3em;
    background: transparent; }
  td input:focus { outline: 2px solid #4a7; }
  td.bad input { background: #fdd; }
  .small td { min-width: 2.4em; font-size: 12px; }
  .small td input { width: 3.4em; font-size: 12px; }
  .params { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: .5rem;
    margin: 1rem 0; }
  .param { background: #f8f8fb; border: 1px solid #e2e2ea; border-radius: 6px; padding: .35rem .6rem; }
  .param .name { color: #555; font-size: .85em; }
  .param .value { font-size: 1.25em; font-variant-numeric: tabular-nums; }
  .formula { font-family: ui-monospace, monospace; background: #fbfbf3; border-left: 3px solid #cc9;
    padding: .5rem .8rem; margin: .5rem 0 1rem; white-space: pre-wrap; }
  .error { color: #a00; background: #fee; border: 1px solid #e99; border-radius: 6px; padding: .4rem .7rem;
    margin: .5rem 0; }
  .error:empty { display: none; }
  .plot-wrap { overflow-x: auto; }
  .methods { font-size: .9em; color: #333; }
  .methods td, .methods th { border: 1px solid #dde; padding: .15rem .5rem; }
  .methods th { background: #f4f6f8; }
</style>
<link rel="stylesheet" href="${uplotCss}">
<h2>Linear quantization: r = S (q − Z)</h2>
<p class="lead">An affine map between real numbers r and integers q. The scale S and zero point Z come
from the real range [r<sub>min</sub>, r<sub>max</sub>] and the integer range [q<sub>min</sub>, q<sub>max</sub>]:
S = (r<sub>max</sub> − r<sub>min</sub>) / (q<sub>max</sub> − q<sub>min</sub>), Z = round(q<sub>min</sub> − r<sub>min</sub> / S).
Edit the weights, change the bit width, and watch the round error and the clip error trade off.</p>
<div class="controls">
  <label>bits <select data-testid="bits" name="bits">
    ${[2, 3, 4, 5, 6, 7, 8].map((b) => `<option value="${b}">${b}</option>`).join('')}
  </select></label>
  <label>mapping <select data-testid="mode" name="mode">
    <option value="asymmetric">asymmetric</option><option value="symmetric">symmetric (Z = 0)</option>
  </select></label>
  <label>integers <select data-testid="signedness" name="signedness">
    <option value="signed">signed</option><option value="unsigned">unsigned</option>
  </select></label>
  <label>clipping range <select data-testid="method" name="method">
    ${Object.entries(METHODS).map(([k, m]) => `<option value="${k}">${m.label}</option>`).join('')}
  </select></label>
  <label>percentile <input data-testid="percentile" name="percentile" type="number" min="50.1" max="100"
    step="0.1" style="width:5em"></label>
  <span>matrix:
    <button data-gen="lecture" data-testid="gen-lecture">lecture example</button>
    <button data-gen="uniform" data-testid="gen-uniform">random</button>
    <button data-gen="normal" data-testid="gen-normal">normal</button>
    <button data-gen="outliers" data-testid="gen-outliers">outliers</button>
    <select data-testid="size" name="size"><option value="4">4×4</option><option value="8">8×8</option></select>
  </span>
</div>
<div class="error" data-testid="error" role="alert"></div>
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
<div class="params">
  <div class="param"><div class="name">r<sub>min</sub> (clip)</div><div class="value" data-testid="r-min"></div></div>
  <div class="param"><div class="name">r<sub>max</sub> (clip)</div><div class="value" data-testid="r-max"></div></div>
  <div class="param"><div class="name">q<sub>min</sub>, q<sub>max</sub></div><div class="value" data-testid="q-range"></div></div>
  <div class="param"><div class="name">scale S</div><div class="value" data-testid="scale"></div></div>
  <div class="param"><div class="name">zero point Z</div><div class="value" data-testid="zero-point"></div></div>
  <div class="param"><div class="name">MSE: round + clip</div><div class="value" data-testid="mse"></div></div>
</div>
<div class="formula" data-testid="formula"></div>
<figure>
  <figcaption>Round error, clip error and their sum against the clipping range
    <small>(ranges a·[r<sub>min</sub>, r<sub>max</sub>] of the data; dashed: each calibration method's choice.
    An element counts as clipped when it lies more than S/2 beyond the grid's last level, so round
    error is always at most S/2 per element.)</small></figcaption>
  <div class="plot-wrap" data-testid="plot"></div>
  <table class="methods" data-testid="methods"></table>
</figure>
`;

export class QlLinear extends HTMLElement {
  #root;
  #state;
  #plot = null;
  #ql = null;

  connectedCallback() {
    if (this.#root) return;
    this.#root = this.attachShadow({ mode: 'open' });
    this.#root.innerHTML = TEMPLATE;
    const fromAttrs = {
      ...DEFAULTS,
      bits: Number(this.getAttribute('bits') ?? DEFAULTS.bits),
      symmetric: this.hasAttribute('symmetric'),
      signed: this.getAttribute('signed') !== 'false',
      method: this.getAttribute('method') ?? DEFAULTS.method,
    };
    this.#state = this.hasAttribute('sync-url') ? readHash(fromAttrs) : fromAttrs;
    if (this.#state.w.length !== this.#state.size ** 2) {
      this.#state.size = Math.round(Math.sqrt(this.#state.w.length)) === 8 ? 8 : 4;
      if (this.#state.w.length !== this.#state.size ** 2) this.#state.w = LECTURE_W.slice();
    }
    this.#bindControls();
    quantlab().then((ql) => {
      this.#ql = ql;
      this.#render();
      this.dataset.ready = 'true';
      this.dispatchEvent(new CustomEvent('ql-ready'));
    }, (e) => this.#showError(`Could not load the quantlab module: ${e.message}`));
  }

  disconnectedCallback() {
    this.#plot?.destroy();
    this.#plot = null;
  }

  #$(sel) {
    return this.#root.querySelector(sel);
  }

  #bindControls() {
    const s = this.#state;
    const bits = this.#$('[name=bits]');
    const mode = this.#$('[name=mode]');
    const signedness = this.#$('[name=signedness]');
    const method = this.#$('[name=method]');
    const percentile = this.#$('[name=percentile]');
    const size = this.#$('[name=size]');
    bits.value = String(s.bits);
    mode.value = s.symmetric ? 'symmetric' : 'asymmetric';
    signedness.value = s.signed ? 'signed' : 'unsigned';
    method.value = s.method;
    percentile.value = String(s.percentile);
    size.value = String(s.size);
    bits.addEventListener('change', () => this.#update({ bits: Number(bits.value) }));
    mode.addEventListener('change', () => this.#update({ symmetric: mode.value === 'symmetric' }));
    signedness.addEventListener('change', () => this.#update({ signed: signedness.value === 'signed' }));
    method.addEventListener('change', () => this.#update({ method: method.value }));
    percentile.addEventListener('change', () => this.#update({ percentile: Number(percentile.value) }));
    size.addEventListener('change', () => {
      const n = Number(size.value);
      this.#update({ size: n, w: generate('normal', n, Date.now() & 0xffff) });
    });
    this.#root.querySelectorAll('[data-gen]').forEach((b) => b.addEventListener('click', () => {
      const kind = b.dataset.gen;
      const n = kind === 'lecture' ? 4 : this.#state.size;
      size.value = String(n);
      this.#update({ size: n, w: generate(kind, n, (Math.random() * 2 ** 31) >>> 0) });
    }));
  }

  /** Set part of the state (also the public API for course pages). */
  #update(patch) {
    Object.assign(this.#state, patch);
    if (this.hasAttribute('sync-url')) writeHash(this.#state, DEFAULTS);
    this.#render();
  }

  get state() {
    return structuredClone(this.#state);
  }

  set state(patch) {
    this.#update(patch);
  }

  #showError(message) {
    this.#$('[data-testid=error]').textContent = message;
  }

  #matrix(table, values, { editable = false, format = fmt, color = null } = {}) {
    const n = this.#state.size;
    if (editable && table.querySelectorAll('input').length === n * n) {
      // Update in place: rebuilding would remove the input whose change event is firing.
      table.querySelectorAll('input').forEach((input, k) => {
        if (Number(input.value) !== values[k] || input.value.trim() === '') input.value = String(values[k]);
      });
      return;
    }
    table.classList.toggle('small', n > 4);
    const rows = [];
    for (let i = 0; i < n; ++i) {
      const cells = [];
      for (let j = 0; j < n; ++j) {
        const k = i * n + j;
        const v = values[k];
        const style = color ? ` style="background:${color(v)}"` : '';
        cells.push(editable
          ? `<td><input data-k="${k}" value="${v}" inputmode="decimal" aria-label="w${i}${j}"></td>`
          : `<td${style}><span>${format(v)}</span></td>`);
      }
      rows.push(`<tr>${cells.join('')}</tr>`);
    }
    table.innerHTML = rows.join('');
    if (editable) {
      table.querySelectorAll('input').forEach((input) => input.addEventListener('change', () => {
        const k = Number(input.dataset.k);
        const w = this.#state.w.slice();
        w[k] = input.value.trim() === '' ? NaN : Number(input.value);
        this.#update({ w });
      }));
    }
  }

  #render() {
    const ql = this.#ql;
    if (!ql) return;
    const s = this.#state;
    const spec = { bits: s.bits, signed: s.signed, symmetric: s.symmetric };
    this.#matrix(this.#$('[data-testid=r-matrix]'), s.w, { editable: true });
    this.#root.querySelectorAll('[data-testid=r-matrix] td').forEach((td, k) => {
      td.classList.toggle('bad', !Number.isFinite(s.w[k]));
    });
    try {
      const w = Float32Array.from(s.w);
      const options = { method: s.method, percentile: s.percentile };
      const range = ql.calibrate(w, spec, options);
      const p = ql.paramsFromRange(range.rMin, range.rMax, spec);
      const q = ql.quantize(w, p);
      const rec = ql.dequantize(q, p);
      const err = ql.quantizationError(w, p);
      const errors = Array.from(w, (v, i) => v - rec[i]);
      this.#showError('');
      this.#matrix(this.#$('[data-testid=q-matrix]'), Array.from(q), { format: String });
      this.#$('[data-testid=q-caption]').textContent = `(${s.signed ? 'int' : 'uint'}${s.bits} in [${p.qMin}, ${p.qMax}])`;
      this.#matrix(this.#$('[data-testid=rec-matrix]'), Array.from(rec), { format: (v) => fmt(v, 2) });
      const maxErr = Math.max(...errors.map(Math.abs), 1e-12);
      this.#matrix(this.#$('[data-testid=err-matrix]'), errors, {
        format: (v) => fmt(v, 2),
        color: (v) => `rgba(${v > 0 ? '214,39,40' : '31,119,180'},${(0.6 * Math.abs(v) / maxErr).toFixed(3)})`,
      });
      this.#$('[data-testid=r-min]').textContent = fmt(range.rMin, 4);
      this.#$('[data-testid=r-max]').textContent = fmt(range.rMax, 4);
      this.#$('[data-testid=q-range]').textContent = `[${p.qMin}, ${p.qMax}]`;
      this.#$('[data-testid=scale]').textContent = p.scale.toFixed(4);
      this.#$('[data-testid=zero-point]').textContent = String(p.zeroPoint);
      this.#$('[data-testid=mse]').textContent = `${sci(err.roundMse)} + ${sci(err.clipMse)}`;
      this.#$('[data-testid=formula]').textContent = s.symmetric
        ? `S = max|r| / (q_max − Z) = ${fmt(Math.max(-range.rMin, range.rMax))} / ${p.qMax - p.zeroPoint} = ${p.scale.toFixed(4)}\n` +
          `Z = ${p.zeroPoint} (symmetric: the middle of the integer range)`
        : `S = (r_max − r_min) / (q_max − q_min) = (${fmt(range.rMax)} − (${fmt(range.rMin)})) / (${p.qMax} − (${p.qMin})) = ${p.scale.toFixed(4)}\n` +
          `Z = round(q_min − r_min / S) = round(${p.qMin} − (${fmt(range.rMin)} / ${p.scale.toFixed(4)})) = ${p.zeroPoint}`;
      this.#renderPlot(w, spec);
    } catch (e) {
      if (!(e instanceof QuantlabError)) throw e;
      this.#showError(`${e.code}: ${e.message}`);
    }
  }

  #renderPlot(w, spec) {
    const ql = this.#ql;
    const s = this.#state;
    const sweep = ql.errorSweep(w, spec, 120);
    const width = Array.from(sweep.clipMax, (hi, i) => hi - sweep.clipMin[i]);
    const positive = (a) => Array.from(a, (v) => (v > 0 ? v : null));
    const rows = [];
    const markers = Object.entries(METHODS).map(([key, m]) => {
      const r = ql.calibrate(w, spec, { method: key, percentile: s.percentile });
      const p = ql.paramsFromRange(r.rMin, r.rMax, spec);
      const e = ql.quantizationError(w, p);
      rows.push(`<tr${key === s.method ? ' style="font-weight:600"' : ''}><td>${m.label}</td>` +
        `<td>[${fmt(r.rMin, 3)}, ${fmt(r.rMax, 3)}]</td><td>${sci(e.roundMse)}</td><td>${sci(e.clipMse)}</td>` +
        `<td>${sci(e.totalMse)}</td></tr>`);
      return { label: m.label, x: r.rMax - r.rMin, stroke: m.stroke };
    });
    this.#$('[data-testid=methods]').innerHTML =
      '<tr><th>method</th><th>clipping range</th><th>round MSE</th><th>clip MSE</th><th>total MSE</th></tr>' +
      rows.join('');
    const target = this.#$('[data-testid=plot]');
    this.#plot ??= linePlot(target, {
      xLabel: 'clipping range width r_max − r_min',
      yLabel: 'MSE (log)',
      width: Math.max(360, Math.min(760, this.clientWidth || 640)),
      logY: true,
    });
    this.#plot.update(width, [
      { label: 'round error', stroke: '#2ca02c', values: positive(sweep.roundMse) },
      { label: 'clip error', stroke: '#d62728', values: positive(sweep.clipMse) },
      { label: 'total', stroke: '#111', values: positive(sweep.totalMse) },
    ], markers);
  }
}

customElements.define('ql-linear', QlLinear);
