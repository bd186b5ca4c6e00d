// conv2d against torch 1.13 (F.conv2d; asymmetric pads via F.pad). pat() and summary() are
// defined in interp_test_util.h; weights use pat(shape, 17, 23, 11.0), biases pat(shape, 5, 7, 3.0).
#include "interp_test_util.h"

using namespace bisc;
using namespace bisc::test;

TEST_CASE("interpreter conv2d: 3x3, pad 1, with bias") {
  Tensor y = runOne(R"(graph @g(%x: f32[1,2,4,5]) {
    weight @w : f32[3,2,3,3]
    weight @b : f32[3]
    %y = conv2d(%x, @w, @b) {pads=[1,1,1,1]}
    return y = %y
  })", pattern({1, 2, 4, 5}), {{"w", pattern({3, 2, 3, 3}, 17, 23, 11)}, {"b", pattern({3}, 5, 7, 3)}});
  // F.conv2d(pat([1,2,4,5]), pat([3,2,3,3],17,23,11.), pat([3],5,7,3.), padding=1)
  checkValues(y, {1, 3, 4, 5},
              {-3.7818179, 0.76727259, 0.59454536, -4.903636, 0.18181825, -1.9636363, -1.9163635,
               2.3127275, -3.5581818, -0.56, 0.75272715, -5.3781815, 1.7890906, 1.2436361,
               -5.6727276, -0.10727274, -0.93999994, -1.3199999, 1.2381816, -0.80727261, 2.0884848,
               1.5030302, -1.6733333, 2.4957576, 1.6339393, 0.47030309, 3.1593943, -2.4169698,
               0.086666644, 2.4503031, -0.44606066, 0.98666656, 2.5721211, -2.2696972, 1.4412121,
               -0.12606078, 1.3648485, 2.4666667, -0.65515161, -1.0515152, 0.89999998, -3.8581817,
               1.5036365, 1.54, -2.2163637, 2.0345454, -0.95636362, 0.5563637, 2.9872725, -1.6399999,
               0.99818188, 2.3836362, -5.8363638, 1.9200001, 1.4545454, -1.7254544, 1.3781817,
               -0.26181817, -0.61636364, 1.3472726});
}

TEST_CASE("interpreter conv2d: depthwise, stride 2 on an odd size, no bias") {
  Tensor y = runOne(R"(graph @g(%x: f32[1,3,5,5]) {
    weight @w : f32[3,1,3,3]
    %y = conv2d(%x, @w) {stride=[2,2], pads=[1,1,1,1], groups=3}
    return y = %y
  })", pattern({1, 3, 5, 5}), {{"w", pattern({3, 1, 3, 3}, 17, 23, 11)}});
  // F.conv2d(pat([1,3,5,5]), pat([3,1,3,3],17,23,11.), stride=2, padding=1, groups=3)
  checkValues(y, {1, 3, 3, 3},
              {-2.0963635, 1.0236362, 0.55090904, 0.95636356, 1.6927273, -2.7490909, -0.15818179,
               -2.1963634, 0.98909086, 0.47454551, 0.81272721, 0.29090902, 0.42909092, 0.42181808,
               -0.67272729, 0.43818182, -0.29999992, 0.72545451, -0.23818178, 0.8981818, -0.55090904,
               0.86545449, -1.2363635, 0.39090905, -0.14545441, 0.19636363, 0.4945454});
}

TEST_CASE("interpreter conv2d: channel multiplier 6 (groups 2, 2 -> 12 channels)") {
  Tensor y = runOne(R"(graph @g(%x: f32[1,2,9,11]) {
    weight @w : f32[12,1,3,3]
    weight @b : f32[12]
    %y = conv2d(%x, @w, @b) {stride=[2,2], pads=[1,1,1,1], groups=2}
    return y = %y
  })", pattern({1, 2, 9, 11}), {{"w", pattern({12, 1, 3, 3}, 17, 23, 11)}, {"b", pattern({12}, 5, 7, 3)}});
  // y = F.conv2d(pat([1,2,9,11]), pat([12,1,3,3],17,23,11.), pat([12],5,7,3.), stride=2,
  //              padding=1, groups=2); summary(y); y[0,7,2,3]; y[0,11,4,5]
  checkSummary(y, {1, 12, 5, 6}, -3.24727114, 30.4751521);
  CHECK(y.f32()[(7 * 5 + 2) * 6 + 3] == doctest::Approx(-2.0654544830322266).epsilon(1e-6));
  CHECK(y.f32()[(11 * 5 + 4) * 6 + 5] == doctest::Approx(0.3563636541366577).epsilon(1e-6));
}

TEST_CASE("interpreter conv2d: dilation 2, stride 2, asymmetric pads, odd sizes") {
  Tensor y = runOne(R"(graph @g(%x: f32[1,2,7,9]) {
    weight @w : f32[2,2,3,3]
    %y = conv2d(%x, @w) {stride=[2,2], pads=[2,1,0,3], dilation=[2,2]}
    return y = %y
  })", pattern({1, 2, 7, 9}), {{"w", pattern({2, 2, 3, 3}, 17, 23, 11)}});
  // pads are [top, left, bottom, right]; F.pad takes (left, right, top, bottom):
  // F.conv2d(F.pad(pat([1,2,7,9]), (1,3,2,0)), pat([2,2,3,3],17,23,11.), stride=2, dilation=2)
  checkValues(y, {1, 2, 3, 5},
              {-1.2781821, -0.13818192, -0.29999992, 0.589091, 0.65636361, 0.75818199, -2.669091,
               1.3818181, -0.17636356, -0.68909091, 1.2818179, -0.73454529, -2.0090907, 0.1854544,
               0.90545458, 1.5036365, -0.18727261, 0.80545443, 0.034545451, -0.45454535, -1.9072728,
               2.0054545, 0.40181842, -0.45999986, 0.67818171, 0.19272727, -1.7763635, -0.25818211,
               1.4163635, -0.79636359});
}

TEST_CASE("interpreter conv2d: batch 2, groups 2, 5x3 kernel, unequal strides and pads") {
  Tensor y = runOne(R"(graph @g(%x: f32[2,4,6,5]) {
    weight @w : f32[6,2,5,3]
    weight @b : f32[6]
    %y = conv2d(%x, @w, @b) {stride=[1,2], pads=[1,0,3,2], groups=2}
    return y = %y
  })", pattern({2, 4, 6, 5}), {{"w", pattern({6, 2, 5, 3}, 17, 23, 11)}, {"b", pattern({6}, 5, 7, 3)}});
  // summary(F.conv2d(F.pad(pat([2,4,6,5]), (0,2,1,3)), pat([6,2,5,3],17,23,11.),
  //                  pat([6],5,7,3.), stride=(1,2), groups=2))
  checkSummary(y, {2, 6, 6, 3}, 16.6945442, 23.8709155);
  CHECK(y.f32()[0] == doctest::Approx(1.798182).epsilon(1e-6));
  CHECK(y.f32()[215] == doctest::Approx(0.99515164).epsilon(1e-6));
}
