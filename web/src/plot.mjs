// Line plots with vertical markers, on uPlot (small, fast canvas charts: chosen over
// Chart.js and Plotly for size, ~50 kB, and because it redraws instantly as controls move).
import uPlot from 'uplot';

import { uplotCssUrl } from './resolve.mjs';

export const uplotCss = uplotCssUrl();

/** resize(width) and destroy() of the uPlot held in `box.plot` (sized by box.width, box.height). */
function lifecycle(box) {
  return {
    resize(width) {
      box.width = width;
      box.plot?.setSize({ width, height: box.height });
    },
    destroy() {
      box.plot?.destroy();
      box.plot = null;
    },
  };
}

/** uPlot axis filter: keep the powers of ten of a log axis. */
const decades = (u, splits) => splits.map((v) => (v > 0 && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-6 ? v : null));

/**
 * Marker labels placed without overlap and inside the plot: each goes right of its line, or
 * left of it where it would leave the plot, in the first row where it meets no other label.
 * Returns [{x, y, align}] in canvas pixels, one per marker.
 */
function placeLabels(ctx, markers, positions, { left, right, top, row }) {
  const rows = [];   // per row: occupied [from, to] spans
  const gap = 4 * devicePixelRatio;
  return markers.map((m, i) => {
    const px = positions[i];
    const w = ctx.measureText(m.label).width;
    const toRight = px + gap + w <= right;
    const from = toRight ? px + gap : Math.max(left, px - gap - w);
    const to = from + w;
    let r = 0;
    while (rows[r]?.some(([a, b]) => from < b + gap && to > a - gap)) r += 1;
    (rows[r] ??= []).push([from, to]);
    return { x: from, y: top + row * (r + 1), align: 'left' };
  });
}

/**
 * series: [{label, stroke, values, dash?, width?}], x: values; markers: [{label, x, stroke}].
 * Options: xTicks (the x values to tick, e.g. whole bits), yRange ([lo, hi], fixed).
 * Returns {update(x, series, markers), resize(width), destroy()}.
 */
export function linePlot(target, { title, xLabel, yLabel, width = 560, height = 280, logY = false, xTicks = null, yRange = null }) {
  const box = { plot: null, width, height };
  let markers = [];
  const drawMarkers = (u) => {
    const { ctx } = u;
    const top = u.bbox.top;
    const bottom = u.bbox.top + u.bbox.height;
    ctx.save();
    ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
    const positions = markers.map((m) => u.valToPos(m.x, 'x', true));
    const shown = markers.filter((_, i) => Number.isFinite(positions[i]));
    const places = placeLabels(ctx, shown, positions.filter(Number.isFinite),
      { left: u.bbox.left, right: u.bbox.left + u.bbox.width, top, row: 13 * devicePixelRatio });
    shown.forEach((m, i) => {
      const px = positions.filter(Number.isFinite)[i];
      ctx.strokeStyle = m.stroke;
      ctx.fillStyle = m.stroke;
      ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
      ctx.lineWidth = 1.5 * devicePixelRatio;
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, bottom);
      ctx.stroke();
      // A white halo keeps the label readable over the curves.
      ctx.lineWidth = 3 * devicePixelRatio;
      ctx.setLineDash([]);
      ctx.strokeStyle = 'rgba(255,255,255,.9)';
      ctx.strokeText(m.label, places[i].x, places[i].y);
      ctx.fillText(m.label, places[i].x, places[i].y);
    });
    ctx.restore();
  };
  const make = (x, series) => {
    box.plot?.destroy();
    box.plot = new uPlot({
      title,
      width: box.width,
      height,
      scales: {
        x: { time: false, ...(xTicks ? { range: () => [xTicks[0], xTicks[xTicks.length - 1]] } : {}) },
        y: logY ? { distr: 3 } : yRange ? { range: () => yRange } : {},
      },
      axes: [{
        label: xLabel,
        ...(xTicks ? { splits: () => xTicks, values: (u, vals) => vals.map(String) } : {}),
      }, {
        label: yLabel,
        size: 70,
        values: logY ? (u, vals) => vals.map((v) => (v == null ? '' : v.toExponential(0))) : undefined,
        // A log axis: grid lines and labels at the decades only (not at 2, 3, ... 9 of each).
        ...(logY ? { filter: decades, grid: { filter: decades }, ticks: { filter: decades } } : {}),
      }],
      series: [{ label: xLabel }, ...series.map((s) => ({
        label: s.label, stroke: s.stroke, width: s.width ?? 2, ...(s.dash ? { dash: s.dash } : {}),
      }))],
      hooks: { draw: [drawMarkers] },
    }, [x, ...series.map((s) => s.values)], target);
  };
  let shape = '';
  return {
    update(x, series, newMarkers = []) {
      markers = newMarkers;
      const key = series.map((s) => s.label).join('|');
      if (!box.plot || key !== shape) {
        shape = key;
        make(x, series);
      } else {
        box.plot.setData([x, ...series.map((s) => s.values)]);
      }
    },
    ...lifecycle(box),
  };
}

/**
 * A histogram (bars of `counts` over equal-width bins centered at `x`) with optional stems:
 * vertical lines at `stems.x` of heights `stems.y` (a codebook's centroids and cluster
 * sizes), drawn on the same axes, and optional grid lines at `grid` (a quantization grid's levels).
 * Returns {update(x, counts, stems, grid), resize(width), destroy()}.
 */
export function histogramPlot(target, { title, xLabel, yLabel, width = 560, height = 260, logY = false,
  barLabel = 'weights', stemStroke = '#d62728' }) {
  const box = { plot: null, width, height };
  let stems = { x: [], y: [] };
  let grid = [];
  const bars = uPlot.paths.bars({ size: [1, Infinity], gap: 0 });
  // Grid lines (a quantization grid's levels): thin full-height lines over the bars.
  const drawGrid = (u) => {
    if (!grid.length) return;
    const { ctx } = u;
    const [lo, hi] = [u.scales.x.min, u.scales.x.max];
    // Levels closer than 4 px would hide the bars: then they are ticks along the axis.
    const spacing = grid.length > 1 ? Math.abs(u.valToPos(grid[1], 'x', true) - u.valToPos(grid[0], 'x', true)) : Infinity;
    const bottom = u.bbox.top + u.bbox.height;
    const top = spacing >= 4 * devicePixelRatio ? u.bbox.top : bottom - 10 * devicePixelRatio;
    ctx.save();
    ctx.strokeStyle = top === u.bbox.top ? 'rgba(31,95,168,.5)' : '#1f5fa8';
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const g of grid) {
      if (g < lo || g > hi) continue;
      const px = Math.round(u.valToPos(g, 'x', true)) + 0.5;
      ctx.moveTo(px, top);
      ctx.lineTo(px, bottom);
    }
    ctx.stroke();
    ctx.restore();
  };
  // Stems are drawn by hand so that the bars keep their bin width (a second series would
  // merge its x values into the bins').
  const drawStems = (u) => {
    const { ctx } = u;
    const bottom = u.bbox.top + u.bbox.height;
    ctx.save();
    ctx.strokeStyle = stemStroke;
    ctx.fillStyle = stemStroke;
    ctx.lineWidth = 1.5 * devicePixelRatio;
    stems.x.forEach((xv, i) => {
      const yv = stems.y[i];
      if (!(yv > 0)) return;
      const px = u.valToPos(xv, 'x', true);
      const py = u.valToPos(yv, 'y', true);
      ctx.beginPath();
      ctx.moveTo(px, bottom);
      ctx.lineTo(px, py);
      ctx.stroke();
      ctx.beginPath();
      ctx.arc(px, py, 3 * devicePixelRatio, 0, 2 * Math.PI);
      ctx.fill();
    });
    ctx.restore();
  };
  return {
    update(x, counts, newStems = null, newGrid = null) {
      box.plot?.destroy();
      stems = newStems ?? { x: [], y: [] };
      grid = newGrid ? Array.from(newGrid) : [];
      const xs = Array.from(x);
      const ys = Array.from(counts, (c) => (logY && c <= 0 ? null : c));
      const top = Math.max(1, ...ys.filter((v) => v != null), ...Array.from(stems.y));
      const half = xs.length > 1 ? (xs[1] - xs[0]) / 2 : 0.5;
      const lo = Math.min(xs[0] - half, ...Array.from(stems.x));
      const hi = Math.max(xs[xs.length - 1] + half, ...Array.from(stems.x));
      box.plot = new uPlot({
        title,
        width: box.width,
        height,
        scales: {
          x: { time: false, range: () => [lo, hi] },
          y: logY ? { distr: 3, range: () => [1, top * 2] } : { range: () => [0, top * 1.05] },
        },
        axes: [{ label: xLabel }, { label: yLabel, size: 60, ...(logY ? { filter: decades, grid: { filter: decades }, ticks: { filter: decades } } : {}) }],
        series: [{ label: xLabel }, { label: barLabel, stroke: '#7f9fbf', fill: 'rgba(127,159,191,.55)', paths: bars, points: { show: false } }],
        hooks: { draw: [drawGrid, drawStems] },
      }, [xs, ys], target);
    },
    ...lifecycle(box),
  };
}

/** Display only: `values` in `bins` equal bins over their range -> {centers, counts, lo, hi}. */
export function binned(values, bins) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const width = (hi - lo) / bins || 1;
  const counts = new Float64Array(bins);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))] += 1;
  const centers = Array.from({ length: bins }, (_, i) => lo + (i + 0.5) * width);
  return { centers, counts, lo, hi };
}
