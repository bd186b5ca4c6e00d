//===- fuse_resize.cpp - Upsample folded into its add / mul / concat consumer ===//
//
// What: add(x, resize(s)) -> resize_add(x, s) and mul(x, resize(s)) -> resize_mul(x, s)
// (either operand order), and concat(.., resize(s), ..; axis 1) -> resize_concat(.., s, ..)
// {resized = its position} (ir/fused_ops.h), when the resize upsamples (its output has more
// pixels than s) and is used only there; add/mul also need the product to have exactly x's
// type (no broadcast). The fused kernel samples s while it adds or copies, so the
// full-resolution upsampled tensor is never written. The resize keeps its mode,
// align_corners and scale; a size-based (`like`) resize becomes "resize to the H,W of the
// other operands", the same size by the type checks of add/mul/concat.
// A concat folds one resize (the first that qualifies); a second stays a plain resize.
// Preconditions: none; run after the gate fusions, which absorb the resizes they contain.
#include "passes/passes.h"
#include "passes/rewrite.h"

namespace bisc {

namespace {

using namespace rewrite;

bool upsamples(const Node &resize) {
  const Shape &in = resize.inputs[0]->type.shape, &out = resize.result->type.shape;
  return in.size() == 4 && out.size() == 4 && out[2] * out[3] > in[2] * in[3];
}

/// The resize producing `operand` if it upsamples and `operand` has no other use.
Node *foldableResize(const Graph &graph, const Value *operand) {
  Node *resize = producer(operand, OpId::resize);
  if (!resize || !hasOneUse(graph, operand) || !upsamples(*resize)) return nullptr;
  return resize;
}

/// The resize's sampling attributes plus the fused_from list of `nodes`.
AttrList resizeAttrs(const Node &resize, const std::vector<Node *> &nodes) {
  AttrList attrs{{"mode", resize.attr("mode")}, {"align_corners", resize.attr("align_corners")}};
  if (resize.hasAttr("scale")) attrs.emplace_back("scale", resize.attr("scale"));
  attrs.emplace_back("fused_from", fusedFrom(nodes));
  return attrs;
}

bool fuseResizeBinary(Graph &graph, Node &node) {
  for (Value *operand : node.inputs) {
    Node *resize = foldableResize(graph, operand);
    Value *x = otherOperand(node, operand);
    if (!resize || x == operand) continue;
    if (x->type != node.result->type || operand->type != node.result->type) continue;
    std::vector<Node *> nodes{resize, &node};
    OpId op = node.op == OpId::add ? OpId::resize_add : OpId::resize_mul;
    replaceSubgraph(graph, &node, nodes, op, {x, resize->inputs[0]}, resizeAttrs(*resize, nodes));
    return true;
  }
  return false;
}

bool isChannelConcat(const Node &concat) {
  int64_t axis = concat.attrInt("axis");
  return concat.result->type.shape.size() == 4 && (axis == 1 || axis == -3) &&
         concat.inputs.size() >= 2;
}

bool fuseResizeConcat(Graph &graph, Node &concat) {
  if (!isChannelConcat(concat)) return false;
  for (size_t i = 0; i < concat.inputs.size(); ++i) {
    Node *resize = foldableResize(graph, concat.inputs[i]);
    if (!resize) continue;
    std::vector<Value *> inputs = concat.inputs;
    inputs[i] = resize->inputs[0];
    std::vector<Node *> nodes{resize, &concat};
    AttrList attrs{{"resized", int64_t(i)}};
    for (auto &attr : resizeAttrs(*resize, nodes)) attrs.push_back(std::move(attr));
    replaceSubgraph(graph, &concat, nodes, OpId::resize_concat, inputs, attrs);
    return true;
  }
  return false;
}

bool fuseResize(Graph &graph, Node &node) {
  return node.op == OpId::concat ? fuseResizeConcat(graph, node) : fuseResizeBinary(graph, node);
}

} // namespace

std::unique_ptr<Pass> createFuseResizePass() {
  return makeFusionPass("fuse-resize", {OpId::add, OpId::mul, OpId::concat}, fuseResize);
}

} // namespace bisc
