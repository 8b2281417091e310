// Types of quantlab/worker (wasm/quantlab-worker.mjs): the Quantlab API with the instance
// in a Web Worker; every method returns a Promise of what the synchronous one returns.
import type { LoadOptions, Quantlab } from '../quantlab.js';

export { env, QuantlabError } from '../quantlab.js';

/** `T` with every method made asynchronous; handles returned come back the same way. */
export type Remote<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<R extends object ? (R extends ArrayBufferView | ArrayLike<unknown> ? R : Remote<R>) : R>
    : T[K];
};

export interface WorkerQuantlab extends Remote<Quantlab> {
  /** End the worker now: pending calls reject with CANCELLED; the instance is closed. */
  cancel(): void;
  /** End the worker and free everything it held. */
  close(): void;
}

/** Load quantlab in a new Web Worker (browsers). */
export function load(options?: LoadOptions): Promise<WorkerQuantlab>;
export default load;
