// The demo models' weight tensors, as the lessons that pick "a real layer" list them: a schema
// field for model and layer, the layer kept inside the model, and the layer <select> showing
// only the chosen model's tensors. No DOM beyond that select; no quantlab arithmetic.

/** The weight tensors of the demo models (what their ONNX files hold). */
export const MODEL_LAYERS = {
  lenet5: ['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight', 'fc3.weight'],
  lenet300: ['fc1.weight', 'fc2.weight', 'fc3.weight'],
  cnn_bn: ['conv1.weight', 'conv2.weight', 'conv3.weight', 'fc.weight'],
};

/** Schema fields `model` and `layer` (state.mjs). */
export const modelLayerFields = (model = 'lenet5', layer = 'fc1.weight') => ({
  model: { type: 'enum', default: model, label: 'model', options: { lenet5: 'LeNet-5', lenet300: 'LeNet-300-100', cnn_bn: 'CNN with BatchNorm' } },
  layer: { type: 'enum', default: layer, label: 'layer', options: Object.fromEntries([...new Set(Object.values(MODEL_LAYERS).flat())].map((l) => [l, l])) },
});

/** A layer outside the model becomes the model's first FC layer. */
export function coerceLayer(s) {
  if (!MODEL_LAYERS[s.model].includes(s.layer)) s.layer = MODEL_LAYERS[s.model].find((l) => l.startsWith('fc')) ?? MODEL_LAYERS[s.model][0];
  return s;
}

/** The layer <select> lists the model's tensors and shows `layer`. */
export function showLayerOptions(select, model, layer) {
  const want = MODEL_LAYERS[model].join('|');
  if (select.dataset.model !== want) {
    select.replaceChildren(...MODEL_LAYERS[model].map((l) => new Option(l, l)));
    select.dataset.model = want;
  }
  select.value = layer;
}
