// Page side of the worker RPC (worker.mjs). A TaskClient owns one worker: every lesson has
// its own client, so Stop in one lesson (which ends that worker: a wasm call cannot be
// interrupted) never cancels another lesson's task, and worker-side state (the last
// quantized model, say) belongs to one lesson. Calls on one client run in order.
// Errors come back as QuantlabError with the worker's code; a cancelled call rejects with
// a QuantlabError whose `cancelled` is true.
import { env, QuantlabError } from 'quantlab';

import { workerSetup } from './assets.mjs';
import { quantlabEntry } from './resolve.mjs';

export class TaskClient {
  #worker = null;
  #nextId = 1;
  #pending = new Map();

  #failAll(message, cancelled = false) {
    for (const p of this.#pending.values()) {
      p.reject(Object.assign(new QuantlabError('INTERNAL', message), { cancelled }));
    }
    this.#pending.clear();
  }

  #start() {
    const worker = new Worker(new URL('./worker.mjs', import.meta.url), { type: 'module', name: 'quantlab' });
    worker.onmessage = (event) => {
      const { id, result, error, progress } = event.data;
      const p = this.#pending.get(id);
      if (!p) return;
      if (progress) {
        p.onProgress?.(progress.fraction, progress.message, progress.data);
        return;
      }
      this.#pending.delete(id);
      if (error) p.reject(new QuantlabError(error.code, error.message));
      else p.resolve(result);
    };
    // A worker that fails to load (or a message that cannot be read) rejects what is waiting;
    // the next call starts a fresh worker.
    worker.onerror = (event) => {
      event.preventDefault?.();
      this.#failAll(`the quantlab worker failed: ${event.message ?? 'could not load worker.mjs'}`);
      worker.terminate();
      if (this.#worker === worker) this.#worker = null;
    };
    worker.onmessageerror = () => this.#failAll('a message from the quantlab worker could not be read');
    this.#worker = worker;
  }

  /** Run `method` in the worker; onProgress(fraction, message, data) as it reports. */
  call(method, args = {}, { onProgress, transfer = [] } = {}) {
    if (!this.#worker) this.#start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress });
      this.#worker.postMessage({ id, method, args, entry: quantlabEntry(), setup: workerSetup(env) }, transfer);
    });
  }

  /** True while a call is waiting for its answer. */
  get busy() {
    return this.#pending.size > 0;
  }

  /** End this client's worker: its calls reject as cancelled; the next call starts anew. */
  cancel() {
    this.#worker?.terminate();
    this.#worker = null;
    this.#failAll('cancelled', true);
  }
}
