// Page side of the worker RPC (worker.mjs): call(method, args, {onProgress, transfer}) ->
// Promise of the task's result. One worker per page, shared by every lesson on it; calls
// run in order. Errors come back as QuantlabError with the worker's code.
import { QuantlabError } from 'quantlab';

let worker = null;
let nextId = 1;
const pending = new Map();

function failAll(message) {
  for (const p of pending.values()) p.reject(new QuantlabError('INTERNAL', message));
  pending.clear();
}

function start() {
  worker = new Worker(new URL('./worker.mjs', import.meta.url), { type: 'module', name: 'quantlab' });
  worker.onmessage = (event) => {
    const { id, result, error, progress } = event.data;
    const p = pending.get(id);
    if (!p) return;
    if (progress) {
      p.onProgress?.(progress.fraction, progress.message, progress.data);
      return;
    }
    pending.delete(id);
    if (error) p.reject(new QuantlabError(error.code, error.message));
    else p.resolve(result);
  };
  // A worker that fails to load (or a message that cannot be read) rejects what is waiting;
  // the next call starts a fresh worker.
  worker.onerror = (event) => {
    event.preventDefault?.();
    failAll(`the quantlab worker failed: ${event.message ?? 'could not load worker.mjs'}`);
    worker?.terminate();
    worker = null;
  };
  worker.onmessageerror = () => failAll('a message from the quantlab worker could not be read');
}

/** Run `method` in the worker; onProgress(fraction, message, data) as it reports. */
export function call(method, args = {}, { onProgress, transfer = [] } = {}) {
  if (!worker) start();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    worker.postMessage({ id, method, args, entry: import.meta.resolve('quantlab') }, transfer);
  });
}

/** Stop the worker (long work is abandoned; its calls reject). The next call starts anew. */
export function terminate() {
  worker?.terminate();
  worker = null;
  failAll('cancelled');
}
