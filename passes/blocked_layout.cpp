//===- blocked_layout.cpp - Put conv regions in the NCHW{c}c layout --------===//
//
// What: gives the blocked layout nchw{c}c to every value computed by a node that has a
// blocked kernel, and inserts `reorder` nodes where such a region meets an nchw op or a
// graph output (and where an nchw value feeds it). The graph input and outputs stay nchw.
// Every BiSeNet op has a blocked kernel, so a whole network is one region whose only
// reorders are at its edges.
//
// Which nodes: a dense (groups 1) conv2d / fused_conv of a chosen kind whose input and output
// channels are multiples of c starts or extends a region. At a region's edge a conv changes
// layout itself (its `layout` attribute): a stem with fewer input channels than c reads the
// image pixel-major (one nchw{IC}c reorder shared by every stem) and writes blocked; a
// classifier whose output channels are not whole blocks reads blocked and writes nchw. The
// other ops join a region when one of their operands is already blocked: depthwise and
// channel-multiplier convs, pooling, channel concat, elementwise ops, add / mul by a
// per-channel [N,C,1,1] vector, resizes and the fused gates (ir/layout_rules.cpp's
// blockedUnsupported() decides which ops and shapes). Alone they gain nothing: a region
// started at one of them would only move the reorder from its output to its input, which
// for a stride-2 window is 4x larger. Greedy joining can still pick the costlier side for a
// node between an nchw and a blocked neighbour, so the choice is then refined: a joinable
// node switches layout while that lowers the bytes reordered around it (refine()). Conv
// kinds: pointwise (1x1), strided (stride > 1, kernel > 1), winograd (3x3 stride 1
// undilated), other.
//
// Options: block=<c> (lanes of the target's vectors: 8 AVX2, 16 AVX-512, 4 NEON; default 16
// in bisc-opt, the target's lanes in bisc compile),
// convs=<kind>+<kind>... (default all), e.g.
// --passes=blocked-layout{block=8,convs=pointwise+strided} (quote it in a shell: braces).
// If the graph's memory was already planned, it is planned again (reorders are new values).
#include "passes/passes.h"

#include "ir/error.h"
#include "ir/layout_rules.h"

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
    blockedNodes_ = reorders_ = edgeConvs_ = 0;
    bool planned = false;
    for (const auto &node : graph.nodes()) planned |= node->result->arenaOffset >= 0;
    Placements placements = choosePlacements(graph);
    if (placements.empty()) return false;
    rewrite(graph, placements);
    inferShapes(graph);
    if (planned) planMemory(graph);
    return true;
  }

  std::vector<std::pair<std::string, std::string>> statistics() const override {
    return {{"blocked-nodes", std::to_string(blockedNodes_)},
            {"edge-convs", std::to_string(edgeConvs_)},
            {"reorders", std::to_string(reorders_)}};
  }

private:
  /// How a chosen node meets the blocked layout: everything blocked, or a conv at a region's
  /// edge: a stem, whose few input channels (fewer than c) it reads pixel-major (nchw{IC}c, one
  /// reorder of the image that every stem shares), or a classifier, whose output channels are
  /// not whole blocks, reading blocked and writing nchw.
  enum class Placement { Blocked, ReadsPixelMajor, WritesNchw };
  using Placements = std::unordered_map<const Node *, Placement>;

  static bool resultBlocked(const Placements &placements, const Node *node) {
    auto found = placements.find(node);
    return found != placements.end() && found->second != Placement::WritesNchw;
  }
  /// Whether `user` reads `value` blocked: a stem reads its image pixel-major, but a residual
  /// blocked.
  static bool readsBlocked(const Placements &placements, const Node *user, const Value *value) {
    auto found = placements.find(user);
    if (found == placements.end()) return false;
    return found->second != Placement::ReadsPixelMajor || user->inputs[0] != value;
  }

  bool channelsFit(const Value *value) const {
    const Shape &shape = value->type.shape;
    return value->type.dtype == DType::f32 && shape.size() == 4 && shape[1] % block_ == 0;
  }

  /// A dense conv of a chosen kind (channel counts aside).
  bool denseConvChosen(const Node &node) const {
    return isConv(node) && node.attrInt("groups") == 1 && node.result->type.shape.size() == 4 &&
           (convKinds_ & convKind(node));
  }

  /// A dense conv of a chosen kind: it starts a region or extends one.
  bool convFits(const Node &node) const {
    return denseConvChosen(node) && channelsFit(node.inputs[0]) && channelsFit(node.result);
  }

  /// A dense conv with fewer input channels than a block (a stem): it starts a region.
  bool readsPixelMajor(const Node &node) const {
    const Shape &x = node.inputs[0]->type.shape;
    return denseConvChosen(node) && x.size() == 4 && x[1] < block_ && channelsFit(node.result);
  }

  /// A dense conv with a blocked input whose output channels are not whole blocks: it
  /// writes nchw itself instead of a reorder reading its input. Without a residual (the
  /// kernel has no nchw residual).
  bool writesNchw(const Node &node, const Placements &placements) const {
    if (!denseConvChosen(node) || channelsFit(node.result) || !channelsFit(node.inputs[0])) return false;
    if (node.inputs.size() > 3 && node.inputs[3]) return false;
    const Node *producer = node.inputs[0]->producer;
    return producer && resultBlocked(placements, producer);
  }

  /// A node with a blocked kernel that is not a dense conv: it may join a region.
  bool canJoin(const Node &node) const {
    if (isConv(node) && node.attrInt("groups") == 1) return false;
    if (!blockedUnsupported(node, block_).empty() || !channelsFit(node.result)) return false;
    for (const Value *input : node.inputs)
      if (input && input->kind != ValueKind::Weight && !channelsFit(input)) return false;
    return true;
  }

  bool joinsRegion(const Node &node, const Placements &placements) const {
    if (!canJoin(node)) return false;
    for (const Value *input : node.inputs)
      if (input && input->producer && resultBlocked(placements, input->producer)) return true;
    return false;
  }

  Placements choosePlacements(const Graph &graph) const {
    Placements placements;
    for (const auto &node : graph.nodes()) {
      if (node->result->type.blocked()) fail("node %{} is already blocked; run blocked-layout once", node->name());
      if (convFits(*node) || joinsRegion(*node, placements)) placements[node.get()] = Placement::Blocked;
      else if (readsPixelMajor(*node)) placements[node.get()] = Placement::ReadsPixelMajor;
      else if (writesNchw(*node, placements)) placements[node.get()] = Placement::WritesNchw;
    }
    refine(graph, placements);
    // Edge convs without a blocked neighbour on their blocked side stay plain: a stem whose
    // users all read nchw, or a classifier whose producer refine() moved back to nchw.
    for (const auto &node : graph.nodes()) {
      auto found = placements.find(node.get());
      if (found == placements.end() || found->second == Placement::Blocked) continue;
      bool neighbour = false;
      if (found->second == Placement::WritesNchw) {
        const Node *producer = node->inputs[0]->producer;
        neighbour = producer && resultBlocked(placements, producer);
      } else {
        for (const Node *user : graph.users(node->result)) neighbour |= readsBlocked(placements, user, node->result);
      }
      if (!neighbour) placements.erase(found);
    }
    return placements;
  }

  /// Bytes of `value` reordered: one copy in the other layout if a user (or, for a blocked
  /// value, the graph output) needs it.
  int64_t reorderBytes(const Graph &graph, const Value *value, const Placements &placements) const {
    if (!value || value->kind == ValueKind::Weight) return 0;
    bool isBlocked = value->producer && resultBlocked(placements, value->producer);
    bool otherNeeded = false;
    for (const Node *user : graph.users(value)) otherNeeded |= readsBlocked(placements, user, value) != isBlocked;
    for (const GraphOutput &out : graph.outputs()) otherNeeded |= isBlocked && out.value == value;
    return otherNeeded ? value->type.bytes() : 0;
  }

  /// Reordered bytes of `node`'s operands and result: all that its own layout changes.
  int64_t bytesAround(const Graph &graph, const Node &node, const Placements &placements) const {
    std::set<const Value *> values(node.inputs.begin(), node.inputs.end());
    values.insert(node.result);
    int64_t bytes = 0;
    for (const Value *value : values) bytes += reorderBytes(graph, value, placements);
    return bytes;
  }

  /// The greedy choice can leave a joinable node in the layout that reorders more: an add
  /// joining for one blocked operand while its other operand and its user are nchw, or a
  /// depthwise conv left nchw although its input already has a blocked copy and its users are
  /// blocked. Each node whose other layout reorders fewer bytes around it switches, until
  /// none does; every switch lowers the graph's total, so this ends.
  void refine(const Graph &graph, Placements &placements) const {
    auto toggle = [&](const Node *node) {
      if (!placements.erase(node)) placements[node] = Placement::Blocked;
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (const auto &node : graph.nodes()) {
        if (!canJoin(*node)) continue;
        int64_t before = bytesAround(graph, *node, placements);
        toggle(node.get());
        if (bytesAround(graph, *node, placements) < before) changed = true;
        else toggle(node.get());
      }
    }
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

  void rewrite(Graph &graph, const Placements &placements) {
    std::vector<Node *> order;
    for (const auto &node : graph.nodes()) order.push_back(node.get());
    std::unordered_map<const Value *, Value *> blockedCopy, pixelMajorCopy;  // nchw value -> reorder
    for (Node *node : order) {
      auto found = placements.find(node);
      if (found == placements.end()) continue;
      if (found->second != Placement::Blocked) {
        ++edgeConvs_;
        node->setAttr("layout", layoutName(found->second == Placement::ReadsPixelMajor ? block_ : 0));
        if (found->second == Placement::WritesNchw) continue;  // its input is blocked already
      }
      ++blockedNodes_;
      for (size_t i = 0; i < node->inputs.size(); ++i) {
        Value *&input = node->inputs[i];
        if (!input || input->kind == ValueKind::Weight) continue;
        if (found->second == Placement::ReadsPixelMajor && i == 0) {
          Value *&copy = pixelMajorCopy[input];
          if (!copy) copy = addReorder(graph, input, input->type.shape[1], node);
          input = copy;
          continue;
        }
        if (input->producer && resultBlocked(placements, input->producer)) continue;
        Value *&copy = blockedCopy[input];
        if (!copy) copy = addReorder(graph, input, block_, node);
        input = copy;
      }
      node->result->type.channelBlock = block_;
    }
    for (Node *node : order)
      if (resultBlocked(placements, node)) reorderUsesToNchw(graph, node->result, placements);
  }

  /// Nchw users and graph outputs of the blocked `value` read a reorder back to nchw.
  void reorderUsesToNchw(Graph &graph, Value *value, const Placements &placements) {
    std::vector<Node *> nchwUsers;
    for (Node *user : graph.users(value))
      if (!readsBlocked(placements, user, value) && user->op != OpId::reorder) nchwUsers.push_back(user);
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
  int convKinds_ = Pointwise | Strided | WinogradShaped | OtherConv;
  int blockedNodes_ = 0, reorders_ = 0, edgeConvs_ = 0;
};

} // namespace

std::unique_ptr<Pass> createBlockedLayoutPass() { return std::make_unique<BlockedLayout>(); }

} // namespace bisc
