// resize against torch 1.13 F.interpolate on pat() inputs (interp_test_util.h):
//   bil(x, ac, **kw) = F.interpolate(x, mode='bilinear', align_corners=ac, **kw)
// A `scale` attribute corresponds to scale_factor=, a `like` input to size=.
#include "interp_test_util.h"

#include <fmt/format.h>

using namespace bisc;
using namespace bisc::test;

namespace {

/// " {attrs}" or nothing: the parser rejects an empty attribute list.
std::string attrList(const std::string &attrs) { return attrs.empty() ? "" : " {" + attrs + "}"; }

/// resize(%x) {attrs}, the output size coming from the scale attribute.
Tensor resizeByScale(const std::string &attrs, Tensor x) {
  std::string text = fmt::format("graph @g(%x: f32{}) {{\n  %y = resize(%x){}\n  return y = %y\n}}",
                                 shapeToString(x.shape()), attrList(attrs));
  return runOne(text, std::move(x));
}

/// resize(%x, %like) {attrs}; `like` is a second graph input of the target size.
Tensor resizeLike(const std::string &attrs, Tensor x, Shape like) {
  std::string text = fmt::format(
      "graph @g(%x: f32{}, %like: f32{}) {{\n  %y = resize(%x, %like){}\n  return y = %y\n}}",
      shapeToString(x.shape()), shapeToString(like), attrList(attrs));
  std::vector<Tensor> inputs;
  inputs.push_back(std::move(x));
  inputs.push_back(Tensor(TensorType{DType::f32, like}));
  return run(text, std::move(inputs)).at(0);
}

const std::string bilinear = "mode=\"bilinear\"";
const std::string corners = "mode=\"bilinear\", align_corners=true";

} // namespace

TEST_CASE("interpreter resize: bilinear x2, align_corners false and true") {
  // bil(pat([1,1,3,4]), False, scale_factor=2)
  checkValues(resizeByScale(bilinear + ", scale=[2.0,2.0]", pattern({1, 1, 3, 4})), {1, 1, 6, 8},
              {-1, -0.815, -0.44499999, -0.074999988, 0.29500002, 0.16000001, -0.48000002,
               -0.80000001, -0.76499999, -0.57999998, -0.21000001, 0.033749998, 0.15125, 0.016250003,
               -0.37125, -0.565, -0.29500002, -0.11000001, 0.25999996, 0.25124997, -0.13625002,
               -0.27125001, -0.15375002, -0.095000014, 0.175, 0.23374999, 0.35124996, 0.21624997,
               -0.17125002, -0.30625001, -0.18875001, -0.13000001, 0.64499998, 0.45124999,
               0.063749999, -0.071249992, 0.046250015, -0.08874999, -0.47624999, -0.67000002, 0.88,
               0.56, -0.079999983, -0.21499997, 0.15500003, 0.020000026, -0.62, -0.94});
  // bil(pat([1,1,3,4]), True, scale_factor=2)
  checkValues(resizeByScale(corners + ", scale=[2.0,2.0]", pattern({1, 1, 3, 4})), {1, 1, 6, 8},
              {-1, -0.6828571, -0.36571428, -0.048571415, 0.26857147, 0.29714283, -0.2514286,
               -0.80000001, -0.62400001, -0.30685714, 0.010285705, 0.096571423, 0.067428574,
               -0.019428587, -0.22171432, -0.42400005, -0.248, 0.069142863, 0.38628569, 0.24171427,
               -0.13371433, -0.336, -0.192, -0.048000004, 0.12800002, 0.27199996, 0.41599992,
               0.21371423, -0.1617143, -0.36399996, -0.22, -0.076000035, 0.50400001, 0.30171424,
               0.099428535, 0.012571407, -0.016571406, -0.10342856, -0.30571431, -0.50800002, 0.88,
               0.33142856, -0.21714285, -0.18857141, 0.12857148, 0.15714285, -0.39142859,
               -0.94000006});
}

TEST_CASE("interpreter resize: bilinear x8") {
  // y = bil(pat([1,2,2,3]), ac, scale_factor=8); summary(y); y[0,1,13,9]
  Tensor y = resizeByScale(bilinear + ", scale=[8.0,8.0]", pattern({1, 2, 2, 3}));
  checkSummary(y, {1, 2, 16, 24}, -98.5600027, -392.487434);
  CHECK(y.f32()[(16 + 13) * 24 + 9] == doctest::Approx(0.10875002294778824).epsilon(1e-6));
  y = resizeByScale(corners + ", scale=[8.0,8.0]", pattern({1, 2, 2, 3}));
  checkSummary(y, {1, 2, 16, 24}, -70.4556489, -280.061262);
  CHECK(y.f32()[(16 + 13) * 24 + 9] == doctest::Approx(0.15246379375457764).epsilon(1e-6));
}

TEST_CASE("interpreter resize: bilinear x0.5") {
  // bil(pat([1,1,6,8]), False, scale_factor=0.5)
  checkValues(resizeByScale(bilinear + ", scale=[0.5,0.5]", pattern({1, 1, 6, 8})), {1, 1, 3, 4},
              {-0.19499999, -0.22999999, 0.23999998, -0.30000001, 0.030000016, 0.5, -0.040000007,
               -0.074999988, -0.24999997, 0.21999998, -0.31999999, 0.15000001});
  // bil(pat([1,1,6,8]), True, scale_factor=0.5)
  checkValues(resizeByScale(corners + ", scale=[0.5,0.5]", pattern({1, 1, 6, 8})), {1, 1, 3, 4},
              {-1, 0.053333443, 0.43333319, 0.13999981, 0.67000002, 0.37666661, 0.083333209,
               -0.20999992, 0.32000005, 0.026666582, -0.26666677, -0.5599997},
              1e-5f);
}

TEST_CASE("interpreter resize: bilinear to the size of a `like` input") {
  // y = bil(pat([1,2,7,9]), ac, size=(13,17)); summary(y); y[0,1,6,11]
  Tensor y = resizeLike(bilinear, pattern({1, 2, 7, 9}), {1, 1, 13, 17});
  checkSummary(y, {1, 2, 13, 17}, -3.06642066, -18.7487497);
  CHECK(y.f32()[(13 + 6) * 17 + 11] == doctest::Approx(-0.1329416036605835).epsilon(1e-6));
  y = resizeLike(corners, pattern({1, 2, 7, 9}), {1, 1, 13, 17});
  checkSummary(y, {1, 2, 13, 17}, -5.07499962, -37.1099987);
  CHECK(y.f32()[(13 + 6) * 17 + 11] == doctest::Approx(-0.019999980926513672).epsilon(1e-5));
  // y = bil(pat([1,2,13,17]), ac, size=(7,9)); summary(y); y[0,0,3,4]
  y = resizeLike(bilinear, pattern({1, 2, 13, 17}), {1, 1, 7, 9});
  checkSummary(y, {1, 2, 7, 9}, 0.542858881, 6.4050635);
  CHECK(y.f32()[3 * 9 + 4] == doctest::Approx(-0.3999997675418854).epsilon(1e-6));
  y = resizeLike(corners, pattern({1, 2, 13, 17}), {1, 1, 7, 9});
  checkSummary(y, {1, 2, 7, 9}, 1.11999995, 19.64);
  CHECK(y.f32()[3 * 9 + 4] == doctest::Approx(-0.3999999761581421).epsilon(1e-6));
}

TEST_CASE("interpreter resize: bilinear with uneven and size-preserving scales") {
  // bil(pat([1,1,4,5]), False, scale_factor=(1.5,0.75))
  checkValues(resizeByScale(bilinear + ", scale=[1.5,0.75]", pattern({1, 1, 4, 5})), {1, 1, 6, 3},
              {-0.87666667, 0.11000006, -0.58666682, -0.20500003, -0.059999958, 0.084999964,
               0.40999991, -0.28666663, 0.70000005, 0.18333332, -0.51333332, 0.47333336, 0.12500001,
               -0.23499992, 0.24666671, 0.12333336, 0.099999942, 0.076666795});
  // bil(pat([1,1,3,3]), False, scale_factor=1.2): floor(3 * 1.2) = 3, and aten copies an
  // axis whose size does not change even though 1/scale != 1.
  Tensor x = pattern({1, 1, 3, 3});
  std::vector<float> same(x.f32().begin(), x.f32().end());
  checkValues(resizeByScale(bilinear + ", scale=[1.2,1.2]", std::move(x)), {1, 1, 3, 3}, same);
}

TEST_CASE("interpreter resize: nearest x2, x4 and by uneven scales") {
  // F.interpolate(pat([1,1,2,3]), scale_factor=2, mode='nearest')
  checkValues(resizeByScale("scale=[2.0,2.0]", pattern({1, 1, 2, 3})), {1, 1, 4, 6},
              {-1, -1, -0.25999999, -0.25999999, 0.48000002, 0.48000002, -1, -1, -0.25999999,
               -0.25999999, 0.48000002, 0.48000002, -0.80000001, -0.80000001, -0.060000002,
               -0.060000002, 0.67999995, 0.67999995, -0.80000001, -0.80000001, -0.060000002,
               -0.060000002, 0.67999995, 0.67999995});
  // summary(F.interpolate(pat([1,1,2,3]), scale_factor=4, mode='nearest'))
  Tensor y = resizeByScale("scale=[4.0,4.0]", pattern({1, 1, 2, 3}));
  checkSummary(y, {1, 1, 8, 12}, -15.3600006, -57.5800023);
  CHECK(y.f32()[3 * 12 + 7] == -0.26f);  // row 3 -> 0, column 7 -> 1
  CHECK(y.f32()[4 * 12 + 8] == pattern({6}).f32()[5]);  // row 4 -> 1, column 8 -> 2
  // F.interpolate(pat([1,1,4,5]), scale_factor=(1.5,0.75), mode='nearest')
  checkValues(resizeByScale("scale=[1.5,0.75]", pattern({1, 1, 4, 5})), {1, 1, 6, 3},
              {-1, -0.25999999, 0.48000002, -1, -0.25999999, 0.48000002, 0.67999995, -0.60000002,
               0.13999999, 0.34000003, -0.94, -0.19999999, 0.34000003, -0.94, -0.19999999, 0,
               0.74000001, -0.53999996});
}

TEST_CASE("interpreter resize: nearest to the size of a `like` input") {
  // F.interpolate(pat([1,1,3,4]), size=(5,7), mode='nearest')
  checkValues(resizeLike("", pattern({1, 1, 3, 4}), {1, 1, 5, 7}), {1, 1, 5, 7},
              {-1, -1, -0.25999999, -0.25999999, 0.48000002, 0.48000002, -0.80000001, -1, -1,
               -0.25999999, -0.25999999, 0.48000002, 0.48000002, -0.80000001, -0.060000002,
               -0.060000002, 0.67999995, 0.67999995, -0.60000002, -0.60000002, 0.13999999,
               -0.060000002, -0.060000002, 0.67999995, 0.67999995, -0.60000002, -0.60000002,
               0.13999999, 0.88, 0.88, -0.39999998, -0.39999998, 0.34000003, 0.34000003, -0.94});
  // F.interpolate(pat([1,1,5,7]), size=(3,4), mode='nearest')
  checkValues(resizeLike("", pattern({1, 1, 5, 7}), {1, 1, 3, 4}), {1, 1, 3, 4},
              {-1, -0.25999999, -0.80000001, 0.67999995, 0.13999999, 0.88, 0.34000003, -0.19999999,
               0.39999998, -0.88, 0.60000002, 0.059999943});
}

TEST_CASE("interpreter resize: nearest uses floor(dst / scale) even when the size doubles") {
  // F.interpolate(pat([1,2,3,5]), scale_factor=(2.2,1.1), mode='nearest'): floor(3 * 2.2) = 6
  // rows read floor(dst / 2.2) = 0,0,0,1,1,2 (not dst / 2), and floor(5 * 1.1) = 5 columns
  // read 0,0,1,2,3 (not a copy). Two channels, so torch takes its NCHW kernel; a one-channel
  // tensor also counts as channels-last in torch 1.13, whose kernel answers differently here.
  checkValues(resizeByScale("scale=[2.2,1.1]", pattern({1, 2, 3, 5})), {1, 2, 6, 5},
              {-1, -1, -0.25999999, 0.48000002, -0.80000001, -1, -1, -0.25999999, 0.48000002,
               -0.80000001, -1, -1, -0.25999999, 0.48000002, -0.80000001, 0.67999995, 0.67999995,
               -0.60000002, 0.13999999, 0.88, 0.67999995, 0.67999995, -0.60000002, 0.13999999,
               0.88, 0.34000003, 0.34000003, -0.94, -0.19999999, 0.53999996, 0, 0, 0.74000001,
               -0.53999996, 0.20000005, 0, 0, 0.74000001, -0.53999996, 0.20000005, 0, 0,
               0.74000001, -0.53999996, 0.20000005, -0.33999997, -0.33999997, 0.39999998, -0.88,
               -0.13999999, -0.33999997, -0.33999997, 0.39999998, -0.88, -0.13999999,
               -0.68000001, -0.68000001, 0.059999943, 0.79999995, -0.48000002});
}
