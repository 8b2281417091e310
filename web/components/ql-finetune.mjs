// <ql-finetune>: fine-tuning the codebook (MIT 6.5940 lecture 5, section 5.6.2; Deep
// Compression's trained quantization). The lecture's 4x4 example step by step: the gradient
// matrix, its entries grouped by cluster index, reduced per cluster (summed, as Deep
// Compression does, or the mean), times the learning rate, and the centroids moved. Then a
// real network: every weight tensor shared through a K-means codebook, trained in rounds (the
// core moves each centroid by its cluster's summed gradient), with the test loss, accuracy
// and one layer's centroids after each round.
// Every number comes from the quantlab core in the element's worker (web/src/tasks-lessons.mjs).
// State (attributes, URL with `sync-url`): reduce, lr, model, bits, optimizer, learningRate, rounds.
import { clusterColor, GRID_CSS, gridRows, signedFill } from '../src/draw.mjs';
import { define, Lesson } from '../src/lesson.mjs';
import { linePlot, uplotCss } from '../src/plot.mjs';
import { cards, controls, pct, runButtons, STATUS_HTML, tableHtml } from '../src/ui.mjs';

const NET_FIELDS = ['model', 'bits', 'optimizer', 'learningRate', 'rounds'];

const SCHEMA = {
  reduce: { type: 'enum', default: 'sum', label: 'reduce', options: { sum: 'sum (Deep Compression)', mean: 'mean' } },
  lr: { type: 'number', default: 1, label: 'learning rate', options: [0.5, 1, 2] },
  model: { type: 'enum', default: 'lenet300', label: 'model', options: { lenet300: 'LeNet-300-100', lenet5: 'LeNet-5' } },
  bits: { type: 'int', default: 1, label: 'bits', options: [1, 2, 3] },
  optimizer: { type: 'enum', default: 'adam', label: 'optimizer', options: { adam: 'Adam', sgd: 'SGD' } },
  learningRate: { type: 'number', default: 0.001, label: 'training rate', attr: 'learning-rate', options: [0.00001, 0.0001, 0.001] },
  rounds: { type: 'int', default: 6, label: 'rounds of 20 batches', options: [3, 6, 12] },
};

const fmt = (v, d = 2) => (Math.abs(v) < 5e-7 ? '0' : v.toFixed(d));

const TEMPLATE = `
<link rel="stylesheet" href="${uplotCss}">
<h2>Fine-tuning the codebook</h2>
<p class="lead">After K-means the weights are their centroids, and the network has lost a little.
Training can win it back without giving up the codebook: backpropagation gives a gradient for
every weight, the weights of one cluster share a centroid, so their gradients are grouped by
cluster index and reduced to one number per centroid; the centroid takes a step against it. The
indices never change, only the codebook does.</p>
<h3>The lecture's example, one step</h3>
<div class="controls">${controls(SCHEMA, ['reduce', 'lr'])}</div>
${STATUS_HTML}
<div class="figs">
  <figure><figcaption>Weights <small>(fp32)</small></figcaption><table class="grid" data-testid="w-grid"></table></figure>
  <figure><figcaption>Cluster index <small>(from K-means, the colours)</small></figcaption><table class="grid" data-testid="index-grid"></table></figure>
  <figure><figcaption>Gradient ∂L/∂W <small>(given, coloured by cluster)</small></figcaption><table class="grid" data-testid="grad-grid"></table></figure>
</div>
<figure><figcaption>Group by index, reduce, × learning rate, update</figcaption>
  <div class="scroll" tabindex="0" role="region" aria-label="fine-tuning steps per cluster"><table class="data flow" data-testid="flow"></table></div></figure>
<div class="formula" data-testid="formula"></div>
<h3>A real network, repeated</h3>
<div class="controls">
  ${controls(SCHEMA, ['model', 'bits', 'optimizer', 'learningRate', 'rounds'])}
  ${runButtons('Fine-tune')}
</div>
${cards([['fp32', 'fp32 (test loss / accuracy)'], ['kmeans', 'after K-means'], ['tuned', 'after fine-tuning']])}
<div class="plots">
  <figure><figcaption>Test loss</figcaption><div class="scroll" data-testid="loss-plot" role="img" aria-label="test loss against training steps; the table below lists it"></div></figure>
  <figure><figcaption>Centroids of <span data-testid="track"></span></figcaption><div class="scroll" data-testid="centroid-plot" role="img" aria-label="centroids against training steps; the table below lists them"></div></figure>
</div>
<div class="scroll" tabindex="0" role="region" aria-label="fine-tuning rounds"><table class="data" data-testid="rounds-table"></table></div>
<p class="note">Every Linear and Conv weight tensor of the model is shared through its own 2<sup><i>b</i></sup>-entry
codebook; biases stay fp32. Each round trains 20 batches of 50 of the 6,000 bundled training images,
then evaluates the first 500 test images.</p>
`;

export class QlFinetune extends Lesson {
  static schema = SCHEMA;
  static template = TEMPLATE;
  static live = true;
  static css = `${GRID_CSS}
  table.flow td.chips { text-align: left; }
  .chip { display: inline-block; padding: 0 .3em; margin: 1px; border-radius: 4px; font-size: .85em; }`;

  compute(s, ctx) {
    return ctx.call('finetuneToy', { reduce: s.reduce, lr: s.lr }).then((toy) => ({ toy }));
  }

  // The toy step is recomputed on every change; the network's run stands until its own
  // settings change.
  invalidate(changed, results) {
    if (!results || changed.some((c) => NET_FIELDS.includes(c)) || changed.includes('error')) return results?.toy ? { toy: results.toy } : null;
    return results;
  }

  run() {
    return this.task(async (ctx) => {
      const s = this.state;
      const history = [];
      let head = {};
      const r = await ctx.call('finetuneNetwork', { model: s.model, bits: s.bits, optimizer: s.optimizer, learningRate: s.learningRate, rounds: s.rounds }, {
        onData: (data) => {
          if (data.point) history.push(data.point);
          else head = data;
          ctx.partial({ net: { ...head, history: history.slice() } });
        },
      });
      return { net: r };
    }, 'K-means, then training');
  }

  render(s, r) {
    const set = (id, text) => { this.$(`[data-testid=${id}]`).textContent = text; };
    const toy = r?.toy;
    if (!toy) {
      for (const id of ['w-grid', 'index-grid', 'grad-grid', 'flow']) this.$(`[data-testid=${id}]`).innerHTML = '';
      set('formula', '');
    } else {
      const k = toy.centroids.length;
      const cl = (i) => clusterColor(toy.labels[i], k).fill;
      this.$('[data-testid=w-grid]').innerHTML = gridRows(16, 4, (i) => ({ text: fmt(toy.w[i]), fill: cl(i) }));
      this.$('[data-testid=index-grid]').innerHTML = gridRows(16, 4, (i) => ({ text: String(toy.labels[i]), fill: cl(i) }));
      this.$('[data-testid=grad-grid]').innerHTML = gridRows(16, 4, (i) => ({ text: fmt(toy.grad[i]), fill: cl(i) }));
      const order = Array.from({ length: k }, (_, j) => k - 1 - j);   // as on the slide: the largest centroid first
      this.$('[data-testid=flow]').innerHTML = tableHtml(['index', ['grouped gradients', 'l'], s.reduce === 'sum' ? 'sum' : 'mean', `× lr ${s.lr}`, 'centroid', 'new centroid'],
        order.map((j) => {
          const c = clusterColor(j, k);
          const chips = Array.from(toy.grad).map((g, i) => (toy.labels[i] === j ? `<span class="chip" data-css="background:${c.fill}">${fmt(g)}</span>` : '')).join('');
          return `<tr data-cluster="${j}"><td data-css="background:${c.fill}">${j}</td><td class="chips">${chips}</td>` +
            `<td data-col="reduced">${fmt(toy.reduced[j], 3)}</td><td data-col="step" data-css="background:${signedFill(toy.step[j], 0.12)}">${fmt(toy.step[j], 3)}</td>` +
            `<td>${fmt(toy.centroids[j])}</td><td data-col="updated"><b>${fmt(toy.updated[j])}</b></td></tr>`;
        }));
      set('formula', `c_k ← c_k − lr × ${s.reduce === 'sum' ? 'Σ' : 'mean'}_{i: index(i) = k} ∂L/∂W_i   (lr = ${s.lr})\n` +
        `${order.map((j) => `${fmt(toy.centroids[j])} → ${fmt(toy.updated[j])}`).join(',  ')}`);
    }
    const net = r?.net;
    const history = net?.history ?? [];
    const first = history[0];
    const last = history.length > 1 ? history[history.length - 1] : null;
    const lossAcc = (e) => (e ? `${e.loss.toFixed(4)} / ${pct(e.accuracy)}` : '–');
    set('fp32', lossAcc(net?.fp32));
    set('kmeans', lossAcc(first));
    set('tuned', last ? `${lossAcc(last)} (${last.steps} steps)` : '–');
    set('track', net?.track ?? 'the last layer');
    this.$('[data-testid=rounds-table]').innerHTML = history.length
      ? tableHtml(['round', 'steps', 'test loss', 'accuracy', ['centroids', 'l']], history.map((h) => `<tr><td>${h.round}</td><td>${h.steps}</td>` +
        `<td>${h.loss.toFixed(4)}</td><td>${pct(h.accuracy)}</td><td class="l">${Array.from(h.centroids, (c) => c.toFixed(4)).join(', ')}</td></tr>`))
      : '';
    if (!history.length) {
      this.dropPlot('loss');
      this.dropPlot('centroids');
      return;
    }
    const xs = history.map((h) => h.steps);
    const lossPlot = this.plot('loss', (width) => linePlot(this.$('[data-testid=loss-plot]'), { xLabel: 'training steps', yLabel: 'loss', width, height: 220 }));
    lossPlot.update(xs, [
      { label: 'fine-tuned codebook', stroke: '#d62728', values: history.map((h) => h.loss) },
      ...(net.fp32 ? [{ label: 'fp32', stroke: '#888', values: history.map(() => net.fp32.loss) }] : []),
    ]);
    const k = history[0].centroids.length;
    const centroidPlot = this.plot('centroids', (width) => linePlot(this.$('[data-testid=centroid-plot]'), { xLabel: 'training steps', yLabel: 'centroid', width, height: 220 }));
    centroidPlot.update(xs, Array.from({ length: k }, (_, j) => ({ label: `c${j}`, stroke: clusterColor(j, k).stroke, values: history.map((h) => h.centroids[j]) })));
  }
}

define('ql-finetune', QlFinetune);
