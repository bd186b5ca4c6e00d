//===- interp_test_util.h - Helpers for the interpreter tests -------------===//
//
// Test data comes from a fixed formula that Python reproduces bit for bit, so expected
// values can be computed with torch on the same tensors:
//   def pat(shape, a=37, m=101, d=50.0):
//       n = math.prod(shape)
//       return ((torch.arange(n) * a % m).float() / d - 1).reshape(shape)
// Bigger results are compared through summary(): the sum and an index-weighted sum
//   f = t.flatten().double(); i = torch.arange(f.numel()).double()
//   f.sum(), (f * ((i % 7) + 1)).sum()
#pragma once

#include "ir/interpreter/interpreter.h"
#include "ir/parser.h"

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>

namespace bisc::test {

inline Tensor pattern(Shape shape, int64_t a = 37, int64_t m = 101, float d = 50.0f) {
  std::vector<float> values(size_t(numElements(shape)));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = float((int64_t(i) * a) % m) / d - 1.0f;
  return Tensor(std::move(shape), std::move(values));
}

/// Parses `text`, attaches `weights` by name and interprets it on `inputs`.
inline std::vector<Tensor> run(const std::string &text, std::vector<Tensor> inputs,
                               std::map<std::string, Tensor> weights = {},
                               const InterpretOptions &options = {}) {
  auto graph = parseGraph(text, "test.bir");
  for (auto &[name, tensor] : weights)
    graph->find(name)->data = std::make_shared<const Tensor>(std::move(tensor));
  return interpret(*graph, inputs, options);
}

/// Runs a graph with one input and returns its first output.
inline Tensor runOne(const std::string &text, Tensor input,
                     std::map<std::string, Tensor> weights = {}) {
  std::vector<Tensor> inputs;
  inputs.push_back(std::move(input));
  return run(text, std::move(inputs), std::move(weights)).at(0);
}

/// Elementwise comparison with a tolerance relative to max(1, |expected|).
inline void checkValues(const Tensor &actual, const Shape &shape,
                        const std::vector<float> &expected, float tolerance = 2e-6f) {
  REQUIRE(actual.shape() == shape);
  auto values = actual.f32();
  REQUIRE(values.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    CHECK(std::abs(values[i] - expected[i]) <=
          tolerance * std::max(1.0f, std::abs(expected[i])));
  }
}

/// Compares the sum and the weighted sum of summary() (see the top of this file).
inline void checkSummary(const Tensor &actual, const Shape &shape, double sum,
                         double weighted, double tolerance = 1e-5) {
  REQUIRE(actual.shape() == shape);
  double s = 0, w = 0;
  auto values = actual.f32();
  for (size_t i = 0; i < values.size(); ++i) {
    s += values[i];
    w += double(values[i]) * double(i % 7 + 1);
  }
  double scale = std::max(1.0, double(values.size()));
  CHECK(std::abs(s - sum) <= tolerance * scale);
  CHECK(std::abs(w - weighted) <= tolerance * scale);
}

} // namespace bisc::test
