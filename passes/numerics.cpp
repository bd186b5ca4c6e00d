//===- numerics.cpp - check-numerics: compare interpreter outputs ---------===//
#include "passes/numerics.h"

#include "ir/error.h"
#include "ir/interpreter/interpreter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace bisc {

namespace {

/// Index -> [-1, 1]: Knuth's multiplicative hash, so every run sees the same image.
float hashValue(uint64_t index, uint64_t salt) {
  uint64_t h = (index + 1) * 0x9E3779B97F4A7C15ull ^ (salt * 0xBF58476D1CE4E5B9ull);
  h ^= h >> 31;
  return float(double(h % 20001) / 10000.0 - 1.0);
}

Difference f32Difference(const Tensor &ref, const Tensor &got) {
  Difference d;
  auto r = ref.f32(), g = got.f32();
  for (size_t i = 0; i < r.size(); ++i) {
    d.maxRef = std::max(d.maxRef, double(std::fabs(r[i])));
    double diff = std::fabs(double(r[i]) - double(g[i]));
    if (std::isnan(g[i]) != std::isnan(r[i])) diff = INFINITY;
    if (diff > d.maxAbs || (d.index < 0 && diff > 0)) {
      d.maxAbs = diff;
      d.index = int64_t(i);
      d.got = g[i];
      d.expected = r[i];
    }
  }
  return d;
}

Difference i32Difference(const Tensor &ref, const Tensor &got) {
  Difference d;
  auto r = ref.i32(), g = got.i32();
  for (size_t i = 0; i < r.size(); ++i)
    if (r[i] != g[i]) {
      if (d.index < 0) d.index = int64_t(i);
      ++d.mismatches;
    }
  return d;
}

} // namespace

std::vector<Tensor> deterministicInputs(const Graph &graph) {
  std::vector<Tensor> inputs;
  for (size_t k = 0; k < graph.inputs().size(); ++k) {
    Tensor t(graph.inputs()[k]->type);
    if (t.dtype() == DType::f32) {
      auto data = t.f32();
      for (size_t i = 0; i < data.size(); ++i) data[i] = hashValue(i, k);
    }
    inputs.push_back(std::move(t));
  }
  return inputs;
}

NamedOutputs runForCheck(const Graph &graph, const std::vector<Tensor> &inputs) {
  for (const Value *weight : graph.weights())
    if (!weight->data)
      fail("--check-numerics needs weights with data, but weight '{}' has none (attach "
           "weights or fill random ones)", weight->name);
  InterpretOptions options;
  options.trainingOutputs = false;
  std::vector<Tensor> tensors = interpret(graph, inputs, options);
  NamedOutputs outputs;
  for (size_t i = 0; i < graph.outputs().size(); ++i) {
    if (graph.outputs()[i].trainingOnly) continue;
    outputs.names.push_back(graph.outputs()[i].name);
    outputs.tensors.push_back(std::move(tensors[i]));
  }
  return outputs;
}

std::optional<std::string> compareOutputs(const NamedOutputs &ref, const NamedOutputs &got,
                                          double tolerance, double *largestRelative) {
  if (largestRelative) *largestRelative = 0;
  for (size_t i = 0; i < ref.names.size(); ++i) {
    const std::string &name = ref.names[i];
    auto it = std::find(got.names.begin(), got.names.end(), name);
    if (it == got.names.end()) return fmt::format("output '{}' disappeared", name);
    const Tensor &r = ref.tensors[i], &g = got.tensors[size_t(it - got.names.begin())];
    if (r.type() != g.type())
      return fmt::format("output '{}' changed type from {} to {}", name, toString(r.type()),
                         toString(g.type()));
    if (r.dtype() == DType::i32) {
      Difference d = i32Difference(r, g);
      if (double(d.mismatches) > 1e-3 * double(r.elements()))
        return fmt::format("output '{}': {} of {} elements differ, the first at index {}", name,
                           d.mismatches, r.elements(), d.index);
      continue;
    }
    Difference d = f32Difference(r, g);
    double limit = tolerance * d.maxRef;
    if (largestRelative && d.maxRef > 0)
      *largestRelative = std::max(*largestRelative, d.maxAbs / d.maxRef);
    if (d.maxAbs > limit || std::isinf(d.maxAbs))
      return fmt::format("output '{}' at index {}: got {}, expected {} (max |diff| {:.3g} > "
                         "{:g} x max|ref| = {:.3g})",
                         name, d.index, d.got, d.expected, d.maxAbs, tolerance, limit);
  }
  return std::nullopt;
}

} // namespace bisc
