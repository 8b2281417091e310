// A small static server for the playground: web/ at /, the package entry point and its
// wasm at /wasm/ and /dist/ (what `import 'quantlab'` resolves to through the page's import
// map), and the browser libraries the page uses from node_modules. Node built-ins only.
// Usage: node web/serve.mjs [--port N]   (PORT also works; 0 picks a free port)
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.md': 'text/plain; charset=utf-8',
  '.onnx': 'application/octet-stream',
  '.u8': 'application/octet-stream',
  '.f32': 'application/octet-stream',
  '.qlz': 'application/octet-stream',
};

// URL prefix -> folder. Only these are served.
const MOUNTS = [
  ['/wasm/', join(root, 'wasm')],
  ['/dist/', join(root, 'dist')],
  ['/node_modules/uplot/', join(root, 'node_modules', 'uplot')],
  ['/node_modules/d3-hierarchy/', join(root, 'node_modules', 'd3-hierarchy')],
  // The package's own package.json next to its entry (the start page shows its version).
  ['/package.json', join(root, 'package.json')],
  ['/', join(root, 'web')],
];

/**
 * The Content-Security-Policy every response carries (issue 18): nothing but this origin's
 * own files, WebAssembly compiled from them, and no eval, no inline script or style. The one
 * inline script is the page's import map (browsers cannot load one from a file yet); it is
 * allowed by its hash, computed from the file as served. A bundled site needs no hash.
 */
export function contentSecurityPolicy(html = readFileSync(join(root, 'web', 'index.html'), 'utf8')) {
  const hashes = [...html.matchAll(/<script type="importmap">([\s\S]*?)<\/script>/g)]
    .map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`);
  return ["default-src 'self'", `script-src 'self' 'wasm-unsafe-eval' ${hashes.join(' ')}`.trim()].join('; ');
}

function resolvePath(urlPath) {
  for (const [prefix, dir] of MOUNTS) {
    if (!urlPath.startsWith(prefix)) continue;
    const rel = normalize(decodeURIComponent(urlPath.slice(prefix.length)));
    if (rel.startsWith('..') || rel.includes(`${sep}..`)) return null;
    let file = join(dir, rel);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    return file;
  }
  return null;
}

export function createPlaygroundServer() {
  const csp = contentSecurityPolicy();
  return createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const file = resolvePath(url.pathname);
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`not found: ${url.pathname}\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      'content-security-policy': csp,
    });
    createReadStream(file).pipe(res);
  });
}

/** Start on `port` (0: any free port); resolves to {server, url}. */
export function startServer(port = 0, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = createPlaygroundServer();
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolve({ server, url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${actual}/` });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  if (!existsSync(join(root, 'dist', 'quantlab-simd.wasm'))) {
    console.error('dist/ has no wasm build yet: run `npm start` (or `npm run build`) first.');
    process.exit(1);
  }
  const i = process.argv.indexOf('--port');
  const wanted = Number(i > 0 ? process.argv[i + 1] : (process.env.PORT ?? 8080));
  let started;
  try {
    started = await startServer(wanted);
  } catch (e) {
    if (e.code !== 'EADDRINUSE') throw e;
    console.log(`port ${wanted} is busy; using a free one`);
    started = await startServer(0);
  }
  console.log(`quantlab playground: ${started.url}`);
  console.log('(Ctrl-C to stop)');
}
