//===- graph.h - Graph, Node and Value: the tensor IR ---------------------===//
//
// A Graph holds named inputs, weights (constants) and nodes in topological order. Every
// node produces exactly one Value, named like the node. Value types are derived: a graph
// records only its input types, and inferShapes() recomputes every other type from the op
// rules, so the same graph serves any resolution or batch.
#pragma once

#include "ir/attributes.h"
#include "ir/op_info.h"
#include "ir/tensor.h"
#include "ir/types.h"

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bisc {

struct Node;

enum class ValueKind { Input, Weight, Result };

struct Value {
  std::string name;
  ValueKind kind = ValueKind::Result;
  TensorType type;
  Node *producer = nullptr;            ///< for results
  std::shared_ptr<const Tensor> data;  ///< for weights, once loaded
  /// Byte offset in the activation arena, set by the plan-memory pass; -1 when unplanned.
  int64_t arenaOffset = -1;
};

struct Node {
  OpId op;
  std::vector<Value *> inputs;
  Value *result = nullptr;
  std::vector<Attribute> attrs;  ///< one per attribute of opInfo(op), defaults filled in

  const OpInfo &info() const { return opInfo(op); }
  const std::string &name() const { return result->name; }

  bool hasAttr(std::string_view name) const;
  const Attribute &attr(std::string_view name) const;
  int64_t attrInt(std::string_view name) const;
  double attrFloat(std::string_view name) const;
  bool attrBool(std::string_view name) const;
  const std::vector<int64_t> &attrInts(std::string_view name) const;
  const std::vector<double> &attrFloats(std::string_view name) const;
  const std::string &attrString(std::string_view name) const;
  void setAttr(std::string_view name, Attribute value);
};

/// A named graph output. Training-only outputs (auxiliary / Booster heads) are removed by
/// the drop-aux-heads pass.
struct GraphOutput {
  std::string name;
  Value *value = nullptr;
  bool trainingOnly = false;
};

class Graph {
public:
  explicit Graph(std::string name = "graph") : name_(std::move(name)) {}
  Graph(const Graph &) = delete;
  Graph &operator=(const Graph &) = delete;

  const std::string &name() const { return name_; }

  /// Adders throw bisc::Error on a duplicate name.
  Value *addInput(const std::string &name, TensorType type);
  Value *addWeight(const std::string &name, TensorType type);
  /// Appends a node (or inserts it before `before`). `attrs` are given by name; absent ones
  /// take their defaults. Throws on an unknown attribute name; types are checked by verify().
  Node *addNode(OpId op, const std::string &name, std::vector<Value *> inputs,
                const std::vector<std::pair<std::string, Attribute>> &attrs = {},
                Node *before = nullptr);
  void addOutput(const std::string &name, Value *value, bool trainingOnly = false);

  const std::vector<Value *> &inputs() const { return inputs_; }
  const std::vector<Value *> &weights() const { return weights_; }
  const std::vector<std::unique_ptr<Node>> &nodes() const { return nodes_; }
  std::vector<GraphOutput> &outputs() { return outputs_; }
  const std::vector<GraphOutput> &outputs() const { return outputs_; }

  /// Value by name, or nullptr.
  Value *find(std::string_view name) const;
  /// Nodes that read `value`, in graph order.
  std::vector<Node *> users(const Value *value) const;
  /// Replaces every use of `from` (node operands and graph outputs) by `to`.
  void replaceAllUses(Value *from, Value *to);
  /// Removes a node; its result must be unused.
  void eraseNode(Node *node);
  /// Removes weights that no node reads.
  void eraseUnusedWeights();
  /// A name not yet used, built from `base`.
  std::string uniqueName(const std::string &base) const;

private:
  Value *newValue(const std::string &name, ValueKind kind, TensorType type);

  std::string name_;
  std::vector<Value *> inputs_;
  std::vector<Value *> weights_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<GraphOutput> outputs_;
  std::unordered_map<std::string, std::unique_ptr<Value>> values_;
};

/// Re-derives the type of every node result from the input types and the op rules
/// (shape_rules.cpp). Throws bisc::Error naming the first node whose operands do not fit.
void inferShapes(Graph &graph);

/// Sets the shape of the graph's (single) image input and re-infers every shape.
void setInputShape(Graph &graph, const Shape &shape);

} // namespace bisc
