// <ql-deep-compression>: the Deep Compression pipeline (Han et al. 2015; MIT 6.5940 lecture
// 5, sections 5.5-5.6) on a demo model in the browser: magnitude pruning with retraining,
// K-means weight sharing with centroid fine-tuning, Huffman coding of the indices, with the
// bundled 6,000 training images. Shows the stage table (bytes, ratio, accuracy) as in the
// paper's figure, the per-layer report, each layer's weight histogram with its codebook,
// and the compressed file to download. The work runs in the playground's Web Worker
// (Network.deepCompression); this file only formats.
// Attributes (initial state): model (lenet300 | lenet5), fc-sparsity, conv-sparsity,
// output-sparsity, fc-bits, conv-bits, prune-steps, epochs, lr, train (training images), test
// (test images), autorun; `sync-url` mirrors the state in the URL hash.
import { call, terminate } from '../src/client.mjs';
import { histogramPlot, uplotCss } from '../src/plot.mjs';
import { readHash, writeHash } from '../src/state.mjs';
import { bytes, esc, int, LESSON_CSS, pct, PROGRESS_HTML, progressBar, setDownload } from '../src/ui.mjs';

// Defaults sized for a browser: about ten seconds for LeNet-300-100 on one core.
const DEFAULTS = {
  model: 'lenet300',
  fcSparsity: 0.9,
  convSparsity: 0.6,
  outputSparsity: 0.6,
  fcBits: 5,
  convBits: 8,
  pruneSteps: 2,
  epochs: 1,
  lr: 0.02,
  train: 6000,
  test: 2000,
};

const ATTRS = {
  model: 'model',
  fcSparsity: 'fc-sparsity',
  convSparsity: 'conv-sparsity',
  outputSparsity: 'output-sparsity',
  fcBits: 'fc-bits',
  convBits: 'conv-bits',
  pruneSteps: 'prune-steps',
  epochs: 'epochs',
  lr: 'lr',
  train: 'train',
  test: 'test',
};

const STAGE_NAMES = {
  fp32: 'fp32 (dense)',
  pruned: 'pruned (relative index + fp32)',
  quantized: 'quantized (codebook indices)',
  huffman: 'Huffman coded (the file)',
};

const HIST_BINS = 90;

const num = (name, label, min, max, step) => `<label>${label} <input name="${name}" data-testid="${name}" type="number" min="${min}" max="${max}" step="${step}"></label>`;

const TEMPLATE = `
<style>${LESSON_CSS}
  .bar { height: .8em; background: #1f77b4; border-radius: 2px; min-width: 2px; }
  td.bar-cell { width: 16rem; text-align: left; }
</style>
<link rel="stylesheet" href="${uplotCss}">
<h2>Deep Compression: prune, share, Huffman-code</h2>
<p class="lead">Han et al.'s three-stage pipeline, run here on the bundled 6,000 training images: prune the
smallest weights (retraining between steps, masks kept), cluster each layer's surviving weights with K-means
into 2<sup><i>b</i></sup> shared values and fine-tune the centroids with the summed gradients, then
Huffman-code the indices and the relative-index gaps. The paper reached 9-13x after pruning, 27-31x after
quantization and 35-49x with Huffman coding.</p>
<div class="controls">
  <label>model <select name="model" data-testid="model">
    <option value="lenet300">LeNet-300-100</option><option value="lenet5">LeNet-5</option></select></label>
  ${num('fcSparsity', 'FC sparsity', 0, 0.99, 0.01)}
  ${num('outputSparsity', 'output layer', 0, 0.99, 0.01)}
  ${num('convSparsity', 'conv sparsity', 0, 0.99, 0.01)}
  ${num('fcBits', 'FC bits', 1, 8, 1)}
  ${num('convBits', 'conv bits', 1, 8, 1)}
</div>
<div class="controls">
  ${num('pruneSteps', 'prune steps', 1, 10, 1)}
  ${num('epochs', 'epochs per step', 0, 5, 1)}
  ${num('lr', 'SGD learning rate', 0.0001, 0.5, 0.001)}
  <label>training images <select name="train" data-testid="train">
    ${[1000, 3000, 6000].map((n) => `<option value="${n}">${n}</option>`).join('')}</select></label>
  <label>test images <select name="test" data-testid="test">
    ${[500, 1000, 2000].map((n) => `<option value="${n}">${n}</option>`).join('')}</select></label>
  <button class="primary" data-testid="run">Compress</button>
  <button data-testid="stop" hidden>Stop</button>
</div>
${PROGRESS_HTML('progress')}
<div class="error" data-testid="error" role="alert"></div>
<div class="cards">
  <div class="card"><div class="name">fp32 → file</div><div class="value" data-testid="sizes">–</div></div>
  <div class="card"><div class="name">compression</div><div class="value" data-testid="ratio">–</div></div>
  <div class="card"><div class="name">accuracy fp32 → compressed</div><div class="value" data-testid="accuracy">–</div></div>
  <div class="card"><div class="name">the file, decoded again</div><div class="value" data-testid="decoded">–</div></div>
</div>
<div class="note" data-testid="timing"></div>
<h3>Stages</h3>
<table class="data" data-testid="stages"></table>
<p><a class="download" data-testid="download" hidden>compressed model file</a></p>
<h3>Layers</h3>
<div class="scroll"><table class="data" data-testid="layers"></table></div>
<h3>Weights and codebook <select name="histogram" data-testid="histogram"></select></h3>
<p class="note">Bars: the layer's fp32 weights before compression. Red stems: the final shared values
(centroids after fine-tuning) and how many surviving weights use each; pruned weights share the pinned zero
and are left out of the stems.</p>
<div class="scroll" data-testid="plot"></div>
`;

export class QlDeepCompression extends HTMLElement {
  #root;
  #state;
  #busy = false;
  #stopped = false;
  #progress;
  #plot = null;
  #result = null;

  connectedCallback() {
    if (this.#root) return;
    this.#root = this.attachShadow({ mode: 'open' });
    this.#root.innerHTML = TEMPLATE;
    const fromAttrs = { ...DEFAULTS };
    for (const [key, attr] of Object.entries(ATTRS)) {
      if (!this.hasAttribute(attr)) continue;
      const v = this.getAttribute(attr);
      fromAttrs[key] = typeof DEFAULTS[key] === 'number' ? Number(v) : v;
    }
    this.#state = this.hasAttribute('sync-url') ? readHash(fromAttrs) : fromAttrs;
    this.#progress = progressBar(this.#$('[data-testid=progress]'));
    for (const key of Object.keys(DEFAULTS)) {
      const el = this.#$(`[name=${key}]`);
      el.value = String(this.#state[key]);
      el.addEventListener('change', () => {
        this.#state[key] = typeof DEFAULTS[key] === 'number' ? Number(el.value) : el.value;
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
    this.#$('[name=histogram]').addEventListener('change', () => this.#renderHistogram());
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

  /** The last report: {stages, layers, fileBytes, decodedAccuracy, ...} (without the file). */
  get report() {
    if (!this.#result) return null;
    const { file, histograms, ...rest } = this.#result;
    return structuredClone(rest);
  }

  /** Run the pipeline (also the page's API). */
  async run() {
    if (this.#busy) return;
    this.#busy = true;
    this.#stopped = false;
    delete this.dataset.done;
    this.#root.querySelectorAll('button, select, input').forEach((b) => { b.disabled = true; });
    const stop = this.#$('[data-testid=stop]');
    stop.disabled = false;
    stop.hidden = false;
    this.#$('[data-testid=error]').textContent = '';
    this.#progress.start('loading the model and the data');
    const s = this.#state;
    try {
      const r = await call('deepCompression', {
        model: s.model,
        trainCount: s.train,
        testCount: s.test,
        plan: {
          fcSparsity: s.fcSparsity,
          convSparsity: s.convSparsity,
          outputSparsity: s.outputSparsity,
          fcBits: s.fcBits,
          convBits: s.convBits,
        },
        options: {
          pruneSteps: s.pruneSteps,
          retrainEpochs: s.epochs,
          quantizedEpochs: s.epochs,
          // SGD with momentum: on 6,000 images it recovers more accuracy than Adam at 1e-3.
          train: { optimizer: 'sgd', learningRate: s.lr, momentum: 0.9 },
        },
      }, { onProgress: (f, m) => this.#progress.update(f, m) });
      this.#result = r;
      this.#render();
      this.#progress.done();
      this.dataset.done = 'true';
      this.dispatchEvent(new CustomEvent('ql-done', { detail: this.report }));
    } catch (e) {
      this.#progress.done(this.#stopped ? 'stopped' : '');
      if (!this.#stopped) this.#$('[data-testid=error]').textContent = `${e.code ?? 'ERROR'}: ${e.message}`;
    } finally {
      this.#busy = false;
      this.#$('[data-testid=stop]').hidden = true;
      this.#root.querySelectorAll('button, select, input').forEach((b) => { b.disabled = false; });
    }
  }

  #render() {
    const r = this.#result;
    const first = r.stages[0];
    const last = r.stages[r.stages.length - 1];
    this.#$('[data-testid=sizes]').textContent = `${int(first.bytes)} → ${int(r.fileBytes)} B`;
    this.#$('[data-testid=ratio]').textContent = `${last.ratio.toFixed(1)}×`;
    this.#$('[data-testid=accuracy]').textContent = `${pct(first.accuracy)} → ${pct(last.accuracy)}`;
    this.#$('[data-testid=decoded]').textContent = pct(r.decodedAccuracy);
    this.#$('[data-testid=timing]').textContent = `${r.trainCount} training images, ${r.testCount} test images, ` +
      `${(r.ms / 1000).toFixed(1)} s in the worker.`;
    const maxRatio = Math.max(...r.stages.map((st) => st.ratio));
    this.#$('[data-testid=stages]').innerHTML = '<tr><th class="l">stage</th><th>bytes</th><th>ratio</th>' +
      '<th>accuracy</th><th>Δ accuracy</th><th class="l">compression</th></tr>' +
      r.stages.map((st) => `<tr data-stage="${st.stage}"><td class="l">${esc(STAGE_NAMES[st.stage] ?? st.stage)}</td>` +
        `<td data-field="bytes">${int(st.bytes)}</td><td data-field="ratio">${st.ratio.toFixed(2)}×</td>` +
        `<td data-field="accuracy">${pct(st.accuracy)}</td><td>${(st.accuracy - first.accuracy >= 0 ? '+' : '') + (st.accuracy - first.accuracy).toFixed(2)}</td>` +
        `<td class="bar-cell"><div class="bar" style="width:${(100 * st.ratio / maxRatio).toFixed(1)}%"></div></td></tr>`).join('');
    this.#$('[data-testid=layers]').innerHTML = '<tr><th class="l">weight</th><th>size</th><th>kept</th><th>bits</th>' +
      '<th>gap bits</th><th>k-means MSE</th><th>fp32 B</th><th>pruned B</th><th>quantized B</th><th>Huffman B</th><th>ratio</th></tr>' +
      r.layers.map((l) => `<tr><td class="l">${esc(l.param)}</td><td>${int(l.size)}</td>` +
        `<td>${int(l.kept)} (${(100 * l.kept / l.size).toFixed(1)}%)</td><td>${l.bits}</td><td>${l.gapBits}</td>` +
        `<td>${l.kmeansMse.toExponential(2)}</td><td>${int(l.fp32Bytes)}</td><td>${int(l.prunedBytes)}</td>` +
        `<td>${int(l.quantizedBytes)}</td><td>${int(l.huffmanBytes)}</td><td>${(l.fp32Bytes / l.huffmanBytes).toFixed(1)}×</td></tr>`).join('');
    const a = this.#$('[data-testid=download]');
    setDownload(a, r.file, `${r.model}.qlz`);
    a.textContent = `${r.model}.qlz (${bytes(r.fileBytes)}, ${last.ratio.toFixed(1)}× smaller)`;
    const select = this.#$('[name=histogram]');
    const previous = select.value;
    select.innerHTML = r.histograms.map((h) => `<option value="${esc(h.param)}">${esc(h.param)}</option>`).join('');
    if (r.histograms.some((h) => h.param === previous)) select.value = previous;
    this.#renderHistogram();
  }

  #renderHistogram() {
    const r = this.#result;
    if (!r) return;
    const h = r.histograms.find((x) => x.param === this.#$('[name=histogram]').value) ?? r.histograms[0];
    // Display only: bin the fp32 weights.
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of h.before) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const width = (hi - lo) / HIST_BINS || 1;
    const counts = new Float64Array(HIST_BINS);
    for (const v of h.before) counts[Math.min(HIST_BINS - 1, Math.floor((v - lo) / width))] += 1;
    const centers = Array.from({ length: HIST_BINS }, (_, i) => lo + (i + 0.5) * width);
    const stems = { x: [], y: [] };
    if (h.centroids) {
      h.centroids.forEach((c, i) => {
        if (h.pinnedZero && i === 0) return;
        stems.x.push(c);
        stems.y.push(h.clusterSizes[i]);
      });
    }
    this.#plot ??= histogramPlot(this.#$('[data-testid=plot]'), {
      xLabel: 'weight value',
      yLabel: 'count',
      width: Math.max(380, Math.min(760, this.clientWidth || 640)),
      logY: true,
      barLabel: 'fp32 weights (before); red stems: shared values (after)',
    });
    this.#plot.update(centers, counts, stems);
  }
}

customElements.define('ql-deep-compression', QlDeepCompression);
