//===- drop_aux_heads.cpp - Remove training-only outputs and their heads --===//
//
// What: erases every output marked [training_only] (the Booster / aux heads), then every
// node and weight only those outputs used. Preconditions: none. After it, the graph
// computes the inference outputs only.
#include "passes/passes.h"

namespace bisc {

namespace {

class DropAuxHeads : public Pass {
public:
  std::string name() const override { return "drop-aux-heads"; }
  bool run(Graph &graph) override {
    size_t before = graph.outputs().size();
    std::erase_if(graph.outputs(), [](const GraphOutput &out) { return out.trainingOnly; });
    dropped_ = int(before - graph.outputs().size());
    if (dropped_ == 0) return false;
    nodes_ = eliminateDeadCode(graph);
    graph.eraseUnusedWeights();
    return true;
  }
  std::vector<std::pair<std::string, std::string>> statistics() const override {
    return {{"outputs-dropped", std::to_string(dropped_)},
            {"nodes-erased", std::to_string(nodes_)}};
  }

private:
  int dropped_ = 0, nodes_ = 0;
};

} // namespace

std::unique_ptr<Pass> createDropAuxHeadsPass() { return std::make_unique<DropAuxHeads>(); }

} // namespace bisc
