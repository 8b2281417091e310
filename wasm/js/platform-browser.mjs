// Reading the wasm bytes in browsers and workers (and any engine with fetch): no Node
// built-in is imported, so bundlers targeting the browser see none. When this file runs in
// Node anyway (wasm/quantlab.mjs imported by path, not through the package's `node`
// condition), file URLs and paths are read with the fs module Node hands out at run time.
import { QuantlabError } from './errors.mjs';

function notFound(url, why) {
  let shown = url;
  try {
    shown = new URL(url, globalThis.location?.href).href;  // the URL the engine asked for
  } catch {
    // no base (Node): the path as given
  }
  return new QuantlabError('NOT_FOUND', `cannot load the quantlab wasm from ${shown}: ${why} ` +
    "(set env.wasmPaths, load({locateFile}) or load({wasmBinary}); see the README's Bundlers section)");
}

const nodeFs = () => globalThis.process?.getBuiltinModule?.('node:fs/promises');

/** The bytes at `url` (a URL string, or in Node a path): Uint8Array, or QuantlabError NOT_FOUND. */
export async function readBytes(url) {
  const fs = nodeFs();
  if (fs && !/^(https?|data|blob):/i.test(url)) {
    try {
      return new Uint8Array(await fs.readFile(url.startsWith('file:') ? new URL(url) : url));
    } catch (e) {
      throw notFound(url, e?.code ?? String(e?.message ?? e));
    }
  }
  let response;
  try {
    response = await fetch(url, { credentials: 'same-origin' });
  } catch (e) {
    throw notFound(url, `the request failed (${e?.message ?? e})`);
  }
  if (!response.ok) throw notFound(url, `HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
