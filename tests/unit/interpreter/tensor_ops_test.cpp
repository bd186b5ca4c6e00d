// concat, argmax, softmax and log_softmax. Concat cases are hand computed on counting
// tensors; the rest were computed once with torch 1.13 on pat() inputs (interp_test_util.h)
// and pasted here, the torch expression in the comment above each list.
#include "interp_test_util.h"

#include <fmt/format.h>

#include <limits>
#include <numeric>

using namespace bisc;
using namespace bisc::test;

namespace {

/// 1, 2, 3, ... in `shape`, offset by `first - 1`.
Tensor counting(Shape shape, float first = 1.0f) {
  std::vector<float> values(size_t(numElements(shape)));
  std::iota(values.begin(), values.end(), first);
  return Tensor(std::move(shape), std::move(values));
}

/// Runs `%y = op(%x) {axis=N}` on one graph input.
Tensor alongAxis(const std::string &op, Tensor x, int axis) {
  std::string text = fmt::format("graph @g(%x: f32{}) {{\n  %y = {}(%x) {{axis={}}}\n  return y = %y\n}}",
                                 shapeToString(x.shape()), op, axis);
  return runOne(text, std::move(x));
}

/// concat of the given f32 inputs along `axis`.
Tensor concat(std::vector<Tensor> inputs, int axis) {
  std::string params, args;
  for (size_t i = 0; i < inputs.size(); ++i) {
    params += fmt::format("{}%x{}: f32{}", i ? ", " : "", i, shapeToString(inputs[i].shape()));
    args += fmt::format("{}%x{}", i ? ", " : "", i);
  }
  std::string text = fmt::format("graph @g({}) {{\n  %y = concat({}) {{axis={}}}\n  return y = %y\n}}",
                                 params, args, axis);
  return run(text, std::move(inputs)).at(0);
}

std::vector<int32_t> labels(const Tensor &t) { return {t.i32().begin(), t.i32().end()}; }

} // namespace

TEST_CASE("interpreter concat: channels of three inputs, batch 2") {
  // a = 1..8 as [2,1,2,2], b = 101..116 as [2,2,2,2], c = 201..208 as [2,1,2,2]:
  // each batch holds its a plane, then its two b planes, then its c plane.
  Tensor y = concat({counting({2, 1, 2, 2}), counting({2, 2, 2, 2}, 101), counting({2, 1, 2, 2}, 201)}, 1);
  checkValues(y, {2, 4, 2, 2},
              {1,   2,   3,   4,   101, 102, 103, 104, 105, 106, 107, 108, 201, 202, 203, 204,
               5,   6,   7,   8,   109, 110, 111, 112, 113, 114, 115, 116, 205, 206, 207, 208});
}

TEST_CASE("interpreter concat: last axis (negative), first axis and a single input") {
  // [1,1,2,2] 1..4 with [1,1,2,1] 11..12 along W: rows interleave.
  checkValues(concat({counting({1, 1, 2, 2}), counting({1, 1, 2, 1}, 11)}, -1), {1, 1, 2, 3},
              {1, 2, 11, 3, 4, 12});
  // Along N the inputs are laid end to end.
  checkValues(concat({counting({1, 2, 1, 2}), counting({2, 2, 1, 2}, 11)}, 0), {3, 2, 1, 2},
              {1, 2, 3, 4, 11, 12, 13, 14, 15, 16, 17, 18});
  checkValues(concat({counting({1, 3, 1, 2})}, 1), {1, 3, 1, 2}, {1, 2, 3, 4, 5, 6});
}

TEST_CASE("interpreter concat: i32 label maps") {
  Tensor a(TensorType{DType::i32, {1, 2, 2}}), b(TensorType{DType::i32, {1, 1, 2}});
  std::iota(a.i32().begin(), a.i32().end(), 1);
  std::iota(b.i32().begin(), b.i32().end(), 7);
  std::vector<Tensor> inputs;
  inputs.push_back(std::move(a));
  inputs.push_back(std::move(b));
  Tensor y = run(R"(graph @g(%a: i32[1,2,2], %b: i32[1,1,2]) {
    %y = concat(%a, %b) {axis=1}
    return y = %y
  })", std::move(inputs)).at(0);
  REQUIRE((y.type() == TensorType{DType::i32, {1, 3, 2}}));
  CHECK(labels(y) == std::vector<int32_t>{1, 2, 3, 4, 7, 8});
}

TEST_CASE("interpreter argmax: over channels and over the last axis") {
  // torch.argmax(pat([2,5,2,3]), dim=1)
  Tensor y = alongAxis("argmax", pattern({2, 5, 2, 3}), 1);
  REQUIRE((y.type() == TensorType{DType::i32, {2, 2, 3}}));
  CHECK(labels(y) == std::vector<int32_t>{4, 3, 1, 4, 2, 0, 0, 3, 1, 4, 2, 0});
  // torch.argmax(pat([2,5,2,3]), dim=-1)
  y = alongAxis("argmax", pattern({2, 5, 2, 3}), -1);
  REQUIRE((y.type() == TensorType{DType::i32, {2, 5, 2}}));
  CHECK(labels(y) ==
        std::vector<int32_t>{2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1, 0, 0, 0});
}

TEST_CASE("interpreter argmax: the first maximum wins and NaN counts as the maximum") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // torch.argmax(t, dim=1) for these rows gives [1, 0, 1, 0].
  Tensor t({4, 4}, {1, 3, 3, 2, nan, 5, nan, 1, 2, nan, 7, 7, -1, -1, -1, -1});
  CHECK(labels(alongAxis("argmax", std::move(t), 1)) == std::vector<int32_t>{1, 0, 1, 0});
}

TEST_CASE("interpreter softmax and log_softmax: over channels") {
  Tensor x = pattern({2, 4, 2, 3});
  for (float &v : x.f32()) v *= 5.0f;
  // F.softmax(pat([2,4,2,3]) * 5, dim=1)
  checkValues(alongAxis("softmax", x, 1), {2, 4, 2, 3},
              {0.0021440091, 0.0021440091, 0.11893616, 0.0021440089, 0.015872063, 0.98123956,
               0.015842203, 0.015842194, 0.87882596, 0.015842205, 0.11727957, 0.00029784476,
               0.1170589, 0.11705887, 0.00026675797, 0.11705892, 0.86658531, 0.0022007918,
               0.86495495, 0.86495495, 0.0019710904, 0.86495483, 0.00026304243, 0.016261773,
               0.11893616, 0.0021440089, 0.015872058, 0.98123956, 0.0021440089, 0.11893618,
               0.87882596, 0.015842205, 0.11727957, 0.00029784476, 0.015842201, 0.87882596,
               0.00026675797, 0.11705892, 0.86658537, 0.0022007907, 0.11705892, 0.0002667582,
               0.0019710895, 0.86495483, 0.00026304246, 0.016261773, 0.86495483, 0.0019710914},
              1e-6f);
  // F.log_softmax(pat([2,4,2,3]) * 5, dim=1)
  checkValues(alongAxis("log_softmax", x, 1), {2, 4, 2, 3},
              {-6.1450777, -6.1450777, -2.1291685, -6.1450782, -4.1431947, -0.01893867, -4.1450777,
               -4.1450782, -0.12916842, -4.1450777, -2.1431947, -8.1189384, -2.1450782, -2.1450784,
               -8.2291689, -2.1450779, -0.14319475, -6.118938, -0.14507787, -0.14507787, -6.2291684,
               -0.14507797, -8.2431955, -4.118938, -2.1291685, -6.1450782, -4.1431952, -0.01893867,
               -6.1450782, -2.1291683, -0.12916842, -4.1450777, -2.1431947, -8.1189384, -4.1450782,
               -0.12916842, -8.2291689, -2.1450779, -0.14319465, -6.1189384, -2.1450779, -8.2291679,
               -6.2291689, -0.14507797, -8.2431946, -4.118938, -0.14507797, -6.2291679});
}

TEST_CASE("interpreter softmax and log_softmax: over the last axis") {
  Tensor x = pattern({2, 3, 5});
  for (float &v : x.f32()) v *= 3.0f;
  // F.softmax(pat([2,3,5]) * 3, dim=-1)
  checkValues(alongAxis("softmax", x, -1), {2, 3, 5},
              {0.008804271, 0.081063837, 0.74638158, 0.016042426, 0.14770792, 0.32460421,
               0.0069769127, 0.064238757, 0.59146738, 0.012712768, 0.32460421, 0.0069769151,
               0.064238749, 0.59146732, 0.012712764, 0.034477759, 0.31744814, 0.0068231048,
               0.062822588, 0.57842833, 0.034477759, 0.31744814, 0.0068231048, 0.062822588,
               0.57842833, 0.0088042747, 0.081063829, 0.74638152, 0.016042428, 0.14770794},
              1e-6f);
  // F.log_softmax(pat([2,3,5]) * 3, dim=-1)
  checkValues(alongAxis("log_softmax", x, 2), {2, 3, 5},
              {-4.7325182, -2.5125184, -0.29251829, -4.1325183, -1.9125184, -1.1251487, -4.9651489,
               -2.7451487, -0.52514875, -4.3651485, -1.1251485, -4.9651484, -2.7451487, -0.52514881,
               -4.3651485, -3.3674407, -1.1474407, -4.9874406, -2.7674406, -0.54744059, -3.3674407,
               -1.1474407, -4.9874406, -2.7674406, -0.54744059, -4.7325182, -2.5125184, -0.29251838,
               -4.1325183, -1.9125183});
}

TEST_CASE("interpreter softmax and log_softmax: large logits do not overflow") {
  Tensor big({2, 3}, {1000, 999, 998, -1000, -1001, -1002});
  // F.softmax(big, dim=1), F.log_softmax(big, dim=1)
  checkValues(alongAxis("softmax", big, 1), {2, 3},
              {0.66524094, 0.24472848, 0.090030573, 0.66524094, 0.24472848, 0.090030573}, 1e-6f);
  checkValues(alongAxis("log_softmax", big, 1), {2, 3},
              {-0.40760595, -1.4076059, -2.4076059, -0.40760595, -1.4076059, -2.4076059});
}
