// The base class of every handle to an object in WebAssembly memory (Model, QuantizedModel,
// kernel layers, HuffmanCode, Network): dispose() frees it, any use after that throws a
// QuantlabError (code INVALID_ARGUMENT, "the <kind> was disposed"), and `using` works where
// the engine has Symbol.dispose.
import { call, QuantlabError } from './errors.mjs';

/** The Embind module behind a Quantlab instance (not part of the public API). */
export const MODULE = Symbol('quantlab module');
/** The core's defaults (ql.defaults()) cached on a Quantlab instance. */
export const DEFAULTS = Symbol('quantlab defaults');

export class Handle {
  #module;
  #id;
  #kind;
  #free;

  /** id: the core's handle id; kind: 'model', 'code', ...; free: the module's dispose function. */
  constructor(module, id, kind, free) {
    this.#module = module;
    this.#id = id;
    this.#kind = kind;
    this.#free = free;
  }

  /** The Embind module. */
  get [MODULE]() {
    return this.#module;
  }

  /** The live handle id; throws once disposed. */
  _id() {
    if (this.#id === 0) throw new QuantlabError('INVALID_ARGUMENT', `the ${this.#kind} was disposed`);
    return this.#id;
  }

  /** Free the object's memory; later calls throw. Safe to call twice, and on an instance
   * that trapped (ABORTED): its memory is gone with it, so there is nothing to free and
   * nothing to report (a `using` block must not replace the error that got it there). */
  dispose() {
    if (this.#id !== 0) {
      const id = this.#id;
      this.#id = 0;
      try {
        call(this.#module[this.#free], id);
      } catch (e) {
        if (!(e instanceof QuantlabError && e.code === 'ABORTED')) throw e;
      }
    }
  }

  get disposed() {
    return this.#id === 0;
  }
}

if (typeof Symbol.dispose === 'symbol') {
  Handle.prototype[Symbol.dispose] = function dispose() {
    this.dispose();
  };
}
