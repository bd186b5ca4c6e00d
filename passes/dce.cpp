//===- dce.cpp - Dead code: nodes no graph output needs, unused weights ---===//
//
// What: walks the nodes backwards from the graph outputs (training-only ones included;
// drop-aux-heads removes those first), erases every node no output needs, then every
// weight no node reads. Graph inputs are kept even if unused (they are the API).
// Preconditions: none.
#include "passes/passes.h"

#include <unordered_set>

namespace bisc {

int eliminateDeadCode(Graph &graph) {
  std::unordered_set<const Value *> needed;
  for (const GraphOutput &out : graph.outputs()) needed.insert(out.value);
  std::vector<Node *> dead;
  const auto &nodes = graph.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    if (!needed.count((*it)->result)) {
      dead.push_back(it->get());  // latest first, so each is unused when erased
      continue;
    }
    for (const Value *input : (*it)->inputs) needed.insert(input);
  }
  for (Node *node : dead) graph.eraseNode(node);
  return int(dead.size());
}

namespace {

class Dce : public Pass {
public:
  std::string name() const override { return "dce"; }
  bool run(Graph &graph) override {
    size_t weights = graph.weights().size();
    erased_ = eliminateDeadCode(graph);
    graph.eraseUnusedWeights();
    weightsErased_ = int(weights - graph.weights().size());
    return erased_ > 0 || weightsErased_ > 0;
  }
  std::vector<std::pair<std::string, std::string>> statistics() const override {
    return {{"nodes-erased", std::to_string(erased_)},
            {"weights-erased", std::to_string(weightsErased_)}};
  }

private:
  int erased_ = 0, weightsErased_ = 0;
};

} // namespace

std::unique_ptr<Pass> createDcePass() { return std::make_unique<Dce>(); }

} // namespace bisc
