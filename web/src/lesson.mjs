// The base element of every ql-* lesson. A lesson declares
//   static schema    its state (web/src/state.mjs: types, ranges, defaults, labels)
//   static template  its shadow-DOM markup (controls from ui.mjs `controls(schema, names)`)
//   static live      true: compute on every state change (light lessons); false: on run()
//   compute(state, ctx)  one compute call: returns the results (or a Promise of them)
//   render(state, results)  draws state and results; results null = nothing for this state
// and may use: this.task(fn) for work on request (run(), Stop, progress), this.plot(key,
// make) for plots that follow the element's width, setup() / prepare() / coerce(state) /
// invalidate(changed, results) / fromControl(name, value) hooks, this.$ / this.$$;
// and this file does the rest, once for all: attributes and the URL hash parsed and checked
// against the schema (a bad value shows a message and its control says so), controls kept
// in step with the state (also when a page sets `el.state`), URL keys namespaced per
// element, a `change` event per state change, one worker per element so Stop cancels only
// this element's task, progress, errors in place of stale results, and focus kept.
//
// Attributes: one per schema field (kebab-case), plus `sync-url` (mirror the state in the
// URL hash; `sync-url="name"` prefixes the keys with `name.`; a second unnamed element of a
// page gets its tag's short name, `bits.`, `bits2.`, ...) and `autorun`. After a run on
// request, the hash also holds `run=1` (namespaced like the rest): a shared link then
// computes the results on load, without a click; any state change removes it.
// Events: `ql-ready` once, `change` {detail: {state, changed}} after each state change.
import { QuantlabError } from 'quantlab';

import { TaskClient } from './client.mjs';
import { attrName, defaults, formatValue, parseValue, readHash, writeHash } from './state.mjs';
import { LESSON_CSS, progressBar } from './ui.mjs';

const claimed = new Map();   // URL namespace -> the element using it, on this page

/** A plot width that fits `host`: at most 760 px, the host's width on a phone. */
/** {promise, resolve}: a promise resolved from outside. */
function resolvable() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** One constructed style sheet per lesson class: the shared lesson CSS and the class's own. */
const sheets = new WeakMap();
function sheetOf(cls) {
  if (!sheets.has(cls)) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(`${LESSON_CSS}${cls.css}`);
    sheets.set(cls, sheet);
  }
  return sheets.get(cls);
}

/** Moves every data-css="..." under `root` into the element's style (CSSOM, CSP-safe). */
export function applyDataCss(root) {
  for (const el of root.querySelectorAll('[data-css]')) {
    el.style.cssText = el.dataset.css;
    el.removeAttribute('data-css');
  }
}

const plotWidth = (host) => Math.max(240, Math.min(760, (host.clientWidth || 640) - 4));

const invalidArgument = (message) => new QuantlabError('INVALID_ARGUMENT', message);

export class Lesson extends HTMLElement {
  static schema = {};
  static template = '';
  static css = '';
  static live = false;

  static get observedAttributes() {
    return Object.entries(this.schema).map(([name, f]) => attrName(name, f));
  }

  #root = null;
  #state = null;
  #invalid = {};           // field -> {raw, message}: a value that was asked for and refused
  #results = null;
  #error = null;
  #generation = 0;         // the newest compute; older answers are dropped
  #version = 0;            // state changes so far; a task's answer for an older state is dropped
  #busy = false;
  #cancelled = false;
  #ready = false;
  #whenReady = resolvable();  // resolved once prepare() is done: run() waits for it
  #tasks = null;
  #namespace = null;       // null: no sync-url
  #progress = null;
  #plots = new Map();      // key -> {update, resize, destroy} (plot.mjs)
  #shown = false;          // the results of run() for this state are on screen (URL `run=1`)
  #width = 0;
  #resize = new ResizeObserver(() => requestAnimationFrame(() => {
    // Plots follow the element's width (a phone turned, a course column resized).
    if (!this.isConnected || this.clientWidth === this.#width) return;
    this.#width = this.clientWidth;
    for (const p of this.#plots.values()) p.resize(plotWidth(this));
  }));
  #onHash = () => {
    // A key left out of the hash means its default; only what differs is applied.
    const raw = readHash(this.#prefix, this.#schema);
    const changed = {};
    for (const [name, f] of Object.entries(this.#schema)) {
      const text = raw[name] ?? formatValue(f, f.default);
      if (text !== formatValue(f, this.#state[name]) || this.#invalid[name]) changed[name] = text;
    }
    if (Object.keys(changed).length) this.#apply(changed, (name) => `#${this.#prefix}${name}=${changed[name]}`);
  };

  get #schema() {
    return this.constructor.schema;
  }

  get #prefix() {
    return this.#namespace ? `${this.#namespace}.` : '';
  }

  connectedCallback() {
    if (this.#root) this.#claim();
    else this.#build();
    if (this.#namespace !== null) addEventListener('hashchange', this.#onHash);
    this.#resize.observe(this);
  }

  #build() {
    this.#root = this.attachShadow({ mode: 'open' });
    // Under a strict Content-Security-Policy (style-src 'self') neither a <style> element
    // nor a style="" attribute may come from markup: the styles are a constructed sheet, and
    // markup carries inline styles as data-css="...", applied through the CSSOM (issue 18).
    this.#root.adoptedStyleSheets = [sheetOf(this.constructor)];
    new MutationObserver(() => applyDataCss(this.#root)).observe(this.#root, { childList: true, subtree: true });
    this.#root.innerHTML = this.constructor.template;
    applyDataCss(this.#root);
    this.#state = defaults(this.#schema);
    this.#progress = progressBar(this.$('[data-testid=progress]'));
    // A box that scrolls sideways (a wide table on a phone) must be reachable by keyboard:
    // focusable, a named region (axe: scrollable-region-focusable).
    for (const box of this.$$('.scroll:not([role=img])')) {
      box.tabIndex = 0;
      if (!box.hasAttribute('role')) box.setAttribute('role', 'region');
      if (!box.hasAttribute('aria-label')) box.setAttribute('aria-label', box.querySelector('[data-testid]')?.dataset.testid ?? 'table');
    }
    const fromAttrs = {};
    for (const [name, f] of Object.entries(this.#schema)) {
      const attr = attrName(name, f);
      if (this.hasAttribute(attr)) fromAttrs[name] = this.getAttribute(attr);
    }
    this.#apply(fromAttrs, (name) => `${attrName(name, this.#schema[name])}="${fromAttrs[name]}"`, { quiet: true });
    this.#claim();
    if (this.#namespace !== null) {
      const { run, ...fromHash } = readHash(this.#prefix, this.#schema, ['run']);
      this.#apply(fromHash, (name) => `#${this.#prefix}${name}=${fromHash[name]}`, { quiet: true });
      this.#shown = run === '1';
    }
    this.#bindControls();
    this.setup?.();
    this.#refresh();
    this.#width = this.clientWidth;
    this.#start();
  }

  disconnectedCallback() {
    if (claimed.get(this.#namespace) === this) claimed.delete(this.#namespace);
    removeEventListener('hashchange', this.#onHash);
    this.#resize.disconnect();
    this.#tasks?.cancel();
    for (const key of [...this.#plots.keys()]) this.dropPlot(key);
  }

  attributeChangedCallback(attr, old, value) {
    if (!this.#root || old === value || value === null) return;
    const name = Object.keys(this.#schema).find((n) => attrName(n, this.#schema[n]) === attr);
    this.#apply({ [name]: value }, () => `${attr}="${value}"`);
  }

  async #start() {
    try {
      await this.prepare?.();
    } catch (e) {
      this.#fail(e);
    }
    this.#ready = true;
    this.#whenReady.resolve();
    if (this.constructor.live) await this.#compute();
    this.dataset.ready = 'true';
    this.dispatchEvent(new CustomEvent('ql-ready'));
    if (this.hasAttribute('autorun') || this.#shown) this.run();
  }

  /** The state (a copy). */
  get state() {
    return structuredClone(this.#state);
  }

  /** Set part of the state: {name: value}; a bad name or value throws INVALID_ARGUMENT. */
  set state(patch) {
    const next = {};
    for (const [name, value] of Object.entries(patch ?? {})) {
      const f = Object.hasOwn(this.#schema, name) ? this.#schema[name] : null;
      if (!f) throw invalidArgument(`${this.localName} has no state '${name}' (${Object.keys(this.#schema).join(', ')})`);
      const ok = f.type === 'numbers' ? Array.isArray(value) && value.every((v) => typeof v === 'number')
        : f.type === 'pairs' ? value !== null && typeof value === 'object' && !Array.isArray(value) &&
          Object.values(value).every((v) => typeof v === 'string')
          : f.type === 'bool' ? typeof value === 'boolean'
            : f.type === 'enum' ? typeof value === 'string' : typeof value === 'number';
      const expected = { enum: 'string', pairs: 'object of strings' }[f.type] ?? f.type;
      const parsed = ok ? parseValue(name, f, formatValue(f, value)) : { error: `${name}: expected a ${expected}` };
      if (parsed.error) throw invalidArgument(parsed.error);
      next[name] = f.type === 'numbers' ? value.slice() : f.type === 'pairs' ? { ...value } : value;
    }
    this.#set(next);
  }

  /** The refused values: {name: message} (from attributes, the URL or the controls). */
  get invalid() {
    return Object.fromEntries(Object.entries(this.#invalid).map(([k, v]) => [k, v.message]));
  }

  /** This element's worker client (created on first use). */
  get tasks() {
    this.#tasks ??= new TaskClient();
    return this.#tasks;
  }

  get results() {
    return this.#results;
  }

  get busy() {
    return this.#busy;
  }

  /** The plot `key`, made by make(width) on first use; it follows the element's width. */
  plot(key, make) {
    if (!this.#plots.has(key)) this.#plots.set(key, make(plotWidth(this)));
    return this.#plots.get(key);
  }

  dropPlot(key) {
    this.#plots.get(key)?.destroy();
    this.#plots.delete(key);
  }

  $(sel) {
    return this.#root.querySelector(sel);
  }

  $$(sel) {
    return this.#root.querySelectorAll(sel);
  }

  // Raw strings from `source` (attributes, the hash): the good ones set the state, the bad
  // ones are kept with a message that names where they came from.
  #apply(raw, where, { quiet = false } = {}) {
    const next = {};
    for (const [name, text] of Object.entries(raw)) {
      const f = this.#schema[name];
      const parsed = parseValue(name, f, text);
      // A field's own wording (as its worker would say it) stands alone.
      if (parsed.error) this.#invalid[name] = { raw: text, message: f.invalid ? parsed.error : `${parsed.error} (${where(name)})` };
      else next[name] = parsed.value;
    }
    if (quiet) {
      Object.assign(this.#state, next);
      for (const name of Object.keys(next)) delete this.#invalid[name];
      this.#state = this.coerce?.(this.#state) ?? this.#state;
    } else {
      this.#set(next, Object.keys(raw));
    }
  }

  /** Apply a patch of good values, then one URL write, one event, one compute. */
  #set(patch, touched = Object.keys(patch)) {
    for (const name of Object.keys(patch)) delete this.#invalid[name];
    Object.assign(this.#state, patch);
    this.#state = this.coerce?.(this.#state) ?? this.#state;
    ++this.#version;
    this.#shown = false;
    this.#writeUrl();
    this.#results = this.invalidate?.(touched, this.#results) ?? null;
    this.dispatchEvent(new CustomEvent('change', { detail: { state: this.state, changed: touched } }));
    if (this.constructor.live && this.#ready) this.#compute();
    else this.#refresh();
  }

  #writeUrl() {
    if (this.#namespace !== null) writeHash(this.#prefix, this.#schema, this.#state, { run: this.#shown ? '1' : null });
  }

  #claim() {
    if (!this.hasAttribute('sync-url')) return;
    const wanted = this.getAttribute('sync-url') || '';
    let ns = wanted;
    if (claimed.has(ns) && claimed.get(ns) !== this) {
      const base = wanted || this.localName.replace(/^ql-/, '');
      ns = base;
      for (let i = 2; claimed.has(ns) && claimed.get(ns) !== this; ++i) ns = `${base}${i}`;
    }
    claimed.set(ns, this);
    this.#namespace = ns;
  }

  #bindControls() {
    for (const [name, f] of Object.entries(this.#schema)) {
      const el = this.$(`[data-field=${name}]`);
      if (!el) continue;
      el.addEventListener('change', () => {
        const raw = el.type === 'checkbox' ? String(el.checked) : el.value;
        const parsed = parseValue(name, f, raw);
        if (parsed.error) {
          this.#invalid[name] = { raw, message: parsed.error };
          this.#results = null;
          this.#refresh();
          return;
        }
        this.#set(this.fromControl?.(name, parsed.value) ?? { [name]: parsed.value }, [name]);
      });
    }
    this.$('[data-testid=run]')?.addEventListener('click', () => this.run());
    this.$('[data-testid=stop]')?.addEventListener('click', () => this.stop());
  }

  // Controls show the state; a refused value is shown as it was asked for, marked invalid.
  #showControls() {
    for (const [name, f] of Object.entries(this.#schema)) {
      const el = this.$(`[data-field=${name}]`);
      if (!el) continue;
      const bad = this.#invalid[name];
      const text = bad ? bad.raw : formatValue(f, this.#state[name]);
      el.querySelector('option[data-invalid]')?.remove();
      if (el.type === 'checkbox') el.checked = this.#state[name];
      else if (el.tagName === 'SELECT' && ![...el.options].some((o) => o.value === text)) {
        const option = new Option(`${text} (not valid)`, text, true, true);
        option.disabled = true;
        option.dataset.invalid = '';
        el.add(option);
      }
      if (el.type !== 'checkbox' && el.value !== text) el.value = text;
      el.toggleAttribute('aria-invalid', Boolean(bad));
      el.disabled = this.#busy || (f.enabled ? !f.enabled(this.#state) : false);
    }
    this.$$('button').forEach((b) => { b.disabled = this.#busy && b.dataset.testid !== 'stop'; });
    const stop = this.$('[data-testid=stop]');
    if (stop) stop.hidden = !this.#busy;
  }

  #messages() {
    const list = Object.values(this.#invalid).map((v) => `INVALID_ARGUMENT: ${v.message}`);
    if (this.#error) list.push(this.#error);
    return list.join('\n');
  }

  #fail(e) {
    this.#error = `${e?.code ?? e?.name ?? 'ERROR'}: ${e?.message ?? e}`;
    // Not a quantlab error: a bug or the network; the console gets it too.
    if (!(e instanceof QuantlabError) && !e?.code) reportError(e);
  }

  #refresh() {
    this.#showControls();
    const box = this.$('[data-testid=error]');
    if (box) box.textContent = this.#messages();
    const ok = Object.keys(this.#invalid).length === 0;
    this.render(this.state, ok ? this.#results : null);
  }

  /** One compute call for the current state; an error replaces the results. */
  #compute() {
    if (Object.keys(this.#invalid).length) {
      this.#results = null;
      this.#refresh();
      return undefined;
    }
    const generation = ++this.#generation;
    const settle = (results, e) => {
      if (generation !== this.#generation || e?.cancelled) return;
      this.#error = null;
      if (e) this.#fail(e);
      this.#results = e ? null : { ...this.#results, ...results };
      this.#refresh();
    };
    let out;
    try {
      out = this.compute(this.state, this.#context());
    } catch (e) {
      settle(null, e);
      return undefined;
    }
    if (!(out instanceof Promise)) return settle(out);
    return out.then((r) => settle(r), (e) => settle(null, e));
  }

  #context(version = this.#version) {
    return {
      call: (method, args, { onData, transfer } = {}) => this.tasks.call(method, args, {
        transfer,
        onProgress: (fraction, message, data) => {
          this.#progress.update(fraction, message);
          if (data != null) onData?.(data);
        },
      }),
      progress: (fraction, message) => this.#progress.update(fraction, message),
      /** Show results so far (a sweep's points as they come). */
      partial: (results) => {
        if (version !== this.#version) return;
        this.#results = { ...this.#results, ...results };
        this.render(this.state, this.#results);
      },
    };
  }

  /**
   * Run `fn(ctx)` as this element's one long task: controls locked, Stop shown, progress,
   * errors in place of results. Its answer is merged into the results. Returns true when it
   * finished (not stopped, no error).
   */
  async task(fn, message = 'starting') {
    if (this.#busy) return false;
    if (Object.keys(this.#invalid).length) {
      this.#refresh();
      return false;
    }
    const hadFocus = this.#root.activeElement;
    this.#busy = true;
    this.#cancelled = false;
    this.#error = null;
    delete this.dataset.done;
    const version = this.#version;
    this.#refresh();
    if (hadFocus?.tagName === 'BUTTON') this.$('[data-testid=stop]')?.focus();
    this.#progress.start(message);
    let finished = false;
    try {
      const results = await fn(this.#context(version));
      this.#progress.done();
      if (version === this.#version) {
        this.#results = { ...this.#results, ...results };
        finished = true;
      }
    } catch (e) {
      if (this.#cancelled || e?.cancelled) {
        this.#progress.stopped();
      } else {
        this.#progress.done();
        this.#results = this.invalidate?.(['error'], this.#results) ?? null;
        this.#fail(e);
      }
    } finally {
      // Focus goes back from Stop (about to hide) to the button that started the task; focus
      // elsewhere on the page (another lesson) is left alone.
      const stopHadFocus = this.#root.activeElement?.dataset.testid === 'stop';
      this.#busy = false;
      this.#refresh();
      if (stopHadFocus && hadFocus?.isConnected && !hadFocus.disabled) hadFocus.focus();
    }
    if (finished) {
      this.#shown = true;
      this.#writeUrl();
      this.dataset.done = 'true';
    }
    return finished;
  }

  /** Compute now (lessons that compute on request); the page's API as well: called before
   * the lesson is ready (its data and quantlab loaded), it waits. True when it finished. */
  async run() {
    await this.#whenReady.promise;
    return this.task((ctx) => this.compute(this.state, ctx));
  }

  /** Cancel this element's task (its worker ends; other lessons' workers go on). */
  stop() {
    if (!this.#busy) return;
    this.#cancelled = true;
    this.#tasks?.cancel();
  }

  compute() {
    return null;
  }

  render() {}
}

/** Define `tag` once (a page may import a lesson twice through different URLs). */
export function define(tag, cls) {
  if (!customElements.get(tag)) customElements.define(tag, cls);
}
