// quantlab's entry point for Node (the package's `node` export condition): the same API as
// wasm/quantlab.mjs, with the wasm read from disk by node:fs (platform-node.mjs) rather than
// fetched. Bundlers building for the browser never see this file.
import { setReader } from './js/load.mjs';
import { readBytes } from './js/platform-node.mjs';

setReader(readBytes);

export * from './quantlab.mjs';
export { load as default } from './js/load.mjs';
