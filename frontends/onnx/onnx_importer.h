//===- onnx_importer.h - State shared by the ONNX importer's op handlers ---===//
//
// The importer walks the ONNX nodes in order and keeps, for every ONNX tensor name, what it
// became (an Entry):
//   Runtime   an IR value, computed at run time;
//   Constant  a value known at import: an initializer, a Constant node or a folded size
//             computation; it becomes a graph weight only if a runtime op reads it;
//   Permuted  a Transpose of an IR value, kept pending because bisc has no transpose op:
//             Softmax / LogSoftmax / ArgMax read through it and a second Transpose undoes it;
//   Padded    a constant Pad of an IR value, pending until a pool or conv absorbs it.
// Each op handler (onnx_ops.cpp, onnx_fold.cpp, onnx_resize.cpp) reads its inputs' entries
// and defines its outputs' entries. A handler throws bisc::Error for its node; the importer
// adds the node's name, op type and opset and goes on, so one run reports every problem.
#pragma once

#include "frontends/onnx/onnx_import.h"

#include "ir/graph.h"
#include "ir/tensor.h"

#include <onnx/onnx_pb.h>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace bisc::onnx_import {

/// The size of axis `axis` of IR value `value`: where an element of a folded shape came from.
struct DimOrigin {
  Value *value = nullptr;
  int64_t axis = 0;
  bool operator==(const DimOrigin &) const = default;
};

/// A small tensor known at import time. Integers and floats are both held as doubles (exact
/// for sizes up to 2^53).
struct ConstTensor {
  bool isFloat = false;
  Shape dims;
  std::vector<double> values;
  /// Empty, or one entry per value: set for sizes read from a Shape node.
  std::vector<std::optional<DimOrigin>> origins;

  std::vector<int64_t> ints() const;
  std::optional<DimOrigin> origin(size_t i) const {
    return i < origins.size() ? origins[i] : std::nullopt;
  }
};

struct Runtime {
  Value *value = nullptr;
};
struct Constant {
  const onnx::TensorProto *proto = nullptr;  ///< an initializer, decoded on demand
  std::shared_ptr<const ConstTensor> folded;  ///< or a value folded at import
};
struct Permuted {
  Value *value = nullptr;
  std::vector<int64_t> perm;  ///< ONNX axis i is axis perm[i] of `value`
};
struct Padded {
  Value *value = nullptr;
  std::array<int64_t, 4> pads{};  ///< top, left, bottom, right
  double fill = 0;
  bool nonNegative = false;  ///< `value` comes from a Relu, so zero padding acts like -inf for max
};
using Entry = std::variant<Runtime, Constant, Permuted, Padded>;

class Importer;
using OpHandler = void (*)(Importer &, const onnx::NodeProto &);

/// op type -> handler, for the default domain (and CustomArgMax in any domain).
const std::map<std::string, OpHandler> &opHandlers();
void registerTensorOps(std::map<std::string, OpHandler> &table);  // onnx_ops.cpp
void registerFoldOps(std::map<std::string, OpHandler> &table);    // onnx_fold.cpp
void registerResizeOps(std::map<std::string, OpHandler> &table);  // onnx_resize.cpp

/// Add/Sub/Mul/Div and Concat whose inputs are all constants (onnx_fold.cpp).
void foldArithmetic(Importer &im, const onnx::NodeProto &node);
void foldConcat(Importer &im, const onnx::NodeProto &node);

/// TensorProto decoding (onnx_tensor.cpp). `baseDir` resolves external data files.
ConstTensor decodeConst(const onnx::TensorProto &proto, const std::string &baseDir);
Tensor decodeWeight(const onnx::TensorProto &proto, const std::string &baseDir);

// Attribute access with ONNX defaults; a wrong attribute type is an error.
const onnx::AttributeProto *findAttr(const onnx::NodeProto &node, const std::string &name);
int64_t attrInt(const onnx::NodeProto &node, const std::string &name, int64_t fallback);
float attrFloat(const onnx::NodeProto &node, const std::string &name, float fallback);
std::string attrString(const onnx::NodeProto &node, const std::string &name,
                       const std::string &fallback);
std::vector<int64_t> attrInts(const onnx::NodeProto &node, const std::string &name,
                              std::vector<int64_t> fallback = {});
std::vector<float> attrFloats(const onnx::NodeProto &node, const std::string &name);

class Importer {
public:
  /// `standard` is the model as the ONNX tools see it (CustomArgMax written as ArgMax); it
  /// is modified for the shape-inference cross-check.
  Importer(const onnx::ModelProto &model, onnx::ModelProto &standard, std::string file, int opset,
           std::optional<Shape> inputShape);

  std::unique_ptr<Graph> run();

  // --- for op handlers -------------------------------------------------------------------
  int opset() const { return opset_; }
  Graph &graph() { return *graph_; }

  /// Number of inputs actually given (trailing "" inputs are absent).
  size_t inputCount(const onnx::NodeProto &node) const;
  bool hasInput(const onnx::NodeProto &node, size_t i) const;
  const Entry &entry(const onnx::NodeProto &node, size_t i) const;
  /// Input i as an IR value: a runtime tensor, or a constant turned into a graph weight.
  /// Pending Transposes and Pads are errors here.
  Value *runtime(const onnx::NodeProto &node, size_t i, const std::string &operandName);
  /// Input i as a value known at import, or an error saying it is computed at run time.
  const ConstTensor &constant(const onnx::NodeProto &node, size_t i);
  bool isConstant(const onnx::NodeProto &node, size_t i) const;

  void define(const onnx::NodeProto &node, size_t output, Entry entry);
  /// Adds an IR node named after the ONNX node, infers its type and defines output 0.
  Value *emit(const onnx::NodeProto &node, OpId op, std::vector<Value *> inputs,
              const std::vector<std::pair<std::string, Attribute>> &attrs = {});
  /// Extra outputs (BN statistics, MaxPool indices, Dropout mask) must not be used.
  void expectUnusedOutputsFrom(const onnx::NodeProto &node, size_t first);
  /// True when output `i` feeds nothing but graph outputs.
  bool onlyGraphOutput(const onnx::NodeProto &node, size_t i) const;

private:
  void checkInputsAndInitializers();
  void addGraphInputs();
  void lowerNodes();
  void addGraphOutputs();
  void crossCheckShapes();
  void verifyGraph();
  std::string irName(const std::string &base) const;
  Value *materialize(const Constant &constant, const std::string &tensorName,
                     const onnx::NodeProto &node, const std::string &operandName);
  const ConstTensor &constOf(const Constant &constant, const std::string &tensorName);

  const onnx::ModelProto &model_;
  onnx::ModelProto &standard_;
  std::string file_, baseDir_;
  int opset_;
  std::optional<Shape> inputShape_;
  std::unique_ptr<Graph> graph_;
  std::unordered_map<std::string, Entry> entries_;
  std::unordered_map<std::string, std::shared_ptr<const ConstTensor>> decoded_;
  std::unordered_map<std::string, Value *> weights_;  ///< constant name -> its graph weight
  std::unordered_map<std::string, size_t> useCounts_, graphOutputUses_;
  std::vector<std::string> problems_;
};

/// The node as messages name it: "node 'NAME' (OpType, opset N)".
std::string describe(const onnx::NodeProto &node, int opset);

} // namespace bisc::onnx_import
