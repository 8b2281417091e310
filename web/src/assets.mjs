// Where the lessons' files are: the demo models (models/) and data (data/) under one base
// URL. Default: web/ in the playground, next to widgets.js for the widgets, the site's root
// for the site (resolve.mjs). A course page may say otherwise, before the widgets load:
// `<script type="module" src=".../widgets.js" data-base="/course-assets/">` or
// `window.QUANTLAB_ASSETS = '/course-assets/'`, both relative to the page. The page passes
// its base (and env.wasmPaths) to the worker with every call (workerSetup).
import { defaultAssetBase } from './resolve.mjs';

let base = null;

/** The base set on the page: a data-base attribute on the script that loaded this file, or
 * window.QUANTLAB_ASSETS; null when neither says. */
function pageBase() {
  const doc = globalThis.document;
  const tag = doc ? [...doc.querySelectorAll('script[data-base]')].find((s) => s.src === import.meta.url) ??
    doc.querySelector('script[data-quantlab-base]') : null;
  const said = tag?.dataset.base ?? tag?.dataset.quantlabBase ?? globalThis.QUANTLAB_ASSETS;
  if (said === undefined || said === null || said === '') return null;
  const href = new URL(String(said), doc?.baseURI ?? import.meta.url).href;
  return href.endsWith('/') ? href : `${href}/`;
}

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
