// The package's JavaScript bundles, called by .ci/build.mjs:
//   buildSingle   dist/quantlab-single.mjs: the package's browser entry and the SIMD128
//                 module with its wasm embedded (base64), one file (esbuild)
//   buildWidgets  dist/widgets/: every ql-* element, uplot and d3-hierarchy in widgets.js,
//                 its worker, the wasm, the demo models and data (Vite)
//   buildSite     dist-site/: the playground as a static site (Vite)
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const SINGLE_ENTRY = `
import wasmBase64 from '../dist/quantlab-simd.wasm';
import { QuantlabError } from './js/errors.mjs';
import { load as loadWith } from './js/load.mjs';
export * from './quantlab.mjs';

let wasm = null;
function embeddedWasm() {
  if (!wasm) {
    const text = atob(wasmBase64);
    wasm = new Uint8Array(text.length);
    for (let i = 0; i < text.length; ++i) wasm[i] = text.charCodeAt(i);
  }
  return wasm;
}

/** load() with the embedded SIMD128 wasm: nothing to fetch, no file to copy. */
export async function load(options = {}) {
  if (options.simd === false) {
    throw new QuantlabError('UNSUPPORTED', 'quantlab/single embeds the SIMD128 build only: import "quantlab" for the scalar one');
  }
  return loadWith({ ...options, simd: true, wasmBinary: options.wasmBinary ?? embeddedWasm() });
}
export default load;
`;

export async function buildSingle() {
  const esbuild = await import('esbuild');
  await esbuild.build({
    stdin: { contents: SINGLE_ENTRY, resolveDir: join(root, 'wasm'), sourcefile: 'quantlab-single.mjs', loader: 'js' },
    outfile: join(root, 'dist', 'quantlab-single.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    loader: { '.wasm': 'base64' },
    banner: { js: '// quantlab (MIT), single-file build: the SIMD128 module with its wasm embedded. https://github.com/quantlab/quantlab' },
    plugins: [{
      // The scalar glue is never reached (load() refuses simd: false): leave it out.
      name: 'no-scalar',
      setup(build) {
        build.onResolve({ filter: /quantlab-scalar\.mjs$/ }, () => ({ path: './quantlab-scalar.mjs', external: true }));
      },
    }],
    logLevel: 'warning',
  });
}

async function viteBuild(mode) {
  const { build } = await import('vite');
  await build({ configFile: join(root, 'vite.config.mjs'), mode });
}

export const buildWidgets = () => viteBuild('widgets');
export const buildSite = () => viteBuild('site');
