// A tiny static file server for the consumer and site tests, as a plain static host would
// be: one folder under a URL prefix (a project site at /<name>/), no SPA fallback (a missing
// file is a 404), precompressed files (x.br, x.gz next to x) sent when the browser accepts
// them, extra headers (a Content-Security-Policy) on every response. Names with a content
// hash (name-XXXXXXXX.ext, as Vite writes them) are cached for good, the rest revalidated.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Serves `dir` at `prefix` on a free port of 127.0.0.1: {url, close()}. */
export function staticServer(dir, { prefix = '/', headers = {} } = {}) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    let rel = path.startsWith(prefix) ? normalize(path.slice(prefix.length)) : null;
    if (rel === null || rel.startsWith('..') || rel.includes(`${sep}..`)) rel = null;
    let file = rel === null ? null : join(dir, rel);
    if (file && existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain', ...headers });
      res.end(`not found: ${path}\n`);
      return;
    }
    const accepts = String(req.headers['accept-encoding'] ?? '');
    const hashed = /-[\w-]{8}\.\w+$/.test(file);
    const head = { 'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache', ...headers };
    for (const [encoding, ext] of [['br', '.br'], ['gzip', '.gz']]) {
      if (accepts.includes(encoding) && existsSync(file + ext)) {
        res.writeHead(200, { ...head, 'content-encoding': encoding, vary: 'accept-encoding' });
        res.end(readFileSync(file + ext));
        return;
      }
    }
    res.writeHead(200, head);
    res.end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}${prefix}`,
      close: () => new Promise((done) => {
        server.closeAllConnections?.();
        server.close(done);
      }),
    }));
  });
}
