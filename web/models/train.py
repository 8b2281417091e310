#!/usr/bin/python3
"""Train, export and describe quantlab's Fashion-MNIST demo models.

Run from anywhere with Debian's python (python3-torch 1.13, python3-numpy):

    /usr/bin/python3 web/models/train.py            # all three models + data subsets
    /usr/bin/python3 web/models/train.py --models lenet300 --epochs 1   # quick smoke run

For each model (lenet300, lenet5, cnn_bn) it writes into web/models/:
    <name>.onnx           opset 13, weights as initializers, input "input" [N,1,28,28],
                          output "logits" [N,10] (raw logits, no softmax)
    <name>.pred.u8        argmax of the fp32 PyTorch model on the 10,000 test images
    <name>.logits100.f32  little-endian float32 logits [100,10] of the first 100 test images
and models.json with accuracy, PyTorch qnnpack int8 reference numbers and metadata.
It also (re)writes the browser data subsets in web/data/ via web/data/make_subsets.py.

Input preprocessing (the JS and C++ sides must do the same, in float32):
    x = (pixel / 255 - 0.2860) / 0.3530
Everything is seeded and torch.use_deterministic_algorithms(True) is on; the script
uses one thread (torch.set_num_threads(1)) so results are reproducible on this machine.
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import copy
import hashlib
import json
import math
import random
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.ao.quantization as tq

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "web", "data"))
import onnx_lite  # noqa: E402
import make_subsets  # noqa: E402

MEAN, STD = 0.2860, 0.3530
SEED = 20240601
CALIB_IMAGES = 1000
OPSET = 13
ALLOWED_OPS = {"Conv", "Gemm", "MatMul", "Add", "Relu", "MaxPool", "GlobalAveragePool",
               "Flatten", "Reshape", "BatchNormalization"}
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


# ------------------------------------------------------------------------ models
# Each model keeps one module per layer (no functional calls) so that eager-mode
# quantization can fuse them, and uses nn.Flatten so the ONNX graph has a plain
# Flatten node instead of a Shape/Gather/Unsqueeze/Concat/Reshape chain.

class LeNet300(nn.Module):
    """LeNet-300-100: 784-300-100-10 MLP."""
    fuse = [["fc1", "relu1"], ["fc2", "relu2"]]

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1, self.relu1 = nn.Linear(784, 300), nn.ReLU()
        self.fc2, self.relu2 = nn.Linear(300, 100), nn.ReLU()
        self.fc3 = nn.Linear(100, 10)

    def forward(self, x):
        x = self.flatten(x)
        x = self.relu1(self.fc1(x))
        x = self.relu2(self.fc2(x))
        return self.fc3(x)


class LeNet5(nn.Module):
    """LeNet-5 (ReLU, max-pool): conv6@5x5 pad2, pool, conv16@5x5, pool, 400-120-84-10."""
    fuse = [["conv1", "relu1"], ["conv2", "relu2"], ["fc1", "relu3"], ["fc2", "relu4"]]

    def __init__(self):
        super().__init__()
        self.conv1, self.relu1, self.pool1 = nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2)
        self.conv2, self.relu2, self.pool2 = nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1, self.relu3 = nn.Linear(400, 120), nn.ReLU()
        self.fc2, self.relu4 = nn.Linear(120, 84), nn.ReLU()
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.flatten(x)
        x = self.relu3(self.fc1(x))
        x = self.relu4(self.fc2(x))
        return self.fc3(x)


class CnnBn(nn.Module):
    """Small CNN with BatchNorm: 3 x (conv3x3 pad1 + BN + ReLU), max-pool after the
    first two, global average pool, Linear to 10 classes. Convs have no bias (BN follows)."""
    fuse = [["conv1", "bn1", "relu1"], ["conv2", "bn2", "relu2"], ["conv3", "bn3", "relu3"]]

    def __init__(self, c1=16, c2=32, c3=64):
        super().__init__()
        self.conv1, self.bn1, self.relu1 = nn.Conv2d(1, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1), nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2, self.bn2, self.relu2 = nn.Conv2d(c1, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2), nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.conv3, self.bn3, self.relu3 = nn.Conv2d(c2, c3, 3, padding=1, bias=False), nn.BatchNorm2d(c3), nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c3, 10)

    def forward(self, x):
        x = self.pool1(self.relu1(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu2(self.bn2(self.conv2(x))))
        x = self.relu3(self.bn3(self.conv3(x)))
        return self.fc(self.flatten(self.gap(x)))


class DwSep(nn.Module):
    """MobileNet-style depthwise-separable CNN: a 3x3 stem, three blocks of depthwise 3x3
    (stride 2, 2, 1) + pointwise 1x1, each conv with BatchNorm and ReLU, global average pool,
    Linear to 10 classes. Per-tensor int8 is known to suffer on depthwise layers (issue 11)."""
    fuse = [["stem", "bn0", "relu0"]] + [[f"{k}{i}", f"bn_{k}{i}", f"relu_{k}{i}"] for i in (1, 2, 3) for k in ("dw", "pw")]

    def __init__(self, widths=(16, 32, 64, 96)):
        super().__init__()
        self.stem, self.bn0, self.relu0 = nn.Conv2d(1, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()
        for i, (cin, cout, stride) in enumerate(zip(widths[:-1], widths[1:], (2, 2, 1)), start=1):
            setattr(self, f"dw{i}", nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin, bias=False))
            setattr(self, f"bn_dw{i}", nn.BatchNorm2d(cin))
            setattr(self, f"relu_dw{i}", nn.ReLU())
            setattr(self, f"pw{i}", nn.Conv2d(cin, cout, 1, bias=False))
            setattr(self, f"bn_pw{i}", nn.BatchNorm2d(cout))
            setattr(self, f"relu_pw{i}", nn.ReLU())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(widths[-1], 10)

    def forward(self, x):
        x = self.relu0(self.bn0(self.stem(x)))
        for i in (1, 2, 3):
            for k in ("dw", "pw"):
                x = getattr(self, f"relu_{k}{i}")(getattr(self, f"bn_{k}{i}")(getattr(self, f"{k}{i}")(x)))
        return self.fc(self.flatten(self.gap(x)))


# name -> (constructor, description, training config)
SCHEDULE = "OneCycleLR(max_lr=lr, cos anneal, pct_start=0.25, cycle_momentum=False), stepped per batch"
MODELS = {
    "lenet300": (LeNet300, "LeNet-300-100 MLP (Flatten, Linear 784-300-100-10, ReLU)",
                 dict(optimizer="Adam", lr=1e-3, weight_decay=0.0, batch_size=128, epochs=12,
                      schedule=SCHEDULE, hflip=False)),
    "lenet5": (LeNet5, "LeNet-5 (conv6@5x5 pad2, ReLU, maxpool2, conv16@5x5, ReLU, maxpool2, Linear 400-120-84-10)",
               dict(optimizer="Adam", lr=2e-3, weight_decay=0.0, batch_size=128, epochs=12,
                    schedule=SCHEDULE, hflip=False)),
    "cnn_bn": (CnnBn, "CNN: 3x(conv3x3 pad1 + BatchNorm + ReLU) 16/32/64 ch, maxpool after first two, "
                      "global average pool, Linear 64-10",
               dict(optimizer="Adam", lr=4e-3, weight_decay=0.0, batch_size=128, epochs=12,
                    schedule=SCHEDULE, hflip=True)),
    # Not a page demo model: tests/fixtures/dwsep (train.py --models dwsep --out tests/fixtures/dwsep).
    "dwsep": (DwSep, "MobileNet-style: conv3x3 16 + BN + ReLU, 3 x (depthwise 3x3 s2/s2/s1 + pointwise 1x1, "
                     "each + BN + ReLU) to 32/64/96 ch, global average pool, Linear 96-10",
              dict(optimizer="Adam", lr=4e-3, weight_decay=0.0, batch_size=128, epochs=12,
                   schedule=SCHEDULE, hflip=True)),
}


# -------------------------------------------------------------------------- data

def load_fashion(src):
    xtr, ytr = make_subsets.load_split(src, "train")
    xte, yte = make_subsets.load_split(src, "test")
    assert xtr.shape == (60000, 28, 28) and xte.shape == (10000, 28, 28)
    return xtr, ytr, xte, yte


def normalize(u8):
    """uint8 [N,28,28] -> float32 tensor [N,1,28,28]: (p/255 - MEAN)/STD, all in float32."""
    x = torch.from_numpy(np.array(u8, dtype=np.uint8)).to(torch.float32).div_(255.0)
    return x.sub_(MEAN).div_(STD).unsqueeze(1).contiguous()


# ----------------------------------------------------------------------- helpers

def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def param_count(model):
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def predict(model, x, batch=1000):
    model.eval()
    return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])


def train(model, x, y, cfg, seed, xte, yte, log):
    gen = torch.Generator().manual_seed(seed)
    n, bs = len(x), cfg["batch_size"]
    steps_per_epoch = math.ceil(n / bs)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg["lr"], total_steps=cfg["epochs"] * steps_per_epoch,
        pct_start=0.25, anneal_strategy="cos", cycle_momentum=False)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    for epoch in range(cfg["epochs"]):
        t0 = time.time()
        model.train()
        perm = torch.randperm(n, generator=gen)
        flips = torch.rand(n, generator=gen) < 0.5 if cfg["hflip"] else None
        total = 0.0
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            xb, yb = x[idx], y[idx]
            if flips is not None:
                f = flips[idx]
                xb = torch.where(f.view(-1, 1, 1, 1), xb.flip(3), xb)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        acc = (predict(model, xte).argmax(1) == yte).float().mean().item() * 100
        history.append({"epoch": epoch + 1, "train_loss": round(total / n, 4), "test_acc": round(acc, 2),
                        "seconds": round(time.time() - t0, 1)})
        log(f"  epoch {epoch + 1:2d}/{cfg['epochs']}: loss {total / n:.4f}  test acc {acc:.2f}%  "
            f"({time.time() - t0:.1f}s)")
    return history


def quantize_qnnpack(model, fuse, calib):
    """PyTorch eager-mode post-training static int8 quantization (qnnpack)."""
    torch.backends.quantized.engine = "qnnpack"
    fm = copy.deepcopy(model).eval()
    tq.fuse_modules(fm, fuse, inplace=True)
    qm = tq.QuantWrapper(fm).eval()
    qm.qconfig = tq.get_default_qconfig("qnnpack")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tq.prepare(qm, inplace=True)
        with torch.no_grad():
            for i in range(0, len(calib), 250):
                qm(calib[i:i + 250])
        tq.convert(qm, inplace=True)
    return qm


def export_onnx(model, path):
    """Export with opset 13, dynamic batch, BatchNormalization nodes preserved.

    torch 1.13 folds BatchNormalization into the preceding Conv whenever training mode
    is EVAL (the default) -- even with do_constant_folding=False -- in its ONNX "eval
    peephole" pass. TrainingMode.PRESERVE on a model in eval() skips that pass and
    exports an inference-mode BatchNormalization (single output). Constant folding is
    turned off too: with it on, torch deduplicates initializers that happen to hold
    equal values and rewires them through Identity nodes.
    """
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, dummy, path, export_params=True, opset_version=OPSET,
            input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
            training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    assert not model.training


def check_onnx(path, x100, logits100, expect_bn):
    """Parse the exported file, check its interface/ops and re-run it in numpy."""
    m = onnx_lite.load(path)
    ops = onnx_lite.op_types(m)
    assert set(ops) <= ALLOWED_OPS, f"{path}: unexpected ops {set(ops) - ALLOWED_OPS}"
    assert ("BatchNormalization" in ops) == expect_bn, f"{path}: BatchNormalization presence wrong: {ops}"
    assert m["opsets"].get("") == OPSET, m["opsets"]
    assert m["inputs"] == [("input", ["N", 1, 28, 28])], m["inputs"]
    assert m["outputs"] == [("logits", ["N", 10])], m["outputs"]
    y = onnx_lite.run(m, {"input": x100.numpy()})[0]
    diff = float(np.abs(y - logits100.numpy().astype(np.float64)).max())
    assert diff < 1e-3, f"{path}: numpy re-run differs from PyTorch by {diff}"
    assert (y.argmax(1) == logits100.numpy().argmax(1)).all()
    return {"op_types": ops, "op_counts": onnx_lite.op_counts(m), "ir_version": m["ir_version"],
            "initializers": len(m["initializers"]),
            "numpy_rerun_max_abs_diff": float(f"{diff:.3g}")}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# -------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description="Train and export quantlab's Fashion-MNIST demo models.")
    ap.add_argument("--models", nargs="+", default=[m for m in MODELS if m != "dwsep"], choices=list(MODELS))
    ap.add_argument("--epochs", type=int, help="override the epoch count (smoke tests)")
    ap.add_argument("--data", default=make_subsets.DEFAULT_SRC, help="Fashion-MNIST IDX directory")
    ap.add_argument("--out", default=HERE, help="output directory for models (default: web/models)")
    ap.add_argument("--no-subsets", action="store_true", help="do not rewrite web/data/*.u8")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)

    def log(msg):
        print(msg, flush=True)

    t_start = time.time()
    if not args.no_subsets:
        make_subsets.write_subsets(args.data, os.path.join(REPO, "web", "data"))

    xtr_u8, ytr_u8, xte_u8, yte_u8 = load_fashion(args.data)
    xtr, xte = normalize(xtr_u8), normalize(xte_u8)
    ytr, yte = torch.from_numpy(ytr_u8.astype(np.int64)), torch.from_numpy(yte_u8.astype(np.int64))
    log(f"data: train {tuple(xtr.shape)} test {tuple(xte.shape)}; normalized mean "
        f"{xtr.mean().item():.4f} std {xtr.std().item():.4f}")

    meta_path = os.path.join(args.out, "models.json")
    meta = {"models": []}
    if os.path.exists(meta_path):          # keep entries of models not retrained this run
        with open(meta_path) as f:
            meta = json.load(f)
    entries = {e["name"]: e for e in meta.get("models", [])}

    for name in args.models:
        ctor, desc, cfg = MODELS[name]
        cfg = dict(cfg)
        if args.epochs:
            cfg["epochs"] = args.epochs
        log(f"== {name}: {desc}")
        seed_everything(args.seed)
        model = ctor()
        t0 = time.time()
        history = train(model, xtr, ytr, cfg, args.seed, xte, yte, log)
        train_seconds = time.time() - t0
        model.eval()

        logits = predict(model, xte)
        pred = logits.argmax(1)
        acc = (pred == yte).float().mean().item() * 100
        pred.to(torch.uint8).numpy().tofile(os.path.join(args.out, f"{name}.pred.u8"))
        logits[:100].numpy().astype("<f4").tofile(os.path.join(args.out, f"{name}.logits100.f32"))

        onnx_path = os.path.join(args.out, f"{name}.onnx")
        export_onnx(model, onnx_path)
        onnx_info = check_onnx(onnx_path, xte[:100], logits[:100], expect_bn=(name in ("cnn_bn", "dwsep")))
        log(f"  fp32 test acc {acc:.2f}%  onnx ops {onnx_info['op_types']}  "
            f"numpy re-run max |diff| {onnx_info['numpy_rerun_max_abs_diff']}")

        t1 = time.time()
        qm = quantize_qnnpack(model, ctor.fuse, xtr[:CALIB_IMAGES])
        qpred = predict(qm, xte).argmax(1)
        q_seconds = time.time() - t1
        qacc = (qpred == yte).float().mean().item() * 100
        agree = (qpred == pred).float().mean().item() * 100
        log(f"  qnnpack int8 acc {qacc:.2f}%  agreement with fp32 {agree:.2f}%")

        entries[name] = {
            "name": name,
            "description": desc,
            "file": f"{name}.onnx",
            "file_bytes": os.path.getsize(onnx_path),
            "sha256": sha256(onnx_path),
            "input_name": "input",
            "output_name": "logits",
            "input_shape": ["N", 1, 28, 28],
            "output_shape": ["N", 10],
            "normalization": {"mean": MEAN, "std": STD, "formula": "x = (pixel/255 - mean) / std"},
            "parameters": param_count(model),
            "fp32_accuracy": round(acc, 2),
            "pytorch_int8_qnnpack": {
                "accuracy": round(qacc, 2),
                "agreement_with_fp32": round(agree, 2),
                "method": "torch.ao.quantization eager-mode post-training static quantization, "
                          "engine qnnpack, get_default_qconfig('qnnpack') (MinMax observers: "
                          "per-tensor quint8 activations, per-tensor symmetric qint8 weights), "
                          f"fused {ctor.fuse}, calibrated on the first {CALIB_IMAGES} training images",
                "seconds": round(q_seconds, 1),
            },
            "onnx": dict(opset=OPSET, **onnx_info,
                         export="torch.onnx.export(training=TrainingMode.PRESERVE on an eval() model, "
                                "do_constant_folding=False, dynamic batch axis 'N')"),
            "training": dict(cfg, loss="CrossEntropyLoss", train_images=len(xtr),
                             augmentation="random horizontal flip (p=0.5)" if cfg["hflip"] else "none"),
            "epochs": cfg["epochs"],
            "seed": args.seed,
            "history": history,
            "training_seconds": round(train_seconds, 1),
            "threads": torch.get_num_threads(),
            "torch_version": torch.__version__,
            "artifacts": {"predictions": f"{name}.pred.u8", "logits100": f"{name}.logits100.f32"},
        }

    meta = {
        "dataset": {
            "name": "Fashion-MNIST",
            "source": "Debian package dataset-fashion-mnist (Zalando Research), MIT license",
            "train_images": 60000,
            "test_images": 10000,
            "classes": CLASSES,
            "normalization": {"mean": MEAN, "std": STD, "formula": "x = (pixel/255 - mean) / std"},
        },
        "generator": "web/models/train.py",
        "torch_version": torch.__version__,
        "models": [entries[n] for n in MODELS if n in entries],
    }
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    log(f"wrote {meta_path}; total {time.time() - t_start:.0f}s")


if __name__ == "__main__":
    main()
