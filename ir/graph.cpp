//===- graph.cpp - Graph, Node and Value ----------------------------------===//
#include "ir/graph.h"

#include "ir/error.h"

#include <algorithm>

namespace bisc {

//===- Node attributes ------------------------------------------------------===//

namespace {

const Attribute &attrOrFail(const Node &node, std::string_view name) {
  int index = node.info().attrIndex(name);
  if (index < 0) fail("op {} has no attribute '{}'", node.info().name, name);
  return node.attrs[size_t(index)];
}

template <typename T> const T &getAs(const Node &node, std::string_view name) {
  const T *value = std::get_if<T>(&attrOrFail(node, name));
  if (!value) fail("node '{}': attribute '{}' is absent or of another type", node.name(), name);
  return *value;
}

} // namespace

bool Node::hasAttr(std::string_view name) const {
  return !std::holds_alternative<std::monostate>(attrOrFail(*this, name));
}
const Attribute &Node::attr(std::string_view name) const { return attrOrFail(*this, name); }
int64_t Node::attrInt(std::string_view name) const { return getAs<int64_t>(*this, name); }
double Node::attrFloat(std::string_view name) const { return getAs<double>(*this, name); }
bool Node::attrBool(std::string_view name) const { return getAs<bool>(*this, name); }
const std::vector<int64_t> &Node::attrInts(std::string_view name) const {
  return getAs<std::vector<int64_t>>(*this, name);
}
const std::vector<double> &Node::attrFloats(std::string_view name) const {
  return getAs<std::vector<double>>(*this, name);
}
const std::string &Node::attrString(std::string_view name) const {
  return getAs<std::string>(*this, name);
}
void Node::setAttr(std::string_view name, Attribute value) {
  int index = info().attrIndex(name);
  if (index < 0) fail("op {} has no attribute '{}'", info().name, name);
  attrs[size_t(index)] = std::move(value);
}

//===- Graph -----------------------------------------------------------------===//

Value *Graph::newValue(const std::string &name, ValueKind kind, TensorType type) {
  if (name.empty()) fail("graph '{}': empty value name", name_);
  auto [it, inserted] = values_.try_emplace(name);
  if (!inserted) fail("graph '{}': duplicate name '{}'", name_, name);
  it->second = std::make_unique<Value>();
  it->second->name = name;
  it->second->kind = kind;
  it->second->type = std::move(type);
  return it->second.get();
}

Value *Graph::addInput(const std::string &name, TensorType type) {
  Value *value = newValue(name, ValueKind::Input, std::move(type));
  inputs_.push_back(value);
  return value;
}

Value *Graph::addWeight(const std::string &name, TensorType type) {
  Value *value = newValue(name, ValueKind::Weight, std::move(type));
  weights_.push_back(value);
  return value;
}

Node *Graph::addNode(OpId op, const std::string &name, std::vector<Value *> inputs,
                     const std::vector<std::pair<std::string, Attribute>> &attrs,
                     Node *before) {
  const OpInfo &info = opInfo(op);
  auto node = std::make_unique<Node>();
  node->op = op;
  node->inputs = std::move(inputs);
  node->attrs = info.defaults;
  for (const auto &[attrName, value] : attrs) {
    int index = info.attrIndex(attrName);
    if (index < 0) fail("node '{}': op {} has no attribute '{}'", name, info.name, attrName);
    node->attrs[size_t(index)] = value;
  }
  node->result = newValue(name, ValueKind::Result, TensorType{});
  node->result->producer = node.get();
  auto at = nodes_.end();
  if (before)
    at = std::find_if(nodes_.begin(), nodes_.end(), [&](auto &n) { return n.get() == before; });
  return nodes_.insert(at, std::move(node))->get();
}

void Graph::addOutput(const std::string &name, Value *value, bool trainingOnly) {
  for (const GraphOutput &out : outputs_)
    if (out.name == name) fail("graph '{}': duplicate output name '{}'", name_, name);
  outputs_.push_back({name, value, trainingOnly});
}

Value *Graph::find(std::string_view name) const {
  auto it = values_.find(std::string(name));
  return it == values_.end() ? nullptr : it->second.get();
}

std::vector<Node *> Graph::users(const Value *value) const {
  std::vector<Node *> result;
  for (const auto &node : nodes_)
    if (std::find(node->inputs.begin(), node->inputs.end(), value) != node->inputs.end())
      result.push_back(node.get());
  return result;
}

void Graph::replaceAllUses(Value *from, Value *to) {
  for (auto &node : nodes_)
    std::replace(node->inputs.begin(), node->inputs.end(), from, to);
  for (GraphOutput &out : outputs_)
    if (out.value == from) out.value = to;
}

void Graph::eraseNode(Node *node) {
  if (!users(node->result).empty()) fail("cannot erase '{}': it still has users", node->name());
  for (const GraphOutput &out : outputs_)
    if (out.value == node->result) fail("cannot erase '{}': it is a graph output", node->name());
  std::string name = node->name();
  std::erase_if(nodes_, [&](auto &n) { return n.get() == node; });
  values_.erase(name);
}

void Graph::eraseUnusedWeights() {
  std::erase_if(weights_, [&](Value *weight) {
    if (!users(weight).empty()) return false;
    values_.erase(weight->name);
    return true;
  });
}

std::string Graph::uniqueName(const std::string &base) const {
  if (!find(base)) return base;
  for (int i = 1;; ++i) {
    std::string candidate = base + "." + std::to_string(i);
    if (!find(candidate)) return candidate;
  }
}

void setInputShape(Graph &graph, const Shape &shape) {
  if (graph.inputs().size() != 1)
    fail("--input-shape needs a graph with one input; '{}' has {}", graph.name(),
         graph.inputs().size());
  Value *input = graph.inputs()[0];
  if (shape.size() != input->type.shape.size())
    fail("--input-shape {}: input '{}' has rank {}", shapeToString(shape), input->name,
         input->type.shape.size());
  input->type.shape = shape;
  inferShapes(graph);
}

} // namespace bisc
