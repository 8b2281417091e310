// Bindings of quantlab/gemm.hpp and quantlab/conv.hpp: packed int8 / fp32 GEMM and
// convolution layers. A packed layer stays in kernels() until JavaScript disposes it; run()
// copies the input in and returns a new typed array; benchmark() times the packed kernel
// alone, in a C++ loop, on the last input (no JavaScript boundary per repetition).
#include <algorithm>
#include <chrono>

#include "fields.hpp"

namespace quantlab::bind {
namespace {

struct KernelHandle {
  enum class Kind { kQGemm, kQConv, kGemmF32, kConvF32 };
  Kind kind = Kind::kQGemm;
  PackedQGemm qgemm;
  PackedQConv2d qconv;
  PackedGemmF32 gemm;
  PackedConv2dF32 conv;
  std::vector<std::byte> x, y;  // the last input and output
  std::vector<int64_t> dims;    // the last run's m, or batch, h, w
};

Registry<KernelHandle>& kernels() {
  static Registry<KernelHandle> r("the kernel handle was disposed (or never created)");
  return r;
}

int64_t int_in(const val& v) { return static_cast<int64_t>(v.as<double>()); }

/// The parts of a layer's options that every kind shares: its geometry (convolutions), its
/// activation (fp32) or input and output grids (int8).
struct LayerArgs {
  Conv2dGeometry geometry;
  FusedActivation activation = FusedActivation::kNone;
  DType x_dtype = DType::kUInt8;  ///< PackedQGemm / PackedQConv2d input: uint8 unless given
  int32_t x_zero_point = 0;
  QOutput output;
};

Result<LayerArgs> layer_args(const val& o, bool conv, bool quantized) {
  LayerArgs a;
  if (conv) {
    auto g = options_in<Conv2dGeometry>(o);
    if (!g) return g.status();
    a.geometry = *g;
  }
  FieldReader r{o, Status::ok()};
  if (quantized) {
    r("inputType", a.x_dtype);
    r("inputZeroPoint", a.x_zero_point);
    auto out = options_in<QOutput>(o["output"]);
    if (!out) return out.status();
    a.output = *out;
  } else {
    r("activation", a.activation);
  }
  if (!r.status) return r.status;
  return a;
}

template <class P>
val add(KernelHandle::Kind kind, Result<P>&& packed, P KernelHandle::*member) {
  if (!packed) return error(packed.status());
  auto h = std::make_unique<KernelHandle>();
  h->kind = kind;
  (*h).*member = std::move(*packed);
  return ok(val(kernels().add(std::move(h))));
}

val qgemm_create_js(const val& o) {
  auto a = layer_args(o, false, true);
  if (!a) return error(a.status());
  return add(KernelHandle::Kind::kQGemm,
             PackedQGemm::pack(array_in<int8_t>(o["weights"]), int_in(o["n"]), int_in(o["k"]),
                               array_in<float>(o["weightScales"]), array_in<int32_t>(o["bias"]),
                               a->x_dtype, o["inputScale"].as<float>(),
                               a->x_zero_point, a->output,
                               o["variant"].as<std::string>()),
             &KernelHandle::qgemm);
}
QL_EXPORT("qgemmCreate", qgemm_create_js);

val qconv_create_js(const val& o) {
  auto a = layer_args(o, true, true);
  if (!a) return error(a.status());
  return add(KernelHandle::Kind::kQConv,
             PackedQConv2d::pack(array_in<int8_t>(o["weights"]), int_in(o["cOut"]), int_in(o["cIn"]),
                                 a->geometry, array_in<float>(o["weightScales"]),
                                 array_in<int32_t>(o["bias"]), a->x_dtype,
                                 o["inputScale"].as<float>(), a->x_zero_point,
                                 a->output, o["variant"].as<std::string>()),
             &KernelHandle::qconv);
}
QL_EXPORT("qconvCreate", qconv_create_js);

val gemm_f32_create_js(const val& o) {
  auto a = layer_args(o, false, false);
  if (!a) return error(a.status());
  return add(KernelHandle::Kind::kGemmF32,
             PackedGemmF32::pack(array_in<float>(o["weights"]), int_in(o["n"]), int_in(o["k"]),
                                 array_in<float>(o["bias"]), a->activation,
                                 o["variant"].as<std::string>()),
             &KernelHandle::gemm);
}
QL_EXPORT("gemmF32Create", gemm_f32_create_js);

val conv_f32_create_js(const val& o) {
  auto a = layer_args(o, true, false);
  if (!a) return error(a.status());
  return add(KernelHandle::Kind::kConvF32,
             PackedConv2dF32::pack(array_in<float>(o["weights"]), int_in(o["cOut"]), int_in(o["cIn"]),
                                   a->geometry, array_in<float>(o["bias"]), a->activation,
                                   o["variant"].as<std::string>()),
             &KernelHandle::conv);
}
QL_EXPORT("convF32Create", conv_f32_create_js);

/// Element counts and types of one run: input, output, and the output shape.
struct KernelShapes {
  DType x_dtype = DType::kFloat32, y_dtype = DType::kFloat32;
  size_t x_count = 0, y_count = 0;
  std::vector<int64_t> y_shape;
};

Result<KernelShapes> kernel_shapes(const KernelHandle& h, const std::vector<int64_t>& d) {
  KernelShapes s;
  using Kind = KernelHandle::Kind;
  if (h.kind == Kind::kQGemm || h.kind == Kind::kGemmF32) {
    if (d.size() != 1 || d[0] < 0 || d[0] > (int64_t{1} << 31)) {
      return invalid_argument("run: m must be an integer >= 0");
    }
    const bool q = h.kind == Kind::kQGemm;
    const int64_t n = q ? h.qgemm.n() : h.gemm.n();
    const int64_t k = q ? h.qgemm.k() : h.gemm.k();
    s.x_count = static_cast<size_t>(d[0] * k);
    s.y_count = static_cast<size_t>(d[0] * n);
    s.y_shape = {d[0], n};
    if (q) {
      s.x_dtype = h.qgemm.x_dtype();
      s.y_dtype = h.qgemm.output().dtype;
    }
    return s;
  }
  if (d.size() != 3 || d[0] < 0) return invalid_argument("run: expected batch, h, w");
  const bool q = h.kind == Kind::kQConv;
  const Conv2dGeometry g = q ? h.qconv.geometry() : h.conv.geometry();
  auto size = conv2d_output_size(d[1], d[2], g);
  if (!size) return size.status();
  const int64_t c_in = q ? h.qconv.c_in() : h.conv.c_in();
  const int64_t c_out = q ? h.qconv.c_out() : h.conv.c_out();
  const double x_count = static_cast<double>(d[0]) * static_cast<double>(c_in) *
                         static_cast<double>(d[1]) * static_cast<double>(d[2]);
  const double y_count = static_cast<double>(d[0]) * static_cast<double>(c_out) *
                         static_cast<double>(size->first) * static_cast<double>(size->second);
  if (x_count > static_cast<double>(kMaxTensorBytes) / 4 ||
      y_count > static_cast<double>(kMaxTensorBytes) / 4) {
    return too_large("run: the input is too large");
  }
  s.x_count = static_cast<size_t>(x_count);
  s.y_count = static_cast<size_t>(y_count);
  s.y_shape = {d[0], c_out, size->first, size->second};
  if (q) {
    s.x_dtype = h.qconv.x_dtype();
    s.y_dtype = h.qconv.output().dtype;
  }
  return s;
}

Status kernel_execute(KernelHandle& h) {
  const auto& d = h.dims;
  switch (h.kind) {
    case KernelHandle::Kind::kQGemm: return h.qgemm.run(h.x.data(), d[0], h.y.data());
    case KernelHandle::Kind::kGemmF32:
      return h.gemm.run(reinterpret_cast<const float*>(h.x.data()), d[0],
                        reinterpret_cast<float*>(h.y.data()));
    case KernelHandle::Kind::kQConv: return h.qconv.run(h.x.data(), d[0], d[1], d[2], h.y.data());
    case KernelHandle::Kind::kConvF32:
      return h.conv.run(reinterpret_cast<const float*>(h.x.data()), d[0], d[1], d[2],
                        reinterpret_cast<float*>(h.y.data()));
  }
  return Status::ok();
}

/// x: a typed array of the handle's input type; dims: [m] or [batch, h, w].
val kernel_run_js(int id, const val& x, const val& dims) {
  return kernels().with(id, [&](KernelHandle& h) {
    const auto d = shape_in(dims);
    auto s = kernel_shapes(h, d);
    if (!s) return error(s.status());
    const std::string type = x["constructor"]["name"].as<std::string>();
    if (type != array_name(s->x_dtype)) {
      return error(invalid_argument(std::string("run: the input must be a ") +
                                    array_name(s->x_dtype) + ", got " + type));
    }
    const auto n = x["length"].as<size_t>();
    if (n != s->x_count) {
      return error(shape_mismatch("run: the input has " + std::to_string(n) + " values, expected " +
                                  std::to_string(s->x_count)));
    }
    h.dims = d;
    h.x.resize(s->x_count * dtype_size(s->x_dtype));
    h.y.resize(s->y_count * dtype_size(s->y_dtype));
    if (n) heap_view(s->x_dtype, h.x.data(), n).call<void>("set", x);
    const Status st = kernel_execute(h);
    if (!st) return error(st);
    val o = val::object();
    o.set("data", heap_copy(s->y_dtype, h.y.data(), s->y_count));
    o.set("shape", shape_out(s->y_shape));
    return ok(o);
  });
}
QL_EXPORT("kernelRun", kernel_run_js);

/// Kernel-only time of `reps` repetitions on the last run's input, after `warmup` untimed
/// ones: {medianMs, minMs, reps}.
val kernel_benchmark_js(int id, int reps, int warmup) {
  return kernels().with(id, [&](KernelHandle& h) {
    if (h.dims.empty()) return error(invalid_argument("benchmark: call run() once first"));
    if (reps < 1 || reps > 100000 || warmup < 0 || warmup > 100000) {
      return error(invalid_argument("benchmark: reps must be 1..100000, warmup 0..100000"));
    }
    using clock = std::chrono::steady_clock;
    std::vector<double> t;
    for (int i = 0; i < reps + warmup; ++i) {
      const auto t0 = clock::now();
      const Status st = kernel_execute(h);
      const auto t1 = clock::now();
      if (!st) return error(st);
      if (i >= warmup) t.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(t.begin(), t.end());
    val o = val::object();
    o.set("medianMs", t[t.size() / 2]);
    o.set("minMs", t.front());
    o.set("reps", reps);
    return ok(o);
  });
}
QL_EXPORT("kernelBenchmark", kernel_benchmark_js);

val kernel_info_js(int id) {
  return kernels().with(id, [](const KernelHandle& h) {
    val o = val::object();
    switch (h.kind) {
      case KernelHandle::Kind::kQGemm:
        o.set("variant", h.qgemm.variant());
        o.set("ukernel", h.qgemm.ukernel_name());
        break;
      case KernelHandle::Kind::kQConv:
        o.set("variant", h.qconv.variant());
        o.set("ukernel", h.qconv.ukernel_name());
        o.set("depthwise", h.qconv.depthwise());
        break;
      case KernelHandle::Kind::kGemmF32:
        o.set("variant", h.gemm.variant());
        break;
      case KernelHandle::Kind::kConvF32:
        o.set("variant", h.conv.variant());
        o.set("depthwise", h.conv.depthwise());
        break;
    }
    return ok(o);
  });
}
QL_EXPORT("kernelInfo", kernel_info_js);

val kernel_dispose_js(int id) { return kernels().dispose(id); }
QL_EXPORT("kernelDispose", kernel_dispose_js);

val kernel_variants_js() {
  return ok(list_out(gemm_variants(), [](const std::string& v) { return val(v); }));
}
QL_EXPORT("kernelVariants", kernel_variants_js);

}  // namespace
}  // namespace quantlab::bind
