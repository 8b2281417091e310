// <ql-huffman>: Huffman coding of cluster indices (MIT 6.5940 lecture 5, section 5.6.4; Deep
// Compression's third stage). One layer of a demo model quantized with K-means: how often each
// index occurs, the Huffman tree drawn (d3-hierarchy's tidy tree layout; frequent indices sit
// near the root), the code table, the average code length against the entropy and the fixed
// width, a few indices encoded into a bit string and decoded back, and the lecture's two
// codeword examples (and the student's own) checked for the prefix property by the core.
// Every number comes from the quantlab core in the element's worker (web/src/tasks-lessons.mjs).
// State (attributes, URL with `sync-url`): model, layer, bits.
import { hierarchy, tree } from 'd3-hierarchy';

import { clusterColor, GRID_CSS, swatches } from '../src/draw.mjs';
import { define, Lesson } from '../src/lesson.mjs';
import { coerceLayer, modelLayerFields, showLayerOptions } from '../src/model-layers.mjs';
import { bytes, cards, controls, esc, int, STATUS_HTML, tableHtml } from '../src/ui.mjs';

const SCHEMA = {
  ...modelLayerFields(),
  bits: { type: 'int', default: 3, label: 'K-means bits', options: [2, 3, 4, 5] },
};

const TEMPLATE = `
<h2>Huffman coding: frequent indices get short codewords</h2>
<p class="lead">After K-means every weight is a cluster index, and the indices are far from
equally common: the clusters near zero hold most weights. A fixed-width code spends <i>b</i> bits on
every index; a Huffman code gives the common indices short codewords and the rare ones long
ones. It is built bottom up: merge the two least frequent entries into one node, again and again,
until one tree is left; a codeword is the path from the root (0 left, 1 right). No codeword is the
start of another, so the bits decode without separators.</p>
<div class="controls">${controls(SCHEMA, ['model', 'layer', 'bits'])}</div>
${STATUS_HTML}
${cards([['n', 'indices'], ['fixed', 'fixed width'], ['average', 'Huffman, average'], ['entropy', 'entropy (the floor)'],
  ['total', 'index bytes: fixed → Huffman'], ['saving', 'saved by Huffman']])}
<figure><figcaption>The code tree <small>(leaf: index, its centroid, how many weights use it; edge labels are the bits)</small></figcaption>
  <div class="scroll" data-testid="tree-box" tabindex="0" role="region" aria-label="the Huffman tree; the code table below lists every codeword"></div></figure>
<figure><figcaption>Codebook <small>(index, centroid, weights)</small></figcaption><ul class="swatches" data-testid="codebook"></ul></figure>
<figure><figcaption>Code table</figcaption>
  <div class="scroll" tabindex="0" role="region" aria-label="code table"><table class="data" data-testid="table"></table></div></figure>
<h3>Encode and decode</h3>
<p class="note">The layer's first indices, each written with its codeword; the decoder reads the
bits back one codeword at a time.</p>
<div class="formula" data-testid="encode"></div>
<div class="bits" data-testid="bitstring"></div>
<h3>Is it a prefix code? The lecture's two tries for a, b, c</h3>
<div class="figs" data-testid="examples"></div>
<div class="controls">
  <label>your codewords <input data-testid="own" value="0, 10, 110, 111" aria-label="your codewords, comma-separated" size="24"></label>
  <button data-testid="check">check</button>
</div>
<div class="formula" data-testid="own-result" aria-live="polite"></div>
`;

const bin = (j, bits) => j.toString(2).padStart(bits, '0');

/** The core's code tree (node 0 the root) as a nested object for d3-hierarchy. */
function nest(nodes, i = 0, bit = '') {
  const n = nodes[i];
  const kids = n.children[0] < 0 ? null : n.children.map((c, b) => nest(nodes, c, String(b)));
  return { symbol: n.symbol, count: n.count, bit, children: kids };
}

export class QlHuffman extends Lesson {
  static schema = SCHEMA;
  static template = TEMPLATE;
  static live = true;
  static css = `${GRID_CSS}
  [data-testid=tree-box] svg { width: auto; max-width: none; }
  .bits { font-family: ui-monospace, monospace; display: flex; flex-wrap: wrap; gap: 2px; margin-bottom: 1rem; }
  .bits span { padding: .1rem .25rem; border-radius: 4px; border: 1px solid; }
  .ok { color: #176117; } .no { color: #a00; }
  .example { background: #f8f8fb; border: 1px solid #e2e2ea; border-radius: 6px; padding: .4rem .7rem; }
  .example p { margin: .2rem 0; overflow-wrap: anywhere; }`;

  setup() {
    this.$('[data-testid=check]').addEventListener('click', () => this.#checkOwn());
  }

  coerce(s) {
    return coerceLayer(s);
  }

  compute(s, ctx) {
    return ctx.call('huffmanLesson', { model: s.model, layer: s.layer, bits: s.bits });
  }

  /** The student's codewords, checked by the core (on request; not part of the state). */
  async #checkOwn() {
    const box = this.$('[data-testid=own-result]');
    const codewords = this.$('[data-testid=own]').value.split(',').map((c) => c.trim());
    try {
      const r = await this.tasks.call('prefixCheck', { codewords });
      box.textContent = r.ok
        ? `prefix-free: symbols 0..${codewords.length - 1} encode to ${r.bits} (${r.bitCount} bits) and decode to ${r.decoded.join(' ')}`
        : `not usable: ${r.error}`;
    } catch (e) {
      box.textContent = `${e.code ?? 'ERROR'}: ${e.message}`;
    }
    box.dataset.done = 'true';
  }

  #drawTree(r) {
    const root = hierarchy(nest(r.tree));
    const leaves = root.leaves().length;
    const dx = 62;
    const dy = 64;
    tree().nodeSize([dx, dy])(root);
    let x0 = Infinity;
    let x1 = -Infinity;
    root.each((d) => {
      x0 = Math.min(x0, d.x);
      x1 = Math.max(x1, d.x);
    });
    const width = x1 - x0 + dx + 10;
    const height = root.height * dy + 78;
    const X = (d) => (d.x - x0 + dx / 2 + 5).toFixed(1);
    const Y = (d) => (d.y + 18).toFixed(1);
    const k = 2 ** r.bits;
    const parts = [];
    for (const link of root.links()) {
      const { source: s, target: t } = link;
      parts.push(`<line x1="${X(s)}" y1="${Y(s)}" x2="${X(t)}" y2="${Y(t)}" stroke="#889"/>`);
      const mx = (Number(X(s)) + Number(X(t))) / 2;
      const my = (Number(Y(s)) + Number(Y(t))) / 2;
      parts.push(`<text x="${(mx + (t.data.bit === '0' ? -8 : 8)).toFixed(1)}" y="${(my - 2).toFixed(1)}" text-anchor="middle" font-weight="700">${t.data.bit}</text>`);
    }
    root.each((d) => {
      if (d.children) {
        parts.push(`<circle cx="${X(d)}" cy="${Y(d)}" r="13" fill="#eef0f4" stroke="#889"/>`);
        parts.push(`<text x="${X(d)}" y="${Number(Y(d)) + 4}" text-anchor="middle" font-size="10">${esc(compact(d.data.count))}</text>`);
      } else {
        const c = clusterColor(d.data.symbol, k);
        const x = Number(X(d));
        const y = Number(Y(d));
        parts.push(`<rect x="${(x - 27).toFixed(1)}" y="${(y - 13).toFixed(1)}" width="54" height="50" rx="6" fill="${c.fill}" stroke="${c.stroke}" stroke-width="2"/>`);
        parts.push(`<text x="${x}" y="${y + 2}" text-anchor="middle" font-weight="700" font-family="ui-monospace, monospace">${bin(d.data.symbol, r.bits)}</text>`);
        parts.push(`<text x="${x}" y="${y + 16}" text-anchor="middle" font-size="10">${r.centroids[d.data.symbol].toFixed(3)}</text>`);
        parts.push(`<text x="${x}" y="${y + 30}" text-anchor="middle" font-size="10">×${esc(compact(d.data.count))}</text>`);
      }
    });
    this.$('[data-testid=tree-box]').innerHTML = `<svg width="${width.toFixed(0)}" height="${height}" viewBox="0 0 ${width.toFixed(0)} ${height}" aria-hidden="true" data-leaves="${leaves}">${parts.join('')}</svg>`;
  }

  render(s, r) {
    showLayerOptions(this.$('[data-testid=layer]'), s.model, s.layer);
    const set = (id, text) => { this.$(`[data-testid=${id}]`).textContent = text; };
    if (!r) {
      for (const id of ['tree-box', 'codebook', 'table', 'bitstring', 'examples']) this.$(`[data-testid=${id}]`).innerHTML = '';
      for (const id of ['n', 'fixed', 'average', 'entropy', 'total', 'saving', 'encode']) set(id, '–');
      return;
    }
    const k = 2 ** r.bits;
    set('n', `${int(r.n)} (${r.param})`);
    set('fixed', `${r.bits} bits / index`);
    set('average', `${r.stats.averageLength.toFixed(4)} bits / index`);
    set('entropy', `${r.stats.entropy.toFixed(4)} bits / index`);
    set('total', `${bytes(r.fixedBytes)} → ${bytes(r.huffmanBytes)}`);
    set('saving', `${(100 * (1 - r.stats.totalBits / r.fixedBits)).toFixed(1)}% of the index bits`);
    this.#drawTree(r);
    this.$('[data-testid=codebook]').innerHTML = swatches(r.centroids, r.bits, r.frequencies);
    const order = Array.from({ length: k }, (_, j) => j).sort((a, b) => r.frequencies[b] - r.frequencies[a]);
    this.$('[data-testid=table]').innerHTML = tableHtml([['index', 'l'], 'centroid', 'weights', 'share', ['codeword', 'l'], 'length'],
      order.map((j) => `<tr data-symbol="${j}"><td class="l"><code>${bin(j, r.bits)}</code></td><td>${r.centroids[j].toFixed(4)}</td>` +
        `<td>${int(r.frequencies[j])}</td><td>${((100 * r.frequencies[j]) / r.n).toFixed(2)}%</td>` +
        `<td class="l"><code>${r.codewords[j] || '–'}</code></td><td data-testid="length-${j}">${r.lengths[j]}</td></tr>`));
    const { sample } = r;
    set('encode', `indices  ${Array.from(sample.symbols, (j) => bin(j, r.bits)).join(' ')}  (${sample.symbols.length} × ${r.bits} = ${sample.symbols.length * r.bits} bits fixed)\n` +
      `Huffman  ${sample.bits}  (${sample.bitCount} bits)\n` +
      `decoded  ${Array.from(sample.decoded, (j) => bin(j, r.bits)).join(' ')}`);
    this.$('[data-testid=bitstring]').innerHTML = Array.from(sample.symbols, (j) => {
      const c = clusterColor(j, k);
      return `<span data-css="background:${c.fill};border-color:${c.stroke}" title="index ${bin(j, r.bits)}">${r.codewords[j]}</span>`;
    }).join('');
    const letters = ['a', 'b', 'c'];
    this.$('[data-testid=examples]').innerHTML = r.examples.map((e, i) => `<div class="example" data-testid="example-${i + 1}">` +
      `<p><b>Try ${i + 1}:</b> ${e.codewords.map((c, j) => `${letters[j]} = <code>${c}</code>`).join(', ')}</p>` +
      (e.ok
        ? `<p class="ok">prefix-free: “abc” is <code>${e.bits}</code>, ${e.bitCount} bits instead of 3 × 8 = 24 bits of ASCII</p>`
        : `<p class="no">${esc(e.error)}</p>`) + '</div>').join('');
  }
}

/** 12,345 -> 12.3k (tree labels only; the table has the exact counts). */
function compact(v) {
  return v >= 10000 ? `${(v / 1000).toFixed(1)}k` : String(v);
}

define('ql-huffman', QlHuffman);
