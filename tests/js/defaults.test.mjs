// The hand-written quantlab.d.ts (and the types/ files it re-exports) against the core: every option interface that ql.defaults()
// fills (the `Defaults` interface names them) has a member for each default, and every
// `@default` tag equals the value the core's option struct produces, on both builds.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { load } from '../../wasm/quantlab.mjs';

// The entry and the files it re-exports.
const dts = ['quantlab.d.ts', 'types/compression.d.ts', 'types/handle.d.ts', 'types/pq.d.ts']
  .map((f) => readFileSync(new URL(`../../wasm/${f}`, import.meta.url), 'utf8')).join('\n');

/** name -> {parents, members: name -> {optional, doc}} of every interface in the .d.ts. */
function interfaces(text) {
  const out = new Map();
  const re = /^export interface (\w+)(?:<[^>]*>)?(?: extends ([\w, ]+))? \{\n([\s\S]*?)^\}/gm;
  for (const [, name, parents, body] of text.matchAll(re)) {
    const members = new Map();
    let doc = '';
    for (const line of body.split('\n')) {
      const t = line.trim();
      if (t.startsWith('/**') || t.startsWith('*')) doc += ` ${t}`;
      const m = t.match(/^(\w+)(\?)?: /);
      if (m && !t.startsWith('*')) {
        members.set(m[1], { optional: Boolean(m[2]), doc });
        doc = '';
      } else if (!t.startsWith('/**') && !t.startsWith('*')) {
        doc = '';
      }
    }
    out.set(name, { parents: parents ? parents.split(',').map((p) => p.trim()) : [], members });
  }
  return out;
}

/** Members of an interface with those of its parents (a member's own doc wins). */
function membersOf(all, name) {
  const i = all.get(name);
  assert.ok(i, `interface ${name} is not in quantlab.d.ts`);
  const members = new Map();
  for (const p of i.parents) for (const [k, v] of membersOf(all, p)) members.set(k, v);
  for (const [k, v] of i.members) members.set(k, v);
  return members;
}

/** The value of an `@default` tag: 'text', a number, true / false, or an array of those. */
function documented(doc) {
  const m = doc.match(/@default (.+?)(?:\s*\*\/|$)/);
  if (m && m[1].trim() === 'NaN') return NaN;  // "no budget" sentinels
  return m ? JSON.parse(m[1].trim().replace(/'/g, '"')) : undefined;
}

const all = interfaces(dts);
const keys = new Map([...membersOf(all, 'Defaults')].map(([k, v]) => [k, v]));
const ifaceOf = Object.fromEntries([...dts.match(/export interface Defaults \{([\s\S]*?)\}/)[1]
  .matchAll(/(\w+): (?:Required<)?(\w+)>?;/g)].map(([, k, i]) => [k, i]));

for (const simd of [true, false]) {
  test(`quantlab.d.ts documents ql.defaults(), ${simd ? 'SIMD128' : 'scalar'} build`, async () => {
    const ql = await load({ simd });
    const defaults = ql.defaults();
    assert.deepEqual(Object.keys(defaults).sort(), [...keys.keys()].sort(),
      'the Defaults interface lists every key of ql.defaults()');
    let checked = 0;
    for (const [key, values] of Object.entries(defaults)) {
      const members = membersOf(all, ifaceOf[key]);
      for (const [name, value] of Object.entries(values)) {
        const member = members.get(name);
        assert.ok(member, `${ifaceOf[key]} has no member '${name}' (ql.defaults().${key}.${name})`);
        const doc = documented(member.doc);
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
          assert.ok(member.doc.includes(`ql.defaults().${key}.${name}`),
            `${ifaceOf[key]}.${name} should point to ql.defaults().${key}.${name}`);
          continue;
        }
        if (!member.optional) continue;  // a required option has no default to document
        assert.notEqual(doc, undefined, `${ifaceOf[key]}.${name} has no @default (core: ${JSON.stringify(value)})`);
        assert.deepEqual(doc, value, `${ifaceOf[key]}.${name}: @default ${JSON.stringify(doc)}, core ${JSON.stringify(value)}`);
        checked += 1;
      }
      // Every @default in the interface is one the core produces.
      for (const [name, member] of members) {
        if (documented(member.doc) !== undefined) {
          assert.ok(name in values, `${ifaceOf[key]}.${name} documents a default the core does not have`);
        }
      }
    }
    assert.ok(checked > 80, `only ${checked} defaults checked`);
    // A fresh copy each time: changing one does not change the module's.
    defaults.train.learningRate = 1;
    assert.notEqual(ql.defaults().train.learningRate, 1);
  });
}
