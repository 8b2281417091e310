#!/usr/bin/python3
"""Writes .tflite files of the ONNX models the Chromium benchmark runs (issue 16), so LiteRT.js
runs the same model as quantlab and onnxruntime-web: same weights, and for the int8 models the
scales, zero points, int8 weights and int32 biases quantlab's post-training quantizer chose
(read from its QOperator export, which is the model quantlab and onnxruntime-web run).

Benchmark only (`npm run bench`), never a test. Debian: python3-onnx (reads the ONNX files),
python3-flatbuffers (writes the FlatBuffer with its Builder; the table layout below follows
the TFLite schema, tensorflow/compiler/mlir/lite/schema/schema.fbs: each table's fields in
order are its vtable slots, a union takes two slots, type then value), python3-numpy.

Usage: write_tflite.py jobs.json, jobs: [{"onnx": path, "tflite": path, "batch": N, "io":
"float32" | "uint8", "qu8": bool}]. Prints one JSON line per job: {"tflite", "bytes", "ops": {type: count},
"inputs", "outputs": [{shape, dtype, step}]} (step: the output grid's scale of an int8 model).

A graph whose input or output is int8 (the one-node kernel models) gets float32 or uint8 I/O
(`io`): LiteRT.js has no int8 tensors. float32 (the default) adds QUANTIZE / DEQUANTIZE, which
XNNPACK runs; uint8 adds QUANTIZE requantizations (the same scale, Z + 128), which it leaves to
TFLite's own kernels (1.3-3x slower on the kernel workloads in Chromium). "qu8": true writes
the layer in uint8 throughout instead (activations Z + 128, per-tensor weights w + 128 with
Z = 128: the same real values), XNNPACK's qu8 kernels, uint8 I/O without conversions.

What it converts: fp32 Conv (BatchNormalization folded into it, a following Relu / Clip(0, 6)
fused), Gemm, Relu, Clip, MaxPool, GlobalAveragePool, Flatten, Add; int8 QuantizeLinear,
DequantizeLinear, QLinearConv, QLinearMatMul, com.microsoft QLinearAdd and
QLinearGlobalAveragePool, MaxPool, Flatten, and quantlab's fully-connected form Reshape
[N, K, 1, 1] -> QLinearConv 1x1 -> Flatten (as FULLY_CONNECTED). Layout: NCHW becomes NHWC
(weights OHWI, depthwise [1, H, W, C]); a Flatten of [N, C, H, W] feeding a fully-connected
layer permutes that layer's weight columns to NHWC order instead of transposing. uint8
activations become int8 (q - 128, Z - 128: the same real values, the same arithmetic; the
uint8 and as-quantized exports of quantlab's int8 MobileNetV2 give byte-identical files).
Anything else stops with an error naming the node.
"""
import json
import sys

import flatbuffers
import numpy as np
import onnx
from onnx import numpy_helper

# BuiltinOperator codes, TensorType, BuiltinOptions union indices, ActivationFunctionType
# and Padding, as numbered in the schema.
OP = {'ADD': 0, 'CONV_2D': 3, 'DEPTHWISE_CONV_2D': 4, 'DEQUANTIZE': 6, 'FULLY_CONNECTED': 9,
      'MAX_POOL_2D': 17, 'RELU': 19, 'RELU6': 21, 'RESHAPE': 22, 'PAD': 34, 'MEAN': 40,
      'QUANTIZE': 114}
FLOAT32, INT32, UINT8, INT8 = 0, 2, 3, 9
OPT_CONV, OPT_DW, OPT_POOL, OPT_FC, OPT_ADD, OPT_RESHAPE, OPT_REDUCER = 1, 2, 5, 8, 11, 17, 27
ACT = {None: 0, 'relu': 1, 'relu6': 3}
SAME, VALID = 0, 1


class Tflite:
    """The model being written: tensors, buffers and operators, serialized by finish()."""

    def __init__(self):
        self.tensors, self.buffers, self.ops, self.codes = [], [b''], [], []

    def tensor(self, shape, ttype, name, data=None, scale=None, zero_point=None, qdim=0):
        buf = 0
        if data is not None:
            self.buffers.append(np.ascontiguousarray(data).tobytes())
            buf = len(self.buffers) - 1
        q = None
        if scale is not None:
            scale = np.atleast_1d(np.asarray(scale, np.float32))
            zp = np.atleast_1d(np.asarray(zero_point if zero_point is not None else 0, np.int64))
            if zp.size == 1 and scale.size > 1:
                zp = np.repeat(zp, scale.size)
            q = (scale, zp, qdim)
        self.tensors.append((list(int(d) for d in shape), ttype, buf, name, q))
        return len(self.tensors) - 1

    def op(self, code, inputs, outputs, opt_type=0, opt=None, version=1):
        key = (OP[code], version)
        if key not in self.codes:
            self.codes.append(key)
        self.ops.append((self.codes.index(key), inputs, outputs, opt_type, opt, code))

    def finish(self, inputs, outputs):
        b = flatbuffers.Builder(1 << 20)

        def ivec(values, wide=False):
            a = np.asarray(values, np.int64 if wide else np.int32)
            return b.CreateNumpyVector(a)

        def data_vec(raw):  # [ubyte] (force_align: 16)
            b.StartVector(1, len(raw), 16)
            b.head = b.Head() - len(raw)
            b.Bytes[b.Head():b.Head() + len(raw)] = raw
            return b.EndVector()

        buffers = []
        for raw in self.buffers:
            d = data_vec(raw) if raw else None
            b.StartObject(3)
            if d is not None:
                b.PrependUOffsetTRelativeSlot(0, d, 0)
            buffers.append(b.EndObject())
        tensors = []
        for shape, ttype, buf, name, q in self.tensors:
            s, n = ivec(shape), b.CreateString(name)
            qo = None
            if q is not None:
                sc, zp = b.CreateNumpyVector(q[0]), ivec(q[1], wide=True)
                b.StartObject(7)  # QuantizationParameters: min, max, scale, zero_point, details (2), quantized_dimension
                b.PrependUOffsetTRelativeSlot(2, sc, 0)
                b.PrependUOffsetTRelativeSlot(3, zp, 0)
                b.PrependInt32Slot(6, q[2], 0)
                qo = b.EndObject()
            b.StartObject(10)  # Tensor: shape, type, buffer, name, quantization, ...
            b.PrependUOffsetTRelativeSlot(0, s, 0)
            b.PrependInt8Slot(1, ttype, 0)
            b.PrependUint32Slot(2, buf, 0)
            b.PrependUOffsetTRelativeSlot(3, n, 0)
            if qo is not None:
                b.PrependUOffsetTRelativeSlot(4, qo, 0)
            tensors.append(b.EndObject())
        ops = []
        for code_index, ins, outs, opt_type, opt, _ in self.ops:
            oo = opt(b) if opt else None
            iv, ov = ivec(ins), ivec(outs)
            b.StartObject(5)  # Operator: opcode_index, inputs, outputs, builtin_options_type, builtin_options
            b.PrependUint32Slot(0, code_index, 0)
            b.PrependUOffsetTRelativeSlot(1, iv, 0)
            b.PrependUOffsetTRelativeSlot(2, ov, 0)
            if oo is not None:
                b.PrependUint8Slot(3, opt_type, 0)
                b.PrependUOffsetTRelativeSlot(4, oo, 0)
            ops.append(b.EndObject())

        def table_vec(items):
            b.StartVector(4, len(items), 4)
            for it in reversed(items):
                b.PrependUOffsetTRelative(it)
            return b.EndVector()

        tv, opv = table_vec(tensors), table_vec(ops)
        iv, ov, name = ivec(inputs), ivec(outputs), b.CreateString('main')
        b.StartObject(5)  # SubGraph: tensors, inputs, outputs, operators, name
        b.PrependUOffsetTRelativeSlot(0, tv, 0)
        b.PrependUOffsetTRelativeSlot(1, iv, 0)
        b.PrependUOffsetTRelativeSlot(2, ov, 0)
        b.PrependUOffsetTRelativeSlot(3, opv, 0)
        b.PrependUOffsetTRelativeSlot(4, name, 0)
        sub = b.EndObject()
        codes = []
        for code, version in self.codes:
            b.StartObject(4)  # OperatorCode: deprecated_builtin_code, custom_code, version, builtin_code
            b.PrependInt8Slot(0, min(code, 127), 0)
            b.PrependInt32Slot(2, version, 1)
            b.PrependInt32Slot(3, code, 0)
            codes.append(b.EndObject())
        cv, sv, bv = table_vec(codes), table_vec([sub]), table_vec(buffers)
        desc = b.CreateString('quantlab benchmark (tests/bench/tflite/write_tflite.py)')
        b.StartObject(5)  # Model: version, operator_codes, subgraphs, description, buffers
        b.PrependUint32Slot(0, 3, 0)
        b.PrependUOffsetTRelativeSlot(1, cv, 0)
        b.PrependUOffsetTRelativeSlot(2, sv, 0)
        b.PrependUOffsetTRelativeSlot(3, desc, 0)
        b.PrependUOffsetTRelativeSlot(4, bv, 0)
        b.Finish(b.EndObject(), file_identifier=b'TFL3')
        return bytes(b.Output())


def conv_options(padding, stride, act, depthwise):
    def build(b):
        if depthwise:
            b.StartObject(7)  # padding, stride_w, stride_h, depth_multiplier, fused_activation_function, dilations
            b.PrependInt8Slot(0, padding, 0)
            b.PrependInt32Slot(1, stride[1], 0)
            b.PrependInt32Slot(2, stride[0], 0)
            b.PrependInt32Slot(3, 1, 0)
            b.PrependInt8Slot(4, ACT[act], 0)
        else:
            b.StartObject(7)  # padding, stride_w, stride_h, fused_activation_function, dilations, bias type
            b.PrependInt8Slot(0, padding, 0)
            b.PrependInt32Slot(1, stride[1], 0)
            b.PrependInt32Slot(2, stride[0], 0)
            b.PrependInt8Slot(3, ACT[act], 0)
        return b.EndObject()
    return build


def pool_options(stride, kernel):
    def build(b):
        b.StartObject(6)  # padding, stride_w, stride_h, filter_width, filter_height, fused_activation_function
        b.PrependInt8Slot(0, VALID, 0)
        b.PrependInt32Slot(1, stride[1], 0)
        b.PrependInt32Slot(2, stride[0], 0)
        b.PrependInt32Slot(3, kernel[1], 0)
        b.PrependInt32Slot(4, kernel[0], 0)
        return b.EndObject()
    return build


def act_options(slots, act):
    def build(b):
        b.StartObject(slots)  # FullyConnectedOptions / AddOptions: fused_activation_function first
        b.PrependInt8Slot(0, ACT[act], 0)
        return b.EndObject()
    return build


def reducer_options(b):
    b.StartObject(1)  # ReducerOptions: keep_dims
    b.PrependBoolSlot(0, True, False)
    return b.EndObject()


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class Converter:
    def __init__(self, model, batch, io='float32', qu8=False):
        self.io = io  # the type of a quantized graph input or output: 'uint8' or 'float32'
        self.qu8 = qu8  # uint8 activations and weights throughout (per-tensor weights only)
        self.g = model.graph
        self.init = {t.name: numpy_helper.to_array(t) for t in self.g.initializer}
        self.m = Tflite()
        self.vals = {}  # ONNX value -> {t, shape (TFLite), q: (scale, zp) or None, chw, fc2d}
        self.batch = batch
        self.nodes = list(self.g.node)  # one wrapper per node: `skip` holds their ids
        self.consumers = {}
        for n in self.nodes:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.skip = set()
        self.counts = {}

    # --- helpers ---------------------------------------------------------------------------
    def c(self, name):
        if name not in self.init:
            raise ValueError(f'{name} is not an initializer')
        return self.init[name]

    def scalar(self, name):
        return float(np.asarray(self.c(name)).reshape(-1)[0])

    def zp8(self, name):
        """An activation zero point as int8: uint8 ones shift by -128."""
        a = self.c(name)
        z = int(np.asarray(a).reshape(-1)[0])
        return z - 128 if a.dtype == np.uint8 else z

    def sole_consumer(self, value):
        cs = self.consumers.get(value, [])
        outs = {o.name for o in self.g.output}
        return cs[0] if len(cs) == 1 and value not in outs else None

    def fused_act(self, value):
        """A Relu or Clip(0, 6) that alone consumes `value`: (activation, its output) or (None, value)."""
        n = self.sole_consumer(value)
        if n is None:
            return None, value
        if n.op_type == 'Relu':
            self.skip.add(id(n))
            return 'relu', n.output[0]
        if n.op_type == 'Clip':
            lo = self.scalar(n.input[1]) if len(n.input) > 1 and n.input[1] else attrs(n).get('min')
            hi = self.scalar(n.input[2]) if len(n.input) > 2 and n.input[2] else attrs(n).get('max')
            if lo == 0 and hi == 6:
                self.skip.add(id(n))
                return 'relu6', n.output[0]
        return None, value

    def out(self, name, shape, ttype, q=None, **extra):
        zp = None if q is None else q[1]
        if self.qu8 and ttype == INT8:  # q stays in int8 terms; the tensor is uint8, Z + 128
            ttype, zp = UINT8, zp + 128
        t = self.m.tensor(shape, ttype, name, scale=None if q is None else q[0], zero_point=zp)
        self.vals[name] = {'t': t, 'shape': list(shape), 'q': q, **extra}
        return t

    def weights(self, w, name, scale, qdim):
        """Symmetric int8 weights (per channel along qdim), or as uint8 (w + 128, Z = 128,
        one scale) in a qu8 model."""
        scale = np.asarray(scale, np.float32)
        if not self.qu8:
            return self.m.tensor(w.shape, INT8, name, data=w.astype(np.int8), scale=scale,
                                 zero_point=np.zeros(scale.size, np.int64), qdim=qdim)
        if np.any(scale != scale.reshape(-1)[0]):
            raise ValueError(f'{name}: a uint8 model needs per-tensor weights')
        return self.m.tensor(w.shape, UINT8, name, data=(w.astype(np.int16) + 128).astype(np.uint8),
                             scale=scale.reshape(-1)[:1], zero_point=[128])

    def count(self, op):
        self.counts[op] = self.counts.get(op, 0) + 1

    def emit(self, code, ins, outs, opt_type=0, opt=None, version=1):
        self.m.op(code, ins, outs, opt_type, opt, version)
        self.count(code)

    # --- convolution and fully connected ----------------------------------------------------
    def padding(self, x, k, s, pads, d):
        """SAME, VALID, or None (explicit PAD needed) for ONNX pads [t, l, b, r]."""
        if all(p == 0 for p in pads):
            return VALID
        for i in range(2):
            n = x[1 + i]
            out = (n + pads[i] + pads[i + 2] - (k[i] - 1) * d[i] - 1) // s[i] + 1
            total = max((out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - n, 0)
            if out != -(-n // s[i]) or pads[i] != total // 2 or pads[i + 2] != total - total // 2:
                return None
        return SAME

    def conv(self, node, quant):
        a = attrs(node)
        if quant:
            xn, xs, xz, wn, ws, wz, ys, yz = node.input[:8]
            bn = node.input[8] if len(node.input) > 8 and node.input[8] else None
        else:
            xn, wn = node.input[:2]
            bn = node.input[2] if len(node.input) > 2 and node.input[2] else None
        x = self.vals[xn]
        w = self.c(wn)
        o, ipg, kh, kw = w.shape
        groups = a.get('group', 1)
        stride = a.get('strides', [1, 1])
        pads = a.get('pads', [0, 0, 0, 0])
        dil = a.get('dilations', [1, 1])
        if dil != [1, 1]:
            raise ValueError(f'{node.name}: dilated convolution')
        act, yname = (None, node.output[0]) if quant else self.fused_act(node.output[0])
        if x.get('fc2d') is not None and kh == kw == 1 and groups == 1:
            return self.fully_connected(node, x, w.reshape(o, ipg), bn, quant, act, yname, fc2d=True)
        n, h, wd, cin = x['shape']
        depthwise = groups > 1
        if depthwise and not (groups == cin == o and ipg == 1):
            raise ValueError(f'{node.name}: grouped convolution other than depthwise')
        xt = x['t']
        pad = self.padding(x['shape'], [kh, kw], stride, pads, dil)
        if pad is None:  # PyTorch-style explicit pads (e.g. stride 2, pad 1): PAD, then VALID
            pt = self.m.tensor([4, 2], INT32, f'{node.name}/paddings',
                               data=np.array([[0, 0], [pads[0], pads[2]], [pads[1], pads[3]], [0, 0]], np.int32))
            shape = [n, h + pads[0] + pads[2], wd + pads[1] + pads[3], cin]
            q = x['q']
            xt2 = self.m.tensor(shape, INT8 if quant else FLOAT32, f'{node.name}/padded',
                                scale=None if q is None else q[0], zero_point=None if q is None else q[1])
            self.emit('PAD', [xt, pt], [xt2], version=2 if quant else 1)
            xt, pad, h, wd = xt2, VALID, shape[1], shape[2]
            pads = [0, 0, 0, 0]
        oh = (h + pads[0] + pads[2] - kh) // stride[0] + 1
        ow = (wd + pads[1] + pads[3] - kw) // stride[1] + 1
        if depthwise:
            wt_data = w.reshape(o, kh, kw).transpose(1, 2, 0)[None]
            qdim = 3
        else:
            wt_data = w.transpose(0, 2, 3, 1)
            qdim = 0
        if quant:
            wsv = np.atleast_1d(self.c(ws)).astype(np.float32)
            if np.any(np.asarray(self.c(wz)) != 0):
                raise ValueError(f'{node.name}: weight zero points must be 0 (symmetric int8 weights)')
            if wsv.size == 1:
                wsv = np.repeat(wsv, o)
            xs_v = x['q'][0]
            wt = self.weights(wt_data, wn, wsv, qdim)
            bias = self.c(bn).astype(np.int32) if bn else np.zeros(o, np.int32)
            bs = wsv[:1] * xs_v if self.qu8 else wsv * xs_v  # per tensor, as the weights
            bt = self.m.tensor([o], INT32, f'{node.name}/bias', data=bias, scale=bs,
                               zero_point=np.zeros(bs.size, np.int64))
            yq = (self.scalar(ys), self.zp8(yz))
            yt = self.out(yname, [n, oh, ow, o], INT8, yq)
        else:
            wt = self.m.tensor(wt_data.shape, FLOAT32, wn, data=wt_data.astype(np.float32))
            bias = self.c(bn).astype(np.float32) if bn else np.zeros(o, np.float32)
            bt = self.m.tensor([o], FLOAT32, f'{node.name}/bias', data=bias)
            yt = self.out(yname, [n, oh, ow, o], FLOAT32)
        code = 'DEPTHWISE_CONV_2D' if depthwise else 'CONV_2D'
        self.emit(code, [xt, wt, bt], [yt], OPT_DW if depthwise else OPT_CONV,
                  conv_options(pad, stride, act, depthwise), version=3 if quant and not self.qu8 else 1)

    def fully_connected(self, node, x, w_nk, bias_name, quant, act, yname, fc2d=False, w_scale=None):
        """x: the input value; w_nk: weights [N, K] in the input's flattened order (NCHW)."""
        n_out, k = w_nk.shape
        chw = x.get('chw')
        if chw is not None and chw[1] * chw[2] > 1:  # columns from NCHW to NHWC order
            c, h, wd = chw
            w_nk = w_nk.reshape(n_out, c, h, wd).transpose(0, 2, 3, 1).reshape(n_out, k)
        rows = int(np.prod(x['shape'])) // k
        if quant:
            if w_scale is None:
                w_scale = np.atleast_1d(self.c(node.input[4])).astype(np.float32)
                if np.any(np.asarray(self.c(node.input[5])) != 0):
                    raise ValueError(f'{node.name}: weight zero points must be 0')
            w_scale = np.asarray(w_scale, np.float32)
            per_channel = w_scale.size > 1
            wt = self.weights(w_nk, node.name + '/weights', w_scale, 0)
            bias = self.c(bias_name).astype(np.int32) if bias_name else np.zeros(n_out, np.int32)
            bt = self.m.tensor([n_out], INT32, node.name + '/bias', data=bias,
                               scale=w_scale * x['q'][0], zero_point=np.zeros(w_scale.size, np.int64))
            ys, yz = node.input[6], node.input[7]
            yq = (self.scalar(ys), self.zp8(yz))
            yt = self.out(yname, [rows, n_out], INT8, yq, fc2d=True if fc2d else None)
            version = 1 if self.qu8 else (12 if per_channel else 4)
        else:
            wt = self.m.tensor([n_out, k], FLOAT32, node.name + '/weights', data=w_nk.astype(np.float32))
            bias = self.c(bias_name).astype(np.float32) if bias_name else np.zeros(n_out, np.float32)
            bt = self.m.tensor([n_out], FLOAT32, node.name + '/bias', data=bias)
            yt = self.out(yname, [rows, n_out], FLOAT32)
            version = 1
        self.emit('FULLY_CONNECTED', [x['t'], wt, bt], [yt], OPT_FC, act_options(5, act), version=version)

    # --- the graph ---------------------------------------------------------------------------
    def fold_batchnorm(self):
        """Conv -> BatchNormalization (fp32) becomes one Conv with folded weights and bias."""
        nodes = self.nodes
        for n in nodes:
            if n.op_type != 'BatchNormalization':
                continue
            prev = [p for p in nodes if n.input[0] in p.output]
            if not prev or prev[0].op_type != 'Conv' or len(self.consumers[n.input[0]]) != 1:
                raise ValueError(f'{n.name}: BatchNormalization not after a Conv')
            conv = prev[0]
            eps = attrs(n).get('epsilon', 1e-5)
            gamma, beta, mean, var = (self.c(i).astype(np.float64) for i in n.input[1:5])
            f = gamma / np.sqrt(var + eps)
            w = self.c(conv.input[1]).astype(np.float64)
            b = self.c(conv.input[2]).astype(np.float64) if len(conv.input) > 2 and conv.input[2] else 0
            self.init[conv.input[1]] = (w * f[:, None, None, None]).astype(np.float32)
            bname = conv.name + '/folded_bias'
            self.init[bname] = ((b - mean) * f + beta).astype(np.float32)
            while len(conv.input) < 3:
                conv.input.append('')
            conv.input[2] = bname
            conv.output[0] = n.output[0]
            self.skip.add(id(n))
        self.consumers = {}
        for n in self.nodes:
            if id(n) in self.skip:
                continue
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)

    def run(self):
        self.fold_batchnorm()
        inputs = []
        for inp in self.g.input:
            if inp.name in self.init:
                continue
            tt = inp.type.tensor_type
            dims = [d.dim_value if d.dim_value else self.batch for d in tt.shape.dim]
            elem = tt.elem_type
            shape = [dims[0], dims[2], dims[3], dims[1]] if len(dims) == 4 else dims
            if elem == onnx.TensorProto.FLOAT:
                t = self.out(inp.name, shape, FLOAT32)
            else:  # a quantized input: its parameters are those of its first consumer
                n = self.consumers[inp.name][0]
                q = (self.scalar(n.input[1]), self.zp8(n.input[2]))
                # LiteRT.js takes float32, int32 and uint8 tensors only: uint8 in, QUANTIZE
                # (requantize, the same scale, Z + 128) to the int8 the model computes in.
                if self.qu8:
                    inputs.append(self.out(inp.name, shape, INT8, q))
                    continue
                if self.io == 'float32':
                    t = self.m.tensor(shape, FLOAT32, inp.name)
                else:
                    t = self.m.tensor(shape, UINT8, inp.name, scale=q[0], zero_point=q[1] + 128)
                self.out(inp.name + '/int8', shape, INT8, q)
                self.vals[inp.name] = self.vals.pop(inp.name + '/int8')
                self.emit('QUANTIZE', [t], [self.vals[inp.name]['t']], version=2)
            inputs.append(t)
        for n in self.nodes:
            if id(n) in self.skip:
                continue
            self.node(n)
        outputs = []
        for o in self.g.output:
            v = self.vals[o.name]
            if v['q'] is None or self.qu8:
                outputs.append(v['t'])
                continue
            if self.io == 'float32':
                t = self.m.tensor(v['shape'], FLOAT32, o.name + '/float32')
                self.emit('DEQUANTIZE', [v['t']], [t], version=2)
            else:
                t = self.m.tensor(v['shape'], UINT8, o.name + '/uint8', scale=v['q'][0], zero_point=v['q'][1] + 128)
                self.emit('QUANTIZE', [v['t']], [t], version=2)
            outputs.append(t)
        return self.m.finish(inputs, outputs), inputs, outputs

    def node(self, n):
        op = n.op_type
        a = attrs(n)
        if op in ('Conv', 'QLinearConv'):
            return self.conv(n, op == 'QLinearConv')
        if op == 'Gemm':
            if a.get('alpha', 1.0) != 1.0 or a.get('beta', 1.0) != 1.0 or a.get('transA', 0):
                raise ValueError(f'{n.name}: Gemm with alpha, beta or transA')
            w = self.c(n.input[1])
            w_nk = w if a.get('transB', 0) else w.T
            act, yname = self.fused_act(n.output[0])
            bias = n.input[2] if len(n.input) > 2 and n.input[2] else None
            return self.fully_connected(n, self.vals[n.input[0]], w_nk, bias, False, act, yname)
        if op == 'QLinearMatMul':
            x = self.vals[n.input[0]]
            w = self.c(n.input[3])  # [K, N]
            ws = np.atleast_1d(self.c(n.input[4])).astype(np.float32)
            if np.any(np.asarray(self.c(n.input[5])) != 0):
                raise ValueError(f'{n.name}: weight zero points must be 0')
            return self.fully_connected(n, x, w.T, None, True, None, n.output[0], w_scale=ws)
        if op == 'QuantizeLinear':
            x = self.vals[n.input[0]]
            q = (self.scalar(n.input[1]), self.zp8(n.input[2]))
            yt = self.out(n.output[0], x['shape'], INT8, q, chw=x.get('chw'))
            return self.emit('QUANTIZE', [x['t']], [yt], version=2)
        if op == 'DequantizeLinear':
            x = self.vals[n.input[0]]
            yt = self.out(n.output[0], x['shape'], FLOAT32, chw=x.get('chw'), fc2d=x.get('fc2d'), step=x['q'][0])
            return self.emit('DEQUANTIZE', [x['t']], [yt], version=2)
        if op in ('Relu', 'Clip'):
            x = self.vals[n.input[0]]
            if x['q'] is not None:
                raise ValueError(f'{n.name}: {op} on int8')
            if op == 'Clip':
                lo, hi = self.scalar(n.input[1]), self.scalar(n.input[2])
                if (lo, hi) != (0, 6):
                    raise ValueError(f'{n.name}: Clip other than (0, 6)')
            yt = self.out(n.output[0], x['shape'], FLOAT32, chw=x.get('chw'))
            return self.emit('RELU' if op == 'Relu' else 'RELU6', [x['t']], [yt])
        if op == 'MaxPool':
            x = self.vals[n.input[0]]
            if any(a.get('pads', [0, 0, 0, 0])) or a.get('ceil_mode', 0):
                raise ValueError(f'{n.name}: padded or ceil-mode MaxPool')
            k, s = a['kernel_shape'], a.get('strides', [1, 1])
            nb, h, w, c = x['shape']
            shape = [nb, (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1, c]
            yt = self.out(n.output[0], shape, INT8 if x['q'] else FLOAT32, x['q'])
            return self.emit('MAX_POOL_2D', [x['t']], [yt], OPT_POOL, pool_options(s, k),
                             version=2 if x['q'] else 1)
        if op in ('GlobalAveragePool', 'QLinearGlobalAveragePool'):
            x = self.vals[n.input[0]]
            if op == 'QLinearGlobalAveragePool':
                if a.get('channels_last', 0):
                    raise ValueError(f'{n.name}: channels_last')
                q = (self.scalar(n.input[3]), self.zp8(n.input[4]))
            else:
                q = None
            nb, h, w, c = x['shape']
            axes = self.m.tensor([2], INT32, n.name + '/axes', data=np.array([1, 2], np.int32))
            yt = self.out(n.output[0], [nb, 1, 1, c], INT8 if q else FLOAT32, q)
            return self.emit('MEAN', [x['t'], axes], [yt], OPT_REDUCER, reducer_options, version=2 if q else 1)
        if op == 'Flatten':
            x = self.vals[n.input[0]]
            if a.get('axis', 1) != 1:
                raise ValueError(f'{n.name}: Flatten axis != 1')
            # An alias: FULLY_CONNECTED flattens its input itself; chw says the NHWC order.
            chw = None
            if len(x['shape']) == 4 and not x.get('fc2d'):
                nb, h, w, c = x['shape']
                chw = (c, h, w)
            self.vals[n.output[0]] = {**x, 'chw': chw, 'fc2d': None}
            return None
        if op == 'Reshape':
            x = self.vals[n.input[0]]
            target = [int(v) for v in self.c(n.input[1])]
            k = int(np.prod(x['shape'][1:]))
            if len(target) == 4 and target[1] == k and target[2:] == [1, 1] and (
                    len(x['shape']) == 2 or x.get('chw') is not None):
                # quantlab's fully-connected form: [N, K] -> [N, K, 1, 1] -> 1x1 conv -> Flatten
                self.vals[n.output[0]] = {**x, 'fc2d': True}
                return None
            raise ValueError(f'{n.name}: Reshape to {target}')
        if op in ('Add', 'QLinearAdd'):
            if op == 'QLinearAdd':
                xa, xb = self.vals[n.input[0]], self.vals[n.input[3]]
                q = (self.scalar(n.input[6]), self.zp8(n.input[7]))
                yt = self.out(n.output[0], xa['shape'], INT8, q)
                return self.emit('ADD', [xa['t'], xb['t']], [yt], OPT_ADD, act_options(2, None), version=2)
            xa, xb = self.vals[n.input[0]], self.vals[n.input[1]]
            act, yname = self.fused_act(n.output[0])
            yt = self.out(yname, xa['shape'], FLOAT32)
            return self.emit('ADD', [xa['t'], xb['t']], [yt], OPT_ADD, act_options(2, act))
        raise ValueError(f'unsupported ONNX node {n.name} ({op})')


def main():
    jobs = json.load(open(sys.argv[1]))
    for job in jobs:
        model = onnx.load(job['onnx'])
        conv = Converter(model, job.get('batch', 1), job.get('io', 'float32'), job.get('qu8', False))
        data, ins, outs = conv.run()
        steps = [conv.vals[o.name].get('step') or (conv.vals[o.name]['q'] or [None])[0] for o in model.graph.output]
        with open(job['tflite'], 'wb') as f:
            f.write(data)
        tensors = conv.m.tensors
        print(json.dumps({
            'tflite': job['tflite'], 'bytes': len(data), 'ops': conv.counts,
            'inputs': [{'shape': tensors[i][0], 'dtype': 'uint8' if tensors[i][1] == UINT8 else 'float32'}
                       for i in ins],
            'outputs': [{'shape': tensors[i][0], 'dtype': 'uint8' if tensors[i][1] == UINT8 else 'float32',
                         'step': None if s is None else float(s)} for i, s in zip(outs, steps)],
        }), flush=True)


if __name__ == '__main__':
    main()
