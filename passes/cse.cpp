//===- cse.cpp - Common subexpressions: one node per (op, operands, attrs) ===//
//
// What: nodes are pure, so two nodes with the same op, the same operand values and equal
// attributes compute the same tensor; the later one is replaced by the earlier. add and
// mul are commutative (IEEE a+b == b+a), so their operands are compared as a set. Visiting
// in graph order makes chains collapse in one sweep (once the operands are merged, their
// users become equal too). fused_from is provenance only and is ignored.
// Preconditions: none.
#include "passes/passes.h"
#include "passes/rewrite.h"

#include "ir/printer.h"

#include <unordered_map>

namespace bisc {

namespace {

/// The node's identity without its name: op, operand names, attributes.
std::string keyOf(const Node &node) {
  std::vector<std::string> operands;
  for (const Value *input : node.inputs) operands.push_back(input->name);
  if ((node.op == OpId::add || node.op == OpId::mul) && operands[1] < operands[0])
    std::swap(operands[0], operands[1]);
  std::string key(node.info().name);
  for (const std::string &name : operands) key += "|" + name;
  const OpInfo &info = node.info();
  for (size_t i = 0; i < info.attrs.size(); ++i)
    if (std::string_view(info.attrs[i].name) != "fused_from")
      key += "|" + printAttr(node.attrs[i]);
  return key;
}

class Cse : public Pass {
public:
  std::string name() const override { return "cse"; }
  bool run(Graph &graph) override {
    std::unordered_map<std::string, Value *> seen;
    merged_ = rewrite::forEachNode(graph, [&](Node &node) {
      auto [it, inserted] = seen.try_emplace(keyOf(node), node.result);
      if (inserted) return false;
      graph.replaceAllUses(node.result, it->second);
      graph.eraseNode(&node);
      return true;
    });
    return merged_ > 0;
  }
  std::vector<std::pair<std::string, std::string>> statistics() const override {
    return {{"merged", std::to_string(merged_)}};
  }

private:
  int merged_ = 0;
};

} // namespace

std::unique_ptr<Pass> createCsePass() { return std::make_unique<Cse>(); }

} // namespace bisc
