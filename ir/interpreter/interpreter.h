//===- interpreter.h - The reference interpreter: the oracle --------------===//
//
// Naive, obviously correct loops for every op, in f32, following PyTorch's semantics
// exactly. Every pass and every generated kernel is checked against it, so it favours
// clarity over speed (within reason: loops run over contiguous rows).
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"

#include <functional>
#include <span>
#include <vector>

namespace bisc {

struct InterpretOptions {
  /// Called before each node runs with its operand tensors (BN calibration uses this to
  /// set running statistics from the data that reaches a batch_norm).
  std::function<void(const Node &, std::span<const Tensor *const>)> beforeNode;
  /// Called after each node with its result.
  std::function<void(const Node &, const Tensor &)> afterNode;
  /// Compute training-only outputs too (they are returned as empty tensors otherwise).
  bool trainingOutputs = true;
};

/// Runs `graph` on `inputs` (one per graph input, in order). Every weight must have data.
/// Returns one tensor per graph output, in order. Intermediate tensors are freed after
/// their last use. Throws bisc::Error on a missing weight or a wrong input shape.
std::vector<Tensor> interpret(const Graph &graph, std::span<const Tensor> inputs,
                              const InterpretOptions &options = {});

/// The kernel of one op: reads `operands` (one per node input, weights included) and writes
/// `result`, which arrives allocated with the node's result type.
using Kernel = void (*)(const Node &node, std::span<const Tensor *const> operands,
                        Tensor &result);
Kernel interpreterKernel(OpId op);

} // namespace bisc
