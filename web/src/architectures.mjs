// Architecture definitions of four standard CNNs (torchvision's AlexNet, VGG-16, ResNet-50 and
// MobileNetV2 at 224x224) and their cost per layer kind: parameters and multiply-accumulates
// of the conv layers, the fully-connected layers and the rest (BatchNorm). The lecture's
// figure (5.5): conv layers do most of the work, FC layers hold most of the weights in the
// older networks. Counting only (no quantlab arithmetic exists for this): the totals match
// torchvision's parameter counts (tests/e2e/bits-shares.test.mjs). No DOM here.

/** A network builder that tracks the activation shape [c, h, w] and sums the costs. */
function builder(name, c = 3, hw = 224) {
  const shape = { c, h: hw, w: hw };
  const cost = { conv: { params: 0, macs: 0, layers: 0 }, fc: { params: 0, macs: 0, layers: 0 }, other: { params: 0, macs: 0, layers: 0 } };
  const out = (size, k, s, p) => Math.floor((size + 2 * p - k) / s) + 1;
  const api = {
    conv(cout, k, { s = 1, p = 0, groups = 1, bias = true } = {}) {
      const h = out(shape.h, k, s, p);
      const w = out(shape.w, k, s, p);
      const weights = cout * (shape.c / groups) * k * k;
      cost.conv.params += weights + (bias ? cout : 0);
      cost.conv.macs += weights * h * w;
      cost.conv.layers += 1;
      Object.assign(shape, { c: cout, h, w });
      return api;
    },
    bn() {
      cost.other.params += 2 * shape.c;
      cost.other.layers += 1;
      return api;
    },
    pool(k, s, p = 0) {
      Object.assign(shape, { h: out(shape.h, k, s, p), w: out(shape.w, k, s, p) });
      return api;
    },
    /** Adaptive average pooling to `size` x `size`. */
    adaptive(size) {
      Object.assign(shape, { h: size, w: size });
      return api;
    },
    fc(nOut) {
      const nIn = shape.c * shape.h * shape.w;
      cost.fc.params += nIn * nOut + nOut;
      cost.fc.macs += nIn * nOut;
      cost.fc.layers += 1;
      Object.assign(shape, { c: nOut, h: 1, w: 1 });
      return api;
    },
    get shape() {
      return { ...shape };
    },
    reshape(to) {
      Object.assign(shape, to);
      return api;
    },
    result: () => ({ name, ...cost }),
  };
  return api;
}

function alexnet() {
  const b = builder('AlexNet');
  b.conv(64, 11, { s: 4, p: 2 }).pool(3, 2).conv(192, 5, { p: 2 }).pool(3, 2)
    .conv(384, 3, { p: 1 }).conv(256, 3, { p: 1 }).conv(256, 3, { p: 1 }).pool(3, 2)
    .adaptive(6).fc(4096).fc(4096).fc(1000);
  return b.result();
}

function vgg16() {
  const b = builder('VGG-16');
  for (const v of [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']) {
    if (v === 'M') b.pool(2, 2);
    else b.conv(v, 3, { p: 1 });
  }
  b.adaptive(7).fc(4096).fc(4096).fc(1000);
  return b.result();
}

function resnet50() {
  const b = builder('ResNet-50');
  b.conv(64, 7, { s: 2, p: 3, bias: false }).bn().pool(3, 2, 1);
  for (const [width, blocks, stride] of [[64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2]]) {
    for (let i = 0; i < blocks; ++i) {
      const s = i === 0 ? stride : 1;
      const input = b.shape;
      b.conv(width, 1, { bias: false }).bn().conv(width, 3, { s, p: 1, bias: false }).bn().conv(width * 4, 1, { bias: false }).bn();
      if (i === 0) {
        // The projection shortcut: a strided 1x1 conv and BatchNorm on the block's input.
        const output = b.shape;
        b.reshape(input).conv(width * 4, 1, { s, bias: false }).bn().reshape(output);
      }
    }
  }
  b.adaptive(1).fc(1000);
  return b.result();
}

function mobilenetv2() {
  const b = builder('MobileNetV2');
  b.conv(32, 3, { s: 2, p: 1, bias: false }).bn();
  let c = 32;
  for (const [t, cOut, n, s] of [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]) {
    for (let i = 0; i < n; ++i) {
      const hidden = c * t;
      if (t !== 1) b.conv(hidden, 1, { bias: false }).bn();
      b.conv(hidden, 3, { s: i === 0 ? s : 1, p: 1, groups: hidden, bias: false }).bn();
      b.conv(cOut, 1, { bias: false }).bn();
      c = cOut;
    }
  }
  b.conv(1280, 1, { bias: false }).bn().adaptive(1).fc(1000);
  return b.result();
}

/** The four networks' costs: [{name, conv, fc, other: {params, macs, layers}}]. */
export function standardCnns() {
  return [alexnet(), vgg16(), resnet50(), mobilenetv2()];
}
