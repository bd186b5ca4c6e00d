//===- blocked_layout.cpp - Put conv regions in the NCHW{c}c layout --------===//
//
// What: gives the blocked layout nchw{c}c to every value computed by a node that has a
// blocked kernel, and inserts `reorder` nodes where such a region meets an nchw op or a
// graph output (and where an nchw value feeds it). The graph input and outputs stay nchw.
//
// Which nodes: a dense (groups 1) conv2d / fused_conv of a chosen kind whose input and output
// channels are multiples of c starts or extends a region; relu, sigmoid, dropout and
// same-shape add / mul join a region when one of their operands is already blocked (alone
// they gain nothing). Conv kinds: pointwise (1x1), strided (stride > 1, kernel > 1), winograd
// (3x3 stride 1 undilated: Winograd's domain, which beats a direct kernel in nchw), other.
//
// Options: block=<c> (lanes of the target's vectors: 8 AVX2, 16 AVX-512, 4 NEON; default 16
// in bisc-opt, the target's lanes in bisc compile),
// convs=<kind>+<kind>... (default pointwise+strided+other), e.g.
// --passes=blocked-layout{block=8,convs=pointwise+strided} (quote it in a shell: braces).
// If the graph's memory was already planned, it is planned again (reorders are new values).
#include "passes/passes.h"

#include "ir/error.h"

#include <charconv>
#include <fmt/format.h>
#include <set>
#include <unordered_map>

namespace bisc {

namespace {

bool isConv(const Node &node) { return node.op == OpId::conv2d || node.op == OpId::fused_conv; }

enum ConvKind { Pointwise = 1, Strided = 2, WinogradShaped = 4, OtherConv = 8 };

ConvKind convKind(const Node &node) {
  const Shape &w = node.inputs[1]->type.shape;
  auto stride = node.attrInts("stride"), dilation = node.attrInts("dilation");
  bool unitStride = stride == std::vector<int64_t>{1, 1};
  if (w[2] == 1 && w[3] == 1) return Pointwise;
  if (!unitStride) return Strided;
  if (w[2] == 3 && w[3] == 3 && dilation == std::vector<int64_t>{1, 1}) return WinogradShaped;
  return OtherConv;
}

int parseConvKinds(std::string_view text) {
  int kinds = 0;
  while (!text.empty()) {
    size_t cut = text.find('+');
    std::string_view kind = text.substr(0, cut);
    if (kind == "pointwise") kinds |= Pointwise;
    else if (kind == "strided") kinds |= Strided;
    else if (kind == "winograd") kinds |= WinogradShaped;
    else if (kind == "other") kinds |= OtherConv;
    else if (kind == "all") kinds |= Pointwise | Strided | WinogradShaped | OtherConv;
    else fail("option convs: unknown conv kind '{}' (known: pointwise, strided, winograd, other, all; join with +)", kind);
    if (cut == std::string_view::npos) break;
    text.remove_prefix(cut + 1);
  }
  if (!kinds) fail("option convs needs at least one conv kind");
  return kinds;
}

class BlockedLayout : public Pass {
public:
  std::string name() const override { return "blocked-layout"; }

  void setOptions(std::string_view text) override {
    for (auto [key, value] : parseOptionList(text)) {
      if (key == "block") {
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), block_);
        if (ec != std::errc() || end != value.data() + value.size() || block_ < 2)
          fail("option block must be an integer >= 2 (vector lanes), got '{}'", value);
      } else if (key == "convs") {
        convKinds_ = parseConvKinds(value);
      } else {
        fail("unknown option '{}' (known: block, convs)", key);
      }
    }
  }

  bool run(Graph &graph) override {
    blockedNodes_ = reorders_ = 0;
    bool planned = false;
    for (const auto &node : graph.nodes()) planned |= node->result->arenaOffset >= 0;
    std::set<const Node *> blocked = chooseNodes(graph);
    if (blocked.empty()) return false;
    rewrite(graph, blocked);
    inferShapes(graph);
    if (planned) planMemory(graph);
    return true;
  }

  std::vector<std::pair<std::string, std::string>> statistics() const override {
    return {{"blocked-nodes", std::to_string(blockedNodes_)}, {"reorders", std::to_string(reorders_)}};
  }

private:
  bool channelsFit(const Value *value) const {
    const Shape &shape = value->type.shape;
    return value->type.dtype == DType::f32 && shape.size() == 4 && shape[1] % block_ == 0;
  }

  bool convFits(const Node &node) const {
    if (node.attrInt("groups") != 1) return false;
    if (!(convKinds_ & convKind(node))) return false;
    return channelsFit(node.inputs[0]) && channelsFit(node.result);
  }

  bool joinsRegion(const Node &node, const std::set<const Node *> &blocked) const {
    switch (node.op) {
    case OpId::add:
    case OpId::mul:
      if (node.inputs[0]->type.shape != node.inputs[1]->type.shape) return false;
      break;
    case OpId::relu:
    case OpId::sigmoid:
    case OpId::dropout: break;
    default: return false;
    }
    if (!channelsFit(node.result)) return false;
    for (const Value *input : node.inputs)
      if (input->producer && blocked.count(input->producer)) return true;
    return false;
  }

  std::set<const Node *> chooseNodes(const Graph &graph) const {
    std::set<const Node *> blocked;
    for (const auto &node : graph.nodes()) {
      if (node->result->type.blocked()) fail("node %{} is already blocked; run blocked-layout once", node->name());
      if (isConv(*node) ? convFits(*node) : joinsRegion(*node, blocked)) blocked.insert(node.get());
    }
    return blocked;
  }

  Value *addReorder(Graph &graph, Value *value, int64_t block, Node *before) {
    ++reorders_;
    std::string layout = layoutName(block);
    Node *reorder = graph.addNode(OpId::reorder, graph.uniqueName(value->name + "." + layout), {value},
                                  {{"layout", layout}}, before);
    reorder->result->type = value->type;
    reorder->result->type.channelBlock = block;
    return reorder->result;
  }

  void rewrite(Graph &graph, const std::set<const Node *> &blocked) {
    std::vector<Node *> order;
    for (const auto &node : graph.nodes()) order.push_back(node.get());
    std::unordered_map<const Value *, Value *> blockedCopy;  // nchw value -> its reorder
    for (Node *node : order) {
      if (!blocked.count(node)) continue;
      ++blockedNodes_;
      for (Value *&input : node->inputs) {
        if (!input || input->kind == ValueKind::Weight) continue;
        if (input->producer && blocked.count(input->producer)) continue;
        Value *&copy = blockedCopy[input];
        if (!copy) copy = addReorder(graph, input, block_, node);
        input = copy;
      }
      node->result->type.channelBlock = block_;
    }
    for (Node *node : order)
      if (blocked.count(node)) reorderUsesToNchw(graph, node->result, blocked);
  }

  /// Nchw users and graph outputs of the blocked `value` read a reorder back to nchw.
  void reorderUsesToNchw(Graph &graph, Value *value, const std::set<const Node *> &blocked) {
    std::vector<Node *> nchwUsers;
    for (Node *user : graph.users(value))
      if (!blocked.count(user) && user->op != OpId::reorder) nchwUsers.push_back(user);
    bool isOutput = false;
    for (const GraphOutput &out : graph.outputs()) isOutput |= out.value == value;
    if (nchwUsers.empty() && !isOutput) return;
    Value *plain = addReorder(graph, value, 0, nchwUsers.empty() ? nullptr : nchwUsers.front());
    for (Node *user : nchwUsers)
      for (Value *&input : user->inputs)
        if (input == value) input = plain;
    for (GraphOutput &out : graph.outputs())
      if (out.value == value) out.value = plain;
  }

  int64_t block_ = 16;
  int convKinds_ = Pointwise | Strided | OtherConv;
  int blockedNodes_ = 0, reorders_ = 0;
};

} // namespace

std::unique_ptr<Pass> createBlockedLayoutPass() { return std::make_unique<BlockedLayout>(); }

} // namespace bisc
