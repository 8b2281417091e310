// <ql-integer>: the integer-only layer (MIT 6.5940 lecture 5, section 5.9). One real test image
// through one FC or conv layer of a demo model, in integers only, drawn as the lecture's
// computational graph with the live values of one output: q_X (uint8) and q_W (int8) into the
// int32 accumulator sum q_W q_X, plus the folded q_bias = q_b - Z_X sum q_W, rescaled by
// M = S_W S_X / S_Y = 2^-n M0 (M0 in [0.5, 1), a Q31 integer in the kernel), shifted by Z_Y and
// clamped to q_Y; beside the fp32 layer and the int8 runtime kernel's own q_Y. Per-channel M for
// conv; fixed-point against fp32 requantization. Every number comes from the quantlab core in
// the element's worker (web/src/tasks-lessons.mjs).
// State (attributes, URL with `sync-url`): layer, image, out, requant.
import { GRID_CSS } from '../src/draw.mjs';
import { define, Lesson } from '../src/lesson.mjs';
import { linePlot, uplotCss } from '../src/plot.mjs';
import { cards, controls, drawDigit, esc, STATUS_HTML, tableHtml } from '../src/ui.mjs';

const LAYERS = {
  fc1: { label: 'LeNet-300-100 fc1 (784 → 300)', outputs: 300 },
  fc2: { label: 'LeNet-300-100 fc2 (300 → 100)', outputs: 100 },
  fc3: { label: 'LeNet-300-100 fc3 (100 → 10)', outputs: 10 },
  conv1: { label: 'LeNet-5 conv1 (1 → 6 channels, 5×5)', outputs: 6 * 28 * 28 },
};
const CLASSES = ['T-shirt/top', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot'];

const SCHEMA = {
  layer: { type: 'enum', default: 'fc1', label: 'layer', options: Object.fromEntries(Object.entries(LAYERS).map(([k, v]) => [k, v.label])) },
  image: { type: 'int', default: 0, label: 'test image', min: 0, max: 1999, step: 1 },
  out: { type: 'int', default: 0, label: 'output', min: 0, max: 6 * 28 * 28 - 1, step: 1 },
  requant: { type: 'enum', default: 'fixed', label: 'requantization', options: { fixed: 'fixed point (M0, shift)', fp32: 'fp32 multiply' } },
};

const TEMPLATE = `
<link rel="stylesheet" href="${uplotCss}">
<h2>The integer-only layer: q<sub>Y</sub> = M (q<sub>W</sub> q<sub>X</sub> + q<sub>bias</sub>) + Z<sub>Y</sub></h2>
<p class="lead">With symmetric weights (Z<sub>W</sub> = 0) and the bias on the grid S<sub>b</sub> = S<sub>W</sub> S<sub>X</sub>,
a layer needs no floating point at inference: 8-bit products summed in 32 bits, a 32-bit bias
that already holds the input zero point's correction (q<sub>bias</sub> = q<sub>b</sub> − Z<sub>X</sub> Σ q<sub>W</sub>,
known before the input arrives), one rescale by M = S<sub>W</sub> S<sub>X</sub> / S<sub>Y</sub>, written as
2<sup>−n</sup> M<sub>0</sub> with M<sub>0</sub> in [0.5, 1) (an integer multiply and a shift), the output zero point,
and a clamp. Here a real test image goes through a real layer; follow one output through the graph.</p>
<div class="controls">${controls(SCHEMA, ['layer', 'image', 'out', 'requant'])}</div>
${STATUS_HTML}
<div class="top">
  <figure><figcaption>Input image <small data-testid="label"></small></figcaption><canvas data-testid="digit" width="84" height="84" role="img" aria-label="the test image"></canvas></figure>
  ${cards([['agree', 'q<sub>Y</sub> = the int8 runtime kernel'], ['differ', 'fixed point vs fp32 requantization'], ['max-diff', 'largest |int8 − fp32| (dequantized)']])}
</div>
<figure><figcaption>The computational graph, live for output <span data-testid="out-name"></span></figcaption>
  <div data-testid="graph"></div></figure>
<div class="formula" data-testid="formula"></div>
<figure data-testid="channels-fig"><figcaption>Per-channel M <small>(one S<sub>W</sub> per output channel, so one M<sub>0</sub> and n each)</small></figcaption>
  <div class="scroll" tabindex="0" role="region" aria-label="per-channel multipliers"><table class="data" data-testid="channels"></table></div></figure>
<figure><figcaption>All outputs <small data-testid="plot-caption"></small></figcaption>
  <div class="scroll" data-testid="plot" role="img" aria-label="fp32 outputs and dequantized int8 outputs; the table below lists outputs from the selected one"></div></figure>
<figure><figcaption>Outputs from the selected one <small>(table)</small></figcaption>
  <div class="scroll" tabindex="0" role="region" aria-label="outputs table"><table class="data" data-testid="table"></table></div></figure>
<p class="note" data-testid="changed"></p>
<p class="note">Scales: S<sub>X</sub> and S<sub>Y</sub> are the min-max ranges of this input and of this layer's fp32 output
(uint8, asymmetric), S<sub>W</sub> is max|W| / 127 (int8, symmetric). A deployed model fixes S<sub>Y</sub> by
calibration on many inputs; ReLU after the layer would be folded into the clamp.</p>
`;

const box = (x, y, w, h, title, value, fill, id) => `<g data-node="${id}"><rect x="${x}" y="${y}" width="${w}" height="${h}" rx="7" fill="${fill}" stroke="#556"/>` +
  `<text x="${x + w / 2}" y="${y + 17}" text-anchor="middle" font-weight="700">${title}</text>` +
  `<text x="${x + w / 2}" y="${y + 35}" text-anchor="middle" font-family="ui-monospace, monospace" data-value="${id}">${esc(value)}</text></g>`;
const arrow = (x1, y1, x2, y2) => `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#556" stroke-width="1.5" marker-end="url(#arrow)"/>`;
const type = (t) => `<tspan font-weight="400" fill="#555"> ${t}</tspan>`;

export class QlInteger extends Lesson {
  static schema = SCHEMA;
  static template = TEMPLATE;
  static live = true;
  static css = `${GRID_CSS}
  .top { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; }
  .top .cards { flex: 1 1 18rem; }
  canvas { image-rendering: pixelated; border: 1px solid #ccd; }
  [data-testid=graph] svg { max-width: 480px; }`;

  coerce(s) {
    s.out = Math.min(s.out, LAYERS[s.layer].outputs - 1);
    return s;
  }

  compute(s, ctx) {
    return ctx.call('integerLesson', { layer: s.layer, image: s.image, out: s.out });
  }

  #graph(r, st) {
    const o = r.out;
    const ch = r.channels[r.spec.kind === 'conv' ? r.channel : 0];
    const n = -ch.shift;
    const W = 360;
    const parts = [`<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#556"/></marker></defs>`];
    const conv = r.spec.kind === 'conv';
    parts.push(box(8, 6, 166, 44, `q<tspan baseline-shift="sub" font-size="9">X</tspan>${type('uint8')}`, `Z_X = ${r.pX.zeroPoint}, S_X = ${r.pX.scale.toPrecision(3)}`, '#dbe9f7', 'qx'));
    parts.push(box(186, 6, 166, 44, `q<tspan baseline-shift="sub" font-size="9">W</tspan>${type('int8')}`, `S_W = ${ch.sW.toPrecision(3)}`, '#f7e3cf', 'qw'));
    parts.push(arrow(91, 50, 160, 72), arrow(269, 50, 200, 72));
    parts.push(box(60, 72, 240, 44, `${conv ? 'Conv(q_W, q_X)' : 'Σ q_W q_X'}${type('int32')}`, String(r.products[o]), '#eee6f7', 'products'));
    parts.push(box(230, 134, 122, 44, `q<tspan baseline-shift="sub" font-size="9">bias</tspan>${type('int32')}`, String(r.qBias[o]), '#e4f2e0', 'qbias'));
    parts.push(arrow(180, 116, 180, 142), arrow(230, 156, 206, 156));
    parts.push(`<circle cx="180" cy="156" r="14" fill="#fff" stroke="#556"/><text x="180" y="161" text-anchor="middle" font-size="16">+</text>`);
    parts.push(arrow(180, 170, 180, 192));
    parts.push(box(60, 192, 240, 44, `accumulator${type('int32')}`, String(r.acc[o]), '#eee6f7', 'acc'));
    parts.push(arrow(180, 236, 180, 256));
    const rescale = st.requant === 'fixed' ? `× M0 = ${ch.M0}·2⁻³¹, >> ${n}` : `× M = ${ch.M.toPrecision(4)} (fp32)`;
    const stage = r.stages[st.requant];
    parts.push(box(30, 256, 300, 44, `rescale ${rescale}`, String(stage.scaled[o]), '#fdf3c4', 'scaled'));
    parts.push(arrow(180, 300, 180, 320));
    parts.push(box(60, 320, 240, 44, `+ Z_Y = ${r.pY.zeroPoint}`, String(stage.shifted[o]), '#fdf3c4', 'shifted'));
    parts.push(arrow(180, 364, 180, 384));
    parts.push(box(60, 384, 240, 44, `clamp [${r.pY.qMin}, ${r.pY.qMax}] → q_Y${type('uint8')}`, String(stage.qY[o]), '#dbe9f7', 'qy'));
    parts.push(arrow(180, 428, 180, 448));
    const diff = stage.dequantized[o] - r.y[o];
    parts.push(box(8, 448, 344, 44, `S_Y (q_Y − Z_Y) vs fp32`, `${stage.dequantized[o].toFixed(4)} vs ${r.y[o].toFixed(4)} (${diff >= 0 ? '+' : ''}${diff.toFixed(4)})`, '#f1f2f5', 'compare'));
    return `<svg viewBox="0 0 ${W} 500" role="img" aria-label="the integer-only layer as a graph with the live values of output ${o}; the formula below and the table hold the same values">${parts.join('')}</svg>`;
  }

  render(s, r) {
    const set = (id, text) => { this.$(`[data-testid=${id}]`).textContent = text; };
    if (!r) {
      for (const id of ['graph', 'channels', 'table']) this.$(`[data-testid=${id}]`).innerHTML = '';
      for (const id of ['label', 'agree', 'differ', 'max-diff', 'formula', 'out-name', 'changed', 'plot-caption']) set(id, '–');
      this.dropPlot('out');
      return;
    }
    const o = r.out;
    const conv = r.spec.kind === 'conv';
    const stage = r.stages[s.requant];
    const other = r.stages[s.requant === 'fixed' ? 'fp32' : 'fixed'];
    drawDigit(this.$('[data-testid=digit]'), r.pixels, 0, 3);
    set('label', `#${r.image}: ${CLASSES[r.label]}`);
    set('out-name', conv ? `${o} (channel ${r.channel}, row ${Math.floor((o % r.perOut) / 28)}, column ${o % 28})` : String(o));
    const size = r.y.length;
    let same = 0;
    let differ = 0;
    let maxDiff = 0;
    const changed = [];
    for (let i = 0; i < size; ++i) {
      if (stage.qY[i] === stage.runtime[i]) same += 1;
      if (r.stages.fixed.qY[i] !== r.stages.fp32.qY[i]) {
        differ += 1;
        if (changed.length < 20) changed.push(i);
      }
      maxDiff = Math.max(maxDiff, Math.abs(stage.dequantized[i] - r.y[i]));
    }
    set('agree', `${same} of ${size} outputs equal`);
    set('differ', `${differ} of ${size} outputs differ`);
    set('max-diff', `${maxDiff.toFixed(4)} (S_Y / 2 = ${(r.pY.scale / 2).toFixed(4)})`);
    set('changed', differ
      ? `Outputs whose q_Y changes between fixed-point and fp32 requantization: ${changed.map((i) => `${i} (${r.stages.fixed.qY[i]} vs ${r.stages.fp32.qY[i]})`).join(', ')}${differ > changed.length ? ', …' : ''}.`
      : 'On this input, fixed-point and fp32 requantization give the same q_Y everywhere: M0 carries 31 bits, so only an accumulator that lands almost exactly halfway between two integers rounds differently.');
    this.$('[data-testid=graph]').innerHTML = this.#graph(r, s);
    const ch = r.channels[conv ? r.channel : 0];
    set('formula', `M = S_W S_X / S_Y = ${ch.sW.toPrecision(6)} × ${r.pX.scale.toPrecision(6)} / ${r.pY.scale.toPrecision(6)} = ${ch.M.toPrecision(6)}\n` +
      `  = 2^-${-ch.shift} × M0, M0 = ${(ch.M0 / 2 ** 31).toFixed(6)} in [0.5, 1)   (kernel: M0 = ${ch.M0} / 2^31, shift ${ch.shift}; value ${ch.value.toPrecision(6)})\n` +
      `q_bias = q_b − Z_X Σ q_W = ${r.qB[conv ? r.channel : o]} − ${r.pX.zeroPoint} Σ q_W = ${r.qBias[o]}   (folded before the input arrives)\n` +
      `q_Y = clamp(round(M × (${r.products[o]} + ${r.qBias[o]})) + ${r.pY.zeroPoint}) = ${stage.qY[o]}   (${s.requant === 'fixed' ? 'fixed point' : 'fp32'}; the other way: ${other.qY[o]})`);
    const fig = this.$('[data-testid=channels-fig]');
    fig.hidden = !conv;
    this.$('[data-testid=channels]').innerHTML = conv
      ? tableHtml(['channel', 'S_W', 'M', 'M0 (Q31)', 'M0', 'n'], r.channels.map((c, i) => `<tr${i === r.channel ? ' data-css="font-weight:600"' : ''}><td>${i}</td>` +
        `<td>${c.sW.toPrecision(4)}</td><td>${c.M.toPrecision(4)}</td><td>${c.M0}</td><td>${(c.M0 / 2 ** 31).toFixed(4)}</td><td>${-c.shift}</td></tr>`))
      : '';
    const from = o;
    const to = Math.min(size, from + 10);
    const rows = [];
    for (let i = from; i < to; ++i) {
      rows.push(`<tr data-out="${i}"><td>${i}</td><td>${r.acc[i]}</td><td data-col="fixed">${r.stages.fixed.qY[i]}</td><td data-col="fp32">${r.stages.fp32.qY[i]}</td>` +
        `<td data-col="runtime">${stage.runtime[i]}</td><td>${stage.dequantized[i].toFixed(4)}</td><td>${r.y[i].toFixed(4)}</td></tr>`);
    }
    this.$('[data-testid=table]').innerHTML = tableHtml(['output', 'int32 acc', 'q_Y fixed', 'q_Y fp32', 'runtime q_Y', 'int8 → real', 'fp32'], rows);
    // The plot: every output of an FC layer, or the selected channel of a conv layer.
    const lo = conv ? r.channel * r.perOut : 0;
    const hi = conv ? lo + r.perOut : size;
    set('plot-caption', conv ? `(channel ${r.channel}, positions in row order)` : '(fp32 and int8 dequantized, per output)');
    const xs = Array.from({ length: hi - lo }, (_, i) => lo + i);
    this.plot('out', (width) => linePlot(this.$('[data-testid=plot]'), { xLabel: 'output', yLabel: 'value', width, height: 240 }))
      .update(xs, [
        { label: 'fp32', stroke: '#888', values: Array.from(r.y.subarray(lo, hi)) },
        { label: 'int8, dequantized', stroke: '#d62728', values: Array.from(stage.dequantized.subarray(lo, hi)) },
      ], [{ label: `output ${o}`, x: o, stroke: '#1f5fa8' }]);
  }
}

define('ql-integer', QlInteger);
