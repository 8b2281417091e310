// <ql-layer-shares>: where the weights and the work are, conv against FC (MIT 6.5940 lecture 5,
// section 5.5): the share of parameters and of multiply-accumulates in the conv layers, the
// fully-connected layers and the rest (BatchNorm) of AlexNet, VGG-16, ResNet-50 and MobileNetV2,
// counted from their architecture definitions (web/src/architectures.mjs). Shown inside the
// "How many bits?" lesson, next to the accuracy-against-bits curves; standalone as well.
import { standardCnns } from '../src/architectures.mjs';
import { GRID_CSS } from '../src/draw.mjs';
import { define, Lesson } from '../src/lesson.mjs';
import { esc, STATUS_HTML, tableHtml } from '../src/ui.mjs';

const KINDS = [
  { key: 'conv', label: 'conv', fill: '#f4a3a3' },
  { key: 'fc', label: 'FC', fill: '#9ec5e8' },
  { key: 'other', label: 'BatchNorm', fill: '#d9d9d9' },
];

/** The figure's markup (no ids of the lesson base): also placed inside <ql-bits>. */
export const SHARES_HTML = `
<h3>Conv layers do the work, FC layers hold the weights</h3>
<p class="note">Why the two groups of curves matter differently: the share of parameters (storage, what
K-means compresses) and of multiply-accumulates (compute) in each kind of layer, at 224×224 input.</p>
<div data-testid="share-bars"></div>
<div class="scroll" tabindex="0" role="region" aria-label="parameters and multiply-accumulates per layer kind"><table class="data" data-testid="share-table"></table></div>
`;

const TEMPLATE = `${STATUS_HTML}${SHARES_HTML}`;

const millions = (v) => (v >= 1e9 ? `${(v / 1e9).toFixed(2)} G` : `${(v / 1e6).toFixed(2)} M`);
const share = (part, total) => (100 * part) / total;

export class QlLayerShares extends Lesson {
  static schema = {};
  static template = TEMPLATE;
  static live = true;
  static css = `${GRID_CSS}
  td { white-space: nowrap; }`;

  compute() {
    return { nets: standardCnns() };
  }

  render(s, r) {
    if (r) drawShares(this.$('[data-testid=share-bars]'), this.$('[data-testid=share-table]'), r.nets);
  }
}

/** Draw the shares of `nets` (standardCnns()) into a bars box and a table. */
export function drawShares(barsBox, table, nets) {
  const W = 400;
  const left = 84;
  const h = 18;
  const parts = [];
  let y = 4;
  nets.forEach((net) => {
    parts.push(`<text x="0" y="${y + 12}" font-weight="700">${esc(net.name)}</text>`);
    y += 18;
    for (const [measure, label] of [['params', 'parameters'], ['macs', 'MACs']]) {
      const total = KINDS.reduce((a, k) => a + net[k.key][measure], 0);
      parts.push(`<text x="8" y="${y + 13}">${label}</text>`);
      let x = left;
      for (const k of KINDS) {
        const frac = net[k.key][measure] / total;
        const w = (W - left) * frac;
        if (w <= 0) continue;
        parts.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${h}" fill="${k.fill}" stroke="#fff"><title>${k.label}: ${share(net[k.key][measure], total).toFixed(1)}%</title></rect>`);
        if (w > 34) parts.push(`<text x="${(x + 3).toFixed(1)}" y="${y + 13}" font-size="11">${k.label} ${share(net[k.key][measure], total).toFixed(0)}%</text>`);
        x += w;
      }
      y += h + 4;
    }
    y += 6;
  });
  barsBox.innerHTML = `<svg viewBox="0 0 ${W} ${y}" data-css="display:block;width:100%;max-width:640px;height:auto" role="img" aria-label="conv, FC and BatchNorm shares of parameters and MACs per network; the table below holds the numbers">${parts.join('')}</svg>`;
  table.innerHTML = tableHtml([['network', 'l'], 'parameters', 'conv', 'FC', 'MACs', 'conv', 'FC'],
    nets.map((net) => {
      const p = KINDS.reduce((a, k) => a + net[k.key].params, 0);
      const m = KINDS.reduce((a, k) => a + net[k.key].macs, 0);
      return `<tr data-net="${esc(net.name)}"><td class="l">${esc(net.name)}</td><td data-col="params">${p.toLocaleString('en-US')}</td>` +
        `<td data-col="conv-params">${share(net.conv.params, p).toFixed(1)}%</td><td data-col="fc-params">${share(net.fc.params, p).toFixed(1)}%</td>` +
        `<td data-col="macs">${millions(m)}</td><td data-col="conv-macs">${share(net.conv.macs, m).toFixed(1)}%</td><td data-col="fc-macs">${share(net.fc.macs, m).toFixed(1)}%</td></tr>`;
    }));
}

define('ql-layer-shares', QlLayerShares);
