// resolve.mjs for bundled builds (vite.config.mjs aliases it): the site (dist-site/) and the
// widgets (dist/widgets/). The bundler resolves 'quantlab' and uPlot's stylesheet, bundles
// the lessons and emits every file with a URL relative to the chunk that uses it.
// __QUANTLAB_ASSET_BASE__ (a Vite define): where models/ and data/ are, relative to the
// chunks: '../' for the site (chunks in assets/), './' for the widgets (one flat folder).
import uplotCss from 'uplot/dist/uPlot.min.css?url';
import pkg from '../../package.json?url';

const LESSONS = import.meta.glob('../components/ql-*.mjs');

export const quantlabEntry = () => 'bundled';
export const importQuantlab = () => import('quantlab');
export const uplotCssUrl = () => new URL(uplotCss, import.meta.url).href;
export const packageJsonUrl = () => new URL(pkg, import.meta.url);
export const importLesson = (path) => LESSONS[path]();
// eslint-disable-next-line no-undef
export const defaultAssetBase = () => new URL(__QUANTLAB_ASSET_BASE__, import.meta.url).href;
