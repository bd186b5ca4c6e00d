//===- channel_gate.cpp - Matches x * sigmoid(attention(gap(x))) ----------===//
#include "passes/channel_gate.h"

#include "passes/rewrite.h"

namespace bisc {

namespace {

using namespace rewrite;

/// A 1x1 conv producing `value`, used once, with or without a following relu.
struct GateConv {
  Node *conv = nullptr;
  bool relu = false;
  std::vector<Node *> nodes;
};

std::optional<GateConv> matchGateConv(const Graph &graph, const Value *value) {
  if (!hasOneUse(graph, value)) return std::nullopt;
  if (Node *conv = plainConv(value); conv && isPointwiseConv(*conv))
    return GateConv{conv, false, {conv}};
  auto convRelu = matchConvRelu(graph, value);
  if (!convRelu || !isPointwiseConv(*convRelu->conv)) return std::nullopt;
  return GateConv{convRelu->conv, true, convRelu->nodes()};
}

/// gap(x) producing `value`, used once.
Node *gapOf(const Graph &graph, const Value *value, const Value *x) {
  Node *gap = producer(value, OpId::global_avg_pool);
  return gap && gap->inputs[0] == x && hasOneUse(graph, value) ? gap : nullptr;
}

/// Fills the attention part of `gate` from h (the sigmoid's operand).
bool matchAttention(const Graph &graph, const Value *h, ChannelGate &gate) {
  auto last = matchGateConv(graph, h);
  if (!last) return false;
  std::vector<Node *> nodes = last->nodes;
  Node *first = last->conv;
  if (Node *gap = gapOf(graph, first->inputs[0], gate.x)) {
    nodes.insert(nodes.begin(), gap);
    gate.relu = last->relu;
  } else {
    auto inner = matchGateConv(graph, first->inputs[0]);
    if (last->relu || !inner || !inner->relu) return false;
    Node *gap2 = gapOf(graph, inner->conv->inputs[0], gate.x);
    if (!gap2) return false;
    nodes.insert(nodes.begin(), inner->nodes.begin(), inner->nodes.end());
    nodes.insert(nodes.begin(), gap2);
    gate.relu = true;
    gate.weight2 = last->conv->inputs[1];
    gate.bias2 = convBias(*last->conv);
    first = inner->conv;
  }
  gate.weight1 = first->inputs[1];
  gate.bias1 = convBias(*first);
  gate.nodes.insert(gate.nodes.begin(), nodes.begin(), nodes.end());
  return true;
}

} // namespace

std::optional<ChannelGate> matchChannelGate(const Graph &graph, Node &root) {
  ChannelGate gate;
  if (root.op == OpId::arm) {
    gate.x = root.inputs[0];
    gate.weight1 = root.inputs[1];
    gate.bias1 = root.inputs[2];
    gate.nodes = {&root};
    return gate;
  }
  if (root.op != OpId::mul) return std::nullopt;
  for (Value *operand : root.inputs) {
    Node *sigmoid = producer(operand, OpId::sigmoid);
    if (!sigmoid || !hasOneUse(graph, operand)) continue;
    gate = ChannelGate{};
    gate.x = otherOperand(root, operand);
    gate.nodes = {sigmoid, &root};
    if (gate.x->type.shape.size() != 4 || gate.x->type != root.result->type) continue;
    if (operand->type.shape != Shape{gate.x->type.shape[0], gate.x->type.shape[1], 1, 1}) continue;
    if (matchAttention(graph, sigmoid->inputs[0], gate)) return gate;
  }
  return std::nullopt;
}

} // namespace bisc
