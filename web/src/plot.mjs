// Line plots with vertical markers, on uPlot (small, fast canvas charts: chosen over
// Chart.js and Plotly for size, ~50 kB, and because it redraws instantly as controls move).
import uPlot from 'uplot';

export const uplotCss = import.meta.resolve('uplot/dist/uPlot.min.css');

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

/**
 * series: [{label, stroke, values}], x: values; markers: [{label, x, stroke}].
 * Returns {update(x, series, markers), resize(width), destroy()}.
 */
export function linePlot(target, { title, xLabel, yLabel, width = 560, height = 280, logY = false }) {
  const box = { plot: null, width, height };
  let markers = [];
  const drawMarkers = (u) => {
    const { ctx } = u;
    const top = u.bbox.top;
    const bottom = u.bbox.top + u.bbox.height;
    ctx.save();
    ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
    markers.forEach((m, i) => {
      const px = u.valToPos(m.x, 'x', true);
      if (!Number.isFinite(px)) return;
      ctx.strokeStyle = m.stroke;
      ctx.fillStyle = m.stroke;
      ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
      ctx.lineWidth = 1.5 * devicePixelRatio;
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, bottom);
      ctx.stroke();
      ctx.fillText(m.label, px + 3 * devicePixelRatio, top + (12 + 12 * i) * devicePixelRatio);
    });
    ctx.restore();
  };
  const make = (x, series) => {
    box.plot?.destroy();
    box.plot = new uPlot({
      title,
      width: box.width,
      height,
      scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
      axes: [{ label: xLabel }, {
        label: yLabel,
        size: 70,
        values: logY ? (u, vals) => vals.map((v) => (v == null ? '' : v.toExponential(0))) : undefined,
      }],
      series: [{ label: xLabel }, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2 }))],
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
 * sizes), drawn on the same axes. Returns {update(x, counts, stems), resize(width), destroy()}.
 */
export function histogramPlot(target, { title, xLabel, yLabel, width = 560, height = 260, logY = false,
  barLabel = 'weights', stemStroke = '#d62728' }) {
  const box = { plot: null, width, height };
  let stems = { x: [], y: [] };
  const bars = uPlot.paths.bars({ size: [1, Infinity], gap: 0 });
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
    update(x, counts, newStems = null) {
      box.plot?.destroy();
      stems = newStems ?? { x: [], y: [] };
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
        axes: [{ label: xLabel }, { label: yLabel, size: 60 }],
        series: [{ label: xLabel }, { label: barLabel, stroke: '#7f9fbf', fill: 'rgba(127,159,191,.55)', paths: bars, points: { show: false } }],
        hooks: { draw: [drawStems] },
      }, [xs, ys], target);
    },
    ...lifecycle(box),
  };
}
