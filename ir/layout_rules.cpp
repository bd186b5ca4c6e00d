//===- layout_rules.cpp - Storage layout of every result, and reorder -----===//
//
// A value's layout (TensorType::channelBlock) is derived like its shape: `reorder` sets it
// from its attribute, as does a conv's optional `layout` (a conv between layouts), the layout-preserving ops (dense and depthwise convs, max / avg /
// global average pooling, channel concat, same-shape elementwise, add / mul by a per-channel
// vector, resize / resize_add / resize_mul / resize_concat, bga, arm, ffm and
// context_embedding) give their result the layout of their activation operands, which must agree, and
// every other op takes and returns plain NCHW. So a graph states its layouts only through
// reorders, and a wrong mix is a verifier error naming the node, not a wrong kernel.
//
// global_avg_pool keeps its operand's layout: its [N,C,1,1] result has the same bytes in
// NCHW and NCHW{c}c, so staying blocked costs nothing, and it lets the gate after it (1x1
// convs, the per-channel mul) stay in the region without a reorder.
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

/// A [N or 1, C, 1, 1] vector that add / mul broadcast over the planes of `full`.
bool isChannelVector(const Shape &vector, const Shape &full) {
  return vector.size() == 4 && full.size() == 4 && (vector[0] == 1 || vector[0] == full[0]) &&
         vector[1] == full[1] && vector[2] == 1 && vector[3] == 1;
}

std::string elementwiseUnsupported(const Node &node) {
  const Value *a = node.inputs[0], *b = node.inputs[1];
  if (a->type.shape == b->type.shape) {
    // A weight keeps NCHW, which the flat kernel would read as blocked.
    if (a->kind == ValueKind::Weight || b->kind == ValueKind::Weight)
      return "an add/mul with a weight of the result's shape runs in nchw only";
    return "";
  }
  if (isChannelVector(a->type.shape, b->type.shape) || isChannelVector(b->type.shape, a->type.shape)) return "";
  return "a broadcasting add/mul runs in nchw only unless one operand is a per-channel [N,C,1,1] vector";
}

} // namespace

std::string blockedUnsupported(const Node &node, int64_t block) {
  switch (node.op) {
  case OpId::conv2d:
  case OpId::fused_conv: {
    int64_t groups = node.attrInt("groups"), in = node.inputs[0]->type.shape[1], out = node.inputs[1]->type.shape[0];
    // groups == input channels with a channel multiplier out / in (1: depthwise).
    if (groups == 1 || (groups == in && out % in == 0)) return "";
    return fmt::format("grouped convs run in nchw only (blocked: groups 1, or groups == input channels with output "
                       "channels a multiple of them; here groups {}, {} -> {} channels)",
                       groups, in, out);
  }
  case OpId::add:
  case OpId::mul: return elementwiseUnsupported(node);
  case OpId::concat: {
    int64_t axis = node.attrInt("axis");
    if (axis != 1 && axis != -3) return "a concat along an axis other than channels runs in nchw only";
    [[fallthrough]];
  }
  case OpId::resize:  // `like` too: the verifier wants every activation operand in one layout
  case OpId::resize_add:
  case OpId::resize_mul:
  case OpId::resize_concat:
  case OpId::bga:
    // Their blocked kernels move whole pixel vectors of c channels.
    for (const Value *input : node.inputs)
      if (input->type.shape.size() != 4 || input->type.shape[1] % block != 0)
        return fmt::format("a {} operand (%{}, {}) whose channels are not a multiple of {} runs in nchw only",
                           node.info().name, input->name, toString(input->type), block);
    return "";
  case OpId::arm: return "";
  case OpId::ffm:
    for (const Value *input : {node.inputs[0], node.inputs[1]})
      if (input->type.shape.size() != 4 || input->type.shape[1] % block != 0)
        return fmt::format("an ffm input (%{}, {}) whose channels are not a multiple of {} runs in nchw only",
                           input->name, toString(input->type), block);
    return "";
  case OpId::context_embedding:
    if (node.attrInt("groups") == 1) return "";
    return fmt::format("a grouped context_embedding conv (groups {}) runs in nchw only", node.attrInt("groups"));
  case OpId::relu:
  case OpId::sigmoid:
  case OpId::dropout:
  case OpId::max_pool:
  case OpId::avg_pool:
  case OpId::global_avg_pool: return "";
  default: return fmt::format("op {} runs in nchw only", node.info().name);
  }
}

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

/// A conv with the attribute `layout` reads x in one layout and writes its result in another:
/// the edge of a blocked region, where a stem reads the 3-channel image (as nchw3c: pixel-
/// major rows) or a classifier writes 19 channels, which are not whole blocks (an nchw
/// side's channels need not be).
TensorType convBetweenLayouts(const Node &node, TensorType result) {
  auto block = parseLayout(node.attrString("layout"));
  if (!block) fail("attribute layout must be nchw or nchw<c>c (e.g. nchw16c), got \"{}\"", node.attrString("layout"));
  const TensorType &x = node.inputs[0]->type;
  if (x.channelBlock == *block)
    fail("attribute layout {}: a conv between layouts writes a layout other than x's, but x is {} too (drop the "
         "attribute to keep x's layout)", layoutName(*block), layoutName(x.channelBlock));
  if (node.attrInt("groups") != 1) fail("a conv between layouts must be dense (groups 1)");
  for (size_t i = 2; i < node.inputs.size(); ++i) {
    const Value *residual = node.inputs[i];
    if (!residual || residual->kind == ValueKind::Weight) continue;
    if (!*block) fail("a conv writing nchw from blocked x takes no residual (%{})", residual->name);
    if (residual->type.channelBlock != *block)
      fail("residual %{} ({}) must be in the result's layout {}", residual->name, layoutName(residual->type.channelBlock),
           layoutName(*block));
  }
  result.channelBlock = *block;
  if (*block) expectDivisibleChannels(result, *block, "the result");
  return result;
}

TensorType withLayout(const Node &node, TensorType result) {
  if (node.op == OpId::reorder) return result;
  if ((node.op == OpId::conv2d || node.op == OpId::fused_conv) && node.hasAttr("layout"))
    return convBetweenLayouts(node, result);
  std::vector<const Value *> operands = activationOperands(node);
  int64_t block = operands.empty() ? 0 : operands.front()->type.channelBlock;
  for (const Value *operand : operands)
    if (operand->type.channelBlock != block)
      fail("operands %{} ({}) and %{} ({}) have different layouts; insert a reorder",
           operands.front()->name, layoutName(block), operand->name, layoutName(operand->type.channelBlock));
  result.channelBlock = block;
  if (!block) return result;
  std::string unsupported = blockedUnsupported(node, block);
  if (!unsupported.empty()) fail("operand layout {}: {}; insert a reorder to nchw", layoutName(block), unsupported);
  expectDivisibleChannels(result, block, "the result");
  return result;
}

} // namespace bisc
