//===- verifier.cpp - Checks a graph and re-derives its types -------------===//
#include "ir/verifier.h"

#include "ir/error.h"
#include "ir/shape_rules.h"

#include <fmt/format.h>

#include <unordered_set>

namespace bisc {

namespace {

std::string where(const Node &node) {
  return fmt::format("node %{} ({})", node.name(), node.info().name);
}

/// Arity, operand order and attribute types: what must hold before a shape rule may run.
void checkStructure(const Node &node, const std::unordered_set<const Value *> &defined,
                    std::vector<std::string> &problems) {
  const OpInfo &info = node.info();
  size_t n = node.inputs.size();
  if (n < info.minInputs() || n > info.maxInputs()) {
    std::string expected = info.maxInputs() == SIZE_MAX ? fmt::format("at least {}", info.minInputs())
                           : info.minInputs() == info.maxInputs() ? fmt::format("{}", info.minInputs())
                           : fmt::format("{} to {}", info.minInputs(), info.maxInputs());
    problems.push_back(fmt::format("{}: takes {} operands, got {}", where(node), expected, n));
  }
  for (size_t i = 0; i < n; ++i) {
    const Value *input = node.inputs[i];
    if (!input)
      problems.push_back(fmt::format("{}: operand {} is missing", where(node), i));
    else if (!defined.count(input))
      problems.push_back(fmt::format("{}: operand {} (%{}) is not defined before this node "
                                     "(dangling value or cycle)",
                                     where(node), info.operandName(i), input->name));
  }
  if (node.attrs.size() != info.attrs.size()) {
    problems.push_back(fmt::format("{}: has {} attribute slots, the op declares {}", where(node),
                                   node.attrs.size(), info.attrs.size()));
    return;
  }
  for (size_t i = 0; i < info.attrs.size(); ++i) {
    const AttrSpec &spec = info.attrs[i];
    const Attribute &value = node.attrs[i];
    if (std::holds_alternative<std::monostate>(value)) {
      if (spec.required())
        problems.push_back(fmt::format("{}: missing required attribute {}", where(node), spec.name));
    } else if (!attrHasType(value, spec.type)) {
      problems.push_back(fmt::format("{}: attribute {} must be a {}, got {}", where(node),
                                     spec.name, attrTypeName(spec.type), printAttr(value)));
    }
  }
}

void checkInputsAndWeights(const Graph &graph, std::vector<std::string> &problems) {
  for (const Value *value : graph.inputs())
    for (int64_t d : value->type.shape)
      if (d < 1)
        problems.push_back(fmt::format("input %{}: shape {} has a dimension < 1", value->name,
                                       shapeToString(value->type.shape)));
  for (const Value *value : graph.inputs())
    if (value->type.blocked())
      problems.push_back(fmt::format("input %{}: graph inputs are nchw (the API takes NCHW images), got {}",
                                     value->name, toString(value->type)));
  for (const Value *weight : graph.weights())
    if (weight->type.blocked())
      problems.push_back(fmt::format("weight @{}: weights keep their logical layout, got {}", weight->name,
                                     toString(weight->type)));
  for (const Value *weight : graph.weights())
    if (weight->data && weight->data->type() != weight->type)
      problems.push_back(fmt::format("weight @{}: declared {} but its data is {}", weight->name,
                                     toString(weight->type), toString(weight->data->type())));
}

} // namespace

std::vector<std::string> verify(Graph &graph) {
  std::vector<std::string> problems;
  checkInputsAndWeights(graph, problems);
  std::unordered_set<const Value *> defined(graph.inputs().begin(), graph.inputs().end());
  defined.insert(graph.weights().begin(), graph.weights().end());
  // Values whose type could not be derived; their users are skipped, not re-reported.
  std::unordered_set<const Value *> broken;
  for (const auto &node : graph.nodes()) {
    size_t before = problems.size();
    checkStructure(*node, defined, problems);
    bool operandsBroken = false;
    for (const Value *input : node->inputs) operandsBroken |= broken.count(input) > 0;
    if (problems.size() == before && !operandsBroken) {
      try {
        node->result->type = shapeRule(node->op)(*node);
      } catch (const Error &e) {
        problems.push_back(fmt::format("{}: {}", where(*node), e.what()));
      }
    }
    if (problems.size() != before || operandsBroken) broken.insert(node->result);
    defined.insert(node->result);
  }
  if (graph.outputs().empty()) problems.push_back(fmt::format("graph @{}: has no outputs", graph.name()));
  for (const GraphOutput &out : graph.outputs())
    if (!out.value || !defined.count(out.value))
      problems.push_back(fmt::format("graph @{}: output '{}' refers to no defined value",
                                     graph.name(), out.name));
    else if (out.value->type.blocked())
      problems.push_back(fmt::format("graph @{}: output '{}' is {}; outputs are nchw (reorder it first)",
                                     graph.name(), out.name, toString(out.value->type)));
  return problems;
}

void verifyOrThrow(Graph &graph) {
  std::vector<std::string> problems = verify(graph);
  if (problems.empty()) return;
  std::string text = problems.front();
  for (size_t i = 1; i < problems.size(); ++i) text += "\n" + problems[i];
  throw Error(text);
}

void inferShapes(Graph &graph) { verifyOrThrow(graph); }

} // namespace bisc
