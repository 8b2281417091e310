#!/usr/bin/python3
"""Fixture generator (issue 10): models exported by torch.onnx.export the way users write them,
with x.reshape(x.shape[0], -1) before the classifier (torch writes that as
Shape -> Gather -> Unsqueeze -> Concat -> Reshape) and a dynamic batch dimension "N".

Writes tests/fixtures/torch/<model>_opset<13|17>.onnx for LeNet-5 and LeNet-300-100 at reduced
width (so the files stay small; the graph is the same), random weights from a fixed seed, and
tests/fixtures/torch/inputs.json: fixed inputs at batch 1 and 3 with the outputs torch computes.
tests/models/ref-outputs.mjs then adds the outputs onnxruntime-node computes (the reference the
tests compare with). Needs PyTorch (Debian: apt-get install python3-torch); the tests do not.

Usage: /usr/bin/python3 tests/models/make_torch_exports.py
"""
import io
import json
import os

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "torch")
SEED = 10


class LeNet5(nn.Module):
    """LeNet-5 (conv 6 and 16 channels, 5x5) with the classifier at half width (60, 42)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(16 * 5 * 5, 60)
        self.fc2 = nn.Linear(60, 42)
        self.fc3 = nn.Linear(42, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = x.reshape(x.shape[0], -1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class LeNet300(nn.Module):
    """LeNet-300-100 at a tenth of the width (784-30-10-10)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 30)
        self.fc2 = nn.Linear(30, 10)
        self.fc3 = nn.Linear(10, 10)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


def rounded(t):
    return [round(float(v), 5) for v in t.flatten().tolist()]


def main():
    os.makedirs(OUT, exist_ok=True)
    # Fixed inputs: MNIST-like value range [0, 1]. (Their own seed: drawn from the weights'
    # stream, they would correlate with fc1's weights.)
    torch.manual_seed(SEED + 1)
    inputs = {str(b): torch.rand(b, 1, 28, 28) for b in (1, 3)}
    # Stored rounded: the tests read these exact values.
    inputs = {b: torch.tensor(rounded(x)).reshape(x.shape) for b, x in inputs.items()}
    record = {"input_shape": [None, 1, 28, 28], "inputs": {b: rounded(x) for b, x in inputs.items()},
              "models": {}}
    for name, cls in (("lenet5", LeNet5), ("lenet300", LeNet300)):
        torch.manual_seed(SEED)
        model = cls().eval()
        with torch.no_grad():
            torch_out = {b: rounded(model(x)) for b, x in inputs.items()}
        for opset in (13, 17):
            buf = io.BytesIO()
            torch.onnx.export(model, inputs["1"], buf, opset_version=opset, input_names=["x"],
                              output_names=["logits"],
                              dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}})
            file = f"{name}_opset{opset}.onnx"
            with open(os.path.join(OUT, file), "wb") as f:
                f.write(buf.getvalue())
            record["models"][file] = {"torch": torch_out,
                                      "parameters": sum(p.numel() for p in model.parameters())}
            print(f"wrote {file} ({len(buf.getvalue())} bytes)")
    with open(os.path.join(OUT, "inputs.json"), "w") as f:
        json.dump(record, f)
        f.write("\n")
    print("wrote inputs.json; now run: node tests/models/ref-outputs.mjs")


if __name__ == "__main__":
    main()
