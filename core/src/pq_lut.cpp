// LUT inference for product-quantized fully connected layers (issue 12, "beyond the paper"):
// per input row a table of dot products between each input subvector and each codeword, then
// one table lookup per (output, position); and its oracle from the decoded weights in the same
// summation order.
#include <algorithm>
#include <string>

#include "pq_impl.hpp"

namespace quantlab {
namespace {

Status check_lut_args(const PQLayer& l, std::span<const float> x, int64_t batch, std::span<const float> bias,
                      const char* what) {
  QL_RETURN_IF_ERROR(pq_check_layer(l, what));
  if (batch < 0 || x.size() != static_cast<size_t>(batch) * static_cast<size_t>(l.cols)) {
    return shape_mismatch(std::string(what) + ": x has " + std::to_string(x.size()) + " values, not batch x " +
                          std::to_string(l.cols));
  }
  if (!bias.empty() && static_cast<int64_t>(bias.size()) != l.rows) {
    return shape_mismatch(std::string(what) + ": " + std::to_string(bias.size()) + " bias values for " +
                          std::to_string(l.rows) + " outputs");
  }
  return Status::ok();
}

}  // namespace

Result<std::vector<float>> pq_linear_lut(const PQLayer& l, std::span<const float> x, int64_t batch,
                                         std::span<const float> bias) {
  QL_RETURN_IF_ERROR(check_lut_args(l, x, batch, bias, "pq_linear_lut"));
  const size_t K = static_cast<size_t>(l.k), D = static_cast<size_t>(l.d), M = static_cast<size_t>(l.M());
  const size_t rows = static_cast<size_t>(l.rows), cols = static_cast<size_t>(l.cols);
  std::vector<float> cbt(D * K);  // (d, k)
  for (size_t c = 0; c < K; ++c) for (size_t t = 0; t < D; ++t) cbt[t * K + c] = l.codebook[c * D + t];
  std::vector<float> table(M * K);  // (M, k)
  std::vector<float> y(static_cast<size_t>(batch) * rows);
  for (size_t b = 0; b < static_cast<size_t>(batch); ++b) {
    const float* xb = x.data() + b * cols;
    for (size_t j = 0; j < M; ++j) {
      float* tj = table.data() + j * K;
      std::fill(tj, tj + K, 0.0f);
      for (size_t t = 0; t < D; ++t) {
        const float xv = xb[j * D + t];
        const float* row = cbt.data() + t * K;
        for (size_t c = 0; c < K; ++c) tj[c] += xv * row[c];
      }
    }
    float* yb = y.data() + b * rows;
    for (size_t o = 0; o < rows; ++o) {
      const uint16_t* code = l.codes.data() + o * M;
      float acc = 0.0f;
      for (size_t j = 0; j < M; ++j) acc += table[j * K + code[j]];
      yb[o] = bias.empty() ? acc : acc + bias[o];
    }
  }
  return y;
}

Result<std::vector<float>> pq_linear_reference(const PQLayer& l, std::span<const float> x, int64_t batch,
                                               std::span<const float> bias) {
  QL_RETURN_IF_ERROR(check_lut_args(l, x, batch, bias, "pq_linear_reference"));
  auto w = pq_decode(l);
  if (!w) return w.status();
  const size_t D = static_cast<size_t>(l.d), M = static_cast<size_t>(l.M());
  const size_t rows = static_cast<size_t>(l.rows), cols = static_cast<size_t>(l.cols);
  std::vector<float> y(static_cast<size_t>(batch) * rows);
  for (size_t b = 0; b < static_cast<size_t>(batch); ++b) {
    const float* xb = x.data() + b * cols;
    for (size_t o = 0; o < rows; ++o) {
      const float* wo = w->data() + o * cols;
      float acc = 0.0f;
      for (size_t j = 0; j < M; ++j) {
        float part = 0.0f;
        for (size_t t = 0; t < D; ++t) part += xb[j * D + t] * wo[j * D + t];
        acc += part;
      }
      y[b * rows + o] = bias.empty() ? acc : acc + bias[o];
    }
  }
  return y;
}

}  // namespace quantlab
