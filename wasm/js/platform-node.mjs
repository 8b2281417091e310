// Reading the wasm bytes in Node (the package's `node` export condition): file paths and
// file: URLs from disk, http(s) and data: URLs with fetch.
import { readFile } from 'node:fs/promises';

import { QuantlabError } from './errors.mjs';

/** The bytes at `url` (a URL string or a path): Uint8Array, or QuantlabError NOT_FOUND. */
export async function readBytes(url) {
  try {
    if (/^(https?|data):/i.test(url)) {
      const response = await fetch(url);
      if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { code: `HTTP ${response.status}` });
      return new Uint8Array(await response.arrayBuffer());
    }
    return new Uint8Array(await readFile(url.startsWith('file:') ? new URL(url) : url));
  } catch (e) {
    throw new QuantlabError('NOT_FOUND', `cannot load the quantlab wasm from ${url}: ${e?.code ?? e?.message ?? e} ` +
      "(set env.wasmPaths, load({locateFile}) or load({wasmBinary}))");
  }
}
