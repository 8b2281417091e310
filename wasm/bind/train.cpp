// Bindings of quantlab/train.hpp: trainable networks (kept in networks() until JavaScript
// disposes them), their parameters, training, evaluation, pruning and weight sharing of
// one parameter at a time (deep_compression.hpp's steps), ONNX and compressed-file export.
#include "kmeans.hpp"
#include "fields.hpp"

namespace quantlab::bind {

Registry<Network>& networks() {
  static Registry<Network> r("the network was disposed");
  return r;
}

namespace {

/// The data set of images / labels with the shape and normalization in options. The images
/// and labels vectors must outlive the data set (it holds spans).
Result<ImageDataset> dataset_in(const std::vector<uint8_t>& images,
                                const std::vector<uint8_t>& labels, const val& options) {
  auto d = options_in<ImageDataset>(options);
  if (!d) return d.status();
  d->images = images;
  d->labels = labels;
  d->count = static_cast<int64_t>(labels.size());
  QL_RETURN_IF_ERROR(validate_dataset(*d));
  return d;
}

val network_from_onnx_js(const val& bytes) {
  auto m = parse_onnx_model(array_in<uint8_t>(bytes));
  if (!m) return error(m.status());
  auto net = network_from_onnx(*m);
  if (!net) return error(net.status());
  return ok(val(networks().add(std::move(net).value())));
}
QL_EXPORT("dcNetworkFromOnnx", network_from_onnx_js);

val network_clone_js(int id) {
  return networks().with(id, [](const Network& n) { return ok(val(networks().add(Network(n)))); });
}
QL_EXPORT("dcNetworkClone", network_clone_js);

val network_dispose_js(int id) { return networks().dispose(id); }
QL_EXPORT("dcNetworkDispose", network_dispose_js);

val network_info_js(int id) {
  return networks().with(id, [](const Network& net) {
    val o = val::object();
    o.set("inputShape", shape_out(net.input_shape()));
    o.set("outputShape", shape_out(net.output_shape()));
    o.set("layers", list_out(net.layers(), [&](const Layer& l) {
      val L = val::object();
      L.set("kind", std::string(layer_kind_name(l.kind)));
      L.set("name", l.name);
      val ps = val::array();
      size_t k = 0;
      for (int p : l.params) {
        if (p >= 0) ps.set(k++, net.params()[static_cast<size_t>(p)].name);
      }
      L.set("params", ps);
      L.set("inputShape", shape_out(l.input_shape));
      L.set("outputShape", shape_out(l.output_shape));
      return L;
    }));
    o.set("params", list_out(net.params(), [](const Parameter& p) {
      val P = val::object();
      P.set("name", p.name);
      P.set("shape", shape_out(p.shape));
      P.set("size", static_cast<double>(p.size()));
      P.set("trainable", p.trainable);
      P.set("sparsity", p.mask.empty() ? 0.0 : mask_sparsity(p.mask));
      P.set("bits", p.codebook ? p.codebook->bits() : 0);
      return P;
    }));
    o.set("parameterCount", static_cast<double>(net.parameter_count()));
    return ok(o);
  });
}
QL_EXPORT("dcNetworkInfo", network_info_js);

val network_get_js(int id, const std::string& name) {
  return networks().with(id, [&](const Network& net) {
    const Parameter* p = net.param(name);
    if (!p) return error(invalid_argument("no parameter '" + name + "'"));
    val o = val::object();
    o.set("values", array_out(p->value));
    o.set("shape", shape_out(p->shape));
    o.set("mask", p->mask.empty() ? val::null() : array_out(p->mask));
    o.set("codebook", p->codebook ? codebook_out(*p->codebook) : val::null());
    return ok(o);
  });
}
QL_EXPORT("dcNetworkGet", network_get_js);

val network_set_js(int id, const std::string& name, const val& values) {
  return networks().with(id, [&](Network& net) {
    return done(set_parameter_values(net, name, array_in<float>(values)));
  });
}
QL_EXPORT("dcNetworkSet", network_set_js);

val network_forward_js(int id, const val& x, const val& shape) {
  return networks().with(id, [&](Network& net) {
    auto t = tensor_in(x, shape_in(shape), "input data");
    if (!t) return error(t.status());
    return result(net.forward(std::move(*t)), [](const Tensor& y) {
      val o = val::object();
      o.set("data", heap_copy(y.dtype(), y.raw(), y.size()));
      o.set("shape", shape_out(y.shape()));
      return o;
    });
  });
}
QL_EXPORT("dcNetworkForward", network_forward_js);

/// options: the data set's shape and normalization plus EvalOptions.
val network_evaluate_js(int id, const val& images, const val& labels, const val& options,
                        const val& on_progress) {
  return networks().with(id, [&](const Network& net) {
    const std::vector<uint8_t> img = array_in<uint8_t>(images), lab = array_in<uint8_t>(labels);
    auto d = dataset_in(img, lab, options);
    if (!d) return error(d.status());
    auto e = options_in<EvalOptions>(options);
    if (!e) return error(e.status());
    return result(evaluate(net, *d, e->batch_size, progress_in(on_progress)), [](const EvalStats& st) {
      val o = val::object();
      o.set("accuracy", st.accuracy);
      o.set("loss", st.loss);
      o.set("predictions", array_out(st.predictions));
      return o;
    });
  });
}
QL_EXPORT("dcNetworkEvaluate", network_evaluate_js);

/// options: the data set's shape and normalization plus TrainOptions.
val network_train_js(int id, const val& images, const val& labels, const val& options,
                     const val& on_progress) {
  return networks().with(id, [&](Network& net) {
    const std::vector<uint8_t> img = array_in<uint8_t>(images), lab = array_in<uint8_t>(labels);
    auto d = dataset_in(img, lab, options);
    if (!d) return error(d.status());
    auto t = options_in<TrainOptions>(options);
    if (!t) return error(t.status());
    Trainer trainer(net, *t);
    return result(trainer.fit(*d, progress_in(on_progress)), [](const TrainStats& st) {
      val o = val::object();
      o.set("steps", static_cast<double>(st.steps));
      o.set("epochLoss", array_out(st.epoch_loss));
      return o;
    });
  });
}
QL_EXPORT("dcNetworkTrain", network_train_js);

val network_prune_js(int id, const val& names, double sparsity, bool global) {
  return networks().with(id, [&](Network& net) {
    return result(prune_parameters(net, strings_in(names), sparsity, global),
                  [](const std::vector<double>& s) { return list_out(s, [](double x) { return val(x); }); });
  });
}
QL_EXPORT("dcNetworkPrune", network_prune_js);

val network_set_mask_js(int id, const std::string& name, const val& mask) {
  return networks().with(id, [&](Network& net) { return done(net.set_mask(name, array_in<uint8_t>(mask))); });
}
QL_EXPORT("dcNetworkSetMask", network_set_mask_js);

val network_quantize_js(int id, const std::string& name, int bits, const val& options,
                        const val& on_progress) {
  return networks().with(id, [&](Network& net) {
    auto o = options_in<KMeansOptions>(options);
    if (!o) return error(o.status());
    return result(quantize_parameter(net, name, bits, *o, progress_in(on_progress)),
                  [](const KMeansResult& r) {
                    val out = codebook_out(r.codebook);
                    out.set("mse", r.mse);
                    return out;
                  });
  });
}
QL_EXPORT("dcNetworkQuantize", network_quantize_js);

val network_clear_codebook_js(int id, const std::string& name) {
  return networks().with(id, [&](Network& net) { return done(net.clear_codebook(name)); });
}
QL_EXPORT("dcNetworkClearCodebook", network_clear_codebook_js);

val network_fold_js(int id) {
  return networks().with(id, [](Network& net) {
    return result(net.fold_batch_norm(), [](auto n) { return val(n); });
  });
}
QL_EXPORT("dcNetworkFoldBatchNorm", network_fold_js);

val network_to_onnx_js(int id) {
  return networks().with(id, [](const Network& net) {
    return result(network_to_onnx(net), [](const OnnxModel& m) { return array_out(serialize_onnx_model(m)); });
  });
}
QL_EXPORT("dcNetworkToOnnx", network_to_onnx_js);

val network_encode_js(int id, const val& options) {
  return networks().with(id, [&](const Network& net) {
    auto c = options_in<NetworkCompression>(options);
    if (!c) return error(c.status());
    return result(encode_network(net, *c), [](const auto& f) { return array_out(f); });
  });
}
QL_EXPORT("dcNetworkEncode", network_encode_js);

}  // namespace
}  // namespace quantlab::bind
