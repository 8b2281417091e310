#!/usr/bin/python3
"""Fixture generator (issue 11): a LeNet-5 quantized by PyTorch's own eager-mode post-training
quantization on the qnnpack backend, so the tests can check that quantlab reproduces it bit
for bit through quantizeModel with the scales torch chose (options.ranges) and
requantMode 'qnnpack'.

Trains LeNet-5 (fp32, 2 epochs on the bundled 6,000 Fashion-MNIST training images, fixed seed),
fuses Conv+ReLU and Linear+ReLU, calibrates torch's default qnnpack qconfig (HistogramObserver
activations, quint8; per-tensor symmetric qint8 weights) on 256 training images, converts, and
writes to tests/fixtures/qnnpack/:
  lenet5.onnx       the fp32 model (torch.onnx.export, opset 13, dynamic batch)
  qparams.json      the scale and zero point torch chose for every quantized activation, by
                    the ONNX value it belongs to, and the names of the graph's input / output
  input.u8          64 test images as torch's quantized input (uint8, qparams of 'input')
  logits.u8         the quantized model's int8 output for them (uint8 int_repr, [64, 10])
Needs PyTorch (Debian python3-torch); the tests do not.

Usage: /usr/bin/python3 tests/models/make_qnnpack_fixture.py
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.ao.quantization as tq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "qnnpack")
DATA = os.path.join(ROOT, "web", "data")
MEAN, STD = 0.286, 0.353


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(400, 120)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.fc3 = nn.Linear(84, 10)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.relu3(self.fc1(x))
        x = self.relu4(self.fc2(x))
        return self.dequant(self.fc3(x))


def images(stem, count):
    raw = np.fromfile(os.path.join(DATA, f"{stem}.images.u8"), dtype=np.uint8)[: count * 784]
    x = (raw.astype(np.float32) / np.float32(255) - np.float32(MEAN)) / np.float32(STD)
    return torch.from_numpy(x.reshape(count, 1, 28, 28))


def main():
    torch.manual_seed(11)
    os.makedirs(OUT, exist_ok=True)
    x = images("fashion-train-6000", 6000)
    y = torch.from_numpy(np.fromfile(os.path.join(DATA, "fashion-train-6000.labels.u8"), dtype=np.uint8).astype(np.int64))
    model = LeNet5()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(2):
        perm = torch.randperm(6000)
        for i in range(0, 6000, 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()

    # The fp32 model as users export it (the stubs are identities in fp32).
    onnx_path = os.path.join(OUT, "lenet5.onnx")
    torch.onnx.export(model, x[:1], onnx_path, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})

    torch.backends.quantized.engine = "qnnpack"
    q = LeNet5()
    q.load_state_dict(model.state_dict())
    q.eval()
    q.qconfig = tq.get_default_qconfig("qnnpack")
    tq.fuse_modules(q, [["conv1", "relu1"], ["conv2", "relu2"], ["fc1", "relu3"], ["fc2", "relu4"]], inplace=True)
    tq.prepare(q, inplace=True)
    with torch.no_grad():
        q(x[:256])
    tq.convert(q, inplace=True)

    # The ONNX values the torch scales belong to: the graph input, each fused layer's output
    # (after its ReLU, as torch's ConvReLU2d / LinearReLU), and the logits.
    names = {
        "input": ("quant", "input"),
        "/relu1/Relu_output_0": ("conv1", None),
        "/relu2/Relu_output_0": ("conv2", None),
        "/relu3/Relu_output_0": ("fc1", None),
        "/relu4/Relu_output_0": ("fc2", None),
        "logits": ("fc3", None),
    }
    qparams = {}
    for value, (module, _) in names.items():
        mod = getattr(q, module)
        qparams[value] = {"scale": float(mod.scale), "zeroPoint": int(mod.zero_point), "module": module}

    test = images("fashion-test-2000", 64)
    s_in, z_in = qparams["input"]["scale"], qparams["input"]["zeroPoint"]
    xq = torch.quantize_per_tensor(test, s_in, z_in, torch.quint8)
    xin = xq.int_repr().numpy().astype(np.uint8)
    # On-grid float input: s * (q - z) in float32, quantized back to the same q by either side.
    xf = (np.float32(s_in) * (xin.astype(np.float32) - np.float32(z_in))).astype(np.float32)
    captured = {}
    q.fc3.register_forward_hook(lambda m, i, o: captured.__setitem__("fc3", o.int_repr().numpy().copy()))
    with torch.no_grad():
        q(torch.from_numpy(xf))
    assert (torch.quantize_per_tensor(torch.from_numpy(xf), s_in, z_in, torch.quint8).int_repr().numpy() == xin).all()
    xin.tofile(os.path.join(OUT, "input.u8"))
    captured["fc3"].astype(np.uint8).tofile(os.path.join(OUT, "logits.u8"))
    meta = {
        "about": "LeNet-5 quantized by PyTorch " + torch.__version__ + " eager-mode PTQ, qnnpack backend "
                 "(default qconfig: HistogramObserver quint8 activations, per-tensor symmetric qint8 weights); "
                 "made by tests/models/make_qnnpack_fixture.py",
        "input": "input", "output": "logits", "samples": 64, "inputShape": [64, 1, 28, 28],
        "ranges": qparams,
    }
    with open(os.path.join(OUT, "qparams.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print("wrote", OUT, {k: (round(v["scale"], 6), v["zeroPoint"]) for k, v in qparams.items()})


if __name__ == "__main__":
    main()
