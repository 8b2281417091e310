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
