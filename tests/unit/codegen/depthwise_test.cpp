// Depthwise and channel-multiplier convs (one input channel per group), which emit_conv.cpp
// sums in registers row by row: rows wide enough for the vectorised interior loop and its
// remainder, border rows and columns, strides, multipliers, asymmetric pads, fused epilogues,
// a plane with no interior at all, and a dilation whose borders are too wide for that path.
// Each compiled library against the reference interpreter, with 1 and 2 threads.
#include "compiled_model.h"

#include "ir/interpreter/interpreter.h"
#include "ir/parser.h"

#include <doctest/doctest.h>

using namespace bisc;
using namespace bisc::testing;

namespace {

constexpr double kTolerance = 1e-5; // x max |reference|

void checkDepthwise(const std::string &name, const std::string &text) {
  for (const ThreadedRun &run : compileWithThreads(name, text, 3, 4)) {
    INFO(name, " with ", run.threads, " threads: max |diff| / max |ref| = ", run.error);
    CHECK(run.error <= kTolerance);
  }
}

} // namespace

TEST_CASE("codegen depthwise: wide rows, strides and channel multipliers") {
  checkDepthwise("dw_wide", R"(graph @g(%x: f32[2,3,7,70]) {
    weight @w : f32[3,1,3,3]
    weight @b : f32[3]
    %y = conv2d(%x, @w, @b) {pads=[1,1,1,1], groups=3}
    return y = %y })");
  checkDepthwise("dw_multiplier6_stride2", R"(graph @g(%x: f32[1,2,9,67]) {
    weight @w : f32[12,1,3,3]
    %y = conv2d(%x, @w) {stride=[2,2], pads=[1,1,1,1], groups=2}
    return y = %y })");
  checkDepthwise("dw_asymmetric_5x5", R"(graph @g(%x: f32[1,2,11,41]) {
    weight @w : f32[4,1,5,5]
    weight @b : f32[4]
    %y = conv2d(%x, @w, @b) {stride=[1,2], pads=[0,1,2,3], groups=2}
    return y = %y })");
}

TEST_CASE("codegen depthwise: fused epilogues, tiny planes and wide borders") {
  checkDepthwise("dw_fused_relu_residual", R"(graph @g(%x: f32[1,4,6,45]) {
    weight @w : f32[4,1,3,3]
    weight @b : f32[4]
    %r = relu(%x)
    %y = fused_conv(%x, @w, @b, %r) {pads=[1,1,1,1], groups=4, activation="relu", residual="before_act"}
    return y = %y })");
  checkDepthwise("dw_fused_multiplier_stride2", R"(graph @g(%x: f32[1,3,10,38]) {
    weight @w : f32[18,1,3,3]
    weight @b : f32[18]
    %y = fused_conv(%x, @w, @b) {stride=[2,2], pads=[1,1,1,1], groups=3, activation="relu"}
    return y = %y })");
  checkDepthwise("dw_no_interior", R"(graph @g(%x: f32[1,2,2,3]) {
    weight @w : f32[2,1,3,3]
    %y = conv2d(%x, @w) {pads=[1,1,1,1], groups=2}
    return y = %y })");
  checkDepthwise("dw_wide_dilation", R"(graph @g(%x: f32[1,2,12,40]) {
    weight @w : f32[2,1,3,3]
    weight @b : f32[2]
    %r = relu(%x)
    %y = fused_conv(%x, @w, @b, %r) {pads=[5,5,5,5], dilation=[5,5], groups=2, activation="relu", residual="after_act"}
    return y = %y })");
}
