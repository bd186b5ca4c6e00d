//===- fuse_resize.cpp - Upsample folded into its add / mul consumer ------===//
//
// What: add(x, resize(s)) -> resize_add(x, s) and mul(x, resize(s)) -> resize_mul(x, s)
// (either operand order; ir/fused_ops.h), when the resize upsamples (its output has more
// pixels than s), is used only there, and the product has exactly x's type (no broadcast).
// The fused kernel samples s while it adds, so the full-resolution upsampled tensor is never
// written. The resize keeps its mode, align_corners and scale; a size-based (`like`) resize
// becomes "resize to x's H,W", the same size by the type check.
// A concat consumer is not fused (no fused op reads a resized concat operand yet).
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

bool fuseResize(Graph &graph, Node &node) {
  for (Value *operand : node.inputs) {
    Node *resize = producer(operand, OpId::resize);
    Value *x = otherOperand(node, operand);
    if (!resize || x == operand || !hasOneUse(graph, operand) || !upsamples(*resize)) continue;
    if (x->type != node.result->type || operand->type != node.result->type) continue;
    AttrList attrs{{"mode", resize->attr("mode")}, {"align_corners", resize->attr("align_corners")}};
    if (resize->hasAttr("scale")) attrs.emplace_back("scale", resize->attr("scale"));
    std::vector<Node *> nodes{resize, &node};
    attrs.emplace_back("fused_from", fusedFrom(nodes));
    OpId op = node.op == OpId::add ? OpId::resize_add : OpId::resize_mul;
    replaceSubgraph(graph, &node, nodes, op, {x, resize->inputs[0]}, attrs);
    return true;
  }
  return false;
}

} // namespace

std::unique_ptr<Pass> createFuseResizePass() { return makeFusionPass("fuse-resize", {OpId::add, OpId::mul}, fuseResize); }

} // namespace bisc
