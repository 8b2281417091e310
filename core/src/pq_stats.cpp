// Input statistics of a layer for the activation-aware PQ objective: per subvector position
// the sums of x x^T and of x over the layer's input rows (im2col rows for convolutions).
#include <cmath>
#include <string>
#include <vector>

#include "quantlab/pq.hpp"

namespace quantlab {

Result<PQInputStats> pq_input_stats(std::span<const float> x, int64_t batch, int64_t cols, int d) {
  if (d < 1 || cols < 1 || cols % d != 0) {
    return invalid_argument("pq_input_stats: d = " + std::to_string(d) + " does not divide the row length " +
                            std::to_string(cols));
  }
  if (batch < 1) return empty_input("pq_input_stats: no input rows");
  if (x.size() != static_cast<size_t>(batch) * static_cast<size_t>(cols)) {
    return shape_mismatch("pq_input_stats: " + std::to_string(x.size()) + " values for " + std::to_string(batch) +
                          " rows of " + std::to_string(cols));
  }
  for (float v : x) if (!std::isfinite(v)) return not_finite("pq_input_stats: an input is not finite");
  PQInputStats st;
  st.d = d;
  st.M = cols / d;
  st.count = batch;
  const size_t D = static_cast<size_t>(d);
  st.sums.assign(static_cast<size_t>(st.M) * D * D, 0.0);
  st.mean_sums.assign(static_cast<size_t>(cols), 0.0);
  for (int64_t r = 0; r < batch; ++r) {
    const float* row = x.data() + r * cols;
    for (int64_t i = 0; i < cols; ++i) st.mean_sums[static_cast<size_t>(i)] += row[i];
    for (int64_t j = 0; j < st.M; ++j) {
      const float* xj = row + j * d;
      double* h = st.sums.data() + static_cast<size_t>(j) * D * D;
      for (size_t a = 0; a < D; ++a) {
        const double xa = xj[a];
        if (xa == 0.0) continue;  // ReLU outputs: many zeros
        for (size_t b = 0; b < D; ++b) h[a * D + b] += xa * static_cast<double>(xj[b]);
      }
    }
  }
  return st;
}

Result<PQInputStats> pq_conv_input_stats(const Tensor& x, const Conv2dGeometry& g, int d) {
  if (x.dtype() != DType::kFloat32 || x.shape().size() != 4) {
    return invalid_argument("pq_conv_input_stats: the input must be float32 NCHW");
  }
  if (g.groups != 1) return unsupported("pq_conv_input_stats: grouped convolutions are not supported");
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  auto os = conv2d_output_size(H, W, g);
  if (!os) return os.status();
  const auto [OH, OW] = *os;
  const int64_t cols = C * g.kernel_h * g.kernel_w;
  if (d < 1 || cols % d != 0) {
    return invalid_argument("pq_conv_input_stats: d = " + std::to_string(d) + " does not divide C_in x KH x KW = " +
                            std::to_string(cols));
  }
  if (N < 1) return empty_input("pq_conv_input_stats: no images");
  auto data = x.data<float>();
  for (float v : data) if (!std::isfinite(v)) return not_finite("pq_conv_input_stats: an input is not finite");
  PQInputStats st;
  st.d = d;
  st.M = cols / d;
  st.count = N * OH * OW;
  const size_t D = static_cast<size_t>(d);
  st.sums.assign(static_cast<size_t>(st.M) * D * D, 0.0);
  st.mean_sums.assign(static_cast<size_t>(cols), 0.0);
  std::vector<double> row(static_cast<size_t>(cols));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t oy = 0; oy < OH; ++oy) {
      for (int64_t ox = 0; ox < OW; ++ox) {
        size_t at = 0;  // the im2col row in OIHW order (c, ky, kx)
        for (int64_t c = 0; c < C; ++c) {
          const float* plane = data.data() + (n * C + c) * H * W;
          for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
            const int64_t iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
            for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
              const int64_t ix = ox * g.stride_w - g.pad_left + kx * g.dilation_w;
              row[at++] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? plane[iy * W + ix] : 0.0;
            }
          }
        }
        for (size_t i = 0; i < row.size(); ++i) st.mean_sums[i] += row[i];
        for (int64_t j = 0; j < st.M; ++j) {
          const double* xj = row.data() + static_cast<size_t>(j) * D;
          double* h = st.sums.data() + static_cast<size_t>(j) * D * D;
          for (size_t a = 0; a < D; ++a) {
            const double xa = xj[a];
            if (xa == 0.0) continue;
            for (size_t b = 0; b < D; ++b) h[a * D + b] += xa * xj[b];
          }
        }
      }
    }
  }
  return st;
}

}  // namespace quantlab
