// <ql-deep-compression>: the Deep Compression pipeline (Han et al. 2015; MIT 6.5940 lecture
// 5, sections 5.5-5.6) on a demo model in the browser: magnitude pruning with retraining,
// K-means weight sharing with centroid fine-tuning, Huffman coding of the indices, with the
// bundled 6,000 training images. Shows the stage table (bytes, ratio, accuracy) as in the
// paper's figure, the per-layer report, each layer's weight histogram with its codebook,
// and the compressed file to download. The work runs in the element's Web Worker
// (Network.deepCompression); this file only formats.
// State (attributes in kebab-case, URL with `sync-url`; web/src/lesson.mjs): model,
// fcSparsity, convSparsity, outputSparsity, fcBits, convBits, pruneSteps, epochs, lr, train
// (training images), test (test images).
import { define, Lesson } from '../src/lesson.mjs';
import { binned, histogramPlot, uplotCss } from '../src/plot.mjs';
import { bytes, cards, controls, esc, int, pct, runButtons, setDownload, STATUS_HTML, tableHtml } from '../src/ui.mjs';

const sparsity = (label, def) => ({ type: 'number', default: def, label, min: 0, max: 0.99, step: 0.01 });
const bits = (label, def) => ({ type: 'int', default: def, label, min: 1, max: 8, step: 1 });

// Defaults sized for a browser: about ten seconds for LeNet-300-100 on one core.
const SCHEMA = {
  model: { type: 'enum', default: 'lenet300', label: 'model', options: { lenet300: 'LeNet-300-100', lenet5: 'LeNet-5' } },
  fcSparsity: sparsity('FC sparsity', 0.9),
  outputSparsity: sparsity('output layer', 0.6),
  convSparsity: sparsity('conv sparsity', 0.6),
  fcBits: bits('FC bits', 5),
  convBits: bits('conv bits', 8),
  pruneSteps: { type: 'int', default: 2, label: 'prune steps', min: 1, max: 10, step: 1 },
  epochs: { type: 'int', default: 1, label: 'epochs per step', min: 0, max: 5, step: 1 },
  lr: { type: 'number', default: 0.02, label: 'SGD learning rate', min: 0.0001, max: 0.5, step: 0.001 },
  train: { type: 'int', default: 6000, label: 'training images', options: [1000, 3000, 6000] },
  test: { type: 'int', default: 2000, label: 'test images', options: [500, 1000, 2000] },
};

const STAGE_NAMES = {
  fp32: 'fp32 (dense)',
  pruned: 'pruned (relative index + fp32)',
  quantized: 'quantized (codebook indices)',
  huffman: 'Huffman coded (the file)',
};

const HIST_BINS = 90;

// Han et al. 2015 (table 1 and fig. 5: AlexNet, VGG-16, LeNets): the ratio after each stage.
const PAPER = { fp32: '1×', pruned: '9–13×', quantized: '27–31×', huffman: '35–49×' };
const CONV_FIELDS = ['convSparsity', 'convBits'];

const TEMPLATE = `
<link rel="stylesheet" href="${uplotCss}">
<h2>Deep Compression: prune, share, Huffman-code</h2>
<p class="lead">Han et al.'s three-stage pipeline, run here on the bundled 6,000 training images: prune the
smallest weights (retraining between steps, masks kept), cluster each layer's surviving weights with K-means
into 2<sup><i>b</i></sup> shared values and fine-tune the centroids with the summed gradients, then
Huffman-code the indices and the relative-index gaps. The paper reached 9-13x after pruning, 27-31x after
quantization and 35-49x with Huffman coding.</p>
<div class="controls">
  ${controls(SCHEMA, ['model', 'fcSparsity', 'outputSparsity', 'convSparsity', 'fcBits', 'convBits'])}
</div>
<div class="controls">
  ${controls(SCHEMA, ['pruneSteps', 'epochs', 'lr', 'train', 'test'])}
  ${runButtons('Compress')}
</div>
${STATUS_HTML}
${cards([['sizes', 'fp32 → file'], ['ratio', 'compression'], ['accuracy', 'accuracy fp32 → compressed'], ['decoded', 'the file, decoded again']])}
<div class="note" data-testid="timing"></div>
<h3>Stages</h3>
<div class="scroll" tabindex="0" role="region" aria-label="stages"><table class="data" data-testid="stages"></table></div>
<p class="note" data-testid="accuracy-note"></p>
<p><a class="download" data-testid="download" hidden>compressed model file</a></p>
<h3>Layers</h3>
<div class="scroll" tabindex="0" role="region" aria-label="layers"><table class="data" data-testid="layers"></table></div>
<p class="note" data-testid="below-one"></p>
<h3>Weights and codebook <select name="histogram" data-testid="histogram" aria-label="layer"></select></h3>
<p class="note">Bars: the layer's fp32 weights before compression. Red stems: the final shared values
(centroids after fine-tuning) and how many surviving weights use each; pruned weights share the pinned zero
and are left out of the stems.</p>
<div class="scroll" data-testid="plot" role="img" aria-label="histogram of the layer's fp32 weights with the shared values as stems; the summary below and the layers table above have the numbers"></div>
<p class="note" data-testid="plot-summary"></p>
`;

export class QlDeepCompression extends Lesson {
  static schema = SCHEMA;
  static template = TEMPLATE;
  static css = `
  .bar { height: .8em; background: #1f77b4; border-radius: 2px; min-width: 2px; }
  td.bar-cell { width: 16rem; text-align: left; }
  td.below-one { background: #fde2e2; font-weight: 600; }
  td[data-field=paper] { white-space: nowrap; }
  .controls label[hidden] { display: none; }`;

  setup() {
    this.$('[name=histogram]').addEventListener('change', () => this.#renderHistogram(this.results));
  }

  /** The last report: {stages, layers, fileBytes, decodedAccuracy, ...} (without the file). */
  get report() {
    if (!this.results?.stages) return null;
    const { file, histograms, ...rest } = this.results;
    return structuredClone(rest);
  }

  /** Run the pipeline (also the page's API). */
  async run() {
    const finished = await super.run();
    if (finished) this.dispatchEvent(new CustomEvent('ql-done', { detail: this.report }));
    return finished;
  }

  compute(s, ctx) {
    return ctx.call('deepCompression', {
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
    });
  }

  render(state, r) {
    // LeNet-300-100 has no conv layers: its conv controls are hidden, not just inert.
    for (const f of CONV_FIELDS) this.$(`[data-testid=${f}]`).closest('label').hidden = state.model === 'lenet300';
    const a = this.$('[data-testid=download]');
    const select = this.$('[name=histogram]');
    if (!r?.stages) {
      for (const id of ['sizes', 'ratio', 'accuracy', 'decoded']) this.$(`[data-testid=${id}]`).textContent = '–';
      for (const id of ['timing', 'stages', 'layers', 'plot-summary', 'accuracy-note', 'below-one']) this.$(`[data-testid=${id}]`).innerHTML = '';
      a.hidden = true;
      select.innerHTML = '';
      this.dropPlot('main');
      return;
    }
    const first = r.stages[0];
    const last = r.stages[r.stages.length - 1];
    this.$('[data-testid=sizes]').textContent = `${int(first.bytes)} → ${int(r.fileBytes)} B`;
    this.$('[data-testid=ratio]').textContent = `${last.ratio.toFixed(1)}×`;
    this.$('[data-testid=accuracy]').textContent = `${pct(first.accuracy)} → ${pct(last.accuracy)}`;
    this.$('[data-testid=decoded]').textContent = pct(r.decodedAccuracy);
    this.$('[data-testid=timing]').textContent = `${r.trainCount} training images, ${r.testCount} test images, ` +
      `${(r.ms / 1000).toFixed(1)} s in the worker.`;
    const maxRatio = Math.max(...r.stages.map((st) => st.ratio));
    const delta = (st) => (st.accuracy - first.accuracy >= 0 ? '+' : '') + (st.accuracy - first.accuracy).toFixed(2);
    this.$('[data-testid=stages]').innerHTML = tableHtml([['stage', 'l'], 'bytes', 'ratio', 'paper', 'accuracy', 'Δ accuracy', ['compression', 'l']],
      r.stages.map((st) => `<tr data-stage="${st.stage}"><td class="l">${esc(STAGE_NAMES[st.stage] ?? st.stage)}</td>` +
        `<td data-field="bytes">${int(st.bytes)}</td><td data-field="ratio">${st.ratio.toFixed(2)}×</td><td data-field="paper">${PAPER[st.stage] ?? ''}</td>` +
        `<td data-field="accuracy">${pct(st.accuracy)}</td><td>${delta(st)}</td>` +
        `<td class="bar-cell"><div class="bar" data-css="width:${(100 * st.ratio / maxRatio).toFixed(1)}%"></div></td></tr>`));
    this.$('[data-testid=layers]').innerHTML = tableHtml([['weight', 'l'], 'size', 'kept', 'bits', 'gap bits', 'k-means MSE',
      'fp32 B', 'pruned B', 'quantized B', 'Huffman B', 'ratio', 'rANS B'],
    r.layers.map((l) => `<tr><td class="l">${esc(l.param)}</td><td>${int(l.size)}</td>` +
        `<td>${int(l.kept)} (${(100 * l.kept / l.size).toFixed(1)}%)</td><td>${l.bits}</td><td>${l.gapBits}</td>` +
        `<td>${l.kmeansMse.toExponential(2)}</td><td>${int(l.fp32Bytes)}</td><td>${int(l.prunedBytes)}</td>` +
        `<td>${int(l.quantizedBytes)}</td><td>${int(l.huffmanBytes)}</td><td${l.huffmanBytes > l.fp32Bytes ? ' class="below-one"' : ''}>${(l.fp32Bytes / l.huffmanBytes).toFixed(l.huffmanBytes > l.fp32Bytes ? 2 : 1)}×</td>` +
        `<td data-field="rans" title="the same tensor with rANS streams where smaller">${int(l.entropyBytes)}</td></tr>`));
    const change = last.accuracy - first.accuracy;
    this.$('[data-testid=accuracy-note]').textContent = `Accuracy ${change >= 0 ? 'rose' : 'fell'} by ${Math.abs(change).toFixed(2)} points ` +
      `(${pct(first.accuracy)} → ${pct(last.accuracy)} on ${int(r.testCount)} test images). The paper retrained on all of ImageNet or MNIST ` +
      `for many epochs and lost nothing; here the retraining after each prune step and the centroid fine-tuning see only ` +
      `${int(r.trainCount)} training images (of Fashion-MNIST's 60,000) for ${state.epochs} epoch${state.epochs === 1 ? '' : 's'} each, ` +
      `so the weights removed are not fully compensated. The full-data pipeline is the native benchmark (tests/bench/compression.bench.mjs, ` +
      `60,000 training images, target at most 0.5 points lost); its results file is not bundled with the playground.`;
    // Layers whose file is larger than their fp32 weights: the fixed codebook cost of a small tensor.
    const below = r.layers.map((l, i) => ({ l, t: r.tensors?.find((x) => x.name === l.param) ?? r.tensors?.[i] }))
      .filter(({ l }) => l.huffmanBytes > l.fp32Bytes);
    this.$('[data-testid=below-one]').textContent = below.length
      ? below.map(({ l, t }) => `${l.param} compresses to ${(l.fp32Bytes / l.huffmanBytes).toFixed(2)}×, larger than before: its ${int(l.size)} weights take ` +
        `${int(l.fp32Bytes)} B in fp32, but a ${l.bits}-bit codebook alone is ${int(t?.sizes.codebook ?? 0)} B ` +
        `(2^${l.bits} centroids × 4 B), more than the indices save on so few weights.`).join(' ') +
        ' Fewer bits for small layers (or keeping them fp32) fixes it; the total is carried by the large layers.'
      : '';
    setDownload(a, r.file, `${r.model}.qlz`);
    a.textContent = `${r.model}.qlz (${bytes(r.fileBytes)}, ${last.ratio.toFixed(1)}× smaller)`;
    const previous = select.value;
    select.innerHTML = r.histograms.map((h) => `<option value="${esc(h.param)}">${esc(h.param)}</option>`).join('');
    if (r.histograms.some((h) => h.param === previous)) select.value = previous;
    this.#renderHistogram(r);
  }

  #renderHistogram(r) {
    if (!r?.histograms) return;
    const h = r.histograms.find((x) => x.param === this.$('[name=histogram]').value) ?? r.histograms[0];
    const { centers, counts, lo, hi } = binned(h.before, HIST_BINS);
    const stems = { x: [], y: [] };
    if (h.centroids) {
      h.centroids.forEach((c, i) => {
        if (h.pinnedZero && i === 0) return;
        stems.x.push(c);
        stems.y.push(h.clusterSizes[i]);
      });
    }
    const plot = this.plot('main', (width) => histogramPlot(this.$('[data-testid=plot]'), {
      xLabel: 'weight value',
      yLabel: 'count',
      width,
      logY: true,
      barLabel: 'fp32 weights (before); red stems: shared values (after)',
    }));
    plot.update(centers, counts, stems);
    const g = (v) => v.toPrecision(3);
    const biggest = stems.y.length ? Math.max(...stems.y) : 0;
    this.$('[data-testid=plot-summary]').textContent = `${h.param}: ${int(h.before.length)} fp32 weights in [${g(lo)}, ${g(hi)}]` +
      (stems.x.length ? `; ${stems.x.length} shared values from ${g(Math.min(...stems.x))} to ${g(Math.max(...stems.x))}, ` +
        `the largest cluster holding ${int(biggest)} weights${h.pinnedZero ? ', plus the pinned zero of the pruned weights' : ''}.` : '.');
  }
}

define('ql-deep-compression', QlDeepCompression);
