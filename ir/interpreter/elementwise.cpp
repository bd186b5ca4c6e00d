//===- elementwise.cpp - batch_norm, relu, sigmoid, dropout, add, mul -------===//
#include "ir/interpreter/kernels.h"

#include <cmath>

namespace bisc::interp {

namespace {

/// result[i] = f(x[i]) over the whole tensor.
template <typename F> void unary(const Tensor &x, Tensor &result, F f) {
  std::span<const float> in = x.f32();
  std::span<float> out = result.f32();
  for (size_t i = 0; i < in.size(); ++i) out[i] = f(in[i]);
}

/// Element strides of `shape` viewed as an operand of a broadcast to `rank` dimensions:
/// missing leading dimensions and dimensions of size 1 get stride 0, so the same element is
/// read along them.
std::vector<int64_t> broadcastStrides(const Shape &shape, size_t rank) {
  std::vector<int64_t> strides(rank, 0);
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    size_t axis = rank - shape.size() + i;
    strides[axis] = shape[i] == 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

/// NumPy broadcasting: walks the output row by row (the last axis innermost), keeping an
/// odometer over the outer axes to find the rows of a and b.
template <typename F>
void broadcastBinary(const Tensor &a, const Tensor &b, Tensor &result, F f) {
  const Shape &shape = result.shape();
  const float *pa = a.f32().data(), *pb = b.f32().data();
  float *out = result.f32().data();
  if (shape.empty()) {  // rank 0: one element
    out[0] = f(pa[0], pb[0]);
    return;
  }
  if (result.elements() == 0) return;
  size_t rank = shape.size(), last = rank - 1;
  std::vector<int64_t> sa = broadcastStrides(a.shape(), rank);
  std::vector<int64_t> sb = broadcastStrides(b.shape(), rank);
  std::vector<int64_t> index(rank, 0);
  int64_t rows = result.elements() / shape[last];
  for (int64_t row = 0; row < rows; ++row) {
    int64_t offA = 0, offB = 0;
    for (size_t d = 0; d < last; ++d) {
      offA += index[d] * sa[d];
      offB += index[d] * sb[d];
    }
    for (int64_t i = 0; i < shape[last]; ++i)
      *out++ = f(pa[offA + i * sa[last]], pb[offB + i * sb[last]]);
    for (size_t d = last; d-- > 0;) {  // advance the odometer over the outer axes
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}

} // namespace

/// Inference batch norm folded per channel as PyTorch's CPU kernel does
/// (batch_norm_cpu_collect_linear_and_constant_terms): y = x * scale + shift with
/// scale = w / sqrt(var + eps) and shift = b - mean * scale, all in f32.
void eval_batch_norm(const Node &node, Operands operands, Tensor &result) {
  const Shape &shape = operands[0]->shape();
  int64_t outer = shape[0], channels = shape[1], inner = dimProduct(shape, 2, shape.size());
  auto weight = operands[1]->f32(), bias = operands[2]->f32();
  auto mean = operands[3]->f32(), var = operands[4]->f32();
  float eps = float(node.attrFloat("eps"));
  const float *x = operands[0]->f32().data();
  float *y = result.f32().data();
  for (int64_t c = 0; c < channels; ++c) {
    float invStd = 1.0f / std::sqrt(var[size_t(c)] + eps);
    float scale = invStd * weight[size_t(c)];
    float shift = bias[size_t(c)] - mean[size_t(c)] * scale;
    for (int64_t n = 0; n < outer; ++n) {
      int64_t base = (n * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) y[base + i] = x[base + i] * scale + shift;
    }
  }
}

/// max(x, 0), letting NaN through as torch.relu does.
void eval_relu(const Node &, Operands operands, Tensor &result) {
  unary(*operands[0], result, [](float v) { return v > 0.0f || std::isnan(v) ? v : 0.0f; });
}

void eval_sigmoid(const Node &, Operands operands, Tensor &result) {
  unary(*operands[0], result, [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
}

/// Identity: the interpreter evaluates models in inference mode.
void eval_dropout(const Node &, Operands operands, Tensor &result) {
  unary(*operands[0], result, [](float v) { return v; });
}

/// Identity: a layout is a storage property, the interpreter's tensors are logical NCHW.
void eval_reorder(const Node &, Operands operands, Tensor &result) {
  unary(*operands[0], result, [](float v) { return v; });
}

void eval_add(const Node &, Operands operands, Tensor &result) {
  broadcastBinary(*operands[0], *operands[1], result, [](float a, float b) { return a + b; });
}

void eval_mul(const Node &, Operands operands, Tensor &result) {
  broadcastBinary(*operands[0], *operands[1], result, [](float a, float b) { return a * b; });
}

} // namespace bisc::interp
