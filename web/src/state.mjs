// Widget state mirrored in the URL hash (TensorFlow Playground style), so a course page can
// link to any configuration. Values are strings in the hash, typed by the defaults.
export function readHash(defaults, hash = location.hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const state = { ...defaults };
  for (const [key, def] of Object.entries(defaults)) {
    if (!params.has(key)) continue;
    const raw = params.get(key);
    if (Array.isArray(def)) state[key] = raw.split(',').map(Number);
    else if (typeof def === 'number') state[key] = Number(raw);
    else if (typeof def === 'boolean') state[key] = raw === '1' || raw === 'true';
    else state[key] = raw;
  }
  return state;
}

export function writeHash(state, defaults) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) {
    const def = defaults[key];
    if (JSON.stringify(value) === JSON.stringify(def)) continue;
    if (Array.isArray(value)) params.set(key, value.map((v) => +v.toPrecision(6)).join(','));
    else if (typeof value === 'boolean') params.set(key, value ? '1' : '0');
    else params.set(key, String(value));
  }
  const hash = params.toString();
  history.replaceState(null, '', hash ? `#${hash}` : location.pathname + location.search);
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
