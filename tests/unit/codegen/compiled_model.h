// Test helper: compiles a graph to a shared library and runs it through its C API.
#pragma once

#include "compiler/codegen/compile.h"
#include "ir/graph.h"
#include "ir/tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bisc::testing {

/// A generated library loaded with dlopen; the API symbols are looked up by the model name.
class CompiledModel {
public:
  /// Compiles `graph` for the host into a fresh directory under the build tree.
  CompiledModel(const Graph &graph, const std::string &name, int threads = 1);
  /// The same, with kernel schedules chosen as `schedules` says.
  CompiledModel(const Graph &graph, const std::string &name, int threads, const ScheduleOptions &schedules);
  ~CompiledModel();
  CompiledModel(const CompiledModel &) = delete;
  CompiledModel &operator=(const CompiledModel &) = delete;

  /// Runs to logits; the input must have the graph's input shape.
  Tensor run(const Tensor &input);
  /// The same, writing the logits `byteOffset` bytes past a 64-byte boundary (the caller's
  /// logits may have any float alignment).
  Tensor run(const Tensor &input, size_t byteOffset);
  std::vector<uint8_t> runLabels(const Tensor &input);
  const CompileStats &stats() const { return stats_; }

private:
  void *symbol(const std::string &suffix);
  /// Runs to logits at `logits` (the output's element count).
  void runInto(const Tensor &input, float *logits);

  std::string name_;
  CompileStats stats_;
  TensorType output_;
  void *library_ = nullptr;
  void *ctx_ = nullptr;
};

/// Deterministic weights from a formula (no RNG state): weight i of tensor t.
void fillWeightsForTest(Graph &graph, uint32_t seed);
/// A deterministic input in [-1, 1].
Tensor testInput(const Shape &shape, uint32_t seed);
/// max |a - b| / max |b|.
double relativeError(const Tensor &a, const Tensor &b);

/// IR text of a graph with one conv2d (with bias) of an input of shape `x` ("1,16,9,67"),
/// a weight of shape `weight` ("19,16,3,3") and attributes `attrs` ("pads=[1,1,1,1]").
std::string convGraph(const std::string &x, const std::string &weight, const std::string &attrs);

/// One compiled run of a test graph against the interpreter.
struct ThreadedRun {
  int threads;
  double error;                       ///< relativeError(compiled, interpreter)
  std::vector<std::string> families;  ///< kernel families the compiler used
};

/// Parses `text` (IR text form), fills test weights from `weightSeed`, and compiles and runs
/// it with 1 and with 2 threads on the input of `inputSeed`, each against the interpreter.
std::vector<ThreadedRun> compileWithThreads(const std::string &name, const std::string &text,
                                            uint32_t weightSeed, uint32_t inputSeed);

} // namespace bisc::testing
