// Model execution: checks the inputs against the graph's declared types and shapes (symbolic
// dimensions bound consistently), runs the steps in order, frees each intermediate after its
// last reader, and reports progress.
#include <cmath>
#include <map>

#include "model_impl.hpp"

namespace quantlab {

Result<std::vector<Tensor>> Model::run(std::span<const Tensor> inputs,
                                       const RunOptions& options) const {
  if (!impl_) return invalid_argument("the model is not loaded");
  const Impl& I = *impl_;
  if (inputs.size() != I.input_ids.size()) {
    return invalid_argument("the model takes " + std::to_string(I.input_ids.size()) +
                            " input(s), got " + std::to_string(inputs.size()));
  }
  // Inputs against their declarations; a symbol ("N") must mean one size in every input.
  std::map<int64_t, int64_t> bound;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ValueInfo& want = I.inputs[i];
    const Tensor& t = inputs[i];
    // A shape whose element count wrapped around in a 32-bit size_t is refused here.
    auto elements = ops::checked_elements(t.shape());
    if (!elements) {
      return Status(elements.status().code(),
                    "input '" + want.name + "': " + elements.status().message());
    }
    if (static_cast<uint64_t>(*elements) != t.size()) {
      return too_large("input '" + want.name + "' of shape " + quantlab::shape_string(t.shape()) +
                       " does not fit in memory");
    }
    if (t.dtype() != want.dtype) {
      return invalid_argument("input '" + want.name + "' must be " + dtype_name(want.dtype) +
                              ", got " + dtype_name(t.dtype()));
    }
    if (!want.rank_known) continue;
    bool ok = t.shape().size() == want.dims.size();
    for (size_t d = 0; ok && d < want.dims.size(); ++d) {
      const int64_t w = want.dims[d], got = t.shape()[d];
      if (w >= 0) {
        ok = w == got;
      } else if (w != kUnknownDim) {
        auto [it, added] = bound.try_emplace(w, got);
        ok = added || it->second == got;
      }
    }
    if (!ok) {
      return shape_mismatch(
          "input '" + want.name + "' has shape " + quantlab::shape_string(t.shape()) +
          "; the model expects " + shape_string(want) +
          (bound.empty() ? "" : " (with the same size for each named dimension)"));
    }
  }

  const size_t n_values = I.values.size();
  std::vector<const Tensor*> value(I.constant.begin(), I.constant.end());
  std::vector<Tensor> owned(n_values);
  for (size_t i = 0; i < inputs.size(); ++i) {
    value[static_cast<size_t>(I.input_ids[i])] = &inputs[i];
    if (options.observe) options.observe(I.inputs[i].name, inputs[i]);
  }

  std::vector<const Tensor*> in;
  std::vector<Tensor> out;
  const auto total = static_cast<int64_t>(I.steps.size());
  for (size_t s = 0; s < I.steps.size(); ++s) {
    const Impl::Step& step = I.steps[s];
    in.clear();
    for (int id : step.in) {
      const Tensor* t = id < 0 ? nullptr : value[static_cast<size_t>(id)];
      QL_CHECK(id < 0 || t != nullptr);  // topological order guarantees it
      in.push_back(t);
    }
    out.assign(step.out.size(), Tensor());
    Status st = step.op->run(in, out);
    if (!st.is_ok()) return Status(st.code(), step.label + ": " + st.message());
    for (size_t j = 0; j < step.out.size(); ++j) {
      const int id = step.out[j];
      if (id < 0) continue;
      const auto u = static_cast<size_t>(id);
      owned[u] = std::move(out[j]);
      value[u] = &owned[u];
      if (options.observe) options.observe(I.values[u].name, owned[u]);
    }
    for (int id : step.release) {
      owned[static_cast<size_t>(id)] = Tensor();
      value[static_cast<size_t>(id)] = nullptr;
    }
    if (options.progress) {
      Progress p;
      p.stage = "run";
      p.done = static_cast<int64_t>(s) + 1;
      p.total = total;
      p.value = std::nan("");
      options.progress(p);
    }
  }

  std::vector<Tensor> results;
  results.reserve(I.output_ids.size());
  for (int id : I.output_ids) {
    const auto u = static_cast<size_t>(id);
    if (value[u] == &owned[u]) {
      results.push_back(std::move(owned[u]));
      value[u] = &results.back();  // a graph output listed twice copies from here
    } else {
      results.push_back(*value[u]);
    }
  }
  return results;
}

}  // namespace quantlab
