//===- rewrite.cpp - Small helpers shared by the pattern passes -----------===//
#include "passes/rewrite.h"

#include "ir/shape_rules.h"

#include <algorithm>
#include <unordered_set>

namespace bisc::rewrite {

Node *producer(const Value *value, OpId op) {
  return value && value->producer && value->producer->op == op ? value->producer : nullptr;
}

size_t useCount(const Graph &graph, const Value *value) {
  size_t count = 0;
  for (const auto &node : graph.nodes())
    count += size_t(std::count(node->inputs.begin(), node->inputs.end(), value));
  for (const GraphOutput &out : graph.outputs()) count += out.value == value;
  return count;
}

bool isGraphOutput(const Graph &graph, const Value *value) {
  for (const GraphOutput &out : graph.outputs())
    if (out.value == value) return true;
  return false;
}

int forEachNode(Graph &graph, const std::function<bool(Node &)> &visit) {
  std::vector<Node *> order;
  for (const auto &node : graph.nodes()) order.push_back(node.get());
  std::unordered_set<const Node *> live(order.begin(), order.end());
  int changes = 0;
  for (Node *node : order) {
    if (!live.count(node) || !visit(*node)) continue;
    ++changes;
    // Nodes created by the rewrite are not visited; erased ones must not be.
    live.clear();
    for (const auto &n : graph.nodes()) live.insert(n.get());
  }
  return changes;
}

void eraseDead(Graph &graph, const std::vector<Node *> &nodes) {
  std::vector<Node *> pending(nodes.rbegin(), nodes.rend());
  for (bool erased = true; erased;) {
    erased = false;
    for (Node *&node : pending) {
      if (!node || useCount(graph, node->result) != 0) continue;
      graph.eraseNode(node);
      node = nullptr;
      erased = true;
    }
  }
}

Node *replaceSubgraph(Graph &graph, Node *root, const std::vector<Node *> &matched, OpId op,
                      std::vector<Value *> inputs, const AttrList &attrs) {
  // Graph has no rename: build under a temporary name, free the root's name by erasing
  // the matched nodes, then rebuild under that name.
  std::string name = root->name();
  Node *temp = graph.addNode(op, graph.uniqueName(name + ".fusing"), inputs, attrs, root);
  graph.replaceAllUses(root->result, temp->result);
  eraseDead(graph, matched);
  Node *node = graph.addNode(op, graph.uniqueName(name), std::move(inputs), attrs, temp);
  graph.replaceAllUses(temp->result, node->result);
  graph.eraseNode(temp);
  node->result->type = shapeRule(op)(*node);
  return node;
}

std::string fusedFrom(const std::vector<Node *> &nodes) {
  std::string text;
  for (const Node *node : nodes) {
    int index = node->info().attrIndex("fused_from");
    bool fused = index >= 0 && node->hasAttr("fused_from");
    text += (text.empty() ? "" : "+") + (fused ? node->attrString("fused_from") : node->name());
  }
  return text;
}

Value *newWeight(Graph &graph, const std::string &base, TensorType type,
                 std::shared_ptr<const Tensor> data) {
  Value *weight = graph.addWeight(graph.uniqueName(base), std::move(type));
  weight->data = std::move(data);
  return weight;
}

Value *biasOrZero(Graph &graph, Value *bias, const std::string &base, int64_t channels) {
  if (bias) return bias;
  TensorType type{DType::f32, {channels}};
  return newWeight(graph, base, type, std::make_shared<const Tensor>(type));
}

bool isPointwiseConv(const Node &node) {
  if (node.op != OpId::conv2d && node.op != OpId::fused_conv) return false;
  if (node.op == OpId::fused_conv && node.attrString("residual") != "none") return false;
  const Shape &w = node.inputs[1]->type.shape;
  auto zero = std::vector<int64_t>{0, 0, 0, 0}, one = std::vector<int64_t>{1, 1};
  return w.size() == 4 && w[2] == 1 && w[3] == 1 && node.attrInts("stride") == one &&
         node.attrInts("pads") == zero && node.attrInt("groups") == 1;
}

std::string convActivation(const Node &node) {
  if (node.op == OpId::conv2d) return "none";
  if (node.op == OpId::fused_conv) return node.attrString("activation");
  return "";
}

AttrList convAttrs(const Node &node) {
  AttrList attrs;
  for (const char *name : {"stride", "pads", "dilation", "groups"})
    attrs.emplace_back(name, node.attr(name));
  return attrs;
}

Node *plainConv(const Value *value) {
  if (Node *conv = producer(value, OpId::conv2d)) return conv;
  Node *fused = producer(value, OpId::fused_conv);
  if (fused && fused->attrString("activation") == "none" && fused->attrString("residual") == "none")
    return fused;
  return nullptr;
}

std::vector<Node *> ConvRelu::nodes() const {
  if (relu) return {conv, relu};
  return {conv};
}

std::optional<ConvRelu> matchConvRelu(const Graph &graph, const Value *value) {
  Node *fused = producer(value, OpId::fused_conv);
  if (fused && fused->attrString("activation") == "relu" && fused->attrString("residual") == "none")
    return ConvRelu{fused, nullptr};
  Node *relu = producer(value, OpId::relu);
  if (!relu) return std::nullopt;
  Node *conv = plainConv(relu->inputs[0]);
  if (!conv || !hasOneUse(graph, conv->result)) return std::nullopt;
  return ConvRelu{conv, relu};
}

Value *otherOperand(const Node &binary, const Value *value) {
  return binary.inputs[0] == value ? binary.inputs[1] : binary.inputs[0];
}

namespace {

class FusionPass : public Pass {
public:
  FusionPass(std::string name, std::vector<OpId> roots, std::function<bool(Graph &, Node &)> fuse)
      : name_(std::move(name)), roots_(std::move(roots)), fuse_(std::move(fuse)) {}
  std::string name() const override { return name_; }
  bool run(Graph &graph) override {
    fused_ = forEachNode(graph, [&](Node &node) {
      bool isRoot = std::find(roots_.begin(), roots_.end(), node.op) != roots_.end();
      return isRoot && fuse_(graph, node);
    });
    return fused_ > 0;
  }
  std::vector<std::pair<std::string, std::string>> statistics() const override {
    return {{"fused", std::to_string(fused_)}};
  }

private:
  std::string name_;
  std::vector<OpId> roots_;
  std::function<bool(Graph &, Node &)> fuse_;
  int fused_ = 0;
};

} // namespace

std::unique_ptr<Pass> makeFusionPass(std::string name, std::vector<OpId> roots,
                                     std::function<bool(Graph &, Node &)> fuse) {
  return std::make_unique<FusionPass>(std::move(name), std::move(roots), std::move(fuse));
}

} // namespace bisc::rewrite
