// What the playground's bare names resolve to, unbundled (web/serve.mjs, npm start): through
// the page's import map, which does not reach workers, so the page hands the worker the URL
// of 'quantlab' to import. Bundled builds (the site, the widgets; vite.config.mjs) replace
// this file by resolve.bundled.mjs, where the bundler resolves the same names.
// Functions only: this file is also imported inside the worker, where import.meta.resolve
// of a bare name would throw.

/** The URL of the 'quantlab' entry the worker imports (the page's import map resolves it). */
export const quantlabEntry = () => import.meta.resolve('quantlab');

/** The quantlab module inside the worker. */
export const importQuantlab = (entry) => import(entry);

/** uPlot's stylesheet, linked from the lessons' shadow roots. */
export const uplotCssUrl = () => import.meta.resolve('uplot/dist/uPlot.min.css');

/** The package's package.json (the start page shows its version). */
export const packageJsonUrl = () => new URL('../package.json', import.meta.resolve('quantlab'));

/** A lesson's module, `path` relative to web/src/ as lessons.mjs lists it. */
export const importLesson = (path) => import(new URL(path, import.meta.url));

/** Where the demo models (models/) and data (data/) are when nothing says otherwise: web/. */
export const defaultAssetBase = () => new URL('../', import.meta.url).href;
