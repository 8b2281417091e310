// <ql-models>: load a demo ONNX model, list its layers, run fp32 inference on the bundled
// 2,000 Fashion-MNIST test images, quantize it to int8 after training (calibration method of
// choice), and compare: accuracy, agreement, the per-layer report (S, Z, M0, shift, SQNR),
// a few images with both predictions, and the exported int8 ONNX file. All of it runs in
// the element's Web Worker on the quantlab core; this file only formats.
// State (attributes, URL with `sync-url`; web/src/lesson.mjs): model, count (test images),
// method (minmax | percentile | mse | kl), calibration (training images), percentile,
// requant (fp32 | fixed-point); autorun runs fp32 at once. The layer list follows the
// model (one compute call per state change); fp32 and int8 runs are on request.
import { define, Lesson } from '../src/lesson.mjs';
import { bytes, cards, controls, drawDigit, esc, int, pct, setDownload, shape, STATUS_HTML, tableHtml } from '../src/ui.mjs';

const MODELS_JSON = new URL('../models/models.json', import.meta.url);

const METHODS = { minmax: 'min-max', percentile: 'percentile', mse: 'MSE-optimal', kl: 'KL (entropy)' };
const SAMPLE_COUNT = 12;

const SCHEMA = {
  model: {
    type: 'enum', default: 'lenet5', label: 'model',
    options: { lenet300: 'LeNet-300-100', lenet5: 'LeNet-5', cnn_bn: 'CNN with BatchNorm' },
    invalid: (raw) => `unknown demo model '${raw}'`,
  },
  count: { type: 'int', default: 2000, label: 'test images', options: [500, 1000, 2000] },
  method: { type: 'enum', default: 'minmax', label: 'calibration', options: METHODS },
  percentile: {
    type: 'number', default: 99.99, label: 'percentile', min: 50.1, max: 100, step: 0.01,
    enabled: (s) => s.method === 'percentile',
  },
  calibration: { type: 'int', default: 256, label: 'calibration images', options: [64, 256, 1000] },
  requant: { type: 'enum', default: 'fp32', label: 'requantization', options: { fp32: 'fp32 multiplier (ONNX)', 'fixed-point': 'M0, shift (gemmlowp)' } },
};

const TEMPLATE = `
<h2>Models: fp32 and int8 inference in your browser</h2>
<p class="lead">A small network trained on Fashion-MNIST, loaded from its ONNX file. Run it in fp32 on 2,000
test images, then quantize it after training: calibrate every activation's range on a few training
images, store weights as int8 (symmetric, per output channel) and run integer-only kernels with
requantization q<sub>Y</sub> = M (q<sub>W</sub> q<sub>X</sub> + q<sub>b</sub>) + Z<sub>Y</sub>,
M = S<sub>W</sub> S<sub>X</sub> / S<sub>Y</sub> = M<sub>0</sub> 2<sup>shift − 31</sup>.</p>
<div class="controls">
  ${controls(SCHEMA, ['model', 'count'])}
  <button class="primary" data-testid="run-fp32">Run fp32</button>
</div>
<div class="controls">
  ${controls(SCHEMA, ['method', 'percentile', 'calibration', 'requant'])}
  <button class="primary" data-testid="quantize">Quantize to int8</button>
  <button data-testid="stop" hidden>Stop</button>
</div>
${STATUS_HTML}
${cards([['file-bytes', 'ONNX file'], ['parameters', 'parameters'],
  ['fp32-accuracy', 'fp32 accuracy <small data-testid="fp32-count"></small>'], ['int8-accuracy', 'int8 accuracy'],
  ['agreement', 'int8 = fp32 top-1'], ['pytorch', 'PyTorch (10,000 images)']])}
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

export class QlModels extends Lesson {
  static schema = SCHEMA;
  static template = TEMPLATE;
  static live = true;
  static css = `
  .samples { display: flex; flex-wrap: wrap; gap: .6rem; }
  .sample { text-align: center; font-size: .78em; width: 84px; }
  .sample canvas { border: 1px solid #ccd; image-rendering: pixelated; width: 56px; height: 56px; }
  .sample .wrong { color: #b00; font-weight: 600; }
  .sample.disagree { outline: 2px solid #e6a100; border-radius: 4px; }
  tr.channels > td { text-align: left; }
  tr.channels summary { position: sticky; left: .5rem; display: inline-block; cursor: pointer; color: #1f5fa8; }`;

  #meta = null;       // models.json
  #ptq = false;

  async prepare() {
    const [meta, about] = await Promise.all([fetch(MODELS_JSON).then((r) => r.json()), this.tasks.call('about')]);
    this.#meta = meta;
    this.#ptq = about.ptq;
    if (!this.#ptq) this.$('[data-testid=quantize]').title = 'this quantlab build has no post-training quantization yet';
  }

  setup() {
    this.$('[data-testid=run-fp32]').addEventListener('click', () => this.runFp32());
    this.$('[data-testid=quantize]').addEventListener('click', () => this.quantize());
  }

  /** The layer list follows the model: the one compute call per state change. */
  async compute({ model }, ctx) {
    return { info: await ctx.call('modelInfo', { model }) };
  }

  // What a state change leaves standing: fp32 results need the same model and images, int8
  // results the same everything.
  invalidate(changed, results) {
    if (!results || changed.includes('model')) return null;
    if (changed.includes('count')) return { info: results.info };
    return { info: results.info, fp32: results.fp32, samples: results.int8 ? null : results.samples };
  }

  run() {
    return this.runFp32();
  }

  /** Run fp32 inference on the test images (also the page's API). */
  async runFp32() {
    const ok = await this.task(async (ctx) => {
      const { model, count } = this.state;
      const fp32 = await ctx.call('runFp32', { model, count });
      return { fp32, int8: null, samples: await this.#samples(ctx, fp32.predictions, null) };
    });
    const r = this.results?.fp32;
    if (ok) this.dispatchEvent(new CustomEvent('ql-fp32', { detail: { accuracy: r.accuracy, correct: r.correct, count: r.count } }));
  }

  /** Post-training int8 quantization with the chosen calibration, then int8 inference. */
  async quantize() {
    const ok = await this.task(async (ctx) => {
      const { model, count, method, calibration, percentile, requant } = this.state;
      const r = await ctx.call('quantize', { model, count, calibration, options: { method, percentile, requantMode: requant } });
      const samples = await this.#samples(ctx, r.fp32Predictions, r.predictions);
      const qop = await ctx.call('exportInt8', { form: 'qoperator' });
      const qdq = await ctx.call('exportInt8', { form: 'qdq' });
      return {
        fp32: { ...r.fp32, count: r.count, predictions: r.fp32Predictions },
        int8: { ...r, model, method, calibration, qoperator: qop.bytes, qdq: qdq.bytes },
        samples,
      };
    });
    const r = this.results?.int8;
    if (ok) this.dispatchEvent(new CustomEvent('ql-int8', { detail: { accuracy: r.accuracy, agreement: r.agreement, bytes: r.qoperator.length } }));
  }

  render(state, results) {
    const { info = null, fp32 = null, int8 = null, samples = null } = results ?? {};
    const set = (id, text) => { this.$(`[data-testid=${id}]`).textContent = text; };
    this.$('[data-testid=quantize]').disabled = this.busy || !this.#ptq;
    const meta = this.#meta?.models.find((m) => m.name === state.model);
    set('file-bytes', info ? bytes(info.fileBytes) : '–');
    set('parameters', info ? int(info.layers.reduce((a, l) => a + l.parameters, 0)) : '–');
    set('pytorch', meta ? `${meta.fp32_accuracy.toFixed(2)}% / ${meta.pytorch_int8_qnnpack.accuracy.toFixed(2)}%` : '–');
    this.$('[data-testid=pytorch]').title = 'PyTorch fp32 / PyTorch int8 (qnnpack), all 10,000 test images';
    this.#renderLayers(info?.layers ?? null, this.$('[data-testid=layers]'));
    set('fp32-accuracy', pct(fp32?.accuracy));
    set('fp32-count', fp32 ? `(${fp32.correct} / ${fp32.count})` : '');
    set('int8-accuracy', pct(int8?.accuracy));
    set('agreement', pct(int8?.agreement));
    set('timing', int8 ? `quantization (${int8.calibration} calibration images, ${METHODS[int8.method]}): ${int8.quantizeMs.toFixed(0)} ms; ` +
      `int8: ${int8.count} images in ${int8.ms.toFixed(0)} ms` +
      (int8.foldedBatchNorms ? `; ${int8.foldedBatchNorms} BatchNorm layers folded into their convolutions.` : '.')
      : fp32?.ms != null ? `fp32: ${fp32.count} images in ${fp32.ms.toFixed(0)} ms (in the worker).` : '');
    this.#renderReport(int8?.report ?? []);
    this.#renderLayers(int8?.layers ?? null, this.$('[data-testid=int8-layers]'));
    this.#renderSamples(samples);
    for (const [form, label] of [['qoperator', 'QOperator'], ['qdq', 'QDQ']]) {
      const a = this.$(`[data-testid=download-${form}]`);
      if (!int8) {
        a.hidden = true;
        continue;
      }
      if (a.dataset.for !== String(int8.quantizeMs)) setDownload(a, int8[form], `${int8.model}.int8.${form}.onnx`);
      a.dataset.for = String(int8.quantizeMs);
      a.textContent = `int8 ONNX, ${label} (${bytes(int8[form].length)})`;
    }
    const flag = (name, v) => (v == null ? delete this.dataset[name] : (this.dataset[name] = v.toFixed(2)));
    flag('fp32', fp32?.accuracy);
    flag('int8', int8?.accuracy);
    flag('agreement', int8?.agreement);
  }

  #renderLayers(layers, table) {
    if (!layers) {
      table.innerHTML = '';
      return;
    }
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
      '<th class="l">output</th><th class="l">weights</th><th>params</th><th>bytes</th><th class="l">note</th></tr>' +
      rows.join('') + `<tr><td></td><th class="l" scope="row">total</th><td></td><td></td><td></td><td></td><th>${int(total[0])}</th>` +
      `<th>${int(total[1])}</th><td></td></tr>`;
  }

  #renderReport(report) {
    const layers = Array.isArray(report) ? report : report?.layers ?? [];
    if (layers.length === 0) {
      this.$('[data-testid=report]').innerHTML = '';
      return;
    }
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
    this.$('[data-testid=report]').innerHTML = '<tr><th class="l">layer</th><th class="l">op</th><th>S<sub>X</sub></th>' +
      '<th>Z<sub>X</sub></th><th>S<sub>Y</sub></th><th>Z<sub>Y</sub></th><th>S<sub>W</sub></th><th>M</th>' +
      '<th>M<sub>0</sub></th><th>shift</th><th>SQNR dB</th></tr>' + rows.join('');
  }

  /** The first images, plus (after quantization) the first ones where fp32 and int8 disagree. */
  async #samples(ctx, fp32, int8) {
    const picks = [];
    if (int8) for (let i = 0; i < int8.length && picks.length < SAMPLE_COUNT / 2; ++i) if (int8[i] !== fp32[i]) picks.push(i);
    for (let i = 0; picks.length < SAMPLE_COUNT && i < fp32.length; ++i) if (!picks.includes(i)) picks.push(i);
    picks.sort((a, b) => a - b);
    const { pixels, labels } = await ctx.call('samples', { indices: picks });
    return { picks, pixels, labels, fp32: picks.map((i) => fp32[i]), int8: int8 ? picks.map((i) => int8[i]) : null };
  }

  #renderSamples(s) {
    const box = this.$('[data-testid=samples]');
    if (!s) {
      box.innerHTML = '';
      return;
    }
    const classes = this.#meta?.dataset.classes ?? [];
    const name = (c) => esc(classes[c] ?? String(c));
    box.innerHTML = s.picks.map((idx, k) => {
      const label = s.labels[k];
      const p32 = s.fp32[k];
      const p8 = s.int8 ? s.int8[k] : null;
      const cls = s.int8 && p8 !== p32 ? 'sample disagree' : 'sample';
      return `<div class="${cls}" data-index="${idx}"><canvas aria-label="test image ${idx}"></canvas><div>#${idx} ${name(label)}</div>` +
        `<div class="${p32 === label ? '' : 'wrong'}">fp32: ${name(p32)}</div>` +
        (s.int8 ? `<div class="${p8 === label ? '' : 'wrong'}">int8: ${name(p8)}</div>` : '') + '</div>';
    }).join('');
    box.querySelectorAll('canvas').forEach((c, k) => drawDigit(c, s.pixels, k * 784));
  }
}

define('ql-models', QlModels);
