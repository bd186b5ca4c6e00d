//===- layout_rules.cpp - Storage layout of every result, and reorder -----===//
//
// A value's layout (TensorType::channelBlock) is derived like its shape: `reorder` sets it
// from its attribute, the layout-preserving ops (dense conv, same-shape elementwise) give
// their result the layout of their activation operands, which must agree, and
// every other op takes and returns plain NCHW. So a graph states its layouts only through
// reorders, and a wrong mix is a verifier error naming the node, not a wrong kernel.
#include "ir/layout_rules.h"

#include "ir/error.h"
#include "ir/shape_rules.h"

namespace bisc {

namespace {

/// Operands that are activations (weights keep their logical layout; codegen repacks them).
std::vector<const Value *> activationOperands(const Node &node) {
  std::vector<const Value *> operands;
  for (const Value *input : node.inputs)
    if (input && input->kind != ValueKind::Weight) operands.push_back(input);
  return operands;
}

void expectDivisibleChannels(const TensorType &type, int64_t block, const std::string &what) {
  if (type.shape.size() != 4)
    fail("{} must be 4-d for layout {}, got {}", what, layoutName(block), toString(type));
  if (type.shape[1] % block != 0)
    fail("{} has {} channels, not a multiple of the block of layout {}", what, type.shape[1],
         layoutName(block));
}

/// Why `node` cannot run in a blocked layout, or "" if it can.
std::string blockedUnsupported(const Node &node) {
  switch (node.op) {
  case OpId::conv2d:
  case OpId::fused_conv:
    return node.attrInt("groups") == 1 ? "" : "grouped and depthwise convs run in nchw only";
  case OpId::add:
  case OpId::mul:
    return node.inputs[0]->type.shape == node.inputs[1]->type.shape
               ? "" : "a broadcasting add/mul runs in nchw only";
  case OpId::relu:
  case OpId::sigmoid:
  case OpId::dropout: return "";
  default: return fmt::format("op {} runs in nchw only", node.info().name);
  }
}

} // namespace

TensorType infer_reorder(const Node &node) {
  expectF32(node, 0);
  expectRank(node, 0, 4);
  auto block = parseLayout(node.attrString("layout"));
  if (!block) fail("attribute layout must be nchw or nchw<c>c (e.g. nchw16c), got \"{}\"", node.attrString("layout"));
  TensorType result = operand(node, 0);
  result.channelBlock = *block;
  if (*block) expectDivisibleChannels(result, *block, "x");
  return result;
}

TensorType withLayout(const Node &node, TensorType result) {
  if (node.op == OpId::reorder) return result;
  std::vector<const Value *> operands = activationOperands(node);
  int64_t block = operands.empty() ? 0 : operands.front()->type.channelBlock;
  for (const Value *operand : operands)
    if (operand->type.channelBlock != block)
      fail("operands %{} ({}) and %{} ({}) have different layouts; insert a reorder",
           operands.front()->name, layoutName(block), operand->name, layoutName(operand->type.channelBlock));
  result.channelBlock = block;
  if (!block) return result;
  std::string unsupported = blockedUnsupported(node);
  if (!unsupported.empty()) fail("operand layout {}: {}; insert a reorder to nchw", layoutName(block), unsupported);
  expectDivisibleChannels(result, block, "the result");
  return result;
}

} // namespace bisc
