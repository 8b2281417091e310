// A minimal ONNX (protobuf) writer for the tests and benchmarks: one-node models whose weights are
// initializers, so onnxruntime runs exactly the operator we time. Hand-written protobuf
// wire encoding (varints and length-delimited fields, ~100 lines) instead of protobufjs:
// we only ever write five message types, and a dependency plus a .proto schema would be
// larger than the encoder.
//
// Field numbers are those of onnx/onnx.proto (IR version 8).

const ELEM = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7 };

class Writer {
  constructor() {
    this.bytes = [];
  }
  varint(v) {
    let n = BigInt.asUintN(64, BigInt(v));
    while (n >= 0x80n) {
      this.bytes.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.bytes.push(Number(n));
    return this;
  }
  tag(field, wire) {
    return this.varint((field << 3) | wire);
  }
  int(field, v) {
    return this.tag(field, 0).varint(v);
  }
  bytesField(field, data) {
    const u8 = data instanceof Uint8Array ? data
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.tag(field, 2).varint(u8.length);
    for (const b of u8) this.bytes.push(b);
    return this;
  }
  string(field, s) {
    return this.bytesField(field, new TextEncoder().encode(s));
  }
  message(field, build) {
    const w = new Writer();
    build(w);
    return this.bytesField(field, Uint8Array.from(w.bytes));
  }
  float(field, v) {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.bytes.push(x);
    return this;
  }
  finish() {
    return Uint8Array.from(this.bytes);
  }
}

function tensorType(w, dtype, dims) {
  // TypeProto { tensor_type (1): { elem_type (1), shape (2): { dim (1): { dim_value (1) } } } }
  w.message(1, (t) => {
    t.int(1, ELEM[dtype]);
    t.message(2, (s) => {
      for (const d of dims) s.message(1, (dim) => dim.int(1, d));
    });
  });
}

function valueInfo(w, field, { name, dtype, dims }) {
  w.message(field, (v) => {
    v.string(1, name);
    v.message(2, (t) => tensorType(t, dtype, dims));
  });
}

function attribute(w, name, value) {
  w.message(5, (a) => {
    a.string(1, name);
    if (Array.isArray(value)) {
      for (const v of value) a.int(8, v);
      a.int(20, 7);  // INTS
    } else if (Number.isInteger(value)) {
      a.int(3, value);
      a.int(20, 2);  // INT
    } else {
      a.float(2, value);
      a.int(20, 1);  // FLOAT
    }
  });
}

/**
 * Bytes of a one-node ONNX model.
 * spec: { op, inputs: [{name, dtype, dims}], outputs: [...], initializers: [{name, dtype,
 * dims, data: TypedArray}], attributes: {name: int | float | int[]}, opset }
 * Node inputs are the graph inputs followed by the initializers, in `nodeInputs` order
 * when given (use '' for an omitted optional input).
 */
export function oneNodeModel(spec) {
  const nodeInputs = spec.nodeInputs ??
    [...spec.inputs.map((i) => i.name), ...spec.initializers.map((i) => i.name)];
  const w = new Writer();
  w.int(1, 8);  // ir_version
  w.string(2, 'quantlab-bench');
  w.message(8, (o) => {
    o.string(1, '');
    o.int(2, spec.opset ?? 13);
  });
  w.message(7, (g) => {
    g.message(1, (n) => {
      for (const i of nodeInputs) n.string(1, i);
      for (const o of spec.outputs) n.string(2, o.name);
      n.string(3, `${spec.op}_0`);
      n.string(4, spec.op);
      for (const [k, v] of Object.entries(spec.attributes ?? {})) attribute(n, k, v);
    });
    g.string(2, 'bench');
    for (const t of spec.initializers) {
      g.message(5, (tp) => {
        for (const d of t.dims) tp.int(1, d);
        tp.int(2, ELEM[t.dtype]);
        tp.string(8, t.name);
        tp.bytesField(9, t.data);
      });
    }
    for (const i of spec.inputs) valueInfo(g, 11, i);
    for (const o of spec.outputs) valueInfo(g, 12, o);
  });
  return w.finish();
}

// ===== Whole graphs (models benchmark, issue 4) ==================================================

/**
 * The Writer's interface over a list of chunks: a message's body is appended by reference,
 * not copied byte by byte, so a 14 MB model encodes in milliseconds instead of seconds.
 */
class ChunkWriter {
  constructor() {
    this.chunks = [];
    this.small = [];
    this.length = 0;
  }
  flush() {
    if (this.small.length) {
      this.chunks.push(Uint8Array.from(this.small));
      this.small = [];
    }
  }
  byte(b) {
    this.small.push(b);
    ++this.length;
  }
  varint(v) {
    let n = BigInt.asUintN(64, BigInt(v));
    while (n >= 0x80n) {
      this.byte(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.byte(Number(n));
    return this;
  }
  tag(field, wire) {
    return this.varint((field << 3) | wire);
  }
  int(field, v) {
    return this.tag(field, 0).varint(v);
  }
  bytesField(field, data) {
    const u8 = data instanceof Uint8Array ? data
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.tag(field, 2).varint(u8.length);
    this.flush();
    this.chunks.push(u8);
    this.length += u8.length;
    return this;
  }
  string(field, s) {
    return this.bytesField(field, new TextEncoder().encode(s));
  }
  message(field, build) {
    const w = new ChunkWriter();
    build(w);
    w.flush();
    this.tag(field, 2).varint(w.length);
    this.flush();
    this.chunks.push(...w.chunks);
    this.length += w.length;
    return this;
  }
  float(field, v) {
    this.tag(field, 5);
    for (const x of new Uint8Array(new Float32Array([v]).buffer)) this.byte(x);
    return this;
  }
  finish() {
    this.flush();
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** ValueInfo whose dims may be symbolic: a string is a dim_param (the batch 'N'). */
function graphValueInfo(w, field, { name, dtype, dims }) {
  w.message(field, (v) => {
    v.string(1, name);
    v.message(2, (t) => t.message(1, (tt) => {
      tt.int(1, ELEM[dtype]);
      tt.message(2, (s) => {
        for (const d of dims) s.message(1, (dim) => (typeof d === 'string' ? dim.string(2, d) : dim.int(1, d)));
      });
    }));
  });
}

/**
 * Bytes of an ONNX model with many nodes (listed in topological order).
 * spec: { nodes: [{op, inputs: string[], outputs: string[], name?, domain?, attributes?}],
 * inputs / outputs: [{name, dtype, dims (numbers or a dim_param name)}], initializers:
 * [{name, dtype, dims, data}], opset, domains: {domain: version} (extra opset imports) }.
 */
export function graphModel(spec) {
  const w = new ChunkWriter();
  w.int(1, 8);  // ir_version
  w.string(2, 'quantlab-bench');
  w.message(8, (o) => {
    o.string(1, '');
    o.int(2, spec.opset ?? 13);
  });
  for (const [domain, version] of Object.entries(spec.domains ?? {})) {
    w.message(8, (o) => {
      o.string(1, domain);
      o.int(2, version);
    });
  }
  w.message(7, (g) => {
    spec.nodes.forEach((node, i) => {
      g.message(1, (n) => {
        for (const x of node.inputs) n.string(1, x);
        for (const y of node.outputs) n.string(2, y);
        n.string(3, node.name ?? `${node.op}_${i}`);
        n.string(4, node.op);
        for (const [k, v] of Object.entries(node.attributes ?? {})) attribute(n, k, v);
        if (node.domain) n.string(7, node.domain);
      });
    });
    g.string(2, spec.name ?? 'bench');
    for (const t of spec.initializers) {
      g.message(5, (tp) => {
        for (const d of t.dims) tp.int(1, d);
        tp.int(2, ELEM[t.dtype]);
        tp.string(8, t.name);
        tp.bytesField(9, t.data);
      });
    }
    for (const i of spec.inputs) graphValueInfo(g, 11, i);
    for (const o of spec.outputs) graphValueInfo(g, 12, o);
  });
  return w.finish();
}
