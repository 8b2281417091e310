// <ql-models>: load a demo ONNX model, list its layers, run fp32 inference on the bundled
// 2,000 Fashion-MNIST test images, quantize it to int8 after training (calibration method of
// choice), and compare: accuracy, agreement, the per-layer report (S, Z, M0, shift, SQNR),
// a few images with both predictions, and the exported int8 ONNX file. All of it runs in
// the playground's Web Worker on the quantlab core; this file only formats.
// Attributes (initial state): model (lenet300 | lenet5 | cnn_bn), count (test images),
// method (minmax | percentile | mse | kl), calibration (training images), percentile,
// requant (fp32 | fixed-point),
// autorun (run fp32 at once); with `sync-url` the state is mirrored in the URL hash.
import { call } from '../src/client.mjs';
import { readHash, writeHash } from '../src/state.mjs';
import { bytes, drawDigit, esc, int, LESSON_CSS, pct, PROGRESS_HTML, progressBar, setDownload, shape } from '../src/ui.mjs';

const MODELS_JSON = new URL('../models/models.json', import.meta.url);

const DEFAULTS = {
  model: 'lenet5',
  count: 2000,
  method: 'minmax',
  calibration: 256,
  percentile: 99.99,
  requant: 'fp32',
};

const METHODS = { minmax: 'min-max', percentile: 'percentile', mse: 'MSE-optimal', kl: 'KL (entropy)' };
const SAMPLE_COUNT = 12;

const TEMPLATE = `
<style>${LESSON_CSS}
  .samples { display: flex; flex-wrap: wrap; gap: .6rem; }
  .sample { text-align: center; font-size: .78em; width: 84px; }
  .sample canvas { border: 1px solid #ccd; image-rendering: pixelated; width: 56px; height: 56px; }
  .sample .wrong { color: #b00; font-weight: 600; }
  .sample.disagree { outline: 2px solid #e6a100; border-radius: 4px; }
</style>
<h2>Models: fp32 and int8 inference in your browser</h2>
<p class="lead">A small network trained on Fashion-MNIST, loaded from its ONNX file. Run it in fp32 on 2,000
test images, then quantize it after training: calibrate every activation's range on a few training
images, store weights as int8 (symmetric, per output channel) and run integer-only kernels with
requantization q<sub>Y</sub> = M (q<sub>W</sub> q<sub>X</sub> + q<sub>b</sub>) + Z<sub>Y</sub>,
M = S<sub>W</sub> S<sub>X</sub> / S<sub>Y</sub> = M<sub>0</sub> 2<sup>shift − 31</sup>.</p>
<div class="controls">
  <label>model <select name="model" data-testid="model">
    <option value="lenet300">LeNet-300-100</option><option value="lenet5">LeNet-5</option>
    <option value="cnn_bn">CNN with BatchNorm</option></select></label>
  <label>test images <select name="count" data-testid="count">
    ${[500, 1000, 2000].map((n) => `<option value="${n}">${n}</option>`).join('')}</select></label>
  <button class="primary" data-testid="run-fp32">Run fp32</button>
</div>
<div class="controls">
  <label>calibration <select name="method" data-testid="method">
    ${Object.entries(METHODS).map(([k, v]) => `<option value="${k}">${v}</option>`).join('')}</select></label>
  <label>percentile <input name="percentile" data-testid="percentile" type="number" min="50.1" max="100" step="0.01"></label>
  <label>calibration images <select name="calibration" data-testid="calibration">
    ${[64, 256, 1000].map((n) => `<option value="${n}">${n}</option>`).join('')}</select></label>
  <label>requantization <select name="requant" data-testid="requant">
    <option value="fp32">fp32 multiplier (ONNX)</option><option value="fixed-point">M0, shift (gemmlowp)</option></select></label>
  <button class="primary" data-testid="quantize">Quantize to int8</button>
</div>
${PROGRESS_HTML('progress')}
<div class="error" data-testid="error" role="alert"></div>
<div class="cards">
  <div class="card"><div class="name">ONNX file</div><div class="value" data-testid="file-bytes">–</div></div>
  <div class="card"><div class="name">parameters</div><div class="value" data-testid="parameters">–</div></div>
  <div class="card"><div class="name">fp32 accuracy <small data-testid="fp32-count"></small></div><div class="value" data-testid="fp32-accuracy">–</div></div>
  <div class="card"><div class="name">int8 accuracy</div><div class="value" data-testid="int8-accuracy">–</div></div>
  <div class="card"><div class="name">int8 = fp32 top-1</div><div class="value" data-testid="agreement">–</div></div>
  <div class="card"><div class="name">PyTorch (10,000 images)</div><div class="value" data-testid="pytorch">–</div></div>
</div>
<div class="note" data-testid="timing"></div>
<h3>Layers</h3>
<div class="scroll"><table class="data" data-testid="layers"></table></div>
<h3>Test images <small class="note">(label / fp32 / int8; orange: fp32 and int8 disagree)</small></h3>
<div class="samples" data-testid="samples"></div>
<h3>Post-training quantization report</h3>
<p class="note">Per quantized layer: input and output scale S and zero point Z, the weight scales
(per output channel), the requantization multiplier M and its fixed-point form M<sub>0</sub> (Q31)
and shift, and the SQNR of the int8 layer output against fp32 (10 log<sub>10</sub> signal / noise power).</p>
<div class="scroll"><table class="data" data-testid="report"></table></div>
<h3>The int8 graph <small class="note">(what the exported ONNX holds: QuantizeLinear, QLinearConv, ... DequantizeLinear)</small></h3>
<div class="scroll"><table class="data" data-testid="int8-layers"></table></div>
<p><a class="download" data-testid="download-qoperator" hidden>int8 ONNX (QOperator: QLinearConv, QLinearMatMul)</a>
  &nbsp; <a class="download" data-testid="download-qdq" hidden>int8 ONNX (QDQ)</a></p>
`;

export class QlModels extends HTMLElement {
  #root;
  #state;
  #busy = false;
  #progress;
  #info = null;       // models.json
  #fp32 = null;       // last fp32 result
  #int8 = null;       // last int8 result
  #ptq = false;

  connectedCallback() {
    if (this.#root) return;
    this.#root = this.attachShadow({ mode: 'open' });
    this.#root.innerHTML = TEMPLATE;
    const attr = (name, def) => (this.hasAttribute(name) ? this.getAttribute(name) : def);
    const fromAttrs = {
      model: attr('model', DEFAULTS.model),
      count: Number(attr('count', DEFAULTS.count)),
      method: attr('method', DEFAULTS.method),
      calibration: Number(attr('calibration', DEFAULTS.calibration)),
      percentile: Number(attr('percentile', DEFAULTS.percentile)),
      requant: attr('requant', DEFAULTS.requant),
    };
    this.#state = this.hasAttribute('sync-url') ? readHash(fromAttrs) : fromAttrs;
    this.#progress = progressBar(this.#$('[data-testid=progress]'));
    this.#bind();
    this.#start();
  }

  #$(sel) {
    return this.#root.querySelector(sel);
  }

  get state() {
    return structuredClone(this.#state);
  }

  #update(patch) {
    Object.assign(this.#state, patch);
    if (this.hasAttribute('sync-url')) writeHash(this.#state, DEFAULTS);
  }

  #bind() {
    const s = this.#state;
    for (const name of ['model', 'count', 'method', 'calibration', 'percentile', 'requant']) {
      const el = this.#$(`[name=${name}]`);
      el.value = String(s[name]);
      el.addEventListener('change', () => {
        const value = typeof DEFAULTS[name] === 'number' ? Number(el.value) : el.value;
        this.#update({ [name]: value });
        if (name === 'model' || name === 'count') this.#reset();
        if (name === 'model') this.#loadModel().then(() => this.#showError(null), (e) => this.#showError(e));
        this.#$('[name=percentile]').disabled = this.#state.method !== 'percentile';
      });
    }
    this.#$('[name=percentile]').disabled = s.method !== 'percentile';
    this.#$('[data-testid=run-fp32]').addEventListener('click', () => this.runFp32());
    this.#$('[data-testid=quantize]').addEventListener('click', () => this.quantize());
  }

  async #start() {
    try {
      const [info, about] = await Promise.all([fetch(MODELS_JSON).then((r) => r.json()), call('about')]);
      this.#info = info;
      this.#ptq = about.ptq;
      if (!this.#ptq) {
        this.#$('[data-testid=quantize]').disabled = true;
        this.#$('[data-testid=quantize]').title = 'this quantlab build has no post-training quantization yet';
      }
      await this.#loadModel();
      this.dataset.ready = 'true';
      this.dispatchEvent(new CustomEvent('ql-ready'));
      if (this.hasAttribute('autorun')) await this.runFp32();
    } catch (e) {
      this.#showError(e);
    }
  }

  #showError(e) {
    this.#$('[data-testid=error]').textContent = e ? `${e.code ?? 'ERROR'}: ${e.message}` : '';
  }

  #reset() {
    this.#fp32 = null;
    this.#int8 = null;
    for (const id of ['fp32-accuracy', 'int8-accuracy', 'agreement']) this.#$(`[data-testid=${id}]`).textContent = '–';
    this.#$('[data-testid=fp32-count]').textContent = '';
    this.#$('[data-testid=report]').innerHTML = '';
    this.#$('[data-testid=int8-layers]').innerHTML = '';
    this.#$('[data-testid=samples]').innerHTML = '';
    this.#$('[data-testid=timing]').textContent = '';
    this.#$('[data-testid=download-qoperator]').hidden = true;
    this.#$('[data-testid=download-qdq]').hidden = true;
    delete this.dataset.fp32;
    delete this.dataset.int8;
  }

  async #loadModel() {
    const name = this.#state.model;
    const meta = this.#info?.models.find((m) => m.name === name);
    const r = await call('modelInfo', { model: name });
    if (name !== this.#state.model) return;
    this.#$('[data-testid=file-bytes]').textContent = bytes(r.fileBytes);
    const params = r.layers.reduce((a, l) => a + l.parameters, 0);
    this.#$('[data-testid=parameters]').textContent = int(params);
    this.#$('[data-testid=pytorch]').textContent = meta
      ? `${meta.fp32_accuracy.toFixed(2)}% / ${meta.pytorch_int8_qnnpack.accuracy.toFixed(2)}%` : '–';
    this.#$('[data-testid=pytorch]').title = 'PyTorch fp32 / PyTorch int8 (qnnpack), all 10,000 test images';
    this.#renderLayers(r.layers, this.#$('[data-testid=layers]'));
  }

  #renderLayers(layers, table) {
    const rows = layers.map((l, i) => {
      const ins = l.inputs.filter((v) => v && !v.constant).map((v) => shape(v.shape)).join(', ');
      // Constant inputs by the last part of their name (int8 graphs have long generated ones).
      const weights = l.inputs.filter((v) => v && v.constant)
        .map((v) => `<span title="${esc(v.name)}">${esc(v.name.split('/').pop())}</span> ${v.dtype === 'float32' ? '' : `${v.dtype} `}${shape(v.shape)}`).join('<br>');
      const outs = l.outputs.filter(Boolean).map((v) => shape(v.shape)).join(', ');
      const flag = l.fused ? 'fused into the previous kernel' : l.folded ? 'folded at load' : '';
      return `<tr${l.fused || l.folded ? ' class="dim"' : ''}><td>${i}</td><td class="l">${esc(l.name)}</td>` +
        `<td class="l">${esc(l.opType)}</td><td class="l">${ins}</td><td class="l">${outs}</td>` +
        `<td class="l">${weights}</td><td>${int(l.parameters)}</td><td>${int(l.bytes)}</td><td class="l">${flag}</td></tr>`;
    });
    const total = layers.reduce((a, l) => [a[0] + l.parameters, a[1] + l.bytes], [0, 0]);
    table.innerHTML = '<tr><th>#</th><th class="l">name</th><th class="l">op</th><th class="l">input</th>' +
      '<th class="l">output</th><th class="l">weights</th><th>params</th><th>bytes</th><th class="l"></th></tr>' +
      rows.join('') + `<tr><th></th><th class="l">total</th><th></th><th></th><th></th><th></th><th>${int(total[0])}</th>` +
      `<th>${int(total[1])}</th><th></th></tr>`;
  }

  async #job(fn) {
    if (this.#busy) return;
    this.#busy = true;
    this.#root.querySelectorAll('button, select').forEach((b) => { b.disabled = true; });
    this.#showError(null);
    this.#progress.start('starting');
    try {
      await fn((fraction, message) => this.#progress.update(fraction, message));
      this.#progress.done();
    } catch (e) {
      this.#progress.done();
      this.#showError(e);
    } finally {
      this.#busy = false;
      this.#root.querySelectorAll('button, select').forEach((b) => { b.disabled = false; });
      this.#$('[name=percentile]').disabled = this.#state.method !== 'percentile';
      if (!this.#ptq) this.#$('[data-testid=quantize]').disabled = true;
    }
  }

  /** Run fp32 inference on the test images (also the page's API). */
  runFp32() {
    return this.#job(async (onProgress) => {
      const { model, count } = this.#state;
      const r = await call('runFp32', { model, count }, { onProgress });
      this.#fp32 = r;
      this.#int8 = null;
      this.#$('[data-testid=fp32-accuracy]').textContent = pct(r.accuracy);
      this.#$('[data-testid=fp32-count]').textContent = `(${r.correct} / ${r.count})`;
      this.#$('[data-testid=int8-accuracy]').textContent = '–';
      this.#$('[data-testid=agreement]').textContent = '–';
      this.#$('[data-testid=timing]').textContent = `fp32: ${r.count} images in ${r.ms.toFixed(0)} ms (in the worker).`;
      await this.#renderSamples();
      this.dataset.fp32 = r.accuracy.toFixed(2);
      this.dispatchEvent(new CustomEvent('ql-fp32', { detail: { accuracy: r.accuracy, correct: r.correct, count: r.count } }));
    });
  }

  /** Post-training int8 quantization with the chosen calibration, then int8 inference. */
  quantize() {
    return this.#job(async (onProgress) => {
      const { model, count, method, calibration, percentile, requant } = this.#state;
      const r = await call('quantize', {
        model, count, calibration, options: { method, percentile, requantMode: requant },
      }, { onProgress });
      this.#int8 = r;
      this.#fp32 = { ...r.fp32, predictions: r.fp32Predictions };
      this.#$('[data-testid=fp32-accuracy]').textContent = pct(r.fp32.accuracy);
      this.#$('[data-testid=fp32-count]').textContent = `(${r.fp32.correct} / ${r.count})`;
      this.dataset.fp32 = r.fp32.accuracy.toFixed(2);
      this.#$('[data-testid=int8-accuracy]').textContent = pct(r.accuracy);
      this.#$('[data-testid=agreement]').textContent = pct(r.agreement);
      this.#$('[data-testid=timing]').textContent =
        `quantization (${calibration} calibration images, ${METHODS[method]}): ${r.quantizeMs.toFixed(0)} ms; ` +
        `int8: ${r.count} images in ${r.ms.toFixed(0)} ms` +
        (r.foldedBatchNorms ? `; ${r.foldedBatchNorms} BatchNorm layers folded into their convolutions.` : '.');
      this.#renderReport(r.report);
      this.#renderLayers(r.layers, this.#$('[data-testid=int8-layers]'));
      await this.#renderSamples();
      const [qop, qdq] = [await call('exportInt8', { form: 'qoperator' }), await call('exportInt8', { form: 'qdq' })];
      setDownload(this.#$('[data-testid=download-qoperator]'), qop.bytes, `${model}.int8.qoperator.onnx`);
      this.#$('[data-testid=download-qoperator]').textContent = `int8 ONNX, QOperator (${bytes(qop.bytes.length)})`;
      setDownload(this.#$('[data-testid=download-qdq]'), qdq.bytes, `${model}.int8.qdq.onnx`);
      this.#$('[data-testid=download-qdq]').textContent = `int8 ONNX, QDQ (${bytes(qdq.bytes.length)})`;
      this.dataset.int8 = r.accuracy.toFixed(2);
      this.dataset.agreement = r.agreement.toFixed(2);
      this.dispatchEvent(new CustomEvent('ql-int8', { detail: { accuracy: r.accuracy, agreement: r.agreement, bytes: qop.bytes.length } }));
    });
  }

  #renderReport(report) {
    const layers = Array.isArray(report) ? report : report?.layers ?? [];
    const g = (v, d = 4) => (v == null ? '–' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(d)) : esc(v));
    const span = (a, d = 4) => {
      if (a == null) return '–';
      const list = Array.from(a);
      if (list.length === 0) return '–';
      if (list.length === 1) return g(list[0], d);
      const lo = Math.min(...list);
      const hi = Math.max(...list);
      return `${g(lo, d)} … ${g(hi, d)} <small>(${list.length})</small>`;
    };
    // Per channel in a collapsible row: M = S_W S_X / S_Y = M0 2^(shift - 31), M0 in [2^30, 2^31).
    const channels = (l) => {
      const n = l.weightScales?.length ?? 0;
      if (n <= 1) return '';
      const cells = Array.from({ length: n }, (_, c) => `<tr><td>${c}</td><td>${g(l.weightScales[c], 4)}</td>` +
        `<td>${g(l.multipliers?.[c], 6)}</td><td>${g(l.m0?.[c])}</td><td>${g(l.shift?.[c])}</td></tr>`).join('');
      return `<tr class="channels"><td colspan="11"><details><summary>${n} output channels</summary>` +
        '<table class="data"><tr><th>channel</th><th>S<sub>W</sub></th><th>M</th><th>M<sub>0</sub></th><th>shift</th></tr>' +
        `${cells}</table></details></td></tr>`;
    };
    const rows = layers.map((l) => `<tr data-layer="${esc(l.name)}"><td class="l">${esc(l.name)}</td><td class="l">${esc(l.opType ?? '')}</td>` +
      `<td>${g(l.inputScale)}</td><td>${g(l.inputZeroPoint)}</td><td>${g(l.outputScale)}</td><td>${g(l.outputZeroPoint)}</td>` +
      `<td>${span(l.weightScales, 3)}</td><td>${span(l.multipliers, 4)}</td><td>${span(l.m0, 10)}</td>` +
      `<td>${span(l.shift, 3)}</td><td>${l.sqnrDb == null ? '–' : l.sqnrDb.toFixed(1)}</td></tr>${channels(l)}`);
    this.#$('[data-testid=report]').innerHTML = '<tr><th class="l">layer</th><th class="l">op</th><th>S<sub>X</sub></th>' +
      '<th>Z<sub>X</sub></th><th>S<sub>Y</sub></th><th>Z<sub>Y</sub></th><th>S<sub>W</sub></th><th>M</th>' +
      '<th>M<sub>0</sub></th><th>shift</th><th>SQNR dB</th></tr>' + rows.join('');
  }

  async #renderSamples() {
    const fp32 = this.#fp32?.predictions ?? this.#int8?.fp32Predictions;
    if (!fp32) return;
    const int8 = this.#int8?.predictions ?? null;
    // The first images, plus (after quantization) the first ones where fp32 and int8 disagree.
    const picks = [];
    if (int8) for (let i = 0; i < int8.length && picks.length < SAMPLE_COUNT / 2; ++i) if (int8[i] !== fp32[i]) picks.push(i);
    for (let i = 0; picks.length < SAMPLE_COUNT && i < fp32.length; ++i) if (!picks.includes(i)) picks.push(i);
    picks.sort((a, b) => a - b);
    const { pixels, labels } = await call('samples', { indices: picks });
    const classes = this.#info?.dataset.classes ?? [];
    const name = (c) => esc(classes[c] ?? String(c));
    const box = this.#$('[data-testid=samples]');
    box.innerHTML = picks.map((idx, k) => {
      const label = labels[k];
      const p32 = fp32[idx];
      const p8 = int8 ? int8[idx] : null;
      const cls = int8 && p8 !== p32 ? 'sample disagree' : 'sample';
      return `<div class="${cls}" data-index="${idx}"><canvas></canvas><div>#${idx} ${name(label)}</div>` +
        `<div class="${p32 === label ? '' : 'wrong'}">fp32: ${name(p32)}</div>` +
        (int8 ? `<div class="${p8 === label ? '' : 'wrong'}">int8: ${name(p8)}</div>` : '') + '</div>';
    }).join('');
    box.querySelectorAll('canvas').forEach((c, k) => drawDigit(c, pixels, k * 784));
  }
}

customElements.define('ql-models', QlModels);
