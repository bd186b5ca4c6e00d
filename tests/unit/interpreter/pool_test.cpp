// max_pool, avg_pool and global_avg_pool against torch 1.13 (F.max_pool2d, F.avg_pool2d,
// F.adaptive_avg_pool2d) on pat() inputs (interp_test_util.h).
#include "interp_test_util.h"

#include <limits>

using namespace bisc;
using namespace bisc::test;

namespace {

Tensor pool(const std::string &op, const std::string &attrs, Tensor x) {
  std::string text = "graph @g(%x: f32" + shapeToString(x.shape()) + ") {\n  %y = " + op +
                     "(%x) {" + attrs + "}\n  return y = %y\n}";
  return runOne(text, std::move(x));
}

const char *k3s2p1 = "kernel=[3,3], stride=[2,2], pads=[1,1,1,1]";

} // namespace

TEST_CASE("interpreter max_pool: 3x3 s2 p1 on an odd size") {
  // F.max_pool2d(pat([1,1,5,7]), 3, 2, 1)
  checkValues(pool("max_pool", k3s2p1, pattern({1, 1, 5, 7})), {1, 1, 3, 4},
              {0.88, 0.88, 0.67999995, 0.67999995, 0.88, 0.88, 0.94000006, 0.94000006,
               0.39999998, 1, 0.60000002, 0.79999995});
}

TEST_CASE("interpreter max_pool: padding never wins over negative values") {
  Tensor x = pattern({1, 1, 5, 7});
  for (float &v : x.f32()) v = -v - 2.0f;  // all in [-3, -1]
  // F.max_pool2d(-pat([1,1,5,7]) - 2, 3, 2, 1)
  checkValues(pool("max_pool", k3s2p1, std::move(x)), {1, 1, 3, 4},
              {-1, -1.2, -1.0599999, -1.4, -1.12, -1.12, -1.0599999, -1.6600001, -1.12, -1.12,
               -1.1800001, -1.1800001});
}

TEST_CASE("interpreter max_pool: ceil_mode, and dilation with padding") {
  // F.max_pool2d(pat([1,2,6,8]), 3, 2, 0, ceil_mode=True)
  checkValues(pool("max_pool", "kernel=[3,3], stride=[2,2], ceil_mode=true", pattern({1, 2, 6, 8})),
              {1, 2, 3, 4},
              {0.88, 0.94000006, 0.67999995, 0.13999999, 0.74000001, 0.94000006, 1, 1, 0.46000004,
               0.65999997, 0.86000001, 0.86000001, 0.91999996, 0.98000002, 0.98000002, 0.58000004,
               0.63999999, 0.84000003, 0.84000003, 0.89999998, 0.96000004, 0.96000004, 0.55999994,
               0.75999999});
  // F.max_pool2d(pat([1,1,8,9]), 2, 2, 1, dilation=2, ceil_mode=True)
  checkValues(pool("max_pool",
                   "kernel=[2,2], stride=[2,2], pads=[1,1,1,1], dilation=[2,2], ceil_mode=true",
                   pattern({1, 1, 8, 9})),
              {1, 1, 5, 5},
              {0.34000003, 0.34000003, -0.19999999, 0.74000001, 0.74000001, 0.34000003, 1, 1,
               0.74000001, 0.74000001, 0.72000003, 1, 1, 0.46000004, -0.079999983, 0.72000003,
               0.72000003, 0.84000003, 0.84000003, 0.29999995, -0.10000002, -0.10000002,
               0.84000003, 0.84000003, 0.29999995});
}

TEST_CASE("interpreter avg_pool: 3x3 s2 p1 with and without count_include_pad") {
  // F.avg_pool2d(pat([1,1,5,7]), 3, 2, 1, count_include_pad=True)
  checkValues(pool("avg_pool", k3s2p1, pattern({1, 1, 5, 7})), {1, 1, 3, 4},
              {-0.026666667, 0.026666675, -0.10888889, 0.046666656, -0.022222228, 0.066666685,
               -0.024444427, 0.19999999, -0.077777781, 0.062222227, -0.07333333, -0.0044444534});
  // F.avg_pool2d(pat([1,1,5,7]), 3, 2, 1, count_include_pad=False)
  checkValues(pool("avg_pool", std::string(k3s2p1) + ", count_include_pad=false",
                   pattern({1, 1, 5, 7})),
              {1, 1, 3, 4},
              {-0.060000002, 0.04000001, -0.16333334, 0.10499997, -0.033333343, 0.066666685,
               -0.024444427, 0.29999998, -0.17500001, 0.093333341, -0.10999999, -0.01000002});
}

TEST_CASE("interpreter avg_pool: ceil_mode windows hanging over the end") {
  std::string ceil = std::string(k3s2p1) + ", ceil_mode=true";
  // F.avg_pool2d(pat([1,1,6,8]), 3, 2, 1, ceil_mode=True, count_include_pad=True): the last
  // row and column of windows divide by 2 * 3 (the part inside the padded input), not 9.
  checkValues(pool("avg_pool", ceil, pattern({1, 1, 6, 8})), {1, 1, 4, 5},
              {-0.086666666, -0.17555554, -0.086666688, 0.0022222069, 0.023333332, 0.066666678,
               -0.024444448, 0.10888889, 0.017777774, -0.069999993, -0.11999999, -0.080000013,
               0.053333323, 0.18666667, -0.20999999, -0.10666665, -0.11000001, -0.043333333,
               0.023333341, -0.14});
  // ... count_include_pad=False
  checkValues(pool("avg_pool", ceil + ", count_include_pad=false", pattern({1, 1, 6, 8})),
              {1, 1, 4, 5},
              {-0.19499999, -0.26333332, -0.13000004, 0.0033333104, 0.069999993, 0.10000002,
               -0.024444448, 0.10888889, 0.017777774, -0.13999999, -0.17999999, -0.080000013,
               0.053333323, 0.18666667, -0.41999999, -0.31999996, -0.22000003, -0.086666666,
               0.046666682, -0.56});
  // F.avg_pool2d(pat([1,1,7,7]), 2, 2, 0, ceil_mode=True): the corner window holds one value.
  checkValues(pool("avg_pool", "kernel=[2,2], stride=[2,2], ceil_mode=true", pattern({1, 1, 7, 7})),
              {1, 1, 4, 4},
              {-0.060000002, -0.094999984, -0.13000001, -0.030000031, -0.30500001, 0.16500002,
               0.13000001, 0.22999999, -0.045000017, 0.42500001, -0.11499998, -0.51999998,
               0.14999998, -0.38999999, 0.080000013, 0.17999995});
}

TEST_CASE("interpreter avg_pool: asymmetric pads count only their own side") {
  // Hand computed (PyTorch has no asymmetric pooling pads): ones, 3x3, kernel 2, stride 2,
  // pads [0,0,1,1]. Windows: rows {0,1},{2,3}, columns likewise; row/column 3 is padding.
  Tensor x({1, 1, 3, 3}, std::vector<float>(9, 1.0f));
  std::string attrs = "kernel=[2,2], stride=[2,2], pads=[0,0,1,1]";
  checkValues(pool("avg_pool", attrs, x), {1, 1, 2, 2}, {1, 0.5, 0.5, 0.25});
  checkValues(pool("avg_pool", attrs + ", count_include_pad=false", x), {1, 1, 2, 2},
              {1, 1, 1, 1});
  checkValues(pool("max_pool", attrs, x), {1, 1, 2, 2}, {1, 1, 1, 1});
}

TEST_CASE("interpreter global_avg_pool: mean over H and W") {
  Tensor y = runOne(R"(graph @g(%x: f32[2,3,3,5]) {
    %y = global_avg_pool(%x)
    return y = %y
  })", pattern({2, 3, 3, 5}));
  // F.adaptive_avg_pool2d(pat([2,3,3,5]), 1)
  checkValues(y, {2, 3, 1, 1},
              {-0.12933333, 0.062666669, -0.014666661, 0.042666666, -0.034666665, 0.022666657});
}

TEST_CASE("interpreter max_pool: NaN propagates") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x({1, 1, 3, 3}, {1, nan, 0, 2, 3, 4, 5, 6, -1});
  // F.max_pool2d(x, 2, 1) = [[nan, nan], [6, 6]]
  Tensor y = pool("max_pool", "kernel=[2,2], stride=[1,1]", std::move(x));
  REQUIRE(y.shape() == Shape{1, 1, 2, 2});
  CHECK(std::isnan(y.f32()[0]));
  CHECK(std::isnan(y.f32()[1]));
  CHECK(y.f32()[2] == 6.0f);
  CHECK(y.f32()[3] == 6.0f);
}

TEST_CASE("interpreter pools: ceil_mode keeps a window wider than the padded input") {
  // F.max_pool2d(arange(10).reshape(1,1,2,5), (3,4), (2,3), (1,2), dilation=(2,1),
  // ceil_mode=True) = [[6, 9, 9]]: the dilated kernel spans 5 rows of a 4-row padded input.
  Tensor x({1, 1, 2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  checkValues(pool("max_pool",
                   "kernel=[3,4], stride=[2,3], pads=[1,2,1,2], dilation=[2,1], ceil_mode=true", x),
              {1, 1, 1, 3}, {6, 9, 9});
  // F.avg_pool2d(3 * ones(1,1,1,1), 3, 3, 0, ceil_mode=True) = [[3]]
  checkValues(pool("avg_pool", "kernel=[3,3], stride=[3,3], ceil_mode=true",
                   Tensor({1, 1, 1, 1}, {3})),
              {1, 1, 1, 1}, {3});
}
