// The packed-tile dense conv against the reference interpreter: stride-2 taps split into
// phases, 1x1 convs over many planes, padding on every side, dilation, channel-block tails,
// the fused epilogues and an output sharing its buffer with the residual; each with 1 and 2
// threads, and each checked to have run through the packed kernel.
#include "compiled_model.h"

#include "compiler/codegen/conv_microkernel.h"
#include "ir/parser.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace bisc;
using namespace bisc::testing;

namespace {

constexpr double kTolerance = 1e-5; // x max |reference|

void checkPacked(const std::string &name, const std::string &text) {
  for (const ThreadedRun &run : compileWithThreads(name, text, 5, 6)) {
    INFO(name, " with ", run.threads, " threads: max |diff| / max |ref| = ", run.error);
    CHECK(run.error <= kTolerance);
    CHECK(std::count(run.families.begin(), run.families.end(), "conv_packed") > 0);
  }
}

} // namespace

TEST_CASE("codegen: packed conv, stride 2 with padding, dilation and channel tails") {
  // 38 output columns: a shifted last tile; 19 channels: a partial channel block.
  checkPacked("pk_s2", convGraph("1,16,9,75", "19,16,3,3", "stride=[2,2], pads=[1,1,1,1]"));
  checkPacked("pk_s2_7x7", convGraph("1,16,12,80", "8,16,7,7", "stride=[2,2], pads=[3,3,3,3]"));
  checkPacked("pk_s2_dil", convGraph("1,16,9,70", "8,16,3,3", "stride=[2,2], dilation=[2,2], pads=[2,2,2,2]"));
  // pads [top, left, bottom, right]
  checkPacked("pk_s2_asym", convGraph("2,17,8,67", "9,17,3,3", "stride=[2,2], pads=[0,2,1,0]"));
  // Rows several tiles wide: the loop over inside tiles.
  checkPacked("pk_s2_wide", convGraph("1,16,4,530", "7,16,3,3", "stride=[2,2], pads=[1,1,1,1]"));
}

TEST_CASE("codegen: packed conv, 1x1 over many channels, stride 1 and 2") {
  checkPacked("pk_1x1", convGraph("1,40,5,70", "19,40,1,1", "groups=1"));
  checkPacked("pk_1x1_s2", convGraph("2,16,8,66", "20,16,1,1", "stride=[2,2]"));
}

TEST_CASE("codegen: packed conv fused_conv epilogues and an output that is the residual") {
  checkPacked("pk_before", R"(graph @g(%x: f32[1,16,8,68]) {
    weight @w0 : f32[8,16,1,1]
    weight @w : f32[8,16,3,3]
    weight @b : f32[8]
    %r = conv2d(%x, @w0, @b) {stride=[2,2]}
    %y = fused_conv(%x, @w, @b, %r) {stride=[2,2], pads=[1,1,1,1], activation="relu", residual="before_act"}
    return y = %y })");
  // OW = 70: the last tile is shifted over its predecessor's columns, and %y shares %r's
  // buffer (arena offset 26880 = one tensor): a column stored twice would add %r twice.
  checkPacked("pk_inplace", R"(graph @g(%x: f32[1,16,6,70]) {
    weight @w1 : f32[16,16,3,3]
    weight @b1 : f32[16]
    weight @w2 : f32[16,16,1,1]
    %a = relu(%x) : f32[1,16,6,70] at 0
    %r = conv2d(%x, @w1, @b1) {pads=[1,1,1,1]} : f32[1,16,6,70] at 26880
    %y = fused_conv(%a, @w2, @b1, %r) {activation="relu", residual="after_act"} : f32[1,16,6,70] at 26880
    %z = relu(%y)
    return z = %z })");
}

TEST_CASE("codegen: the packed conv is chosen for strided and 1x1 convs whose tile fits") {
  Schedule schedule = Schedule::forVectorWidth(8, false);
  auto applies = [&](const std::string &x, const std::string &weight, const std::string &attrs) {
    auto graph = parseGraph(convGraph(x, weight, attrs), "pk_applies.bir");
    return packedConvApplies(*graph->nodes().front(), schedule);
  };
  CHECK(applies("1,16,8,32", "16,16,3,3", "stride=[2,2], pads=[1,1,1,1]"));
  CHECK(applies("1,16,8,32", "16,16,1,1", "groups=1"));
  CHECK_FALSE(applies("1,16,8,32", "16,16,3,3", "pads=[1,1,1,1]"));          // stride-1 3x3
  CHECK_FALSE(applies("1,8,8,32", "16,8,1,1", "groups=1"));                  // few input planes
  CHECK_FALSE(applies("1,16,8,32", "4,16,1,1", "groups=1"));                 // one channel block
  CHECK_FALSE(applies("1,16,8,32", "16,8,1,1", "groups=2"));
  CHECK_FALSE(applies("1,16,8,12", "16,16,1,1", "stride=[2,2]"));            // rows under a vector
  CHECK_FALSE(applies("1,9000,1,16", "16,9000,1,1", "groups=1"));            // tile over budget
}
