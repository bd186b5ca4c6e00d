//===- fused_conv.cpp - fused_conv, resize_add, resize_mul, resize_concat -===//
//
// Composed from the conv2d, add, relu, resize and concat kernels in the order of the subgraphs
// they replace (see ir/fused_ops.h), so the results are bit-identical to those subgraphs.
#include "ir/fused_ops.h"
#include "ir/interpreter/fused_call.h"
#include "ir/interpreter/kernels.h"

namespace bisc::interp {

namespace {

AttrList convAttrs(const Node &node) {
  return {copyAttr(node, "stride"), copyAttr(node, "pads"), copyAttr(node, "dilation"),
          copyAttr(node, "groups")};
}

/// resize(small -> H,W of x) with the node's mode/align_corners/scale.
Tensor resizeLike(const Node &node, const Tensor &small, const Tensor &x) {
  AttrList attrs{copyAttr(node, "mode"), copyAttr(node, "align_corners")};
  if (node.hasAttr("scale")) {
    attrs.push_back(copyAttr(node, "scale"));
    return callKernel(OpId::resize, {&small}, attrs);
  }
  return callKernel(OpId::resize, {&small, &x}, attrs);
}

} // namespace

void eval_fused_conv(const Node &node, Operands operands, Tensor &result) {
  std::vector<const Tensor *> convOperands(operands.begin(),
                                           operands.begin() + std::min<size_t>(operands.size(), 3));
  Tensor t = callKernel(OpId::conv2d, convOperands, convAttrs(node));
  const std::string &residual = node.attrString("residual");
  if (residual == "before_act") t = callKernel(OpId::add, {&t, operands[3]});
  if (node.attrString("activation") == "relu") t = callKernel(OpId::relu, {&t});
  if (residual == "after_act") t = callKernel(OpId::add, {&t, operands[3]});
  result = std::move(t);
}

void eval_resize_add(const Node &node, Operands operands, Tensor &result) {
  Tensor up = resizeLike(node, *operands[1], *operands[0]);
  result = callKernel(OpId::add, {operands[0], &up});
}

void eval_resize_mul(const Node &node, Operands operands, Tensor &result) {
  Tensor up = resizeLike(node, *operands[1], *operands[0]);
  result = callKernel(OpId::mul, {operands[0], &up});
}

void eval_resize_concat(const Node &node, Operands operands, Tensor &result) {
  size_t resized = size_t(node.attrInt("resized"));
  const Tensor &fullSize = *operands[resized == 0 ? 1 : 0];
  Tensor up = resizeLike(node, *operands[resized], fullSize);
  std::vector<const Tensor *> parts(operands.begin(), operands.end());
  parts[resized] = &up;
  result = callKernel(OpId::concat, parts, {{"axis", Attribute(int64_t(1))}});
}

} // namespace bisc::interp
