// QuantlabError and the call into the Embind module: {value} results come back as values,
// {code, message} results are thrown as QuantlabError.

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

/** fn(...args) on the Embind module; Embind's own errors (wrong argument types) become
 * INVALID_ARGUMENT. */
export function call(fn, ...args) {
  let result;
  try {
    result = fn(...args);
  } catch (e) {
    if (e instanceof QuantlabError) throw e;
    throw new QuantlabError('INVALID_ARGUMENT', String(e?.message ?? e));
  }
  return unwrap(result);
}
