// The lesson state schema (web/src/state.mjs) for the 'pairs' type: the per-layer precision of
// the Models lesson, by node name, through the URL. Node names carry '/', ':', ',' and '%'.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatValue, parseValue } from '../../web/src/state.mjs';

const f = { type: 'pairs', default: {}, label: 'per-layer precision', values: ['8', '4', 'fp32'] };

test('pairs: names with separators survive the URL', () => {
  const value = { '/conv1/Conv': 'fp32', 'fc:3,a%b': '4', plain: '8' };
  const text = formatValue(f, value);
  // Through URLSearchParams as the hash writes it.
  const params = new URLSearchParams();
  params.set('layerBits', text);
  const back = parseValue('layerBits', f, new URLSearchParams(params.toString()).get('layerBits'));
  assert.deepEqual(back, { value });
  assert.deepEqual(parseValue('layerBits', f, ''), { value: {} });
});

test('pairs: a value outside `values` or a part without a key is refused by name', () => {
  assert.match(parseValue('layerBits', f, 'conv1:7').error, /'conv1' must be one of 8, 4, fp32/);
  assert.match(parseValue('layerBits', f, ':fp32').error, /key:value pairs/);
  assert.match(parseValue('layerBits', f, 'conv1').error, /key:value pairs/);
});
