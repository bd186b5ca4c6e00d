//===- fuse_ffm.cpp - Feature Fusion Module -> ffm ------------------------===//
//
// What: with f = relu(conv1x1(concat(sp, cp))),
//   f + f * sigmoid(attention(gap(f)))  ->  ffm(sp, cp, w, b, att_w1, att_b1[, att_w2, att_b2])
// (ir/fused_ops.h). The gate is matched by structure (passes/channel_gate.h), so the
// CoinCheung form (one attention conv, BN folded; possibly already an `arm` node), the
// TorchSeg form (two convs with relu between, no biases) and the mmseg form (one conv +
// relu) all fuse. f, the concat and every gate value must be used only inside the block: the
// fused kernel never materialises them. Missing biases become zero biases.
// Preconditions: fold-bn and fuse-conv-act (or plain relu(conv) with BN folded).
#include "passes/channel_gate.h"
#include "passes/passes.h"
#include "passes/rewrite.h"

#include <algorithm>

namespace bisc {

namespace {

using namespace rewrite;

struct FfmMatch {
  ChannelGate gate;
  Node *concat = nullptr;
  Node *conv = nullptr;
  std::vector<Node *> nodes;  ///< the whole block, the add last
};

bool isChannelConcat(const Node &node) {
  int64_t axis = node.attrInt("axis");
  return node.op == OpId::concat && node.inputs.size() == 2 && (axis == 1 || axis == -3);
}

/// Every use of `value` is by a node of `nodes` (and it is no graph output).
bool usedOnlyBy(const Graph &graph, const Value *value, const std::vector<Node *> &nodes) {
  if (isGraphOutput(graph, value)) return false;
  for (Node *user : graph.users(value))
    if (std::find(nodes.begin(), nodes.end(), user) == nodes.end()) return false;
  return true;
}

std::optional<FfmMatch> matchFfm(const Graph &graph, Node &add) {
  for (Value *gated : add.inputs) {
    Node *root = gated->producer;
    if (!root || (root->op != OpId::mul && root->op != OpId::arm) || !hasOneUse(graph, gated))
      continue;
    auto gate = matchChannelGate(graph, *root);
    if (!gate || otherOperand(add, gated) != gate->x) continue;
    auto convRelu = matchConvRelu(graph, gate->x);
    if (!convRelu || !isPointwiseConv(*convRelu->conv)) continue;
    Node *concat = producer(convRelu->conv->inputs[0], OpId::concat);
    if (!concat || !isChannelConcat(*concat) || !hasOneUse(graph, concat->result)) continue;
    FfmMatch match{*gate, concat, convRelu->conv, {concat}};
    for (Node *node : convRelu->nodes()) match.nodes.push_back(node);
    for (Node *node : gate->nodes) match.nodes.push_back(node);
    match.nodes.push_back(&add);
    if (!usedOnlyBy(graph, gate->x, match.nodes)) continue;
    return match;
  }
  return std::nullopt;
}

bool fuseFfm(Graph &graph, Node &add) {
  auto match = matchFfm(graph, add);
  if (!match) return false;
  const ChannelGate &gate = match->gate;
  int64_t channels = match->conv->inputs[1]->type.shape[0];
  int64_t mid = gate.weight1->type.shape[0];
  std::string base = add.name();
  std::vector<Value *> inputs{
      match->concat->inputs[0], match->concat->inputs[1], match->conv->inputs[1],
      biasOrZero(graph, convBias(*match->conv), base + ".zero_bias", channels), gate.weight1,
      biasOrZero(graph, gate.bias1, base + ".att_zero_bias1", mid)};
  if (gate.weight2) {
    inputs.push_back(gate.weight2);
    inputs.push_back(biasOrZero(graph, gate.bias2, base + ".att_zero_bias2", channels));
  }
  replaceSubgraph(graph, &add, match->nodes, OpId::ffm, std::move(inputs),
                  {{"att_activation", std::string(gate.relu ? "relu" : "none")},
                   {"fused_from", fusedFrom(match->nodes)}});
  return true;
}

} // namespace

std::unique_ptr<Pass> createFuseFfmPass() { return makeFusionPass("fuse-ffm", {OpId::add}, fuseFfm); }

} // namespace bisc
