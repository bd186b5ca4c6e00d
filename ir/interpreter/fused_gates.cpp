//===- fused_gates.cpp - arm, ffm, bga, context_embedding -----------------===//
//
// Each gate block is run as the subgraph it replaced, node by node through the reference
// kernels (see ir/fused_ops.h for the formulas), so fused == unfused bit for bit.
#include "ir/interpreter/fused_call.h"
#include "ir/interpreter/kernels.h"

namespace bisc::interp {

namespace {

/// conv(x, w, b) for a 1x1 conv with default attributes.
Tensor pointwise(const Tensor &x, const Tensor *w, const Tensor *b) {
  return callKernel(OpId::conv2d, {&x, w, b});
}

Tensor sigmoidGate(const Tensor &x, const Tensor &pre) {
  Tensor gate = callKernel(OpId::sigmoid, {&pre});
  return callKernel(OpId::mul, {&x, &gate});
}

/// resize(t -> H,W of like) with the node's mode/align_corners/scale.
Tensor resizeTo(const Node &node, const Tensor &t, const Tensor &like) {
  AttrList attrs{copyAttr(node, "mode"), copyAttr(node, "align_corners")};
  if (node.hasAttr("scale")) {
    attrs.push_back(copyAttr(node, "scale"));
    return callKernel(OpId::resize, {&t}, attrs);
  }
  return callKernel(OpId::resize, {&t, &like}, attrs);
}

} // namespace

void eval_arm(const Node &, Operands operands, Tensor &result) {
  const Tensor &x = *operands[0];
  Tensor pooled = callKernel(OpId::global_avg_pool, {&x});
  result = sigmoidGate(x, pointwise(pooled, operands[1], operands[2]));
}

void eval_ffm(const Node &node, Operands operands, Tensor &result) {
  Tensor cat = callKernel(OpId::concat, {operands[0], operands[1]});
  Tensor f = pointwise(cat, operands[2], operands[3]);
  f = callKernel(OpId::relu, {&f});
  Tensor pooled = callKernel(OpId::global_avg_pool, {&f});
  Tensor h = pointwise(pooled, operands[4], operands[5]);
  if (node.attrString("att_activation") == "relu") h = callKernel(OpId::relu, {&h});
  if (operands.size() == 8) h = pointwise(h, operands[6], operands[7]);
  Tensor gated = sigmoidGate(f, h);
  result = callKernel(OpId::add, {&gated, &f});
}

void eval_bga(const Node &node, Operands operands, Tensor &result) {
  const Tensor &left1 = *operands[0];
  Tensor right1 = resizeTo(node, *operands[2], left1);
  Tensor a = sigmoidGate(left1, right1);
  Tensor b = sigmoidGate(*operands[1], *operands[3]);
  Tensor up = resizeTo(node, b, left1);
  result = callKernel(OpId::add, {&a, &up});
}

void eval_context_embedding(const Node &node, Operands operands, Tensor &result) {
  const Tensor &x = *operands[0];
  Tensor pooled = callKernel(OpId::global_avg_pool, {&x});
  Tensor g = pointwise(pooled, operands[1], operands[2]);
  g = callKernel(OpId::relu, {&g});
  Tensor y = callKernel(OpId::add, {&x, &g});
  Tensor out = callKernel(OpId::conv2d, {&y, operands[3], operands[4]},
                          {copyAttr(node, "stride"), copyAttr(node, "pads"),
                           copyAttr(node, "dilation"), copyAttr(node, "groups")});
  result = callKernel(OpId::relu, {&out});
}

} // namespace bisc::interp
