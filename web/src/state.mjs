// Lesson state as a declared schema (TensorFlow Playground's state.ts is the model): each
// field says its type, its default, its range or choices and its label, and that one
// declaration parses attributes and URL values (with a message for a bad one), formats
// values for the URL and the controls, and names the URL keys. No DOM here.
//
// A field: {type, default, label, ...}
//   type 'enum'     options {value: label}                       -> a <select>
//   type 'int' | 'number'  options [v, ...] (a <select>) or min, max, step (an <input type=number>)
//   type 'bool'     values [offToken, onToken] and labels [off, on] (a <select>), else a checkbox
//   type 'numbers'  a list of numbers, comma-separated in the URL (no control of its own)
//   type 'pairs'    an object {key: value} of strings, `key:value` comma-separated in the URL
//                   (%, comma and colon escaped), values one of `values` (no control of its own)
// optional: attr (attribute name; default the name in kebab-case), id (the control's name and
// data-testid; default the field name), control: false (no control), enabled(state) (the
// control is disabled when false), invalid(raw) (the message for a bad value).

export const kebab = (name) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const attrName = (name, f) => f.attr ?? kebab(name);
const boolTokens = (f) => f.values ?? ['false', 'true'];

/** The defaults of a schema, as a fresh state object. */
export function defaults(schema) {
  return Object.fromEntries(Object.entries(schema).map(([k, f]) => [k, structuredClone(f.default)]));
}

/** A value as the URL and the controls write it. */
export function formatValue(f, value) {
  if (f.type === 'bool') return boolTokens(f)[value ? 1 : 0];
  if (f.type === 'numbers') return value.map((v) => +Number(v).toPrecision(6)).join(',');
  if (f.type === 'pairs') {
    const escape = (t) => String(t).replace(/[%,:]/g, encodeURIComponent);
    return Object.entries(value).map(([k, v]) => `${escape(k)}:${escape(v)}`).join(',');
  }
  return String(value);
}

/** Parse `raw` (a string from an attribute, the URL or a control): {value} or {error}. */
export function parseValue(name, f, raw) {
  const bad = (why) => ({ error: f.invalid?.(raw) ?? `${f.label ?? name}: ${why}; got '${raw}'` });
  const text = String(raw).trim();
  switch (f.type) {
    case 'enum':
      return Object.hasOwn(f.options, text) ? { value: text } : bad(`must be one of ${Object.keys(f.options).join(', ')}`);
    case 'bool': {
      const [off, on] = boolTokens(f);
      if (['', 'true', '1', on].includes(text)) return { value: true };
      if (['false', '0', off].includes(text)) return { value: false };
      return bad(`must be ${on} or ${off}`);
    }
    case 'int':
    case 'number': {
      const v = text === '' ? NaN : Number(text);
      if (!Number.isFinite(v)) return bad('must be a number');
      if (f.type === 'int' && !Number.isInteger(v)) return bad('must be a whole number');
      if (f.options && !f.options.includes(v)) return bad(`must be one of ${f.options.join(', ')}`);
      if (v < (f.min ?? -Infinity) || v > (f.max ?? Infinity)) return bad(`must be in [${f.min}, ${f.max}]`);
      return { value: v };
    }
    case 'numbers':
      // Not-a-number entries are kept: the core reports them (NOT_FINITE) where they are used.
      return { value: text === '' ? [] : text.split(',').map((v) => (v.trim() === '' ? NaN : Number(v))) };
    case 'pairs': {
      const value = {};
      for (const part of text === '' ? [] : text.split(',')) {
        const at = part.indexOf(':');
        if (at < 1) return bad('must be key:value pairs separated by commas');
        const [k, v] = [part.slice(0, at), part.slice(at + 1)].map(decodeURIComponent);
        if (f.values && !f.values.includes(v)) return bad(`'${k}' must be one of ${f.values.join(', ')}`);
        value[k] = v;
      }
      return { value };
    }
    default:
      throw new TypeError(`field '${name}' has an unknown type '${f.type}'`);
  }
}

/**
 * The URL hash as `prefix + name` keys. readHash -> {name: raw string} for this prefix's
 * fields (and `extra` keys, such as `run`); writeHash replaces this prefix's keys only, so
 * several elements share one hash. Defaults and null extras are left out.
 */
export function readHash(prefix, schema, extra = [], hash = location.hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const raw = {};
  for (const name of [...Object.keys(schema), ...extra]) if (params.has(prefix + name)) raw[name] = params.get(prefix + name);
  return raw;
}

export function writeHash(prefix, schema, state, extra = {}) {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  for (const [name, f] of Object.entries(schema)) {
    const text = formatValue(f, state[name]);
    if (text === formatValue(f, f.default)) params.delete(prefix + name);
    else params.set(prefix + name, text);
  }
  for (const [name, text] of Object.entries(extra)) {
    if (text == null) params.delete(prefix + name);
    else params.set(prefix + name, text);
  }
  const hash = params.toString();
  history.replaceState(history.state, '', hash ? `#${hash}` : location.pathname + location.search);
}

/** A seeded PRNG (mulberry32) so generated matrices are reproducible from the URL. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
