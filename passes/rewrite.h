//===- rewrite.h - Small helpers shared by the pattern passes -------------===//
//
// A pattern pass visits nodes in graph order (forEachNode), matches a small subgraph
// rooted at the visited node with the predicates below (single use, producer op, 1x1
// conv), and replaces it with replaceSubgraph(), which keeps the root's name so every
// downstream line of a dump stays the same and only the fused line changes.
#pragma once

#include "ir/graph.h"
#include "passes/pass.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bisc::rewrite {

using AttrList = std::vector<std::pair<std::string, Attribute>>;

/// The node producing `value` if it is an op `op` result, else nullptr.
Node *producer(const Value *value, OpId op);
/// Operand slots reading `value` plus graph outputs naming it.
size_t useCount(const Graph &graph, const Value *value);
inline bool hasOneUse(const Graph &graph, const Value *value) {
  return useCount(graph, value) == 1;
}
bool isGraphOutput(const Graph &graph, const Value *value);

/// Calls `visit` on every node in graph order, skipping nodes erased by earlier visits;
/// `visit` returns true if it changed the graph. Returns the number of changes.
int forEachNode(Graph &graph, const std::function<bool(Node &)> &visit);

/// A pattern pass: tries `fuse` on every node whose op is in `roots`, in graph order, and
/// counts the successes as its "fused" statistic.
std::unique_ptr<Pass> makeFusionPass(std::string name, std::vector<OpId> roots,
                                     std::function<bool(Graph &, Node &)> fuse);

/// Replaces the value of `root` by a new `op` node named like root, inserted at root's
/// place, then erases the `matched` nodes (root included) that are left unused. The new
/// node's type is inferred at once so later matches in the same pass can read it.
Node *replaceSubgraph(Graph &graph, Node *root, const std::vector<Node *> &matched, OpId op,
                      std::vector<Value *> inputs, const AttrList &attrs);

/// Erases the nodes of `nodes` that are unused, latest first, until none is.
void eraseDead(Graph &graph, const std::vector<Node *> &nodes);

/// "a+b+c": the node names, for the fused_from attribute. A node that is itself fused
/// contributes its own fused_from list.
std::string fusedFrom(const std::vector<Node *> &nodes);

/// A new weight named after `base` (made unique), with `data` (may be null: the graph was
/// loaded without weights; numerics then need weights).
Value *newWeight(Graph &graph, const std::string &base, TensorType type,
                 std::shared_ptr<const Tensor> data);
/// `bias` if non-null, else a zero f32[channels] weight (with data) named after `base`.
Value *biasOrZero(Graph &graph, Value *bias, const std::string &base, int64_t channels);

/// conv2d or fused_conv with a 1x1 kernel, stride 1, no pads, groups 1, no residual.
bool isPointwiseConv(const Node &node);
/// The activation of a conv2d ("none") or fused_conv; "" for other ops.
std::string convActivation(const Node &node);

/// The conv attributes (stride, pads, dilation, groups) of a conv2d/fused_conv, to copy.
AttrList convAttrs(const Node &node);

/// The producer of `value` if it is a conv2d, or a fused_conv with no activation and no
/// residual (so it computes conv(x, w, b) only); else nullptr.
Node *plainConv(const Value *value);

/// relu(conv(x, w, b)) producing `value`: a fused_conv with activation relu and no residual
/// (relu == nullptr), or a relu whose operand is a plainConv used only by it.
struct ConvRelu {
  Node *conv = nullptr;
  Node *relu = nullptr;
  /// The matched nodes in graph order.
  std::vector<Node *> nodes() const;
};
std::optional<ConvRelu> matchConvRelu(const Graph &graph, const Value *value);

/// The conv's bias operand or nullptr (conv2d and fused_conv both keep it at index 2).
inline Value *convBias(const Node &conv) {
  return conv.inputs.size() >= 3 ? conv.inputs[2] : nullptr;
}

/// The operand of a binary node that is not `value` (the other one if both are).
Value *otherOperand(const Node &binary, const Value *value);

} // namespace bisc::rewrite
