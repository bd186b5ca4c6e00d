//===- interpreter.cpp - Driver of the reference interpreter and dispatch --===//
//
// interpret() checks the inputs and weights, works out which nodes the requested outputs
// need, runs those nodes in graph order through the op table and frees each intermediate
// tensor after its last reader, so a whole model at full resolution fits in memory.
#include "ir/interpreter/interpreter.h"

#include "ir/error.h"
#include "ir/interpreter/kernels.h"
#include "ir/shape_rules.h"

#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace bisc {

Kernel interpreterKernel(OpId op) {
  static const Kernel kernels[] = {
#define BISC_OP(id, ...) &interp::eval_##id,
#include "ir/ops.def"
  };
  return kernels[size_t(op)];
}

namespace {

void checkInputs(const Graph &graph, std::span<const Tensor> inputs) {
  if (inputs.size() != graph.inputs().size())
    fail("graph '{}' has {} inputs but {} tensors were given", graph.name(),
         graph.inputs().size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value &input = *graph.inputs()[i];
    if (inputs[i].type() != input.type)
      fail("input '{}' must be {}, got {}", input.name, toString(input.type),
           toString(inputs[i].type()));
  }
}

/// Values the selected outputs depend on, found by walking the nodes backwards.
std::unordered_set<const Value *> neededValues(const Graph &graph, bool trainingOutputs) {
  std::unordered_set<const Value *> needed;
  for (const GraphOutput &output : graph.outputs())
    if (trainingOutputs || !output.trainingOnly) needed.insert(output.value);
  const auto &nodes = graph.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it)
    if (needed.count((*it)->result))
      for (const Value *input : (*it)->inputs) needed.insert(input);
  return needed;
}

void checkWeight(const Value &weight) {
  if (!weight.data) fail("weight '{}' has no data", weight.name);
  if (weight.data->type() != weight.type)
    fail("weight '{}' is declared {} but its data is {}", weight.name, toString(weight.type),
         toString(weight.data->type()));
}

/// The tensors of one run: graph inputs and weights are borrowed, node results owned.
class Environment {
public:
  Environment(const Graph &graph, std::span<const Tensor> inputs) {
    for (size_t i = 0; i < inputs.size(); ++i) borrowed_[graph.inputs()[i]] = &inputs[i];
  }

  const Tensor &get(const Value *value) {
    if (value->kind == ValueKind::Weight) return *value->data;
    if (value->kind == ValueKind::Input) return *borrowed_.at(value);
    return results_.at(value);
  }
  Tensor &create(const Value *value) {
    return results_.insert_or_assign(value, Tensor(value->type)).first->second;
  }
  void release(const Value *value) { results_.erase(value); }

private:
  std::unordered_map<const Value *, const Tensor *> borrowed_;
  std::unordered_map<const Value *, Tensor> results_;
};

/// Runs one node's kernel. The result type is re-derived first: a graph edited without
/// inferShapes() would otherwise make a kernel write past its result.
void runNode(const Node &node, Environment &env, const InterpretOptions &options) {
  TensorType expected = shapeRule(node.op)(node);
  if (expected != node.result->type)
    fail("node '{}' ({}): result type {} is stale, its op rule gives {}", node.name(),
         node.info().name, toString(node.result->type), toString(expected));
  std::vector<const Tensor *> operands;
  for (const Value *input : node.inputs) operands.push_back(&env.get(input));
  if (options.beforeNode) options.beforeNode(node, operands);
  Tensor &result = env.create(node.result);
  interpreterKernel(node.op)(node, operands, result);
  if (options.afterNode) options.afterNode(node, result);
}

} // namespace

std::vector<Tensor> interpret(const Graph &graph, std::span<const Tensor> inputs,
                              const InterpretOptions &options) {
  checkInputs(graph, inputs);
  std::unordered_set<const Value *> needed = neededValues(graph, options.trainingOutputs);

  // Index of the last node reading each result; outputs are read "after the last node".
  std::vector<const Node *> schedule;
  std::unordered_map<const Value *, size_t> lastUse;
  for (const auto &node : graph.nodes()) {
    if (!needed.count(node->result)) continue;
    for (const Value *input : node->inputs) lastUse[input] = schedule.size();
    schedule.push_back(node.get());
  }
  for (const Value *weight : graph.weights())
    if (needed.count(weight)) checkWeight(*weight);
  for (const GraphOutput &output : graph.outputs())
    lastUse[output.value] = std::numeric_limits<size_t>::max();

  Environment env(graph, inputs);
  for (size_t step = 0; step < schedule.size(); ++step) {
    runNode(*schedule[step], env, options);
    for (const Value *input : schedule[step]->inputs)
      if (input->kind == ValueKind::Result && lastUse[input] == step) env.release(input);
  }

  std::vector<Tensor> outputs;
  for (const GraphOutput &output : graph.outputs()) {
    bool wanted = options.trainingOutputs || !output.trainingOnly;
    outputs.push_back(wanted ? env.get(output.value) : Tensor());
  }
  return outputs;
}

} // namespace bisc
