// quantlab's widgets entry (the package's `quantlab/widgets`, built by Vite to
// dist/widgets/widgets.js with uPlot and d3-hierarchy bundled): registers every ql-* lesson
// element. One `<script type="module" src=".../widgets.js"></script>` and a tag is a working
// lesson: no import map, no build step, no cross-origin isolation. The wasm, the worker, the
// demo models (models/) and data (data/) sit next to widgets.js; `data-base` on the script
// tag or window.QUANTLAB_ASSETS (set before it loads) moves models/ and data/ elsewhere,
// data-wasm-base or window.QUANTLAB_WASM the wasm (the exported `env` is the same setting).
import './src/widgets-setup.mjs';
import './components/ql-bits.mjs';
import './components/ql-deep-compression.mjs';
import './components/ql-finetune.mjs';
import './components/ql-huffman.mjs';
import './components/ql-integer.mjs';
import './components/ql-kmeans-limits.mjs';
import './components/ql-kmeans.mjs';
import './components/ql-layer-shares.mjs';
import './components/ql-linear.mjs';
import './components/ql-models.mjs';
import './components/ql-pq.mjs';

export { env, QuantlabError } from 'quantlab';
export { assetBase, setAssetBase } from './src/assets.mjs';
