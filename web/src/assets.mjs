// Where the lessons' files are: the demo models (models/) and data (data/) under one base
// URL. Default: web/ in the playground, next to widgets.js for the widgets, the site's root
// for the site (resolve.mjs). A course page may say otherwise, before the widgets load:
// `<script type="module" src=".../widgets.js" data-base="/course-assets/">` or
// `window.QUANTLAB_ASSETS = '/course-assets/'`, both relative to the page; the wasm likewise
// with data-wasm-base or window.QUANTLAB_WASM (widgets-setup.mjs sets env.wasmPaths). The
// page passes its base and env.wasmPaths to the worker with every call (workerSetup).
import { defaultAssetBase } from './resolve.mjs';

let base = null;

/** A folder the page names: the attribute `data-<attr>` of the script tag that loaded this
 * file (widgets.js), else window[global]; absolute, ending with '/'; null when neither says. */
function pageFolder(attr, global) {
  const doc = globalThis.document;
  const key = attr.replace(/-(\w)/g, (_, c) => c.toUpperCase());
  const tag = doc ? [...doc.querySelectorAll(`script[data-${attr}]`)].find((s) => s.src === import.meta.url) : null;
  const said = tag?.dataset[key] ?? globalThis[global];
  if (said === undefined || said === null || said === '') return null;
  const href = new URL(String(said), doc?.baseURI ?? import.meta.url).href;
  return href.endsWith('/') ? href : `${href}/`;
}

const pageBase = () => pageFolder('base', 'QUANTLAB_ASSETS');

/** Where the page says the wasm files are (data-wasm-base, window.QUANTLAB_WASM): a prefix
 * for env.wasmPaths, or null. */
export const pageWasmBase = () => pageFolder('wasm-base', 'QUANTLAB_WASM');

/** The base URL of models/ and data/ (absolute, ends with '/'). */
export function assetBase() {
  base ??= pageBase() ?? defaultAssetBase();
  return base;
}

/** Replace the base (the worker takes the page's). */
export function setAssetBase(url) {
  const href = new URL(url, assetBase()).href;
  base = href.endsWith('/') ? href : `${href}/`;
}

/** `path` ('models/lenet5.onnx', 'data/…') under the base. */
export function assetUrl(path) {
  return new URL(path, assetBase());
}

/** What the worker needs to find its files: sent with every call (client.mjs, worker.mjs). */
export function workerSetup(env) {
  // Absolute URLs: the worker resolves relative ones against its own script, not the page.
  const abs = (u) => new URL(String(u), globalThis.document?.baseURI ?? import.meta.url).href;
  const p = env?.wasmPaths;
  const wasmPaths = p === undefined || p === null ? undefined
    : typeof p === 'object' && !(p instanceof URL)
      ? Object.fromEntries(Object.entries(p).map(([file, url]) => [file, abs(url)])) : abs(p);
  return { base: assetBase(), wasmPaths };
}
