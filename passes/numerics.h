//===- numerics.h - check-numerics: compare interpreter outputs -----------===//
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"

#include <optional>
#include <string>
#include <vector>

namespace bisc {

/// The inference outputs (training-only ones skipped) of one interpreter run, by name.
struct NamedOutputs {
  std::vector<std::string> names;
  std::vector<Tensor> tensors;
};

/// A fixed deterministic input per graph input: values in [-1, 1] from a hash of the index.
std::vector<Tensor> deterministicInputs(const Graph &graph);

/// Runs the interpreter; throws bisc::Error if a weight lacks data.
NamedOutputs runForCheck(const Graph &graph, const std::vector<Tensor> &inputs);

/// Largest |got - ref| of an f32 output, with where it is.
struct Difference {
  double maxAbs = 0;
  double maxRef = 0;
  int64_t index = -1;
  float got = 0, expected = 0;
  int64_t mismatches = 0;  ///< elements differing (i32 outputs)
};

/// nullopt if every output of `ref` is in `got` within `tolerance` x max|ref| (i32 outputs:
/// at most 0.1% of the elements differ); else a message naming the first differing output,
/// the index of its largest difference and the size of the difference.
std::optional<std::string> compareOutputs(const NamedOutputs &ref, const NamedOutputs &got,
                                          double tolerance, double *largestRelative = nullptr);

} // namespace bisc
