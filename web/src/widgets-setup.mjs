// The widgets' first module (web/widgets.mjs imports it before any lesson, so it runs before
// an element starts): env.wasmPaths from the page's data-wasm-base / window.QUANTLAB_WASM.
import { env } from 'quantlab';

import { pageWasmBase } from './assets.mjs';

const wasmBase = pageWasmBase();
if (wasmBase !== null) env.wasmPaths = wasmBase;
