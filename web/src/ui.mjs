// The markup the lessons share: the common shadow-DOM styles, controls from a state schema
// (state.mjs), the run / stop buttons, progress and error boxes, result cards and tables,
// number formats and file downloads. No quantlab arithmetic here: the numbers come from
// the core.

export const LESSON_CSS = `
  :host { display: block; font: 15px/1.45 system-ui, sans-serif; color: #1b1b1b; min-width: 0; max-width: 100%; }
  * { box-sizing: border-box; }
  h2 { margin: 0 0 .25rem; font-size: 1.3rem; }
  h3 { margin: 1.2rem 0 .4rem; font-size: 1.05rem; }
  p.lead { margin: 0 0 1rem; color: #444; max-width: 62rem; }
  .controls { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; align-items: center;
    padding: .6rem .8rem; background: #f4f6f8; border-radius: 8px; margin-bottom: 1rem; }
  .controls label { display: inline-flex; gap: .4rem; align-items: center; }
  .controls select { max-width: 100%; }
  [aria-invalid] { outline: 2px solid #c00; }
  button { font: inherit; padding: .25rem .8rem; border: 1px solid #aab; border-radius: 5px;
    background: white; cursor: pointer; }
  button.primary { background: #1f5fa8; color: white; border-color: #1f5fa8; }
  button:hover:not(:disabled) { filter: brightness(0.95); }
  button:disabled { opacity: .5; cursor: default; }
  select, input { font: inherit; }
  input[type=number] { width: 5em; }
  .progress { display: flex; align-items: center; gap: .6rem; margin: .4rem 0; min-height: 1.4em; }
  .progress[hidden] { display: none; }
  .progress progress { width: 18rem; max-width: 50%; height: 1rem; }
  .progress span { color: #555; font-size: .9em; font-variant-numeric: tabular-nums; }
  .error { white-space: pre-line; color: #a00; background: #fee; border: 1px solid #e99; border-radius: 6px; padding: .4rem .7rem;
    margin: .5rem 0; }
  .error:empty { display: none; }
  table.data { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: .9em; }
  table.data th, table.data td { border: 1px solid #dde; padding: .15rem .5rem; text-align: right; white-space: nowrap; }
  table.data th { background: #f4f6f8; }
  table.data td.l, table.data th.l { text-align: left; }
  table.data tr.dim td { color: #666; }
  .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: .5rem; margin: .8rem 0; }
  .card { background: #f8f8fb; border: 1px solid #e2e2ea; border-radius: 6px; padding: .35rem .6rem; }
  .card .name { color: #555; font-size: .85em; }
  .card .value { font-size: 1.25em; font-variant-numeric: tabular-nums; }
  .scroll { overflow-x: auto; max-width: 100%; }
  .lead, .note { overflow-wrap: anywhere; }
  .note { color: #555; font-size: .9em; max-width: 62rem; }
  a.download { font-weight: 600; color: #1f5fa8; }
`;

/** `digits` decimals, or 5 significant digits for a huge value (toFixed prints 3.333333383491554e+29). */
export const fixed = (v, digits = 4) => (Math.abs(v) >= 1e6 ? v.toPrecision(5) : v.toFixed(digits));
/** Percent with two decimals. */
export const pct = (v) => (v == null || !Number.isFinite(v) ? '–' : `${v.toFixed(2)}%`);
/** Bytes with thousands separators. */
export const bytes = (v) => `${Math.round(v).toLocaleString('en-US')} B`;
export const int = (v) => Math.round(v).toLocaleString('en-US');
export const shape = (s) => (s ? `[${s.map((d) => (d === null ? '?' : d)).join(', ')}]` : '?');
export const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** Drive a <div class=progress><progress></progress><span></span></div>. */
export function progressBar(el) {
  const bar = el.querySelector('progress');
  const label = el.querySelector('span');
  return {
    start(message = '') {
      el.hidden = false;
      bar.value = 0;
      label.textContent = message;
    },
    update(fraction, message) {
      bar.value = Math.max(0, Math.min(1, fraction));
      if (message) label.textContent = message;
    },
    done(message = '') {
      bar.value = 1;
      label.textContent = message;
      if (!message) el.hidden = true;
    },
    /** Stopped: the bar stays where the work stopped. */
    stopped() {
      label.textContent = 'stopped';
    },
  };
}

export const PROGRESS_HTML = (id) => `<div class="progress" data-testid="${id}" hidden><progress max="1" value="0" aria-label="progress"></progress><span></span></div>`;

/** Progress, then the error box (role=alert), as every lesson shows them. */
export const STATUS_HTML = `${PROGRESS_HTML('progress')}
<div class="error" data-testid="error" role="alert"></div>`;

/** The run button (data-testid=run, which the base element binds) and its Stop. */
export const runButtons = (label) => `<button class="primary" data-testid="run">${label}</button>
  <button data-testid="stop" hidden>Stop</button>`;

/** A result card: a name over a value (data-testid=id). */
export const card = (id, name) => `<div class="card"><div class="name">${name}</div><div class="value" data-testid="${id}">–</div></div>`;
export const cards = (list) => `<div class="cards">${list.map(([id, name]) => card(id, name)).join('')}</div>`;

/** A data table: header cells (strings, or [text, class]) and rows of cell HTML. */
export function tableHtml(headers, rows) {
  const th = (h) => (Array.isArray(h) ? `<th class="${h[1]}">${h[0]}</th>` : `<th>${h}</th>`);
  return `<tr>${headers.map(th).join('')}</tr>${rows.join('')}`;
}

/** The labelled control of one schema field (state.mjs); the base element binds it. */
export function control(name, f) {
  const id = f.id ?? name;
  const at = `name="${id}" data-testid="${id}" data-field="${name}"`;
  const options = (list) => list.map(([value, label]) => `<option value="${esc(value)}">${label}</option>`).join('');
  let input;
  if (f.type === 'enum') input = `<select ${at}>${options(Object.entries(f.options))}</select>`;
  else if (f.type === 'bool' && f.labels) input = `<select ${at}>${options((f.values ?? ['false', 'true']).map((v, i) => [v, f.labels[i]]))}</select>`;
  else if (f.type === 'bool') return `<label><input type="checkbox" ${at}> ${f.label}</label>`;
  else if (f.options) input = `<select ${at}>${options(f.options.map((v, i) => [v, f.labels?.[i] ?? v]))}</select>`;
  else input = `<input ${at} type="number" min="${f.min}" max="${f.max}" step="${f.step ?? 'any'}">`;
  return `<label>${f.label} ${input}</label>`;
}

/** The controls of `names` from `schema`. */
export const controls = (schema, names) => names.map((n) => control(n, schema[n])).join('\n  ');

/** Point an <a download> at `data` (bytes), replacing the previous object URL. */
export function setDownload(a, data, filename, type = 'application/octet-stream') {
  if (a.href.startsWith('blob:')) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(new Blob([data], { type }));
  a.download = filename;
  a.hidden = false;
}

/** Draw 28x28 uint8 grey images (pixels concatenated) into canvases, one per image. */
export function drawDigit(canvas, pixels, offset = 0, scale = 2) {
  canvas.width = 28 * scale;
  canvas.height = 28 * scale;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; ++i) {
    const v = 255 - pixels[offset + i];
    img.data[4 * i] = v;
    img.data[4 * i + 1] = v;
    img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  const tmp = new OffscreenCanvas(28, 28);
  tmp.getContext('2d').putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, 28 * scale, 28 * scale);
}
