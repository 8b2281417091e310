// Drawing helpers of the lessons: cluster colours, matrices as coloured grids (HTML tables,
// so that the picture is also its own text alternative), a 1-D number line in SVG with lines
// from each weight to its centroid, codebook swatches and stacked byte bars. Only layout
// arithmetic here (pixels); every value drawn comes from the core through the caller.
import { esc } from './ui.mjs';

/** Cluster i of k: a light fill (dark text on it keeps a 4.5:1 contrast) and a strong stroke. */
export function clusterColor(i, k) {
  const hue = Math.round((360 * i) / Math.max(1, k) + 200) % 360;
  return { fill: `hsl(${hue} 70% 84%)`, stroke: `hsl(${hue} 65% 38%)` };
}

/** Red for positive, blue for negative, alpha by |v| / max (text stays dark: alpha <= .45). */
export function signedFill(v, max) {
  const a = Math.min(0.45, (0.45 * Math.abs(v)) / (max || 1));
  return `rgba(${v > 0 ? '214,39,40' : '31,119,180'},${a.toFixed(3)})`;
}

/**
 * Rows of an n-column grid: cells(k) -> {text, fill?, title?}. Returns the <tr> html for a
 * <table class=grid>.
 */
export function gridRows(count, cols, cell) {
  const rows = [];
  for (let i = 0; i < count; i += cols) {
    const tds = [];
    for (let k = i; k < Math.min(count, i + cols); ++k) {
      const c = cell(k);
      tds.push(`<td${c.fill ? ` data-css="background:${c.fill}"` : ''}${c.title ? ` title="${esc(c.title)}"` : ''}>${esc(c.text)}</td>`);
    }
    rows.push(`<tr>${tds.join('')}</tr>`);
  }
  return rows.join('');
}

export const GRID_CSS = `
  table.grid { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: .9em; }
  table.grid td { border: 1px solid #fff; padding: .25rem .35rem; min-width: 3.1em; text-align: center; background: #f1f2f5; }
  .figs { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 15rem), 1fr)); gap: 1rem; }
  figure { margin: 0; min-width: 0; overflow-x: auto; }
  figcaption { font-weight: 600; margin-bottom: .3rem; }
  figcaption small { font-weight: 400; color: #555; }
  svg { display: block; width: 100%; max-width: 600px; height: auto; }
  svg text { font: 12px system-ui, sans-serif; fill: #222; }
  .swatches { display: flex; flex-wrap: wrap; gap: .4rem; padding: 0; margin: 0; list-style: none; }
  .swatches li { border-radius: 6px; padding: .25rem .5rem; font-variant-numeric: tabular-nums; border: 2px solid; }
  .swatches li b { font-family: ui-monospace, monospace; margin-right: .35rem; }
  .formula { font-family: ui-monospace, monospace; background: #fbfbf3; border-left: 3px solid #cc9;
    padding: .5rem .8rem; margin: .5rem 0 1rem; white-space: pre-wrap; overflow-wrap: anywhere; }
  .formula:empty { display: none; }
`;

const num = (v, d = 2) => (Math.abs(v) < 5e-7 ? '0' : v.toFixed(d));

/**
 * A number line of `values` coloured by `labels`, the `centroids` as diamonds with a line from
 * every weight to its centroid; `marks` [{values, label, shape: 'ring' | 'tick'}] are extra
 * centroid sets (the start, the optimum). Returns SVG markup (viewBox width 480).
 */
export function numberLine({ values, labels, centroids, k, marks = [], title }) {
  const W = 480;
  const pad = 24;
  const all = [...values, ...centroids, ...marks.flatMap((m) => Array.from(m.values))];
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (!(hi > lo)) hi = lo + 1;
  const span = hi - lo;
  lo -= span * 0.03;
  hi += span * 0.03;
  const x = (v) => pad + ((v - lo) / (hi - lo)) * (W - 2 * pad);
  const yW = 28;
  const yC = 92;
  const parts = [`<line x1="${pad}" x2="${W - pad}" y1="${yC}" y2="${yC}" stroke="#999"/>`];
  // Lines from each weight to its centroid, then the weights, then the centroids.
  Array.from(values).forEach((v, i) => {
    const c = clusterColor(labels[i], k);
    parts.push(`<line x1="${x(v).toFixed(1)}" y1="${yW}" x2="${x(centroids[labels[i]]).toFixed(1)}" y2="${yC}" stroke="${c.stroke}" stroke-opacity=".55"/>`);
  });
  Array.from(values).forEach((v, i) => {
    const c = clusterColor(labels[i], k);
    parts.push(`<circle cx="${x(v).toFixed(1)}" cy="${yW}" r="5" fill="${c.stroke}"><title>w = ${num(v)}: cluster ${labels[i]}</title></circle>`);
  });
  marks.forEach((m, j) => {
    const y = yC + 20 + 14 * j;
    parts.push(`<text x="${pad - 20}" y="${y + 4}" font-size="11">${esc(m.label)}</text>`);
    Array.from(m.values).forEach((v) => {
      parts.push(m.shape === 'ring'
        ? `<circle cx="${x(v).toFixed(1)}" cy="${y}" r="4.5" fill="none" stroke="#555"/>`
        : `<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${y - 5}" y2="${y + 5}" stroke="#111" stroke-width="2"/>`);
    });
  });
  Array.from(centroids).forEach((v, j) => {
    const c = clusterColor(j, k);
    const px = x(v).toFixed(1);
    parts.push(`<path d="M${px} ${yC - 9} l9 9 l-9 9 l-9 -9 z" fill="${c.fill}" stroke="${c.stroke}" stroke-width="2"><title>centroid ${j} = ${num(v, 4)}</title></path>`);
  });
  const ticks = 5;
  for (let t = 0; t <= ticks; ++t) {
    const v = lo + ((hi - lo) * t) / ticks;
    parts.push(`<text x="${x(v).toFixed(1)}" y="12" text-anchor="middle" fill="#555" font-size="11">${num(v)}</text>`);
  }
  const height = yC + 20 + 14 * marks.length + 6;
  return `<svg viewBox="0 0 ${W} ${height}" role="img" aria-label="${esc(title)}">${parts.join('')}</svg>`;
}

/** Codebook swatches: index (binary), colour, value. */
export function swatches(centroids, bits, sizes = null) {
  const k = centroids.length;
  return Array.from(centroids, (v, j) => {
    const c = clusterColor(j, k);
    const count = sizes ? ` <small>×${sizes[j]}</small>` : '';
    return `<li data-css="background:${c.fill};border-color:${c.stroke}"><b>${j.toString(2).padStart(bits, '0')}</b>${num(v, 4)}${count}</li>`;
  }).join('');
}

/**
 * Horizontal stacked bars of bytes: rows [{label, parts: [{bytes, label, fill}]}], scaled to the
 * largest row. Returns SVG markup.
 */
export function byteBars(rows, title) {
  const W = 480;
  const left = 100;
  const h = 26;
  const max = Math.max(...rows.map((r) => r.parts.reduce((a, p) => a + p.bytes, 0)));
  const out = [];
  rows.forEach((r, i) => {
    const y = 6 + i * (h + 10);
    out.push(`<text x="0" y="${y + h / 2 + 4}">${esc(r.label)}</text>`);
    let x = left;
    for (const p of r.parts) {
      const w = Math.max(1, ((W - left - 4) * p.bytes) / max);
      out.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${h}" fill="${p.fill}" stroke="#fff"><title>${esc(p.label)}</title></rect>`);
      if (w > 56) out.push(`<text x="${(x + 5).toFixed(1)}" y="${y + h / 2 + 4}">${esc(p.label)}</text>`);
      x += w;
    }
  });
  return `<svg viewBox="0 0 ${W} ${rows.length * (h + 10) + 6}" role="img" aria-label="${esc(title)}">${out.join('')}</svg>`;
}
