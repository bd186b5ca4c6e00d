//===- canonicalize.cpp - Trivial rewrites that simplify matching ---------===//
//
// What: (1) dropout is removed (identity at inference); (2) identity resizes are removed:
// scale [1,1], or a `like` resize whose output has the input's H,W (both resize kernels
// copy such an axis unchanged); (3) add/mul reading resize(b) where b is 1x1 spatially
// reads b directly: resizing a 1x1 plane gives a constant plane, which is what broadcasting
// does (TorchSeg's `interpolate(global_context, size=...)`), saving a full-size tensor;
// (4) a concat of one input is removed.
// Preconditions: none. Shapes are those of the current input shape, like every pass.
#include "passes/passes.h"
#include "passes/rewrite.h"

namespace bisc {

namespace {

using namespace rewrite;

bool isIdentityResize(const Node &node) {
  if (node.op != OpId::resize) return false;
  if (node.hasAttr("scale")) return node.attrFloats("scale") == std::vector<double>{1.0, 1.0};
  return node.result->type.shape == node.inputs[0]->type.shape;
}

/// Replaces the node's value by its first operand and erases it.
void bypass(Graph &graph, Node &node) {
  graph.replaceAllUses(node.result, node.inputs[0]);
  graph.eraseNode(&node);
}

/// add/mul(a, resize(b)) with b of H=W=1 -> add/mul(a, b), if the result keeps its shape.
bool readThroughBroadcast(Graph &graph, Node &node) {
  if (node.op != OpId::add && node.op != OpId::mul) return false;
  for (size_t i = 0; i < 2; ++i) {
    Node *resize = producer(node.inputs[i], OpId::resize);
    if (!resize) continue;
    const Shape &small = resize->inputs[0]->type.shape;
    if (small.size() != 4 || small[2] != 1 || small[3] != 1) continue;
    if (node.inputs[1 - i]->type.shape != node.result->type.shape) continue;
    node.inputs[i] = resize->inputs[0];
    if (useCount(graph, resize->result) == 0) graph.eraseNode(resize);
    return true;
  }
  return false;
}

class Canonicalize : public Pass {
public:
  std::string name() const override { return "canonicalize"; }

  bool run(Graph &graph) override {
    removed_ = broadcasts_ = 0;
    int changes = forEachNode(graph, [&](Node &node) {
      bool trivial = node.op == OpId::dropout || isIdentityResize(node) ||
                     (node.op == OpId::concat && node.inputs.size() == 1);
      if (trivial) {
        bypass(graph, node);
        ++removed_;
        return true;
      }
      bool rewritten = readThroughBroadcast(graph, node);
      broadcasts_ += rewritten;
      return rewritten;
    });
    return changes > 0;
  }

  std::vector<std::pair<std::string, std::string>> statistics() const override {
    return {{"removed", std::to_string(removed_)},
            {"broadcast-resizes", std::to_string(broadcasts_)}};
  }

private:
  int removed_ = 0, broadcasts_ = 0;
};

} // namespace

std::unique_ptr<Pass> createCanonicalizePass() { return std::make_unique<Canonicalize>(); }

} // namespace bisc
