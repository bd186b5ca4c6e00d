//===- tensor_ops.cpp - concat, argmax, softmax, log_softmax ---------------===//
//
// Ops along one axis. A tensor is viewed as [outer, length, inner] around the axis; the
// reductions keep one running value per inner position and sweep the axis slice by slice,
// so every loop reads contiguous memory (the axis is usually channels, inner is H * W).
#include "ir/interpreter/kernels.h"

#include "ir/shape_rules.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace bisc::interp {

namespace {

struct AxisView {
  int64_t outer, length, inner;
};

AxisView axisView(const Shape &shape, int64_t axis) {
  size_t a = size_t(normalizeAxis(axis, shape.size()));
  return {dimProduct(shape, 0, a), shape[a], dimProduct(shape, a + 1, shape.size())};
}

template <typename T> std::span<const T> elementsOf(const Tensor &t);
template <> std::span<const float> elementsOf(const Tensor &t) { return t.f32(); }
template <> std::span<const int32_t> elementsOf(const Tensor &t) { return t.i32(); }

/// For each outer index, the inputs' [length * inner] blocks laid end to end.
template <typename T> void concatAs(Operands operands, int64_t axis, T *out) {
  int64_t outer = axisView(operands[0]->shape(), axis).outer;
  for (int64_t o = 0; o < outer; ++o)
    for (const Tensor *input : operands) {
      AxisView v = axisView(input->shape(), axis);
      const T *block = elementsOf<T>(*input).data() + o * v.length * v.inner;
      out = std::copy(block, block + v.length * v.inner, out);
    }
}

/// The max over the axis at every (outer, inner) position of one outer slice.
std::vector<float> sliceMax(const float *x, AxisView v) {
  std::vector<float> best(x, x + v.inner);
  for (int64_t k = 1; k < v.length; ++k)
    for (int64_t i = 0; i < v.inner; ++i) best[size_t(i)] = std::max(best[size_t(i)], x[k * v.inner + i]);
  return best;
}

/// y = exp(x - max) for one outer slice; returns the sums over the axis.
std::vector<float> shiftedExp(const float *x, float *y, AxisView v,
                              const std::vector<float> &max) {
  std::vector<float> sum(size_t(v.inner), 0.0f);
  for (int64_t k = 0; k < v.length; ++k)
    for (int64_t i = 0; i < v.inner; ++i) {
      y[k * v.inner + i] = std::exp(x[k * v.inner + i] - max[size_t(i)]);
      sum[size_t(i)] += y[k * v.inner + i];
    }
  return sum;
}

} // namespace

void eval_concat(const Node &node, Operands operands, Tensor &result) {
  int64_t axis = node.attrInt("axis");
  if (result.dtype() == DType::f32)
    concatAs<float>(operands, axis, result.f32().data());
  else
    concatAs<int32_t>(operands, axis, result.i32().data());
}

/// Index of the first maximum along the axis (NaN counts as the maximum, as in torch).
void eval_argmax(const Node &node, Operands operands, Tensor &result) {
  AxisView v = axisView(operands[0]->shape(), node.attrInt("axis"));
  const float *x = operands[0]->f32().data();
  int32_t *out = result.i32().data();
  for (int64_t o = 0; o < v.outer; ++o, x += v.length * v.inner, out += v.inner) {
    std::vector<float> best(x, x + v.inner);
    std::fill(out, out + v.inner, 0);
    for (int64_t k = 1; k < v.length; ++k)
      for (int64_t i = 0; i < v.inner; ++i) {
        float value = x[k * v.inner + i], &b = best[size_t(i)];
        if (value > b || (std::isnan(value) && !std::isnan(b))) {
          b = value;
          out[i] = int32_t(k);
        }
      }
  }
}

/// exp(x - max) / sum(exp(x - max)): subtracting the max keeps exp from overflowing.
void eval_softmax(const Node &node, Operands operands, Tensor &result) {
  AxisView v = axisView(operands[0]->shape(), node.attrInt("axis"));
  const float *x = operands[0]->f32().data();
  float *y = result.f32().data();
  for (int64_t o = 0; o < v.outer; ++o, x += v.length * v.inner, y += v.length * v.inner) {
    std::vector<float> sum = shiftedExp(x, y, v, sliceMax(x, v));
    for (int64_t k = 0; k < v.length; ++k)
      for (int64_t i = 0; i < v.inner; ++i) y[k * v.inner + i] /= sum[size_t(i)];
  }
}

/// x - max - log(sum(exp(x - max))), as aten's log_softmax.
void eval_log_softmax(const Node &node, Operands operands, Tensor &result) {
  AxisView v = axisView(operands[0]->shape(), node.attrInt("axis"));
  const float *x = operands[0]->f32().data();
  float *y = result.f32().data();
  for (int64_t o = 0; o < v.outer; ++o, x += v.length * v.inner, y += v.length * v.inner) {
    std::vector<float> max = sliceMax(x, v);
    std::vector<float> sum = shiftedExp(x, y, v, max);
    for (int64_t k = 0; k < v.length; ++k)
      for (int64_t i = 0; i < v.inner; ++i)
        y[k * v.inner + i] = x[k * v.inner + i] - max[size_t(i)] - std::log(sum[size_t(i)]);
  }
}

} // namespace bisc::interp
