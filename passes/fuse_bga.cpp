//===- fuse_bga.cpp - Bilateral Guided Aggregation -> bga -----------------===//
//
// What (ir/fused_ops.h):
//   left1 * sigmoid(resize(right1)) + resize(left2 * sigmoid(right2))
//     -> bga(left1, left2, right1, right2) {mode, align_corners, scale}
// with both resizes alike (same mode, align_corners and scale, both giving left1's shape),
// every product elementwise (no broadcast) and add/mul operands in either order. The four
// branches (detail and semantic convs) stay as they are; the final conv-BN-ReLU after the
// sum stays a fused_conv. Every intermediate must be used only by the block, so the fused
// kernel never materialises the upsampled gates.
// Preconditions: none beyond the pattern (BN folding only removes nodes inside the branches).
#include "passes/passes.h"
#include "passes/rewrite.h"

namespace bisc {

namespace {

using namespace rewrite;

/// mul(l, sigmoid(r)) producing `value`, every value of the same type, used once.
struct SigmoidProduct {
  Value *left = nullptr;
  Value *gate = nullptr;  ///< the sigmoid's operand
  std::vector<Node *> nodes;
};

std::optional<SigmoidProduct> matchSigmoidProduct(const Graph &graph, const Value *value) {
  Node *mul = producer(value, OpId::mul);
  if (!mul || !hasOneUse(graph, value)) return std::nullopt;
  for (Value *operand : mul->inputs) {
    Node *sigmoid = producer(operand, OpId::sigmoid);
    Value *left = otherOperand(*mul, operand);
    if (!sigmoid || !hasOneUse(graph, operand) || left == operand) continue;
    if (left->type != value->type || operand->type != value->type) continue;
    return SigmoidProduct{left, sigmoid->inputs[0], {sigmoid, mul}};
  }
  return std::nullopt;
}

/// A resize producing `value` with `target`'s type, used once.
Node *resizeTo(const Graph &graph, const Value *value, const TensorType &target) {
  Node *resize = producer(value, OpId::resize);
  return resize && hasOneUse(graph, value) && value->type == target ? resize : nullptr;
}

bool sameResize(const Node &a, const Node &b) {
  for (const char *attr : {"mode", "align_corners", "scale"})
    if (a.attr(attr) != b.attr(attr)) return false;
  return true;
}

bool fuseBga(Graph &graph, Node &add) {
  const TensorType &type = add.result->type;
  for (Value *upsampled : add.inputs) {
    Value *detail = otherOperand(add, upsampled);
    Node *up2 = resizeTo(graph, upsampled, type);
    if (!up2 || detail == upsampled) continue;
    auto low = matchSigmoidProduct(graph, up2->inputs[0]);
    auto high = matchSigmoidProduct(graph, detail);
    if (!low || !high || high->left->type != type) continue;
    Node *up1 = resizeTo(graph, high->gate, type);
    if (!up1 || !sameResize(*up1, *up2)) continue;
    std::vector<Node *> nodes{up1};
    nodes.insert(nodes.end(), high->nodes.begin(), high->nodes.end());
    nodes.insert(nodes.end(), low->nodes.begin(), low->nodes.end());
    nodes.push_back(up2);
    nodes.push_back(&add);
    AttrList attrs{{"mode", up1->attr("mode")}, {"align_corners", up1->attr("align_corners")}};
    if (up1->hasAttr("scale")) attrs.emplace_back("scale", up1->attr("scale"));
    attrs.emplace_back("fused_from", fusedFrom(nodes));
    replaceSubgraph(graph, &add, nodes, OpId::bga,
                    {high->left, low->left, up1->inputs[0], low->gate}, attrs);
    return true;
  }
  return false;
}

} // namespace

std::unique_ptr<Pass> createFuseBgaPass() { return makeFusionPass("fuse-bga", {OpId::add}, fuseBga); }

} // namespace bisc
