// <ql-models>: load a demo ONNX model (or the user's own .onnx, picked or dropped: issue 10,
// ql-models-upload.mjs), list its layers, run fp32 inference on the bundled
// 2,000 Fashion-MNIST test images (seeded random input of the user's shape for a model they
// do not fit), quantize it to int8 after training (calibration method of
// choice), and compare: accuracy, agreement, the per-layer report (S, Z, M0, shift, SQNR),
// a few images with both predictions, and the exported int8 ONNX file. All of it runs in
// the element's Web Worker on the quantlab core; this file only formats.
// State (attributes, URL with `sync-url`; web/src/lesson.mjs): model, count (test images),
// method (minmax | percentile | mse | kl), calibration (training images), percentile,
// requant (fp32 | fixed-point), bits, mixed, keep, layerBits (per layer: bits or fp32),
// dims (an uploaded model's free input dimensions);
// autorun runs fp32 at once. The layer list follows the
// model (one compute call per state change); fp32 and int8 runs are on request.
import { assetUrl } from '../src/assets.mjs';
import { define, Lesson } from '../src/lesson.mjs';
import { binned, histogramPlot, uplotCss } from '../src/plot.mjs';
import { bindDrop, ioTableHtml, showLoadError, outputsSummary, outputsTableHtml, UPLOAD_CSS, UPLOAD_HTML, UPLOAD_STATUS_HTML } from './ql-models-upload.mjs';
import { bytes, cards, controls, drawDigit, esc, int, pct, setDownload, shape, STATUS_HTML, tableHtml } from '../src/ui.mjs';

const MODELS_JSON = assetUrl('models/models.json');

const METHODS = { minmax: 'min-max', percentile: 'percentile', mse: 'MSE-optimal', kl: 'KL (entropy)' };
const SAMPLE_COUNT = 12;

const SCHEMA = {
  model: {
    type: 'enum', default: 'lenet5', label: 'model',
    options: { lenet300: 'LeNet-300-100', lenet5: 'LeNet-5', cnn_bn: 'CNN with BatchNorm', upload: 'your .onnx file' },
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
  bits: { type: 'int', default: 8, label: 'weight bits', options: [8, 6, 5, 4, 3, 2], enabled: (s) => s.mixed === 'off' },
  mixed: {
    type: 'enum', default: 'off', label: 'bits per layer',
    options: { off: 'the same for every layer', '1': 'smallest within 1 point', '0.5': 'smallest within 0.5 point' },
  },
  keep: {
    type: 'enum', default: 'none', label: 'keep in fp32',
    options: { none: 'no layer', first: 'the first layer', last: 'the last layer', both: 'first and last' },
  },
  // Per layer, by node name: weight bits ('8' ... '2') or 'fp32' (left out of quantization);
  // set from the per-layer table; a layer not listed follows `bits` and `keep`.
  layerBits: { type: 'pairs', default: {}, label: 'per-layer precision', values: ['8', '6', '5', '4', '3', '2', 'fp32'] },
  // An uploaded model's free input dimensions (dim_param or unknown), by name: sizes as text,
  // checked by the worker; a dimension not listed takes its default (the batch 1).
  dims: { type: 'pairs', default: {}, label: 'input dimensions' },
};

const LAYER_CHOICES = { '': 'as above', 8: '8 bits', 6: '6 bits', 5: '5 bits', 4: '4 bits', 3: '3 bits', 2: '2 bits', fp32: 'fp32 (not quantized)' };

const QUANTIZED_OPS = new Set(['Conv', 'Gemm', 'MatMul']);

const TEMPLATE = `
<link rel="stylesheet" href="${uplotCss}">
<h2>Models: fp32 and int8 inference in your browser</h2>
<p class="lead">A small network trained on Fashion-MNIST, loaded from its ONNX file. Run it in fp32 on 2,000
test images, then quantize it after training: calibrate every activation's range on a few training
images, store weights as int8 (symmetric, per output channel) and run integer-only kernels with
requantization q<sub>Y</sub> = M (q<sub>W</sub> q<sub>X</sub> + q<sub>b</sub>) + Z<sub>Y</sub>,
M = S<sub>W</sub> S<sub>X</sub> / S<sub>Y</sub> = M<sub>0</sub> 2<sup>shift − 31</sup>.</p>
<div class="controls">
  ${controls(SCHEMA, ['model', 'count'])}
  <button class="primary" data-testid="run-fp32">Run fp32</button>
  ${UPLOAD_HTML}
</div>
${UPLOAD_STATUS_HTML}
<div class="controls">
  ${controls(SCHEMA, ['method', 'percentile', 'calibration', 'requant', 'bits', 'mixed', 'keep'])}
  <button class="primary" data-testid="quantize">Quantize to int8</button>
  <button data-testid="stop" hidden>Stop</button>
</div>
${STATUS_HTML}
${cards([['file-bytes', 'ONNX file'], ['parameters', 'parameters'],
  ['fp32-accuracy', 'fp32 accuracy <small data-testid="fp32-count"></small>'], ['int8-accuracy', 'int8 accuracy'],
  ['agreement', 'int8 = fp32 top-1'], ['pytorch', 'PyTorch (10,000 images)']])}
<div class="note" data-testid="timing"></div>
<h3>Inputs and outputs</h3>
<p class="note" data-testid="io-note"></p>
<div class="scroll"><table class="data" data-testid="io"></table></div>
<div class="error" data-testid="dims-error" role="alert"></div>
<h3 data-testid="outputs-title" hidden>Outputs on random input: fp32 against int8</h3>
<p class="note" data-testid="outputs-summary"></p>
<div class="scroll"><table class="data" data-testid="outputs"></table></div>
<h3>Layers</h3>
<div class="scroll"><table class="data" data-testid="layers"></table></div>
<h3>Per-layer precision</h3>
<p class="note">Each Conv, Gemm and MatMul layer can get its own weight width or stay in fp32 (it then runs
in float between DequantizeLinear and QuantizeLinear, as onnxruntime's nodes_to_exclude). "As above" follows
the weight bits and "keep in fp32" controls; with bits per layer chosen automatically, the search sets the widths
and only the fp32 choices here apply. Quantize again to see the effect.</p>
<div class="scroll"><table class="data" data-testid="layer-control"></table></div>
<h3 data-images>Test images <small class="note">(label / fp32 / int8; orange: fp32 and int8 disagree)</small></h3>
<div class="samples" data-testid="samples"></div>
<h3 data-images>Confusion matrices <small class="note">(rows: true class, columns: predicted)</small></h3>
<p class="note" data-testid="confusion-summary"></p>
<div class="confusions" data-testid="confusion"></div>
<h3>Layer latency: fp32 against int8</h3>
<p class="note">Each node's time on one batch, the minimum of a few runs, from the runtime's per-node progress
reports (the same graph nodes as the tables above). The int8 graph adds a QuantizeLinear at its input and a
DequantizeLinear at its output and runs its Gemm layers as 1×1 QLinearConv; where int8 wins or loses shows
node by node.</p>
<p class="note" data-testid="latency-summary"></p>
<div class="scroll"><table class="data" data-testid="latency"></table></div>
<h3>Which layer hurts: sensitivity</h3>
<p class="note">Each layer quantized alone (the others in fp32) with its weights at 8, 4 and 2 bits and its
activations at 8: the network output's SQNR against fp32 and the top-1 accuracy, on the calibration images with
their labels. The last column is the layer's own output SQNR with every layer quantized: the error accumulated
up to there. Lecture 5.5 asks how many bits each layer needs; a short bar is a layer that needs more.</p>
<div class="controls"><button data-testid="sensitivity-run">Measure sensitivity</button></div>
<p class="note" data-testid="sensitivity-summary"></p>
<div class="scroll"><table class="data" data-testid="sensitivity"></table></div>
<h3>Post-training quantization report</h3>
<p class="note">Per quantized layer: input and output scale S and zero point Z, the weight scales
(per output channel), the requantization multiplier M and its fixed-point form M<sub>0</sub> (Q31)
and shift, and the SQNR of the int8 layer output against fp32 (10 log<sub>10</sub> signal / noise power).</p>
<div class="scroll"><table class="data" data-testid="report"></table></div>
<p class="note" data-testid="report-note"></p>
<h3>Weights on the int8 grid</h3>
<div class="controls">
  <label>layer <select name="grid-layer" data-testid="grid-layer"></select></label>
  <label>output channel <input type="number" name="grid-channel" data-testid="grid-channel" min="0" value="0" step="1"></label>
</div>
<p class="note">Bars: one output channel's fp32 weights. Blue lines (ticks along the axis where they are too
close to draw over the bars): the int8 levels r = S<sub>c</sub> q that they are rounded to (symmetric, Z = 0, one scale S<sub>c</sub> per output channel).</p>
<div class="scroll" data-testid="grid-plot" role="img" aria-label="histogram of one channel's fp32 weights with the int8 grid levels as lines; the summary below gives the numbers"></div>
<p class="note" data-testid="grid-summary" aria-live="polite"></p>
<h3>The int8 graph <small class="note">(what the exported ONNX holds: QuantizeLinear, QLinearConv, ... DequantizeLinear)</small></h3>
<div class="scroll"><table class="data" data-testid="int8-layers"></table></div>
<p><a class="download" data-testid="download-qoperator" hidden>int8 ONNX (QOperator: QLinearConv, QLinearMatMul)</a>
  &nbsp; <a class="download" data-testid="download-qdq" hidden>int8 ONNX (QDQ)</a></p>
<p class="note">Does onnxruntime give the same outputs from these files? Per export (the downloads write int8
activations as uint8), judged from the graph:</p>
<div class="scroll"><table class="data" data-testid="export-checks"></table></div>
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
  .confusions { display: flex; flex-wrap: wrap; gap: 1rem; }
  .confusions figure { margin: 0; min-width: 0; max-width: 100%; }
  .confusions figcaption { font-weight: 600; }
  table.confusion td { min-width: 2.4em; }
  table.confusion td.diff { outline: 2px solid #1b1b1b; outline-offset: -2px; font-weight: 600; }
  .bar { height: .8em; border-radius: 2px; min-width: 1px; }
  .bar.fp32 { background: #4d4d4d; }
  .bar.int8 { background: #1f5fa8; }
  .bar.b8 { background: #1f5fa8; }
  .bar.b4 { background: #e6a100; }
  .bar.b2 { background: #b00; }
  td.bar-cell { width: 12rem; min-width: 7rem; text-align: left; }
  table.data td.why { white-space: normal; min-width: 14rem; max-width: 44rem; }
  td.why p.reason { margin: .25rem 0 0; font-size: .9em; }
  tr.channels summary { position: sticky; left: .5rem; display: inline-block; cursor: pointer; color: #1f5fa8; }${UPLOAD_CSS}`;

  #meta = null;       // models.json
  #ptq = false;
  #grid = null;       // the weight grid on screen (weightGrid), for #gridFor's int8 results
  #gridFor = null;
  #upload = null;     // the user's file {id, file}: its bytes go to the worker with each call
  #nextUpload = 1;

  async prepare() {
    const [meta, about] = await Promise.all([fetch(MODELS_JSON).then((r) => r.json()), this.tasks.call('about')]);
    this.#meta = meta;
    this.#ptq = about.ptq;
    if (!this.#ptq) this.$('[data-testid=quantize]').title = 'this quantlab build has no post-training quantization yet';
  }

  setup() {
    const load = () => this.#loadGrid();
    this.$('[name=grid-layer]').addEventListener('change', () => {
      this.$('[name=grid-channel]').value = '0';
      load();
    });
    this.$('[name=grid-channel]').addEventListener('change', load);
    this.$('[data-testid=run-fp32]').addEventListener('click', () => this.runFp32());
    const picker = this.$('[data-testid=upload]');
    picker.addEventListener('change', () => {
      const file = picker.files?.[0];
      picker.value = '';   // the same file may be chosen again
      if (file) this.openFile(file);
    });
    bindDrop(this, (file) => this.openFile(file));
    this.$('[data-testid=io]').addEventListener('change', (e) => {
      const key = e.target.dataset?.dim;
      if (key != null) this.state = { dims: { ...this.state.dims, [key]: e.target.value.trim() } };
    });
    this.$('[data-testid=quantize]').addEventListener('click', () => this.quantize());
    this.$('[data-testid=sensitivity-run]').addEventListener('click', () => this.sensitivity());
    this.$('[data-testid=layer-control]').addEventListener('change', (e) => {
      const node = e.target.dataset?.layer;
      if (node == null) return;
      const layerBits = { ...this.state.layerBits };
      if (e.target.value === '') delete layerBits[node];
      else layerBits[node] = e.target.value;
      this.state = { layerBits };
    });
  }

  /** The layer list follows the model: the one compute call per state change. */
  async compute({ model, dims }, ctx) {
    return { info: await this.#call(ctx, 'modelInfo', { model, dims }) };
  }

  /** A worker call about `args.model`: for the user's file, its bytes go along (transferred;
   * a worker started anew after Stop gets them again, and loads the file once). */
  async #call(ctx, method, args = {}) {
    if (args.model !== 'upload' || !this.#upload) return ctx.call(method, args);
    const { id, file } = this.#upload;
    const bytes = new Uint8Array(await file.arrayBuffer());
    return ctx.call(method, { ...args, upload: { id, fileName: file.name, bytes } }, { transfer: [bytes.buffer] });
  }

  /** The state's model info (the compute's, or asked again when it has not arrived). */
  async #info(ctx) {
    const { model, dims } = this.state;
    return this.results?.info ?? this.#call(ctx, 'modelInfo', { model, dims });
  }

  /** The first quantized layer's weight grid, or why there is none (an uploaded file the
   * training network cannot read, say); a cancellation still cancels. */
  async #firstGrid(ctx, model, report) {
    if (!report.length) return { error: 'no layer was quantized' };
    return this.#call(ctx, 'weightGrid', { model, layer: report[0].name, channel: 0 }).catch((e) => {
      if (e?.cancelled) throw e;
      return { error: `${e.code ?? 'ERROR'}: ${e.message}` };
    });
  }

  /**
   * Load the user's .onnx `file` (from the picker, a drop, or the page's API). Once the core
   * has loaded it, it becomes the state's model (free dimensions at their defaults); a file
   * that cannot load leaves state and results as they were and shows the QuantlabError
   * (UNSUPPORTED lists every operator quantlab does not run). True when it loaded.
   */
  async openFile(file) {
    const box = this.$('[data-testid=upload-error]');
    if (this.busy) {
      box.textContent = `${file.name}: not opened, a task is running (wait, or press Stop)`;
      return false;
    }
    box.textContent = '';
    const id = this.#nextUpload++;
    const bytes = new Uint8Array(await file.arrayBuffer());
    try {
      await this.tasks.call('modelInfo', { model: 'upload', upload: { id, fileName: file.name, bytes } }, { transfer: [bytes.buffer] });
    } catch (e) {
      showLoadError(box, `${file.name}: ${e.code ?? 'ERROR'}: ${e.message}`);
      this.dispatchEvent(new CustomEvent('ql-upload-error', { detail: { file: file.name, code: e.code, message: e.message } }));
      return false;
    }
    this.#upload = { id, file };
    this.state = { model: 'upload', dims: {}, layerBits: {} };
    return true;
  }

  // What a state change leaves standing: fp32 results need the same model and images, int8
  // results the same everything.
  invalidate(changed, results) {
    if (!results || changed.includes('model')) return null;
    if (changed.includes('count') || changed.includes('dims')) return { info: results.info };
    const keep = { info: results.info, fp32: results.fp32, samples: results.int8 ? null : results.samples };
    // The sensitivity report depends on the calibration settings, not on bits / keep.
    if (!changed.some((k) => ['count', 'method', 'percentile', 'calibration', 'requant'].includes(k))) keep.sensitivity = results.sensitivity;
    return keep;
  }

  /** PTQ options of the state: calibration, requantization, weight bits, layers kept fp32. */
  #ptqOptions() {
    const { method, percentile, requant, bits, keep, layerBits } = this.state;
    const layers = this.#quantizable().map((l) => l.name);
    const excludeNodes = [];
    if (layers.length && (keep === 'first' || keep === 'both')) excludeNodes.push(layers[0]);
    if (layers.length > 1 && (keep === 'last' || keep === 'both')) excludeNodes.push(layers[layers.length - 1]);
    // The per-layer table's choices for layers of this model (names of another model's
    // layers, from a shared URL, are left out).
    const perLayer = [];
    for (const [node, choice] of Object.entries(layerBits)) {
      if (!layers.includes(node)) continue;
      if (choice === 'fp32') {
        if (!excludeNodes.includes(node)) excludeNodes.push(node);
      } else if (!excludeNodes.includes(node)) {
        perLayer.push({ node, weightBits: Number(choice) });
      }
    }
    return { method, percentile, requantMode: requant, weightBits: bits, excludeNodes, layers: perLayer };
  }

  /** The model's Conv / Gemm / MatMul layers (what quantization can change). */
  #quantizable() {
    return (this.results?.info?.layers ?? []).filter((l) => QUANTIZED_OPS.has(l.opType));
  }

  /** A new model starts with no per-layer choices. */
  fromControl(name, value) {
    return name === 'model' ? { model: value, layerBits: {} } : null;
  }

  /** The sensitivity report (ql.quantizationSensitivity); true when it finished. */
  async sensitivity() {
    return this.task(async (ctx) => {
      const { model, calibration, method, percentile, requant, dims } = this.state;
      const random = (await this.#info(ctx)).data === 'random';
      const sensitivity = await this.#call(ctx, 'sensitivity', { model, calibration, options: { method, percentile, requantMode: requant },
        dims: random ? dims : null });
      return { ...this.results, sensitivity };
    });
  }

  run() {
    return this.runFp32();
  }

  /** Run fp32 inference on the test images (also the page's API); true when it finished. */
  async runFp32() {
    const ok = await this.task(async (ctx) => {
      const { model, count, dims } = this.state;
      if ((await this.#info(ctx)).data === 'random') {
        return { fp32: { random: true, ...(await this.#call(ctx, 'runRandom', { model, dims })) }, int8: null, samples: null };
      }
      const fp32 = await this.#call(ctx, 'runFp32', { model, count });
      return { fp32, int8: null, samples: await this.#samples(ctx, fp32.predictions, null) };
    });
    const r = this.results?.fp32;
    if (ok) this.dispatchEvent(new CustomEvent('ql-fp32', { detail: { accuracy: r.accuracy, correct: r.correct, count: r.count, outputs: r.outputs } }));
    return ok;
  }

  /** Post-training int8 quantization with the chosen calibration, then int8 inference; true
   * when it finished. */
  async quantize() {
    const ok = await this.task(async (ctx) => {
      const { model, count, method, calibration, bits, mixed, dims } = this.state;
      const exports = async () => ({
        qoperator: (await ctx.call('exportInt8', { form: 'qoperator' })).bytes,
        qdq: (await ctx.call('exportInt8', { form: 'qdq' })).bytes,
        exportChecks: await ctx.call('exportChecks', {}),
      });
      if ((await this.#info(ctx)).data === 'random') {
        // No labelled data: seeded random input and calibration data of the user's shape.
        const r = await this.#call(ctx, 'runRandom', { model, dims, quantize: true, calibration, options: this.#ptqOptions() });
        const grid = await this.#firstGrid(ctx, model, r.report);
        const profile = await this.#call(ctx, 'layerProfile', { model, dims });
        return {
          fp32: { random: true, shapes: r.shapes, seed: r.seed, ms: r.ms, outputs: r.outputs },
          int8: { ...r, random: true, model, method, calibration, bits, mixed: null, profile, grid, ...(await exports()) },
          samples: null,
          sensitivity: this.results?.sensitivity ?? null,
        };
      }
      const mixedBudget = mixed === 'off' ? null : Number(mixed);
      const r = await this.#call(ctx, 'quantize', { model, count, calibration, options: this.#ptqOptions(), mixedBudget });
      const samples = await this.#samples(ctx, r.fp32Predictions, r.predictions);
      const profile = await this.#call(ctx, 'layerProfile', { model });
      const grid = await this.#firstGrid(ctx, model, r.report);
      return {
        fp32: { ...r.fp32, count: r.count, predictions: r.fp32Predictions, confusion: r.fp32Confusion },
        int8: { ...r, model, method, calibration, bits, profile, grid, ...(await exports()) },
        samples,
        sensitivity: this.results?.sensitivity ?? null,
      };
    });
    const r = this.results?.int8;
    if (ok) this.dispatchEvent(new CustomEvent('ql-int8', { detail: { accuracy: r.accuracy, agreement: r.agreement, bytes: r.qoperator.length, outputs: r.outputs } }));
    return ok;
  }

  render(state, results) {
    const { info = null, fp32 = null, int8 = null, samples = null, sensitivity = null } = results ?? {};
    const set = (id, text) => { this.$(`[data-testid=${id}]`).textContent = text; };
    this.$('[data-testid=quantize]').disabled = this.busy || !this.#ptq;
    const meta = this.#meta?.models.find((m) => m.name === state.model);
    set('file-bytes', info ? bytes(info.fileBytes) : '–');
    set('parameters', info ? int(info.layers.reduce((a, l) => a + l.parameters, 0)) : '–');
    set('pytorch', meta ? `${meta.fp32_accuracy.toFixed(2)}% / ${meta.pytorch_int8_qnnpack.accuracy.toFixed(2)}%` : '–');
    this.$('[data-testid=pytorch]').title = 'PyTorch fp32 / PyTorch int8 (qnnpack), all 10,000 test images';
    this.#renderLayers(info?.layers ?? null, this.$('[data-testid=layers]'));
    this.#renderLayerControl(state);
    set('fp32-accuracy', pct(fp32?.accuracy));
    set('fp32-count', fp32 && !fp32.random ? `(${fp32.correct} / ${fp32.count})` : '');
    this.#renderUpload(state, info, fp32, int8);
    set('int8-accuracy', pct(int8?.accuracy));
    set('agreement', pct(int8?.agreement));
    const widths = int8?.mixed
      ? `mixed-precision weights (${int8.mixed.layers.map((l) => l.weightBits).join('/')} bits: ${bytes(int8.mixed.weightBits / 8)} against ` +
        `${bytes(int8.mixed.int8WeightBits / 8)} at 8 bits, within ${int8.mixed.budget} point of fp32 on the calibration images, ${int8.mixed.measured} models measured)`
      : `${int8?.bits}-bit weights`;
    set('timing', int8?.random ? `${widths}, ${METHODS[int8.method]} calibration` + (state.mixed === 'off' ? '.' : '; bits per layer are chosen on labelled images only, so every layer got these.')
      : int8 ? `quantization (${int8.calibration} calibration images, ${METHODS[int8.method]}, ${widths}): ${int8.quantizeMs.toFixed(0)} ms; ` +
      `int8: ${int8.count} images in ${int8.ms.toFixed(0)} ms` +
      (int8.foldedBatchNorms ? `; ${int8.foldedBatchNorms} BatchNorm layers folded into their convolutions.` : '.')
      : fp32?.ms != null && !fp32.random ? `fp32: ${fp32.count} images in ${fp32.ms.toFixed(0)} ms (in the worker).` : '');
    this.#renderReport(int8?.report ?? []);
    this.#renderSensitivity(sensitivity);
    this.$('[data-testid=sensitivity-run]').disabled = this.busy || !this.#ptq;
    this.#renderLayers(int8?.layers ?? null, this.$('[data-testid=int8-layers]'));
    this.#renderSamples(samples);
    this.#renderConfusion(fp32?.confusion ?? null, int8?.confusion ?? null);
    this.#renderLatency(int8?.profile ?? null);
    if (this.#gridFor !== int8) {
      this.#gridFor = int8;
      this.#grid = int8?.grid ?? null;
      const select = this.$('[name=grid-layer]');
      select.innerHTML = (int8?.report ?? []).map((l) => `<option value="${esc(l.name)}">${esc(l.name)}</option>`).join('');
      this.$('[name=grid-channel]').value = '0';
    }
    this.#renderGrid();
    for (const [form, label] of [['qoperator', 'QOperator'], ['qdq', 'QDQ']]) {
      const a = this.$(`[data-testid=download-${form}]`);
      if (!int8) {
        a.hidden = true;
        continue;
      }
      const base = int8.model === 'upload' && this.#upload ? this.#upload.file.name.replace(/\.onnx$/i, '') : int8.model;
      if (a.dataset.for !== String(int8.quantizeMs)) setDownload(a, int8[form], `${base}.int8.${form}.onnx`);
      a.dataset.for = String(int8.quantizeMs);
      a.textContent = `int8 ONNX, ${label} (${bytes(int8[form].length)})`;
    }
    this.#renderExportChecks(int8?.exportChecks ?? null);
    const flag = (name, v) => (v == null ? delete this.dataset[name] : (this.dataset[name] = v.toFixed(2)));
    flag('fp32', fp32?.accuracy);
    flag('int8', int8?.accuracy);
    flag('agreement', int8?.agreement);
    flag('sqnr', int8?.outputs?.[0]?.sqnrDb);
  }

  /** The user's file: its name in the model list, the inputs and outputs with a field per
   * free dimension, and for a random-input model the output statistics. */
  #renderUpload(state, info, fp32, int8) {
    const option = this.$('[data-field=model] option[value=upload]');
    option.textContent = this.#upload ? `your file: ${this.#upload.file.name}` : 'your .onnx file';
    this.$('[data-testid=upload]').disabled = this.busy;
    const upload = state.model === 'upload' && info != null;
    const io = this.$('[data-testid=io]');
    const key = JSON.stringify([info?.name, upload ? state.dims : null, this.busy]);
    if (io.dataset.key !== key) {   // re-rendering would reset a field being edited
      io.dataset.key = key;
      io.innerHTML = ioTableHtml(info, state.dims, upload, this.busy);
    }
    this.$('[data-testid=io-note]').textContent = !upload ? ''
      : info.data === 'images' ? `${info.fileName}: one 1×28×28 input and 10 outputs, so it runs on the bundled Fashion-MNIST images ` +
        '(normalized as the demo models) with their labels.'
        : `${info.fileName}: no bundled data fit it, so it runs on seeded random data of the input shape${info.free.length ? '; set each free dimension (the batch defaults to 1)' : ''}` +
          `${info.shapes ? `: ${info.shapes.map((s) => `[${s.join(', ')}]`).join(', ')}` : ''}.`;
    const bad = upload ? info.shapesError : null;
    this.$('[data-testid=dims-error]').textContent = bad ? `${bad.code}: ${bad.message}` : '';
    for (const field of this.$$('[data-testid=io] input[data-dim]')) field.toggleAttribute('aria-invalid', Boolean(bad?.message.includes(`dimension ${field.dataset.dim} `)));
    const random = fp32?.random ? fp32 : null;
    for (const h of this.$$('[data-images]')) h.hidden = Boolean(random);   // no images were run
    this.$('[data-testid=outputs-title]').hidden = !random;
    this.$('[data-testid=outputs-summary]').textContent = outputsSummary(random, int8?.random ? int8 : null);
    this.$('[data-testid=outputs]').innerHTML = outputsTableHtml(random, int8?.random ? int8 : null);
  }

  /** One row per quantizable layer with its precision choice (state.layerBits). */
  #renderLayerControl(state) {
    const table = this.$('[data-testid=layer-control]');
    const layers = this.#quantizable();
    const key = JSON.stringify([layers.map((l) => l.name), state.layerBits, this.busy]);
    if (table.dataset.key === key) return;  // re-rendering would reset an open select
    table.dataset.key = key;
    if (!layers.length) {
      table.innerHTML = '';
      return;
    }
    const rows = layers.map((l) => {
      const choice = state.layerBits[l.name] ?? '';
      const options = Object.entries(LAYER_CHOICES)
        .map(([v, label]) => `<option value="${v}"${v === choice ? ' selected' : ''}>${label}</option>`).join('');
      return `<tr data-layer="${esc(l.name)}"><td class="l">${esc(l.name)}</td><td class="l">${esc(l.opType)}</td>` +
        `<td>${int(l.parameters)}</td><td class="l"><select data-layer="${esc(l.name)}" aria-label="precision of ${esc(l.name)}"` +
        `${this.busy ? ' disabled' : ''}>${options}</select></td></tr>`;
    });
    table.innerHTML = tableHtml([['layer', 'l'], ['op', 'l'], 'parameters', ['precision', 'l']], [rows.join('')]);
  }

  /** What onnxruntime reproduces of each export (QuantizedModel.exportChecks). */
  #renderExportChecks(checks) {
    const table = this.$('[data-testid=export-checks]');
    if (!checks) {
      table.innerHTML = '';
      return;
    }
    const verdict = { exact: 'bit for bit', 'cpu-dependent': 'bit for bit with VNNI or on ARM; not on AVX2 without VNNI', inexact: 'a few values may differ by one step' };
    // Two columns, the reasons under the verdict, so that a narrow screen needs no scrolling.
    const rows = checks.map((c) => `<tr data-export="${c.form}-${c.activations}"><td class="l">${c.form === 'qdq' ? 'QDQ' : 'QOperator'}` +
      `<br><small>${c.activations === 'uint8' ? 'uint8 (downloads)' : 'as quantized'}</small></td>` +
      `<td class="l why"><b>${verdict[c.exactness]}</b>${c.reasons.map((r) => `<p class="reason">${esc(r)}</p>`).join('')}</td></tr>`);
    table.innerHTML = tableHtml([['export', 'l'], ['in onnxruntime', 'l']], [rows.join('')]);
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
    // A layer whose output range is not the calibration method's own says why (KL's guard).
    this.$('[data-testid=report-note]').textContent = layers.filter((l) => l.rangeNote)
      .map((l) => `${l.name}: ${l.rangeNote}.`).join(' ');
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
      return `<tr class="channels"><td colspan="12"><details><summary>${n} output channels</summary>` +
        '<table class="data"><tr><th>channel</th><th>S<sub>W</sub></th><th>M</th><th>M<sub>0</sub></th><th>shift</th></tr>' +
        `${cells}</table></details></td></tr>`;
    };
    const rows = layers.map((l) => `<tr data-layer="${esc(l.name)}"><td class="l">${esc(l.name)}</td><td class="l">${esc(l.opType ?? '')}</td>` +
      `<td>${g(l.inputScale)}</td><td>${g(l.inputZeroPoint)}</td><td>${g(l.outputScale)}</td><td>${g(l.outputZeroPoint)}</td>` +
      `<td>${span(l.weightScales, 3)}</td><td>${span(l.multipliers, 4)}</td><td>${span(l.m0, 10)}</td>` +
      `<td>${span(l.shift, 3)}</td><td>${l.weightBits ?? 8}</td><td>${l.sqnrDb == null ? '–' : l.sqnrDb.toFixed(1)}</td></tr>${channels(l)}`);
    this.$('[data-testid=report]').innerHTML = '<tr><th class="l">layer</th><th class="l">op</th><th>S<sub>X</sub></th>' +
      '<th>Z<sub>X</sub></th><th>S<sub>Y</sub></th><th>Z<sub>Y</sub></th><th>S<sub>W</sub></th><th>M</th>' +
      '<th>M<sub>0</sub></th><th>shift</th><th>weight bits</th><th>SQNR dB</th></tr>' + rows.join('');
  }

  /** The element and summary of result section `name`, both emptied when there is no result. */
  #section(name, result) {
    const table = this.$(`[data-testid=${name}]`);
    const summary = this.$(`[data-testid=${name}-summary]`);
    if (!result) {
      table.innerHTML = '';
      summary.textContent = '';
    }
    return { table, summary };
  }

  /** fp32 and int8 confusion matrices side by side; a cell where int8 differs is outlined. */
  #renderConfusion(fp32, int8) {
    const { table: box, summary } = this.#section('confusion', fp32);
    if (!fp32) return;
    const classes = this.#meta?.dataset.classes ?? Array.from({ length: 10 }, (_, i) => String(i));
    const n = classes.length;
    const grid = (m, title, other) => {
      let top = 1;
      for (let i = 0; i < n; ++i) for (let j = 0; j < n; ++j) if (i !== j) top = Math.max(top, m[i * n + j]);
      const rows = classes.map((c, i) => `<tr><th scope="row" class="l">${esc(c)}</th>${classes.map((_, j) => {
        const v = m[i * n + j];
        // Off-diagonal counts shaded against the largest confusion (the diagonal is grey): black
        // text stays above 4.5:1 on every shade.
        const bg = i === j ? '#e8eaed' : v ? `rgba(198,40,40,${(0.55 * v / top).toFixed(3)})` : '#fff';
        const diff = other && other[i * n + j] !== v ? ' class="diff"' : '';
        return `<td${diff} data-css="background:${bg}">${v}</td>`;
      }).join('')}</tr>`).join('');
      return `<figure><figcaption>${title}</figcaption><div class="scroll" tabindex="0" role="region" aria-label="${title} confusion matrix"><table class="data confusion" data-testid="confusion-${title}">` +
        `<tr><th class="l">true \\ predicted</th>${classes.map((c) => `<th title="${esc(c)}">${esc(c.split('/')[0])}</th>`).join('')}</tr>${rows}</table></div></figure>`;
    };
    box.innerHTML = grid(fp32, 'fp32', null) + (int8 ? grid(int8, 'int8', fp32) : '');
    // The text alternative: the largest confusion of each.
    const worst = (m) => {
      let best = [0, 1, 0];
      for (let i = 0; i < n; ++i) for (let j = 0; j < n; ++j) if (i !== j && m[i * n + j] > best[2]) best = [i, j, m[i * n + j]];
      return `${best[2]} ${classes[best[0]]} taken for ${classes[best[1]]}`;
    };
    let changed = 0;
    if (int8) for (let k = 0; k < n * n; ++k) changed += int8[k] !== fp32[k] ? 1 : 0;
    summary.textContent = `Largest confusion, fp32: ${worst(fp32)}` + (int8 ? `; int8: ${worst(int8)}; ${changed} of ${n * n} cells differ (outlined).` : '.');
  }

  /** Ask the worker for the chosen layer's channel and its int8 grid. */
  async #loadGrid() {
    const int8 = this.results?.int8;
    if (!int8) return;
    const layer = this.$('[name=grid-layer]').value;
    const channel = Number(this.$('[name=grid-channel]').value);
    try {
      this.#grid = await this.#call({ call: (m, a, o) => this.tasks.call(m, a, o) }, 'weightGrid', { model: int8.model, layer, channel });
    } catch (e) {
      this.#grid = { error: `${e.code ?? 'ERROR'}: ${e.message}` };
    }
    this.#renderGrid();
  }

  #renderGrid() {
    const g = this.#grid;
    const summary = this.$('[data-testid=grid-summary]');
    const input = this.$('[name=grid-channel]');
    if (!g || g.error) {
      summary.textContent = g?.error ?? '';
      if (!g) this.dropPlot('grid');
      return;
    }
    input.max = String(g.channels - 1);
    const { centers, counts, lo, hi } = binned(g.values, 60);
    const plot = this.plot('grid', (w) => histogramPlot(this.$('[data-testid=grid-plot]'), {
      xLabel: 'weight value', yLabel: 'count', width: w, height: 220, barLabel: 'fp32 weights of the channel',
    }));
    plot.update(centers, counts, null, g.grid);
    const p = (v) => v.toPrecision(3);
    summary.textContent = `${g.weight}, output channel ${g.channel} of ${g.channels}: ${g.values.length} weights in [${p(lo)}, ${p(hi)}], ` +
      `S${g.perChannel ? '_c' : ''} = ${p(g.scale)}. ` + (g.folded
      ? 'A BatchNorm follows this convolution and is folded into its weights before quantization, so the grid is for the folded weights and is not drawn over these.'
      : `${g.used} of the ${g.levels} int8 levels in use; rounding error MSE ${g.split.totalMse.toExponential(2)}.`);
  }

  /** The sensitivity table: SQNR bars at 8, 4 and 2 bits on one scale, accuracies, accumulated SQNR. */
  #renderSensitivity(s) {
    const { table, summary } = this.#section('sensitivity', s);
    if (!s) return;
    summary.textContent = s.random ? `${s.samples} random calibration samples (no labels, so no accuracy): every layer int8, ` +
      `output SQNR ${s.allSqnrDb.toFixed(1)} dB.` : `${s.samples} calibration images: fp32 accuracy ${pct(100 * s.fp32Accuracy)}, every layer int8 ` +
      `${pct(100 * s.allAccuracy)}, output SQNR ${s.allSqnrDb.toFixed(1)} dB.`;
    const top = Math.max(...s.layers.flatMap((l) => [...l.sqnrDb]).filter(Number.isFinite), 1);
    const bar = (v, b) => `<div class="bar b${b}" data-css="width:${Math.max(0, 100 * v / top).toFixed(1)}%" title="${v.toFixed(1)} dB"></div>`;
    // The bars next to the name, so they stay in view on a narrow screen.
    const rows = s.layers.map((l) => `<tr data-layer="${esc(l.name)}"><td class="l">${esc(l.name)}</td>` +
      `<td class="bar-cell">${[...l.bits].map((b, k) => bar(l.sqnrDb[k], b)).join('')}</td><td class="l">${esc(l.opType)}</td>` +
      [...l.bits].map((b, k) => `<td>${l.sqnrDb[k].toFixed(1)}</td>`).join('') +
      `<td>${int(l.weights)}</td>` +
      [...l.accuracy].map((a) => `<td>${pct(100 * a)}</td>`).join('') +
      `<td>${l.accumulatedSqnrDb.toFixed(1)}</td></tr>`);
    table.innerHTML = tableHtml([['layer', 'l'], ['SQNR (bars: 8, 4, 2 bits)', 'l'], ['op', 'l'], 'SQNR 8 bit', 'SQNR 4 bit',
      'SQNR 2 bit', 'weights', 'top-1 8 bit', 'top-1 4 bit', 'top-1 2 bit', 'accumulated SQNR'], [rows.join('')]);
  }

  /** Per-node times of both graphs, with bars on one scale. */
  #renderLatency(p) {
    const { table, summary } = this.#section('latency', p);
    if (!p) return;
    const total = (list) => list.reduce((a, l) => a + l.ms, 0);
    const edges = p.int8.filter((l) => l.opType === 'QuantizeLinear' || l.opType === 'DequantizeLinear');
    summary.textContent = `Batch of ${p.batch} ${p.random ? 'random inputs' : 'images'}, minimum of ${p.reps} runs: fp32 ${total(p.fp32).toFixed(2)} ms, ` +
      `int8 ${total(p.int8).toFixed(2)} ms, of which ${total(edges).toFixed(2)} ms in QuantizeLinear / DequantizeLinear ` +
      '(a worker\'s clock ticks in 0.1 ms steps here, so the smallest nodes read 0).';
    const top = Math.max(...p.fp32.map((l) => l.ms), ...p.int8.map((l) => l.ms), 1e-9);
    const rows = (graph, list) => list.map((l, i) => `<tr data-graph="${graph}"><td class="l">${graph}</td><td>${i}</td>` +
      `<td class="l">${esc(l.name)}</td><td class="l">${esc(l.opType)}</td><td>${l.ms.toFixed(2)}</td>` +
      `<td class="bar-cell"><div class="bar ${graph}" data-css="width:${(100 * l.ms / top).toFixed(1)}%"></div></td></tr>`).join('');
    table.innerHTML = tableHtml([['graph', 'l'], '#', ['node', 'l'], ['op', 'l'], 'ms', ['time', 'l']],
      [rows('fp32', p.fp32), rows('int8', p.int8)]);
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
