#!/usr/bin/python3
"""Fixture generator (issue 10): models exported by torch.onnx.export the way users write them,
with x.reshape(x.shape[0], -1) before the classifier (torch writes that as
Shape -> Gather -> Unsqueeze -> Concat -> Reshape) and a dynamic batch dimension "N".

Writes tests/fixtures/torch/<model>_opset<13|17>.onnx for LeNet-5 and LeNet-300-100 at reduced
width (so the files stay small; the graph is the same), random weights from a fixed seed, and
tests/fixtures/torch/inputs.json: fixed inputs at batch 1 and 3 with the outputs torch computes.
Then the standard architectures, from torchvision's own modules at reduced width so each file
stays near 1 MB: SqueezeNet 1.1 (Fire: Concat), ShuffleNetV2 (Split, channel shuffle),
MobileNetV2 (width 0.35, 96x96), ResNet-18 (BasicBlock at 1/8 width), a 3-level U-Net
(ConvTranspose, Upsample as Resize), MobileNetV3-Small (HardSwish, squeeze-excite),
EfficientNet-B0 (SiLU), a keyword-spotting CNN on log-mel features, a 2-layer transformer
encoder (LayerNorm, GELU, softmax attention, a Gather embedding), a 2-layer LSTM keyword
spotter and a bidirectional GRU voice-activity detector. Their inputs are drawn by tests/models/torch-inputs.mjs
(seeded), so inputs.json records only each model's input shape for them.
tests/models/ref-outputs.mjs then adds the outputs onnxruntime-node computes (the reference the
tests compare with). Needs PyTorch and torchvision (Debian: apt-get install python3-torch
python3-torchvision); the tests do not.

Usage: /usr/bin/python3 tests/models/make_torch_exports.py [name ...]
  (names: lenet5 lenet300 and the ARCHITECTURES below; with names, only those files are
  written again and inputs.json keeps the other entries)
"""
import io
import json
import os
import sys

import torch
import torch.nn as nn
import torchvision
from torchvision.models.mobilenetv2 import MobileNetV2
from torchvision.models.resnet import BasicBlock, ResNet
from torchvision.models.shufflenetv2 import ShuffleNetV2
from torchvision.models.squeezenet import Fire
from torchvision.ops.misc import Conv2dNormActivation

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


class SqueezeNet11(nn.Module):
    """torchvision's SqueezeNet 1.1 layout (Fire modules: squeeze 1x1, expand 1x1 and 3x3, Concat)
    at half width, 10 classes."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, kernel_size=3, stride=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(32, 8, 32, 32), Fire(64, 8, 32, 32),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(64, 16, 64, 64), Fire(128, 16, 64, 64),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(128, 24, 96, 96), Fire(192, 24, 96, 96), Fire(192, 32, 128, 128),
            Fire(256, 32, 128, 128))
        self.classifier = nn.Sequential(nn.Dropout(p=0.5), nn.Conv2d(256, num_classes, kernel_size=1),
                                        nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


class ShuffleUnit(torchvision.models.shufflenetv2.InvertedResidual):
    """torchvision's ShuffleNetV2 unit; the stride-1 unit splits its input with x.split([c, c])
    (torch exports that as Split; torchvision's x.chunk(2) becomes Shape/Slice arithmetic)."""

    def forward(self, x):
        if self.stride == 1:
            c = self.branch2[0].in_channels
            x1, x2 = x.split([c, c], dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return torchvision.models.shufflenetv2.channel_shuffle(out, 2)


def shufflenet():
    """ShuffleNetV2 x0.5 (stages 48, 96, 192) with a 256-channel head instead of 1024."""
    return ShuffleNetV2([4, 8, 4], [24, 48, 96, 192, 256], num_classes=10, inverted_residual=ShuffleUnit)


def mobilenet_v2():
    """MobileNetV2 at width 0.35 with a 256-channel last conv instead of 1280."""
    m = MobileNetV2(num_classes=10, width_mult=0.35)
    m.features[-1] = Conv2dNormActivation(m.features[-1][0].in_channels, 256, kernel_size=1,
                                          norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU6)
    m.classifier[-1] = nn.Linear(256, 10)
    return m


class ResNet18(ResNet):
    """torchvision's ResNet-18 (BasicBlock x [2, 2, 2, 2], residual Add) at 1/8 width (8 to 64
    channels); the classifier reshapes with x.reshape(x.size(0), -1)."""

    def __init__(self, num_classes=10):
        super().__init__(BasicBlock, [2, 2, 2, 2], num_classes=num_classes)
        w = [8, 16, 32, 64]
        self.inplanes = 8
        self.conv1 = nn.Conv2d(3, 8, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = self._make_layer(BasicBlock, w[0], 2)
        self.layer2 = self._make_layer(BasicBlock, w[1], 2, stride=2)
        self.layer3 = self._make_layer(BasicBlock, w[2], 2, stride=2)
        self.layer4 = self._make_layer(BasicBlock, w[3], 2, stride=2)
        self.fc = nn.Linear(w[3], num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x)
        return self.fc(x.reshape(x.size(0), -1))


def double_conv(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """A 3-level U-Net (8, 16, 32 channels) for 2-class segmentation of 1x32x32 images: one
    decoder step upsamples with ConvTranspose (stride 2), the other with bilinear Upsample
    (exported as Resize); skip connections by Concat."""

    def __init__(self):
        super().__init__()
        self.enc1 = double_conv(1, 8)
        self.enc2 = double_conv(8, 16)
        self.bottom = double_conv(16, 32)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec2 = double_conv(32, 16)
        self.up1 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec1 = double_conv(16 + 8, 8)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bottom(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)


class KeywordLSTM(nn.Module):
    """A keyword spotter as small speech models ship: 2-layer LSTM (hidden 32) over 25 frames of
    20 log-mel features, batch first, classified from the last frame (12 keywords). torch
    exports LSTM with its initial state from the input's batch (Shape -> Gather -> ... ->
    Expand), layout 0 with Transposes around it, and Squeeze/Slice for the last step."""

    def __init__(self, n_mels=20, hidden=32, classes=12):
        super().__init__()
        self.lstm = nn.LSTM(n_mels, hidden, num_layers=2, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1, :])


class VadGRU(nn.Module):
    """A voice-activity detector: a bidirectional GRU (hidden 16) over 30 frames of 13
    features, a per-frame Linear and Sigmoid (speech probability per frame)."""

    def __init__(self, features=13, hidden=16):
        super().__init__()
        self.gru = nn.GRU(features, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, 1)

    def forward(self, x):
        y, _ = self.gru(x)
        return torch.sigmoid(self.fc(y))


def mobilenet_v3_small():
    """torchvision's MobileNetV3-Small (HardSwish, squeeze-excite with HardSigmoid) at width
    0.5 with the reduced tail and a 256-wide classifier."""
    from torchvision.models.mobilenetv3 import MobileNetV3, _mobilenet_v3_conf
    setting, _ = _mobilenet_v3_conf("mobilenet_v3_small", width_mult=0.5, reduced_tail=True)
    return MobileNetV3(setting, last_channel=256, num_classes=10)


def efficientnet_b0():
    """torchvision's EfficientNet-B0 (MBConv with SiLU and squeeze-excite, stochastic depth off
    in eval) at width 0.25 and depth 0.5."""
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf
    setting, last = _efficientnet_conf("efficientnet_b0", width_mult=0.25, depth_mult=0.5)
    return EfficientNet(setting, dropout=0.2, last_channel=last, num_classes=10)


class KeywordCNN(nn.Module):
    """A keyword-spotting CNN on a 40 x 49 log-mel spectrogram (one second at 20 ms hops):
    three conv/BatchNorm/ReLU blocks with pooling, global average, 12 keywords."""

    def __init__(self, classes=12):
        super().__init__()
        def block(c_in, c_out):
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                                 nn.ReLU(inplace=True))
        self.features = nn.Sequential(block(1, 16), nn.MaxPool2d(2), block(16, 32), nn.MaxPool2d(2),
                                      block(32, 64), nn.AdaptiveAvgPool2d(1))
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


class TinyTransformer(nn.Module):
    """A 2-layer transformer encoder (d = 32, 4 heads, GELU feed-forward of 64, LayerNorm,
    softmax attention) over 16 frames of 20 features, a learned position embedding looked up
    with Gather, mean-pooled, 4 classes."""

    def __init__(self, features=20, d=32, seq=16, classes=4):
        super().__init__()
        self.proj = nn.Linear(features, d)
        self.pos = nn.Embedding(seq, d)
        self.register_buffer("positions", torch.arange(seq), persistent=False)
        layer = nn.TransformerEncoderLayer(d, 4, dim_feedforward=64, dropout=0.0, activation="gelu",
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.fc = nn.Linear(d, classes)

    def forward(self, x):
        h = self.proj(x) + self.pos(self.positions)
        return self.fc(self.encoder(h).mean(1))


# name, constructor, input shape (batch N)
ARCHITECTURES = [
    ("squeezenet11", SqueezeNet11, [3, 64, 64]),
    ("shufflenetv2", shufflenet, [3, 64, 64]),
    ("mobilenetv2", mobilenet_v2, [3, 96, 96]),
    ("resnet18", ResNet18, [3, 64, 64]),
    ("unet", UNet, [1, 32, 32]),
    ("mobilenetv3", mobilenet_v3_small, [3, 64, 64]),
    ("efficientnet_b0", efficientnet_b0, [3, 64, 64]),
    ("kws_cnn", KeywordCNN, [1, 40, 49]),
    ("transformer", TinyTransformer, [16, 20]),
    ("kws_lstm", KeywordLSTM, [25, 20]),
    ("vad_gru", VadGRU, [30, 13]),
]


def randomize_batch_norms(model):
    """Non-trivial BatchNorm statistics (as after training), so folding them is exercised."""
    g = torch.Generator().manual_seed(SEED + 2)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def rounded(t):
    return [round(float(v), 5) for v in t.flatten().tolist()]


def main():
    only = set(sys.argv[1:])
    os.makedirs(OUT, exist_ok=True)
    # Fixed inputs: MNIST-like value range [0, 1]. (Their own seed: drawn from the weights'
    # stream, they would correlate with fc1's weights.)
    torch.manual_seed(SEED + 1)
    inputs = {str(b): torch.rand(b, 1, 28, 28) for b in (1, 3)}
    # Stored rounded: the tests read these exact values.
    inputs = {b: torch.tensor(rounded(x)).reshape(x.shape) for b, x in inputs.items()}
    record = {"input_shape": [None, 1, 28, 28], "inputs": {b: rounded(x) for b, x in inputs.items()},
              "models": {}}
    if only:
        with open(os.path.join(OUT, "inputs.json")) as f:
            record = json.load(f)
    for name, cls in (("lenet5", LeNet5), ("lenet300", LeNet300)):
        if only and name not in only:
            continue
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
    for name, make, shape in ARCHITECTURES:
        if only and name not in only:
            continue
        torch.manual_seed(SEED)
        model = make().eval()
        randomize_batch_norms(model)
        x = torch.rand(1, *shape)
        for opset in (13, 17):
            buf = io.BytesIO()
            torch.onnx.export(model, x, buf, opset_version=opset, input_names=["x"],
                              output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
            file = f"{name}_opset{opset}.onnx"
            with open(os.path.join(OUT, file), "wb") as f:
                f.write(buf.getvalue())
            record["models"][file] = {"input_shape": [None, *shape],
                                      "parameters": sum(p.numel() for p in model.parameters())}
            print(f"wrote {file} ({len(buf.getvalue())} bytes)")
    with open(os.path.join(OUT, "inputs.json"), "w") as f:
        json.dump(record, f)
        f.write("\n")
    print("wrote inputs.json; now run: node tests/models/ref-outputs.mjs")


if __name__ == "__main__":
    main()
