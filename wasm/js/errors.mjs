// QuantlabError and the call into the Embind module: {value} results come back as values,
// {code, message} results are thrown as QuantlabError. A trap or an abort inside the module
// (a WebAssembly.RuntimeError, Emscripten's "Aborted(...)") leaves its memory in an unknown
// state: the instance is marked dead and this and every later call throws ABORTED.

/** An error from quantlab: `code` is stable ("INVALID_ARGUMENT", "NOT_FINITE", ...). */
export class QuantlabError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'QuantlabError';
    this.code = code;
  }
}

export function fail(message) {
  throw new QuantlabError('INVALID_ARGUMENT', message);
}

function unwrap(result) {
  if (result && typeof result === 'object' && 'code' in result) {
    throw new QuantlabError(result.code, result.message);
  }
  return result.value;
}

// Embind function -> the { aborted } state of the module it belongs to (watchModule).
const STATE = Symbol('quantlab.instanceState');
const stateOf = new WeakMap();

/**
 * Registers the module's functions so that call() can mark the whole instance dead after a
 * trap. Call it once after instantiating (again after replacing a function: the module
 * keeps its state). Returns the state: { aborted: null | message }.
 */
export function watchModule(module) {
  let state = module[STATE];
  if (!state) {
    state = { aborted: null };
    Object.defineProperty(module, STATE, { value: state });
  }
  for (const key of Object.keys(module)) {
    let v;
    try {
      v = module[key];
    } catch {
      continue;
    }
    if (typeof v === 'function') stateOf.set(v, state);
  }
  return state;
}

/** A trap or abort inside WebAssembly, as opposed to Embind refusing an argument. */
function isTrap(e) {
  if (typeof WebAssembly === 'object' && e instanceof WebAssembly.RuntimeError) return true;
  const message = String(e?.message ?? '');
  // Emscripten's abort() message; a stack overflow unwinds wasm frames without restoring
  // the wasm stack pointer.
  return /^Aborted\(/.test(message) || (e instanceof RangeError && /call stack/i.test(message));
}

function aborted(message) {
  return new QuantlabError('ABORTED', message);
}

/** fn(...args) on the Embind module; Embind's own errors (wrong argument types) become
 * INVALID_ARGUMENT; a trap or abort marks the instance dead (ABORTED, now and for every
 * later call). */
export function call(fn, ...args) {
  const state = stateOf.get(fn);
  if (state?.aborted) throw aborted(state.aborted);
  let result;
  try {
    result = fn(...args);
  } catch (e) {
    if (e instanceof QuantlabError) throw e;
    if (isTrap(e)) {
      const message = `the WebAssembly instance trapped (${String(e?.message ?? e)}) and can no ` +
        'longer be used: load() a new instance';
      if (state) state.aborted = message;
      throw aborted(message);
    }
    throw new QuantlabError('INVALID_ARGUMENT', String(e?.message ?? e));
  }
  return unwrap(result);
}
