//===- fused_ops.cpp - Shape rules of the fused ops (see fused_ops.h) -----===//
//
// Each rule checks every operand against the shapes its unfused subgraph would need, so a
// fusion pass that wires an operand wrongly is caught by the verifier right after it runs.
#include "ir/fused_ops.h"

#include "ir/error.h"
#include "ir/shape_rules.h"

namespace bisc {

namespace {

bool isResidualMode(const std::string &mode) {
  return mode == "none" || mode == "before_act" || mode == "after_act";
}

void expectOneOf(const Node &node, const char *attr, std::initializer_list<const char *> ok) {
  const std::string &value = node.attrString(attr);
  for (const char *choice : ok)
    if (value == choice) return;
  fail("attribute {} has unknown value \"{}\"", attr, value);
}

/// An f32 operand of exactly `shape`.
void expectShape(const Node &node, size_t i, const Shape &shape) {
  expectF32(node, i);
  if (operand(node, i).shape != shape)
    fail("{} must be f32{}, got {}", node.info().operandName(i), shapeToString(shape),
         toString(operand(node, i)));
}

/// A 1x1 conv weight mapping `in` to `out` channels.
void expectPointwise(const Node &node, size_t i, int64_t out, int64_t in) {
  expectShape(node, i, {out, in, 1, 1});
}

/// The output shape of conv2d(x, w) under the node's stride/pads/dilation/groups.
Shape convOutput(const Node &node, const Shape &x, const Shape &w) {
  auto stride = intsAttr(node, "stride", 2, 1);
  auto pads = intsAttr(node, "pads", 4, 0);
  auto dilation = intsAttr(node, "dilation", 2, 1);
  int64_t groups = node.attrInt("groups");
  if (groups < 1) fail("attribute groups must be >= 1, got {}", groups);
  if (x[1] != w[1] * groups || w[0] % groups != 0)
    fail("input with {} channels does not fit weight {} with groups={}", x[1],
         shapeToString(w), groups);
  Shape out{x[0], w[0], 0, 0};
  for (int axis = 0; axis < 2; ++axis) {
    out[2 + axis] = windowOutputSize(x[2 + axis], w[2 + axis], stride[axis], pads[axis],
                                     pads[axis + 2], dilation[axis], false);
    if (out[2 + axis] < 1) fail("kernel {} does not fit input {}", shapeToString(w), shapeToString(x));
  }
  return out;
}

/// H,W of resize(t) under the node's mode/scale, when the target is `target`'s H,W.
void expectResizesTo(const Node &node, size_t i, const Shape &target) {
  expectOneOf(node, "mode", {"nearest", "bilinear"});
  if (node.attrString("mode") == "nearest" && node.attrBool("align_corners"))
    fail("align_corners only applies to bilinear resize");
  const Shape &small = operand(node, i).shape;
  if (small.size() != 4 || small[0] != target[0] || small[1] != target[1])
    fail("{} is {}, it cannot be resized to {}", node.info().operandName(i),
         toString(operand(node, i)), shapeToString(target));
  if (!node.hasAttr("scale")) return;
  const std::vector<double> &scale = node.attrFloats("scale");
  if (scale.size() != 2 || !(scale[0] > 0) || !(scale[1] > 0))
    fail("attribute scale needs two positive values");
  for (int axis = 0; axis < 2; ++axis)
    if (int64_t(double(small[2 + axis]) * scale[axis]) != target[2 + axis])
      fail("{} {} scaled by {} does not give {}", node.info().operandName(i),
           shapeToString(small), printAttr(node.attr("scale")), shapeToString(target));
}

const Shape &rank4(const Node &node, size_t i) {
  expectRank(node, i, 4);
  expectF32(node, i);
  return operand(node, i).shape;
}

} // namespace

Value *fusedConvBias(const Node &node) {
  return node.inputs.size() >= 3 ? node.inputs[2] : nullptr;
}

Value *fusedConvResidual(const Node &node) {
  return node.inputs.size() == 4 ? node.inputs[3] : nullptr;
}

TensorType infer_fused_conv(const Node &node) {
  const std::string &residual = node.attrString("residual");
  if (!isResidualMode(residual)) fail("attribute residual has unknown value \"{}\"", residual);
  expectOneOf(node, "activation", {"none", "relu"});
  bool hasResidual = residual != "none";
  if (hasResidual != (node.inputs.size() == 4))
    fail("residual=\"{}\" needs {} operands (x, weight, bias{}), got {}", residual,
         hasResidual ? 4 : 3, hasResidual ? ", residual" : "", node.inputs.size());
  const Shape &w = rank4(node, 1);
  Shape out = convOutput(node, rank4(node, 0), w);
  if (node.inputs.size() >= 3) expectChannelVector(node, 2, w[0]);
  if (hasResidual) expectShape(node, 3, out);
  return {DType::f32, out};
}

TensorType infer_arm(const Node &node) {
  const Shape &x = rank4(node, 0);
  expectPointwise(node, 1, x[1], x[1]);
  expectChannelVector(node, 2, x[1]);
  return operand(node, 0);
}

TensorType infer_ffm(const Node &node) {
  const Shape &sp = rank4(node, 0), &cp = rank4(node, 1);
  if (sp[0] != cp[0] || sp[2] != cp[2] || sp[3] != cp[3])
    fail("sp {} and cp {} differ in batch or spatial size", shapeToString(sp), shapeToString(cp));
  if (node.inputs.size() == 7) fail("att_weight2 needs att_bias2");
  expectOneOf(node, "att_activation", {"none", "relu"});
  int64_t c = rank4(node, 2)[0];
  expectPointwise(node, 2, c, sp[1] + cp[1]);
  expectChannelVector(node, 3, c);
  int64_t mid = rank4(node, 4)[0];
  expectPointwise(node, 4, mid, c);
  expectChannelVector(node, 5, mid);
  if (node.inputs.size() == 8) {
    expectPointwise(node, 6, c, mid);
    expectChannelVector(node, 7, c);
  } else if (mid != c) {
    fail("with one attention conv it must keep {} channels, got {}", c, mid);
  }
  return {DType::f32, {sp[0], c, sp[2], sp[3]}};
}

TensorType infer_bga(const Node &node) {
  const Shape &left1 = rank4(node, 0);
  rank4(node, 1);
  rank4(node, 2);
  expectShape(node, 3, operand(node, 1).shape);
  expectResizesTo(node, 2, left1);
  expectResizesTo(node, 1, left1);
  return operand(node, 0);
}

TensorType infer_context_embedding(const Node &node) {
  const Shape &x = rank4(node, 0);
  expectPointwise(node, 1, x[1], x[1]);
  expectChannelVector(node, 2, x[1]);
  const Shape &w = rank4(node, 3);
  expectChannelVector(node, 4, w[0]);
  return {DType::f32, convOutput(node, x, w)};
}

static TensorType resizeBinary(const Node &node) {
  rank4(node, 1);
  expectResizesTo(node, 1, rank4(node, 0));
  return operand(node, 0);
}

TensorType infer_resize_add(const Node &node) { return resizeBinary(node); }
TensorType infer_resize_mul(const Node &node) { return resizeBinary(node); }

TensorType infer_resize_concat(const Node &node) {
  size_t count = node.inputs.size();
  if (count < 2) fail("needs at least two operands (one resized), got {}", count);
  int64_t resized = node.attrInt("resized");
  if (resized < 0 || size_t(resized) >= count)
    fail("attribute resized must name an operand (0..{}), got {}", count - 1, resized);
  // The full-size shape every other operand must match, channels aside.
  size_t reference = resized == 0 ? 1 : 0;
  Shape out = rank4(node, reference);
  out[1] = 0;
  for (size_t i = 0; i < count; ++i) {
    const Shape &shape = rank4(node, i);
    if (i == size_t(resized)) continue;
    if (shape[0] != out[0] || shape[2] != out[2] || shape[3] != out[3])
      fail("input {} is {} but input {} is {}; only channels may differ", i,
           toString(operand(node, i)), reference, toString(operand(node, reference)));
  }
  // Channels are the small operand's own: only H,W change.
  const Shape &small = rank4(node, size_t(resized));
  expectResizesTo(node, size_t(resized), {out[0], small[1], out[2], out[3]});
  for (size_t i = 0; i < count; ++i) out[1] += operand(node, i).shape[1];
  return {DType::f32, out};
}

} // namespace bisc
