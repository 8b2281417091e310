// The "your own .onnx" part of <ql-models> (issue 10): the file picker and drop markup, the
// table of the model's inputs and outputs with a field per free dimension, and the table of
// output statistics for a model run on seeded random data (fp32, int8, SQNR). Markup only:
// the worker (web/src/tasks.mjs runRandom, modelInfo) computes every number.
import { esc, shape, tableHtml } from '../src/ui.mjs';

export const UPLOAD_CSS = `
  :host([data-dragging]) { outline: 3px dashed #1f5fa8; outline-offset: 4px; }
  .upload input[type=file] { max-width: 15rem; }
  input.dim { width: 5.5em; }
  .error details summary { cursor: pointer; }`;

/** The picker (a labelled file input, keyboard reachable) and its own error box. */
export const UPLOAD_HTML = `<label class="upload">your model <input type="file" name="upload" data-testid="upload"
    accept=".onnx,application/octet-stream"></label>
  <span class="note">or drop a .onnx file on this lesson</span>`;

export const UPLOAD_STATUS_HTML = '<div class="error" data-testid="upload-error" role="alert"></div>';

/** The model's inputs and outputs: name, type, shape; a free dimension (a dim_param such
 * as the batch 'N', or an unknown size) gets a number field when `editable`, keyed as the
 * worker's freeDims keys it, showing `dims[key]` or its default. */
export function ioTableHtml(info, dims, editable, disabled) {
  if (!info) return '';
  const keyOf = (input, d, axis) => (typeof d === 'string' && d !== '' ? d : `${input.name}[${axis}]`);
  const cell = (v, isInput) => {
    if (!v.shape) return '?';
    if (!isInput || !editable) return esc(shape(v.shape));
    const parts = v.shape.map((d, axis) => {
      if (typeof d === 'number') return String(d);
      const key = keyOf(v, d, axis);
      const free = info.free.find((f) => f.key === key);
      const value = dims[key] ?? String(free?.default ?? 1);
      return `<label class="dim-label">${esc(key)} <input class="dim" type="number" min="1" step="1" data-dim="${esc(key)}" ` +
        `value="${esc(value)}" aria-label="size of dimension ${esc(key)} (input ${esc(v.name)}, axis ${axis})"${disabled ? ' disabled' : ''}></label>`;
    });
    return `[${parts.join(', ')}]`;
  };
  const rows = [...info.inputs.map((v) => [v, true]), ...info.outputs.map((v) => [v, false])]
    .map(([v, isInput]) => `<tr data-io="${isInput ? 'input' : 'output'}"><td class="l">${isInput ? 'input' : 'output'}</td>` +
      `<td class="l">${esc(v.name)}</td><td class="l">${esc(v.dtype)}</td><td class="l">${cell(v, isInput)}</td></tr>`);
  return tableHtml([['role', 'l'], ['name', 'l'], ['type', 'l'], ['shape', 'l']], [rows.join('')]);
}

const g = (v) => (v == null ? '–' : Number.isFinite(v) ? v.toPrecision(4) : String(v));
/** SQNR in dB with two decimals ('∞' when int8 equals fp32). */
export const sqnrText = (v) => (v == null ? '–' : Number.isFinite(v) ? v.toFixed(2) : '∞');

/** Per output on the random input: shape, fp32 min / max / mean / std, and after quantization
 * the int8 mean / std, the SQNR against fp32 and the largest |fp32 - int8|. */
export function outputsTableHtml(fp32, int8) {
  if (!fp32) return '';
  const q = int8 ? new Map(int8.outputs.map((o) => [o.name, o])) : new Map();
  const rows = fp32.outputs.map((o) => {
    const s = o.fp32;
    const i = q.get(o.name);
    return `<tr data-output="${esc(o.name)}"><td class="l">${esc(o.name)}</td><td class="l">${esc(shape(o.shape))}</td>` +
      `<td>${g(s?.min)}</td><td>${g(s?.max)}</td><td>${g(s?.mean)}</td><td>${g(s?.std)}</td>` +
      `<td>${g(i?.int8?.mean)}</td><td>${g(i?.int8?.std)}</td><td data-testid="sqnr">${sqnrText(i?.sqnrDb)}</td>` +
      `<td data-testid="max-abs-diff">${g(i?.maxAbsDiff)}</td></tr>`;
  });
  return tableHtml([['output', 'l'], ['shape', 'l'], 'fp32 min', 'fp32 max', 'fp32 mean', 'fp32 std', 'int8 mean', 'int8 std',
    'SQNR dB', 'max |fp32 − int8|'], [rows.join('')]);
}

/** The sentence over the outputs table: what the random data were. */
export function outputsSummary(fp32, int8) {
  if (!fp32) return '';
  const shapes = fp32.shapes.map((s) => shape(s)).join(', ');
  let text = `No labelled data for this model: it ran on seeded random input N(0, 1) of shape ${shapes} (seed ${fp32.seed}) ` +
    `in ${fp32.ms.toFixed(0)} ms, so there is no accuracy; the table gives output statistics.`;
  if (int8) {
    text += ` int8: calibrated on ${int8.calibrationData.samples} other random samples (shape ${shape(int8.calibrationData.shape)}, seed ` +
      `${int8.calibrationData.seed}) in ${int8.quantizeMs.toFixed(0)} ms, run on the same input in ${int8.int8Ms.toFixed(0)} ms; ` +
      'SQNR = 10 log10(Σ fp32² / Σ (fp32 − int8)²).';
  }
  return text;
}

/** The error of a file that did not load, in `box`: the core's message whole; the list of
 * operators quantlab does run, which closes an UNSUPPORTED message, folded in a <details> so
 * that what is missing stays in view (a phone would otherwise scroll past 80 names). */
export function showLoadError(box, text) {
  const at = text.lastIndexOf(' (quantlab runs ');
  if (at < 0 || !text.endsWith(')')) {
    box.textContent = text;
    return;
  }
  box.innerHTML = `<span data-testid="upload-error-main">${esc(text.slice(0, at))}</span> <details><summary>the operators quantlab runs</summary>` +
    `<span data-testid="upload-error-runs">(${esc(text.slice(at + 2))}</span></details>`;
}

/** Call `open(file)` for a .onnx file dropped on `host`; the host is outlined while dragging. */
export function bindDrop(host, open) {
  const files = (e) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
  host.addEventListener('dragover', (e) => {
    if (!files(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    host.toggleAttribute('data-dragging', true);
  });
  host.addEventListener('dragleave', () => host.removeAttribute('data-dragging'));
  host.addEventListener('drop', (e) => {
    host.removeAttribute('data-dragging');
    const file = e.dataTransfer?.files?.[0];
    if (!file) return;
    e.preventDefault();
    open(file);
  });
}
