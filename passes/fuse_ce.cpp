//===- fuse_ce.cpp - Context Embedding (V2) -> context_embedding ----------===//
//
// What (ir/fused_ops.h):
//   relu(conv(x + relu(conv1x1(gap(x)))))  ->  context_embedding(x, gap_w, gap_b, w, b)
// where the add broadcasts the [N,C,1,1] context over x (either operand order) and the
// outer conv keeps its stride/pads/dilation/groups. BiSeNetV2's BN on the pooled vector and
// after the 1x1 conv are folded by fold-bn first. The broadcast sum x + g is never
// materialised by the fused kernel, so it must have no other user. Missing biases become
// zero biases.
// Preconditions: fold-bn; fuse-conv-act (or plain relu(conv) pairs).
#include "passes/passes.h"
#include "passes/rewrite.h"

namespace bisc {

namespace {

using namespace rewrite;

/// relu(conv1x1(gap(x))) producing `value` (the pooled context), or nullopt.
std::optional<std::vector<Node *>> matchContext(const Graph &graph, const Value *value,
                                                const Value *x) {
  auto convRelu = matchConvRelu(graph, value);
  if (!convRelu || !hasOneUse(graph, value) || !isPointwiseConv(*convRelu->conv))
    return std::nullopt;
  Node *gap = producer(convRelu->conv->inputs[0], OpId::global_avg_pool);
  if (!gap || gap->inputs[0] != x || !hasOneUse(graph, gap->result)) return std::nullopt;
  const Shape &xs = x->type.shape;
  if (value->type.shape != Shape{xs[0], xs[1], 1, 1}) return std::nullopt;
  std::vector<Node *> nodes{gap};
  for (Node *node : convRelu->nodes()) nodes.push_back(node);
  return nodes;
}

bool fuseCe(Graph &graph, Node &root) {
  auto outer = matchConvRelu(graph, root.result);
  if (!outer) return false;
  Node *add = producer(outer->conv->inputs[0], OpId::add);
  if (!add || !hasOneUse(graph, add->result)) return false;
  for (Value *x : add->inputs) {
    Value *context = otherOperand(*add, x);
    if (x == context || x->type != add->result->type || x->type.shape.size() != 4) continue;
    auto inner = matchContext(graph, context, x);
    if (!inner) continue;
    Node *gapConv = (*inner)[1];
    std::vector<Node *> nodes = *inner;
    nodes.push_back(add);
    for (Node *node : outer->nodes()) nodes.push_back(node);
    Node *conv = outer->conv;
    int64_t channels = x->type.shape[1], outChannels = conv->inputs[1]->type.shape[0];
    std::vector<Value *> inputs{
        x, gapConv->inputs[1],
        biasOrZero(graph, convBias(*gapConv), gapConv->name() + ".zero_bias", channels),
        conv->inputs[1], biasOrZero(graph, convBias(*conv), conv->name() + ".zero_bias", outChannels)};
    AttrList attrs = convAttrs(*conv);
    attrs.emplace_back("fused_from", fusedFrom(nodes));
    replaceSubgraph(graph, &root, nodes, OpId::context_embedding, std::move(inputs), attrs);
    return true;
  }
  return false;
}

} // namespace

std::unique_ptr<Pass> createFuseCePass() { return makeFusionPass("fuse-ce", {OpId::relu, OpId::fused_conv}, fuseCe); }

} // namespace bisc
