// The prepared form of a model (private): values, constants, executable steps.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ops_common.hpp"
#include "quantlab/model.hpp"

namespace quantlab {

struct Model::Impl {
  OnnxModel onnx;
  ModelOptions options;

  /// Every value of the graph; ids index these vectors.
  std::vector<ValueInfo> values;
  /// The value's tensor when known at load time (initializers point into onnx.graph,
  /// computed constants into `folded`), else null.
  std::vector<const Tensor*> constant;
  std::vector<std::unique_ptr<Tensor>> folded;
  /// Symbol names: dimension kFirstSymbolDim - i is symbols[i].
  std::vector<std::string> symbols;

  std::vector<int> input_ids, output_ids;
  std::vector<ValueInfo> inputs, outputs;

  /// A node that runs at run time.
  struct Step {
    std::unique_ptr<ops::Op> op;
    std::vector<int> in;       ///< value ids, -1 for an omitted input
    std::vector<int> out;      ///< value ids, -1 for an omitted output
    std::string label;         ///< "node 'conv1' (Conv)"
    std::vector<int> release;  ///< values whose last reader is this step
  };
  std::vector<Step> steps;
  std::vector<LayerInfo> layers;
};

}  // namespace quantlab
