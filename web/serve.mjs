// A small static server for the playground: web/ at /, the package entry point and its
// wasm at /wasm/ and /dist/ (what `import 'quantlab'` resolves to through the page's import
// map), and the browser libraries the page uses from node_modules. Node built-ins only.
// Usage: node web/serve.mjs [--port N]   (PORT also works; 0 picks a free port)
import { createReadStream, existsSync, statSync } from 'node:fs';
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
