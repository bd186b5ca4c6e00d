//===- shape_rules.cpp - Result type of every op ---------------------------===//
#include "ir/shape_rules.h"

#include "ir/error.h"
#include "ir/layout_rules.h"

#include <algorithm>
#include <cmath>

namespace bisc {

const TensorType &operand(const Node &node, size_t i) { return node.inputs[i]->type; }

void expectRank(const Node &node, size_t i, size_t rank) {
  const TensorType &type = operand(node, i);
  if (type.shape.size() != rank)
    fail("{} must have rank {}, got {}", node.info().operandName(i), rank, toString(type));
}

void expectF32(const Node &node, size_t i) {
  if (operand(node, i).dtype != DType::f32)
    fail("{} must be f32, got {}", node.info().operandName(i), toString(operand(node, i)));
}

const std::vector<int64_t> &intsAttr(const Node &node, const char *name, size_t size,
                                     int64_t min) {
  const std::vector<int64_t> &values = node.attrInts(name);
  if (values.size() != size) fail("attribute {} needs {} values, got {}", name, size, values.size());
  for (int64_t v : values)
    if (v < min) fail("attribute {} must be >= {}, got {}", name, min, v);
  return values;
}

void expectChannelVector(const Node &node, size_t i, int64_t channels) {
  const TensorType &type = operand(node, i);
  expectF32(node, i);
  if (type.shape != Shape{channels})
    fail("{} must be f32[{}], got {}", node.info().operandName(i), channels, toString(type));
}

TensorType infer_conv2d(const Node &node) {
  expectRank(node, 0, 4);
  expectRank(node, 1, 4);
  expectF32(node, 0);
  expectF32(node, 1);
  const Shape &x = operand(node, 0).shape, &w = operand(node, 1).shape;
  auto stride = intsAttr(node, "stride", 2, 1);
  auto pads = intsAttr(node, "pads", 4, 0);
  auto dilation = intsAttr(node, "dilation", 2, 1);
  int64_t groups = node.attrInt("groups");
  if (groups < 1) fail("attribute groups must be >= 1, got {}", groups);
  if (x[1] != w[1] * groups)
    fail("input has {} channels but weight {} with groups={} expects {}", x[1],
         shapeToString(w), groups, w[1] * groups);
  if (w[0] % groups != 0)
    fail("{} output channels are not divisible by groups={}", w[0], groups);
  if (node.inputs.size() == 3) expectChannelVector(node, 2, w[0]);
  Shape out{x[0], w[0], 0, 0};
  for (int axis = 0; axis < 2; ++axis) {
    out[2 + axis] = windowOutputSize(x[2 + axis], w[2 + axis], stride[axis], pads[axis],
                                     pads[axis + 2], dilation[axis], false);
    if (out[2 + axis] < 1)
      fail("kernel {} does not fit input {}", shapeToString(w), shapeToString(x));
  }
  return {DType::f32, out};
}

TensorType infer_batch_norm(const Node &node) {
  expectF32(node, 0);
  const Shape &x = operand(node, 0).shape;
  if (x.size() < 2) fail("x must have rank >= 2, got {}", toString(operand(node, 0)));
  for (size_t i = 1; i < 5; ++i) expectChannelVector(node, i, x[1]);
  if (!(node.attrFloat("eps") > 0)) fail("attribute eps must be > 0");
  return operand(node, 0);
}

static TensorType sameAsInput(const Node &node) {
  expectF32(node, 0);
  return operand(node, 0);
}

TensorType infer_relu(const Node &node) { return sameAsInput(node); }
TensorType infer_sigmoid(const Node &node) { return sameAsInput(node); }

TensorType infer_dropout(const Node &node) {
  double p = node.attrFloat("p");
  if (!(p >= 0 && p < 1)) fail("attribute p must be in [0, 1), got {}", p);
  return sameAsInput(node);
}

/// NumPy broadcasting of two f32 operands.
static TensorType broadcast(const Node &node) {
  expectF32(node, 0);
  expectF32(node, 1);
  const Shape &a = operand(node, 0).shape, &b = operand(node, 1).shape;
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      fail("shapes {} and {} do not broadcast", shapeToString(a), shapeToString(b));
    out[i] = da == 1 ? db : da;
  }
  return {DType::f32, out};
}

TensorType infer_add(const Node &node) { return broadcast(node); }
TensorType infer_mul(const Node &node) { return broadcast(node); }

TensorType infer_concat(const Node &node) {
  const TensorType &first = operand(node, 0);
  int64_t axis = normalizeAxis(node.attrInt("axis"), first.shape.size());
  Shape out = first.shape;
  for (size_t i = 1; i < node.inputs.size(); ++i) {
    const TensorType &type = operand(node, i);
    bool fits = type.dtype == first.dtype && type.shape.size() == first.shape.size();
    for (size_t d = 0; fits && d < out.size(); ++d)
      fits = int64_t(d) == axis || type.shape[d] == first.shape[d];
    if (!fits)
      fail("input {} is {} but input 0 is {}; only axis {} may differ", i, toString(type),
           toString(first), axis);
    out[size_t(axis)] += type.shape[size_t(axis)];
  }
  return {first.dtype, out};
}

TensorType infer_resize(const Node &node) {
  expectRank(node, 0, 4);
  expectF32(node, 0);
  const std::string &mode = node.attrString("mode");
  if (mode != "nearest" && mode != "bilinear")
    fail("attribute mode must be \"nearest\" or \"bilinear\", got \"{}\"", mode);
  if (mode == "nearest" && node.attrBool("align_corners"))
    fail("align_corners only applies to bilinear resize");
  bool hasLike = node.inputs.size() == 2, hasScale = node.hasAttr("scale");
  if (hasLike == hasScale)
    fail("needs exactly one of a 'like' input or a scale attribute");
  Shape out = operand(node, 0).shape;
  if (hasLike) {
    const Shape &like = operand(node, 1).shape;
    if (like.size() != 4) fail("like must have rank 4, got {}", toString(operand(node, 1)));
    out[2] = like[2];
    out[3] = like[3];
  } else {
    const std::vector<double> &scale = node.attrFloats("scale");
    if (scale.size() != 2 || !(scale[0] > 0) || !(scale[1] > 0))
      fail("attribute scale needs two positive values");
    for (int axis = 0; axis < 2; ++axis)
      out[2 + axis] = int64_t(std::floor(double(out[2 + axis]) * scale[axis]));
    if (out[2] < 1 || out[3] < 1) fail("scale gives an empty output {}", shapeToString(out));
  }
  return {DType::f32, out};
}

static TensorType pool(const Node &node, bool hasDilation) {
  expectRank(node, 0, 4);
  expectF32(node, 0);
  auto kernel = intsAttr(node, "kernel", 2, 1);
  auto stride = intsAttr(node, "stride", 2, 1);
  auto pads = intsAttr(node, "pads", 4, 0);
  std::vector<int64_t> dilation{1, 1};
  if (hasDilation) dilation = intsAttr(node, "dilation", 2, 1);
  bool ceilMode = node.attrBool("ceil_mode");
  Shape out = operand(node, 0).shape;
  for (int axis = 0; axis < 2; ++axis) {
    // PyTorch requires pads <= kernel / 2 so that no window lies wholly in the padding.
    if (pads[axis] > kernel[axis] / 2 || pads[axis + 2] > kernel[axis] / 2)
      fail("pads {} exceed half the kernel {}", shapeToString(pads), shapeToString(kernel));
    out[2 + axis] = windowOutputSize(out[2 + axis], kernel[axis], stride[axis], pads[axis],
                                     pads[axis + 2], dilation[axis], ceilMode);
    if (out[2 + axis] < 1)
      fail("kernel {} does not fit input {}", shapeToString(kernel),
           toString(operand(node, 0)));
  }
  return {DType::f32, out};
}

TensorType infer_max_pool(const Node &node) { return pool(node, true); }
TensorType infer_avg_pool(const Node &node) { return pool(node, false); }

TensorType infer_global_avg_pool(const Node &node) {
  expectRank(node, 0, 4);
  expectF32(node, 0);
  Shape out = operand(node, 0).shape;
  out[2] = out[3] = 1;
  return {DType::f32, out};
}

TensorType infer_argmax(const Node &node) {
  expectF32(node, 0);
  Shape out = operand(node, 0).shape;
  out.erase(out.begin() + normalizeAxis(node.attrInt("axis"), out.size()));
  return {DType::i32, out};
}

static TensorType softmaxLike(const Node &node) {
  expectF32(node, 0);
  normalizeAxis(node.attrInt("axis"), operand(node, 0).shape.size());
  return operand(node, 0);
}

TensorType infer_softmax(const Node &node) { return softmaxLike(node); }
TensorType infer_log_softmax(const Node &node) { return softmaxLike(node); }

int64_t windowOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padBegin,
                         int64_t padEnd, int64_t dilation, bool ceilMode) {
  // PyTorch divides rounding down; in ceil mode the numerator can be >= 0 even when the
  // dilated kernel is wider than the padded input (one window, partly outside).
  int64_t numerator = in + padBegin + padEnd - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
  if (numerator < 0) return 0;
  int64_t out = numerator / stride + 1;
  // PyTorch: the last window must start inside the input or the left padding.
  if (ceilMode && (out - 1) * stride >= in + padBegin) --out;
  return out;
}

int64_t normalizeAxis(int64_t axis, size_t rank) {
  int64_t r = int64_t(rank);
  if (axis < -r || axis >= r) fail("axis {} is out of range for rank {}", axis, rank);
  return axis < 0 ? axis + r : axis;
}

// Every rule also derives the result's storage layout (ir/layout_rules.cpp).
#define BISC_OP(id, ...) \
  static TensorType rule_##id(const Node &node) { return withLayout(node, infer_##id(node)); }
#include "ir/ops.def"

ShapeRule shapeRule(OpId op) {
  static const ShapeRule rules[] = {
#define BISC_OP(id, ...) &rule_##id,
#include "ir/ops.def"
  };
  return rules[size_t(op)];
}

} // namespace bisc
