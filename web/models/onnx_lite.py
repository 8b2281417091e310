"""Dependency-free (numpy only) reader and reference evaluator for the small ONNX
graphs that quantlab's demo models use.

Used by train.py and mobilenetv2.py to check what torch.onnx.export wrote without
needing the `onnx` Python package: it lists the op_types, checks that every weight is
an initializer stored inside the file, and re-runs the graph in float64 numpy so the
exported file can be compared with the PyTorch model's own logits.

Only the protobuf fields these graphs use are decoded (see onnx.proto):
  ModelProto:  1 ir_version, 2 producer_name, 7 graph, 8 opset_import
  GraphProto:  1 node, 5 initializer, 11 input, 12 output
  NodeProto:   1 input, 2 output, 3 name, 4 op_type, 5 attribute, 7 domain
  Attribute:   1 name, 2 f, 3 i, 4 s, 5 t, 7 floats, 8 ints, 20 type
  TensorProto: 1 dims, 2 data_type, 4 float_data, 5 int32_data, 7 int64_data,
               8 name, 9 raw_data, 14 data_location (1 = external)
"""
import numpy as np

_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32,
           7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64}


def _varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _signed(v):
    return v - (1 << 64) if v >= (1 << 63) else v


def _fields(buf):
    """Yield (field_number, wire_type, value) for each field of a protobuf message."""
    pos, n = 0, len(buf)
    while pos < n:
        key, pos = _varint(buf, pos)
        fn, wt = key >> 3, key & 7
        if wt == 0:
            v, pos = _varint(buf, pos)
        elif wt == 1:
            v, pos = buf[pos:pos + 8], pos + 8
        elif wt == 2:
            ln, pos = _varint(buf, pos)
            v, pos = buf[pos:pos + ln], pos + ln
        elif wt == 5:
            v, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wt}")
        yield fn, wt, v


def _ints(wt, v):
    """A repeated int64 field entry, packed (wire type 2) or not."""
    if wt == 0:
        return [_signed(v)]
    out, pos = [], 0
    while pos < len(v):
        x, pos = _varint(v, pos)
        out.append(_signed(x))
    return out


def _tensor(buf):
    dims, dtype, name, raw, external = [], 1, "", None, False
    floats, ints = [], []
    for fn, wt, v in _fields(buf):
        if fn == 1:
            dims += _ints(wt, v)
        elif fn == 2:
            dtype = v
        elif fn == 4:
            floats.append(np.frombuffer(v, "<f4"))
        elif fn in (5, 7):
            ints += _ints(wt, v)
        elif fn == 8:
            name = bytes(v).decode()
        elif fn == 9:
            raw = bytes(v)
        elif fn == 14:
            external = v == 1
    if external:
        raise ValueError(f"tensor {name!r} uses external data")
    np_dtype = _DTYPES[dtype]
    if raw is not None:
        arr = np.frombuffer(raw, dtype=np.dtype(np_dtype).newbyteorder("<")).astype(np_dtype)
    elif floats:
        arr = np.concatenate(floats).astype(np_dtype)
    else:
        arr = np.array(ints, dtype=np_dtype)
    return name, arr.reshape(dims)


def _attribute(buf):
    name, value, ints, floats = "", None, [], []
    for fn, wt, v in _fields(buf):
        if fn == 1:
            name = bytes(v).decode()
        elif fn == 2:
            value = float(np.frombuffer(v, "<f4")[0])
        elif fn == 3:
            value = _signed(v)
        elif fn == 4:
            value = bytes(v).decode(errors="replace")
        elif fn == 5:
            value = _tensor(v)[1]
        elif fn == 7:
            floats += list(np.frombuffer(v, "<f4")) if wt == 2 else [float(np.frombuffer(v, "<f4")[0])]
        elif fn == 8:
            ints += _ints(wt, v)
    if ints:
        value = ints
    elif floats:
        value = [float(f) for f in floats]
    return name, value


def _node(buf):
    node = {"inputs": [], "outputs": [], "name": "", "op_type": "", "domain": "", "attrs": {}}
    for fn, wt, v in _fields(buf):
        if fn == 1:
            node["inputs"].append(bytes(v).decode())
        elif fn == 2:
            node["outputs"].append(bytes(v).decode())
        elif fn == 3:
            node["name"] = bytes(v).decode()
        elif fn == 4:
            node["op_type"] = bytes(v).decode()
        elif fn == 5:
            k, val = _attribute(v)
            node["attrs"][k] = val
        elif fn == 7:
            node["domain"] = bytes(v).decode()
    return node


def _value_info(buf):
    name, shape = "", []
    for fn, _, v in _fields(buf):
        if fn == 1:
            name = bytes(v).decode()
        elif fn == 2:                                   # TypeProto
            for fn2, _, v2 in _fields(v):
                if fn2 == 1:                            # tensor_type
                    for fn3, _, v3 in _fields(v2):
                        if fn3 == 2:                    # shape
                            for fn4, _, v4 in _fields(v3):
                                if fn4 == 1:            # dim
                                    d = None
                                    for fn5, _, v5 in _fields(v4):
                                        d = v5 if fn5 == 1 else bytes(v5).decode()
                                    shape.append(d)
    return name, shape


def load(path_or_bytes):
    """Parse an ONNX file into a plain dict (nodes, initializers, inputs, outputs, opsets)."""
    if isinstance(path_or_bytes, (bytes, bytearray)):
        data = bytes(path_or_bytes)
    else:
        with open(path_or_bytes, "rb") as f:
            data = f.read()
    buf = memoryview(data)
    model = {"ir_version": None, "producer": "", "opsets": {}, "nodes": [], "initializers": {},
             "inputs": [], "outputs": []}
    for fn, _, v in _fields(buf):
        if fn == 1:
            model["ir_version"] = v
        elif fn == 2:
            model["producer"] = bytes(v).decode()
        elif fn == 8:
            domain, version = "", None
            for fn2, _, v2 in _fields(v):
                if fn2 == 1:
                    domain = bytes(v2).decode()
                elif fn2 == 2:
                    version = v2
            model["opsets"][domain] = version
        elif fn == 7:
            for fn2, _, v2 in _fields(v):
                if fn2 == 1:
                    model["nodes"].append(_node(v2))
                elif fn2 == 5:
                    name, arr = _tensor(v2)
                    model["initializers"][name] = arr
                elif fn2 == 11:
                    model["inputs"].append(_value_info(v2))
                elif fn2 == 12:
                    model["outputs"].append(_value_info(v2))
    return model


def op_types(model):
    """Distinct op_types in graph order of first appearance."""
    seen = []
    for n in model["nodes"]:
        if n["op_type"] not in seen:
            seen.append(n["op_type"])
    return seen


def op_counts(model):
    counts = {}
    for n in model["nodes"]:
        counts[n["op_type"]] = counts.get(n["op_type"], 0) + 1
    return counts


# ---------------------------------------------------------------- reference evaluator

def _windows(x, kh, kw, strides, dil):
    n, c, h, w = x.shape
    ho = (h - dil[0] * (kh - 1) - 1) // strides[0] + 1
    wo = (w - dil[1] * (kw - 1) - 1) // strides[1] + 1
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x, (n, c, kh, kw, ho, wo),
        (s[0], s[1], s[2] * dil[0], s[3] * dil[1], s[2] * strides[0], s[3] * strides[1]),
        writeable=False)


def _conv(node, x, w, b=None):
    a = node["attrs"]
    kh, kw = w.shape[2:]
    pads = a.get("pads", [0, 0, 0, 0])
    strides = a.get("strides", [1, 1])
    dil = a.get("dilations", [1, 1])
    group = a.get("group", 1)
    assert a.get("auto_pad", "NOTSET") == "NOTSET"
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    win = _windows(xp, kh, kw, strides, dil)
    n, c, _, _, ho, wo = win.shape
    win = win.reshape(n, group, c // group, kh, kw, ho, wo)
    wg = w.reshape(group, w.shape[0] // group, w.shape[1], kh, kw)
    y = np.einsum("ngcklij,gockl->ngoij", win, wg, optimize=True).reshape(n, w.shape[0], ho, wo)
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return y


def _maxpool(node, x):
    a = node["attrs"]
    kh, kw = a["kernel_shape"]
    pads = a.get("pads", [0, 0, 0, 0])
    assert a.get("ceil_mode", 0) == 0 and a.get("auto_pad", "NOTSET") == "NOTSET"
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=-np.inf)
    return _windows(xp, kh, kw, a.get("strides", [1, 1]), a.get("dilations", [1, 1])).max(axis=(2, 3))


def _gemm(node, a_, b_, c_=None):
    at = node["attrs"]
    if at.get("transA", 0):
        a_ = a_.T
    if at.get("transB", 0):
        b_ = b_.T
    y = at.get("alpha", 1.0) * (a_ @ b_)
    if c_ is not None:
        y = y + at.get("beta", 1.0) * c_
    return y


def _batchnorm(node, x, scale, bias, mean, var):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    eps = node["attrs"].get("epsilon", 1e-5)
    return ((x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)) * scale.reshape(shape) + bias.reshape(shape)


def _clip(node, x, lo=None, hi=None):
    lo = node["attrs"].get("min", -np.inf) if lo is None else lo
    hi = node["attrs"].get("max", np.inf) if hi is None else hi
    return np.clip(x, lo, hi)


def _flatten(node, x):
    axis = node["attrs"].get("axis", 1)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def _reshape(node, x, shape):
    shape = [x.shape[i] if (s == 0 and not node["attrs"].get("allowzero", 0)) else int(s)
             for i, s in enumerate(shape)]
    return x.reshape(shape)


OPS = {
    "Conv": _conv,
    "MaxPool": _maxpool,
    "Gemm": _gemm,
    "BatchNormalization": _batchnorm,
    "Clip": _clip,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Relu": lambda n, x: np.maximum(x, 0),
    "Add": lambda n, a, b: a + b,
    "Mul": lambda n, a, b: a * b,
    "MatMul": lambda n, a, b: a @ b,
    "Identity": lambda n, x: x,
    "GlobalAveragePool": lambda n, x: x.mean(axis=tuple(range(2, x.ndim)), keepdims=True),
    "Constant": lambda n: n["attrs"]["value"],
}


def run(model, feeds, dtype=np.float64):
    """Evaluate the graph in numpy (float64 by default); returns the list of graph outputs."""
    env = {k: (v.astype(dtype) if v.dtype.kind == "f" else v) for k, v in model["initializers"].items()}
    env.update({k: np.asarray(v, dtype=dtype) for k, v in feeds.items()})
    for node in model["nodes"]:
        fn = OPS.get(node["op_type"])
        if fn is None or node["domain"] not in ("", "ai.onnx"):
            raise NotImplementedError(f"op {node['domain']}:{node['op_type']}")
        args = [env[i] if i else None for i in node["inputs"]]
        out = fn(node, *args)
        if node["op_type"] == "Constant" and out.dtype.kind == "f":
            out = out.astype(dtype)
        env[node["outputs"][0]] = out
    return [env[name] for name, _ in model["outputs"]]
