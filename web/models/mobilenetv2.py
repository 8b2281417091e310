#!/usr/bin/python3
"""Export a randomly initialised MobileNetV2 (width 1.0, 224x224x3, 1000 classes) to ONNX.

Used by quantlab's benchmarks; the .onnx is generated at benchmark time, not committed.

    /usr/bin/python3 web/models/mobilenetv2.py [OUT.onnx] [--seed S] [--keep-bn] [--check]

OUT defaults to <repo>/build/models/mobilenetv2.onnx. The architecture is the standard
one (torchvision's mobilenet_v2 without dropout): stem conv 3x3/2 32ch, 17 inverted
residual blocks (t,c,n,s) = (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1)
(6,160,3,2) (6,320,1,1), conv 1x1 1280, global average pool, Linear 1280-1000, ReLU6.

Weights are random but sensibly scaled: Kaiming-normal conv weights, BatchNorm with
random gamma in [0.5, 1.5] and beta ~ N(0, 0.1) whose running statistics are set from one
forward pass over random N(0,1) images, so every conv+BN output is roughly unit-variance
per channel (activations neither explode nor vanish through the 52 convs). By default BN
is then folded into the convs, so the graph holds only Conv, Clip (ReLU6; its min/max
come from Constant nodes), Add, GlobalAveragePool, Flatten and Gemm. --keep-bn exports
the unfolded network with BatchNormalization nodes instead.
Input "input" [N,3,224,224] float32, output "logits" [N,1000]; opset 13; dynamic batch.
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import onnx_lite  # noqa: E402

CONFIG = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def conv_bn(inp, oup, k, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(inp, oup, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(oup)]
    return nn.Sequential(*layers, nn.ReLU6()) if act else nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, t):
        super().__init__()
        hidden = inp * t
        self.use_res = stride == 1 and inp == oup
        layers = [conv_bn(inp, hidden, 1)] if t != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden), conv_bn(hidden, oup, 1, act=False)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        layers, inp = [conv_bn(3, 32, 3, 2)], 32
        for t, c, n, s in CONFIG:
            for i in range(n):
                layers.append(InvertedResidual(inp, c, s if i == 0 else 1, t))
                inp = c
        layers.append(conv_bn(inp, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(1280, num_classes)

    def forward(self, x):
        return self.classifier(self.flatten(self.pool(self.features(x))))


@torch.no_grad()
def init_weights(model, seed, calib_batch=4):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.out_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_out) ** 0.5)
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
            m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
            m.reset_running_stats()
            m.momentum = None                       # running stats = plain average of what it sees
        elif isinstance(m, nn.Linear):
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.in_features ** 0.5)
            m.bias.zero_()
    model.train()
    model(torch.randn(calib_batch, 3, 224, 224, generator=g))   # sets BN running mean/var
    model.eval()


@torch.no_grad()
def fold_bn(model):
    """Fold every Conv2d+BatchNorm2d pair (all are inside conv_bn Sequentials) in place."""
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        if len(seq) >= 2 and isinstance(seq[0], nn.Conv2d) and isinstance(seq[1], nn.BatchNorm2d):
            conv, bn = seq[0], seq[1]
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                               conv.padding, groups=conv.groups, bias=True)
            folded.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
            folded.bias.copy_(bn.bias - bn.running_mean * scale)
            seq[0], seq[1] = folded, nn.Identity()
    return model


def build(seed=0, keep_bn=False):
    torch.manual_seed(seed)
    model = MobileNetV2()
    init_weights(model, seed)
    return model if keep_bn else fold_bn(model)


def export(model, path, opset=13):
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, 3, 224, 224), path, export_params=True, opset_version=opset,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)


def main():
    ap = argparse.ArgumentParser(description="Export a random-weight MobileNetV2 to ONNX.")
    ap.add_argument("out", nargs="?", default=os.path.join(REPO, "build", "models", "mobilenetv2.onnx"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--keep-bn", action="store_true", help="export BatchNormalization nodes instead of folding")
    ap.add_argument("--check", action="store_true",
                    help="re-run the exported graph in numpy and compare with PyTorch (adds ~10 s)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()

    model = build(args.seed, args.keep_bn)
    with torch.no_grad():
        x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(args.seed + 1))
        feats = model.features(x)
        logits = model(x)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    export(model, args.out, args.opset)

    m = onnx_lite.load(args.out)
    params = sum(p.numel() for p in model.parameters())
    print(f"wrote {args.out}: {os.path.getsize(args.out) / 1e6:.2f} MB, {params} parameters, "
          f"{len(m['nodes'])} nodes, opset {m['opsets'].get('')}")
    print("op counts:", onnx_lite.op_counts(m))
    print(f"activation check on a N(0,1) image: features std {feats.std().item():.3f}, "
          f"logits std {logits.std().item():.3f}, |logits| max {logits.abs().max().item():.3f}")
    if args.check:
        y = onnx_lite.run(m, {"input": x.numpy()})[0]
        diff = float(np.abs(y - logits.numpy()).max())
        print(f"numpy re-run of the ONNX graph: max |diff| vs PyTorch {diff:.3g}")
        assert diff < 1e-3 * max(1.0, float(np.abs(y).max()))
    print(f"done in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
