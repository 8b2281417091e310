// Line plots with vertical markers, on uPlot (small, fast canvas charts: chosen over
// Chart.js and Plotly for size, ~50 kB, and because it redraws instantly as controls move).
import uPlot from 'uplot';

export const uplotCss = import.meta.resolve('uplot/dist/uPlot.min.css');

/**
 * series: [{label, stroke, values}], x: values; markers: [{label, x, stroke}].
 * Returns {update(x, series, markers), destroy()}.
 */
export function linePlot(target, { title, xLabel, yLabel, width = 560, height = 280, logY = false }) {
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
  let plot = null;
  const make = (x, series) => {
    plot?.destroy();
    plot = new uPlot({
      title,
      width,
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
      if (!plot || key !== shape) {
        shape = key;
        make(x, series);
      } else {
        plot.setData([x, ...series.map((s) => s.values)]);
      }
    },
    destroy() {
      plot?.destroy();
      plot = null;
    },
  };
}

/**
 * A histogram (bars of `counts` over bin centers `x`) with optional stems: vertical lines at
 * `stems.x` whose heights are `stems.y` (a codebook's centroids and cluster sizes), on the
 * same axes. Returns {update(x, counts, stems), destroy()}.
 */
export function histogramPlot(target, { title, xLabel, yLabel, width = 560, height = 260, logY = false,
  barLabel = 'weights', stemLabel = 'centroids', stemStroke = '#d62728' }) {
  let plot = null;
  const bars = uPlot.paths.bars({ size: [1, Infinity], gap: 0 });
  return {
    update(x, counts, stems = null) {
      plot?.destroy();
      const xs = Array.from(x);
      const data = [xs, Array.from(counts, (c) => (logY && c <= 0 ? null : c))];
      const series = [{ label: xLabel }, { label: barLabel, stroke: '#7f9fbf', fill: 'rgba(127,159,191,.55)', paths: bars, points: { show: false } }];
      // Stems share the x axis: put each at its own x, with nulls elsewhere (uPlot aligns series).
      if (stems && stems.x.length) {
        const merged = [...new Set([...xs, ...Array.from(stems.x)])].sort((a, b) => a - b);
        const at = (keys, values) => {
          const m = new Map(Array.from(keys, (k, i) => [k, values[i]]));
          return merged.map((k) => (m.has(k) ? m.get(k) : null));
        };
        data[0] = merged;
        data[1] = at(xs, data[1]);
        data.push(at(Array.from(stems.x), Array.from(stems.y, (c) => (logY && c <= 0 ? null : c))));
        series.push({ label: stemLabel, stroke: stemStroke, width: 0, paths: () => null,
          points: { show: true, size: 6, stroke: stemStroke, fill: stemStroke } });
      }
      const drawStems = (u) => {
        if (data.length < 3) return;
        const { ctx } = u;
        ctx.save();
        ctx.strokeStyle = stemStroke;
        ctx.lineWidth = 1.5 * devicePixelRatio;
        const bottom = u.bbox.top + u.bbox.height;
        data[0].forEach((xv, i) => {
          const yv = data[2][i];
          if (yv == null) return;
          const px = u.valToPos(xv, 'x', true);
          const py = u.valToPos(yv, 'y', true);
          ctx.beginPath();
          ctx.moveTo(px, bottom);
          ctx.lineTo(px, py);
          ctx.stroke();
        });
        ctx.restore();
      };
      plot = new uPlot({
        title,
        width,
        height,
        scales: { x: { time: false }, y: logY ? { distr: 3 } : { range: (u, lo, hi) => [0, hi * 1.05] } },
        axes: [{ label: xLabel }, { label: yLabel, size: 60 }],
        series,
        hooks: { draw: [drawStems] },
      }, data, target);
    },
    destroy() {
      plot?.destroy();
      plot = null;
    },
  };
}
