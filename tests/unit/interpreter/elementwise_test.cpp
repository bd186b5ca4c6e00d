// batch_norm, relu, sigmoid, dropout, add and mul. Expected values were computed once with
// torch 1.13 on pat() inputs (interp_test_util.h) and pasted here; the torch expression is in
// the comment above each list. Cases without a torch expression are computed by hand.
#include "interp_test_util.h"

#include <fmt/format.h>

#include <limits>

using namespace bisc;
using namespace bisc::test;

namespace {

/// Runs `%y = op(%a, %b)` on two graph inputs of the given shapes.
Tensor binary(const std::string &op, Tensor a, Tensor b) {
  std::string text = fmt::format(
      "graph @g(%a: f32{}, %b: f32{}) {{\n  %y = {}(%a, %b)\n  return y = %y\n}}",
      shapeToString(a.shape()), shapeToString(b.shape()), op);
  std::vector<Tensor> inputs;
  inputs.push_back(std::move(a));
  inputs.push_back(std::move(b));
  return run(text, std::move(inputs)).at(0);
}

/// Runs `%y = op(%x) {attrs}` on one graph input.
Tensor unaryOp(const std::string &op, Tensor x, const std::string &attrs = "") {
  std::string text = fmt::format("graph @g(%x: f32{}) {{\n  %y = {}(%x){}\n  return y = %y\n}}",
                                 shapeToString(x.shape()), op, attrs.empty() ? "" : " {" + attrs + "}");
  return runOne(text, std::move(x));
}

/// batch_norm of an input of `shape` with three channels and the parameters below.
Tensor batchNorm(const Shape &shape, std::vector<float> var, const std::string &eps) {
  std::string text = fmt::format(R"(graph @g(%x: f32{}) {{
    weight @w : f32[3]
    weight @b : f32[3]
    weight @mean : f32[3]
    weight @var : f32[3]
    %y = batch_norm(%x, @w, @b, @mean, @var) {{eps={}}}
    return y = %y
  }})", shapeToString(shape), eps);
  return runOne(text, pattern(shape),
                {{"w", Tensor({3}, {0.5f, 1.5f, -1.0f})},
                 {"b", Tensor({3}, {0.1f, -0.2f, 0.3f})},
                 {"mean", Tensor({3}, {0.2f, -0.1f, 0.05f})},
                 {"var", Tensor({3}, std::move(var))}});
}

} // namespace

TEST_CASE("interpreter batch_norm: inference normalisation per channel") {
  // F.batch_norm(pat([2,3,2,3]), mean=[0.2,-0.1,0.05], var=[0.5,2.0,0.01],
  //              weight=[0.5,1.5,-1.0], bias=[0.1,-0.2,0.3], training=False, eps=1e-5)
  checkValues(batchNorm({2, 3, 2, 3}, {0.5f, 2.0f, 0.01f}, "1e-05"), {2, 3, 2, 3},
              {-0.7485196, -0.22526585, 0.29798794, -0.60709971, -0.083845913, 0.4394078,
               -0.7303288, 0.054557782, 0.83944434, -0.51819724, 0.26668933, -1.0909523,
               2.7987509, -4.5975513, 8.1960535, 0.79975021, -6.5965528, 6.197052, 0.10000003,
               0.62325382, -0.2818338, 0.24141993, -0.66366762, -0.14041388, 0.54246026,
               -0.81518137, -0.030294864, 0.7545917, -0.60304987, 0.18183669, -9.1952534,
               3.598351, -3.7979519, 8.9956532, 1.5993503, -5.7969518});
}

TEST_CASE("interpreter batch_norm: eps matters when the variance is 0") {
  // The same with var=[0.0,2.0,0.01], eps=1e-3: channel 0 divides by sqrt(eps) alone.
  checkValues(batchNorm({2, 3, 2, 3}, {0.0f, 2.0f, 0.01f}, "0.001"), {2, 3, 2, 3},
              {-18.873665, -7.1732383, 4.5271883, -15.711388, -4.0109606, 7.689465, -0.73019761,
               0.054494817, 0.8391872, -0.5181185, 0.26657388, -1.0907319, 2.6836565, -4.3719664,
               7.8323545, 0.77673131, -6.278892, 5.9254289, 0.10000061, 11.800427, -8.4381485,
               3.2622769, -16.976297, -5.2758718, 0.54227662, -0.8150292, -0.03033684, 0.75435555,
               -0.60295016, 0.18174224, -8.7578945, 3.4464264, -3.6091969, 8.5951242, 1.5395012,
               -5.5161214});
}

TEST_CASE("interpreter batch_norm: rank-2 input (N, C)") {
  // F.batch_norm(pat([4,3]), ... as the first case)
  checkValues(batchNorm({4, 3}, {0.5f, 2.0f, 0.01f}, "1e-05"), {4, 3},
              {-0.7485196, -0.3697052, -3.9978518, -0.60709971, -0.1575737, -5.9968519,
               -0.46567976, 0.054557782, -7.9958529, -0.32425979, 0.26668933, 10.195054});
}

TEST_CASE("interpreter relu: clamps below zero and lets NaN and infinities through") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Hand computed; torch.relu also returns NaN for NaN.
  Tensor y = unaryOp("relu", Tensor({1, 1, 2, 4}, {-2.0f, -0.5f, 0.0f, 0.5f, 3.0f, nan, -inf, inf}));
  REQUIRE(y.shape() == Shape{1, 1, 2, 4});
  auto v = y.f32();
  CHECK(v[0] == 0.0f);
  CHECK(v[1] == 0.0f);
  CHECK(v[2] == 0.0f);
  CHECK(v[3] == 0.5f);
  CHECK(v[4] == 3.0f);
  CHECK(std::isnan(v[5]));
  CHECK(v[6] == 0.0f);
  CHECK(v[7] == inf);
}

TEST_CASE("interpreter sigmoid: values and saturation") {
  Tensor x = pattern({1, 2, 2, 3});
  for (float &v : x.f32()) v *= 8.0f;
  // torch.sigmoid(pat([1,2,2,3]) * 8)
  checkValues(unaryOp("sigmoid", std::move(x)), {1, 2, 2, 3},
              {0.00033535014, 0.11105598, 0.97895873, 0.0016588009, 0.3822521, 0.99567932,
               0.0081625702, 0.75398868, 0.99912471, 0.039165728, 0.9381966, 0.00054183882},
              1e-6f);
  // torch.sigmoid(torch.tensor([-100., -20., 0., 20., 100., 1e-3])): no NaN from exp overflow.
  Tensor y = unaryOp("sigmoid", Tensor({1, 1, 1, 6}, {-100.0f, -20.0f, 0.0f, 20.0f, 100.0f, 1e-3f}));
  checkValues(y, {1, 1, 1, 6}, {0.0, 2.0611537e-09, 0.5, 1.0, 1.0, 0.50024998}, 1e-6f);
  CHECK(y.f32()[1] > 0.0f);
}

TEST_CASE("interpreter dropout: identity at inference, whatever p is") {
  Tensor x = pattern({2, 3, 4, 5});
  std::vector<float> same(x.f32().begin(), x.f32().end());
  for (const char *p : {"0.0", "0.3", "0.9"}) {
    Tensor y = unaryOp("dropout", x, fmt::format("p={}", p));
    REQUIRE(y.shape() == x.shape());
    CHECK(std::equal(same.begin(), same.end(), y.f32().begin()));
  }
}

TEST_CASE("interpreter add: same shapes and per-channel broadcasting") {
  // pat([1,2,2,2]) + pat([1,2,2,2],5,7,3.)
  checkValues(binary("add", pattern({1, 2, 2, 2}), pattern({1, 2, 2, 2}, 5, 7, 3)), {1, 2, 2, 2},
              {-2.0, 0.40666664, 0.48000002, -1.4666667, 0.94, 1.0133333, -0.93333334, -0.86000001});
  // pat([2,3,2,2]) + pat([1,3,1,1],5,7,3.)
  std::vector<float> expected = {
      -2.0, -1.26, -0.51999998, -1.8, 0.60666662, 1.3466666, 0.066666603, 0.80666661,
      0.88, -0.39999998, 0.34000003, -0.94, -1.2, -0.46000004, -1.74, -1.0,
      1.4066666, 0.12666667, 0.86666667, 1.6066667, -0.33999997, 0.39999998, -0.88, -0.13999999};
  checkValues(binary("add", pattern({2, 3, 2, 2}), pattern({1, 3, 1, 1}, 5, 7, 3)), {2, 3, 2, 2},
              expected);
  // Addition commutes: the broadcast operand may come first.
  checkValues(binary("add", pattern({1, 3, 1, 1}, 5, 7, 3), pattern({2, 3, 2, 2})), {2, 3, 2, 2},
              expected);
}

TEST_CASE("interpreter add: both operands broadcast") {
  // pat([1,3,1,4]) + pat([2,1,3,1],5,7,3.)
  checkValues(binary("add", pattern({1, 3, 1, 4}), pattern({2, 1, 3, 1}, 5, 7, 3)), {2, 3, 3, 4},
              {-2.0, -1.26, -0.51999998, -1.8, -0.33333337, 0.40666664, 1.1466666, -0.13333338,
               -1.0, -0.25999999, 0.48000002, -0.80000001, -1.0599999, -0.32000005, -1.6,
               -0.86000001, 0.60666662, 1.3466666, 0.066666603, 0.80666661, -0.060000002,
               0.67999995, -0.60000002, 0.13999999, -0.12, -1.4, -0.65999997, -1.9400001,
               1.5466666, 0.26666665, 1.0066667, -0.27333337, 0.88, -0.39999998, 0.34000003, -0.94,
               -1.6666666, -0.92666662, -0.18666661, -1.4666667, 0.0, 0.74000001, 1.48, 0.19999999,
               -0.66666663, 0.073333383, 0.81333339, -0.46666664, -0.72666663, 0.013333321,
               -1.2666667, -0.52666664, 0.94, 1.6799999, 0.39999998, 1.14, 0.27333337, 1.0133333,
               -0.26666665, 0.47333336, 0.21333337, -1.0666666, -0.32666659, -1.6066666, 1.88,
               0.60000002, 1.34, 0.060000002, 1.2133334, -0.066666603, 0.67333341, -0.60666662});
}

TEST_CASE("interpreter mul: channel gate and a lower-rank operand") {
  // pat([2,3,2,2]) * pat([1,3,1,1],5,7,3.): the attention gate of ARM/FFM
  checkValues(binary("mul", pattern({2, 3, 2, 2}), pattern({1, 3, 1, 1}, 5, 7, 3)), {2, 3, 2, 2},
              {1.0, 0.25999999, -0.48000002, 0.80000001, -0.039999999, 0.45333326, -0.40000001,
               0.093333319, 0.0, -0.0, 0.0, -0.0, 0.19999999, -0.53999996, 0.74000001, -0.0,
               0.49333331, -0.35999995, 0.13333336, 0.62666667, -0.0, 0.0, -0.0, -0.0});
  // pat([2,3,2,2]) * pat([3,1,2],5,7,3.): rank 3 against rank 4, broadcast along H
  checkValues(binary("mul", pattern({2, 3, 2, 2}), pattern({3, 1, 2}, 5, 7, 3)), {2, 3, 2, 2},
              {1.0, -0.17333332, -0.48000002, -0.5333333, -0.0, -0.45333326, -0.0, -0.093333319,
               0.88, -0.13333334, 0.34000003, -0.31333336, 0.19999999, 0.35999995, 0.74000001, 0.0,
               0.0, 0.35999995, 0.0, -0.62666667, -0.33999997, 0.13333334, -0.88, -0.046666667});
}
