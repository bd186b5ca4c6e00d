// Kernels of the blocked NCHW{c}c layout against the reference interpreter (which ignores
// layouts): reorders both ways, the blocked dense conv (1x1, 3x3, 7x7, stride 2, dilation,
// padding at the tile edges, output-block tails) with its fused epilogues, and same-layout
// elementwise ops, each compiled with 1 and 2 threads.
#include "compiled_model.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>

using namespace bisc;
using namespace bisc::testing;

namespace {

/// Checks every threaded run of `text` and that the blocked conv kernel was used.
void checkBlocked(const std::string &name, const std::string &text, const char *family = "conv_blocked") {
  for (const ThreadedRun &run : compileWithThreads(name, text, 7, 8)) {
    INFO(name << " threads=" << run.threads);
    CHECK(run.error < 1e-5);
    CHECK(std::count(run.families.begin(), run.families.end(), std::string(family)) >= 1);
    CHECK(std::count(run.families.begin(), run.families.end(), std::string("reorder")) >= 2);
  }
}

/// x -> reorder to nchw{c}c -> conv2d -> reorder to nchw.
std::string convGraph(int c, const std::string &input, const std::string &weight, const std::string &attrs) {
  std::string oc = weight.substr(0, weight.find(','));
  return fmt::format(R"(graph @g(%x: f32[{0}]) {{
    weight @w : f32[{1}]
    weight @b : f32[{2}]
    %xb = reorder(%x) {{layout="nchw{3}c"}}
    %y = conv2d(%xb, @w, @b) {{{4}}}
    %out = reorder(%y) {{layout="nchw"}}
    return y = %out }})", input, weight, oc, c, attrs);
}

} // namespace

TEST_CASE("codegen: blocked reorder round trip, odd widths and blocks 4, 8, 16") {
  for (int c : {4, 8, 16}) {
    std::string text = fmt::format(R"(graph @g(%x: f32[2,{0},3,37]) {{
      %xb = reorder(%x) {{layout="nchw{1}c"}}
      %r = relu(%xb)
      %out = reorder(%r) {{layout="nchw"}}
      return y = %out }})", 2 * c, c);
    checkBlocked(fmt::format("blk_reorder{}", c), text, "elementwise");
  }
}

TEST_CASE("codegen: blocked conv 3x3 stride 1 and 2, padding at both row ends") {
  // Stride-1 3x3 convs of 16+ channels go to Winograd (blocked_winograd_test.cpp): 8 here.
  checkBlocked("blk_3x3", convGraph(8, "1,8,9,37", "32,8,3,3", "pads=[1,1,1,1]"));
  checkBlocked("blk_3x3_s2", convGraph(16, "1,16,11,41", "48,16,3,3", "stride=[2,2], pads=[1,1,1,1]"));
  checkBlocked("blk_3x3_b8", convGraph(8, "2,16,7,30", "24,16,3,3", "stride=[2,2], pads=[1,1,1,1]"));
  checkBlocked("blk_asym", convGraph(8, "1,8,8,33", "8,8,3,3", "pads=[0,2,1,0]"));
  checkBlocked("blk_dil", convGraph(16, "1,16,12,30", "16,16,3,3", "pads=[2,2,2,2], dilation=[2,2]"));
}

TEST_CASE("codegen: blocked conv 1x1 (stride 1 and 2) and 7x7 stride 2") {
  checkBlocked("blk_1x1", convGraph(16, "1,32,5,40", "16,32,1,1", "groups=1"));
  checkBlocked("blk_1x1_s2", convGraph(16, "1,32,9,27", "64,32,1,1", "stride=[2,2]"));
  checkBlocked("blk_7x7", convGraph(16, "1,16,19,45", "16,16,7,7", "stride=[2,2], pads=[3,3,3,3]"));
  checkBlocked("blk_narrow", convGraph(4, "1,4,3,2", "12,4,3,3", "pads=[1,1,1,1]"));
}

TEST_CASE("codegen: blocked conv sweeping input blocks (weights beyond L1), output-block tail") {
  // 32+ input channels of a 3x3 at c = 16: one output group's weights exceed 32 KiB, so the
  // row is swept once per input block with the partial sums in the output. (Stride-1 cases
  // are 5x5: stride-1 3x3 ones go to Winograd.)
  checkBlocked("blk_sweep_s2", convGraph(16, "1,32,7,45", "32,32,3,3", "stride=[2,2], pads=[1,1,1,1]"));
  checkBlocked("blk_sweep_tail", convGraph(16, "1,48,6,29", "48,48,5,5", "pads=[2,2,2,2]"));
  std::string text = R"(graph @g(%x: f32[1,32,5,30]) {
    weight @w1 : f32[32,32,5,5]
    weight @b1 : f32[32]
    %xb = reorder(%x) {layout="nchw16c"}
    %r = relu(%xb)
    %y = fused_conv(%xb, @w1, @b1, %r) {pads=[2,2,2,2], activation="relu", residual="after_act"}
    %z = fused_conv(%y, @w1, @b1, %r) {pads=[2,2,2,2], residual="before_act"}
    %out = reorder(%z) {layout="nchw"}
    return y = %out })";
  checkBlocked("blk_sweep_residuals", text);
}

TEST_CASE("codegen: blocked fused_conv epilogues and a residual sharing the output buffer") {
  // %y shares %r's buffer (arena offset 32768): each output element must be finished once,
  // and a swept row must read the residual before its first partial store.
  for (const char *residual : {"before_act", "after_act"}) {
    std::string text = fmt::format(R"(graph @g(%x: f32[1,32,6,40]) {{
      weight @w1 : f32[32,32,3,3]
      weight @b1 : f32[32]
      weight @w2 : f32[32,32,1,1]
      %xb = reorder(%x) {{layout="nchw16c"}} : f32[1,32,6,40] nchw16c at 0
      %a = conv2d(%xb, @w1, @b1) {{pads=[1,1,1,1]}} : f32[1,32,6,40] nchw16c at 65536
      %r = conv2d(%xb, @w2, @b1) : f32[1,32,6,40] nchw16c at 32768
      %y = fused_conv(%a, @w1, @b1, %r) {{pads=[1,1,1,1], activation="relu", residual="{}"}} : f32[1,32,6,40] nchw16c at 32768
      %s = add(%y, %a) : f32[1,32,6,40] nchw16c at 32768
      %out = reorder(%s) {{layout="nchw"}}
      return y = %out }})", residual);
    checkBlocked(fmt::format("blk_fused_{}", residual), text);
  }
}

TEST_CASE("codegen: blocked conv at a region's edge: nchw input to blocked output and back") {
  // A stem reads the image (3 channels, not a block: nchw, or pixel-major as nchw3c) and writes
  // blocked; a classifier reads blocked and writes nchw (19 channels: the last block is partly
  // padding).
  for (int c : {8, 16}) {
    std::string stem = fmt::format(R"(graph @g(%x: f32[1,3,19,45]) {{
      weight @w : f32[32,3,7,7]
      weight @b : f32[32]
      %y = fused_conv(%x, @w, @b) {{stride=[2,2], pads=[3,3,3,3], activation="relu", layout="nchw{0}c"}}
      %out = reorder(%y) {{layout="nchw"}}
      return y = %out }})", c);
    // How the blocked-layout pass feeds a stem: the image pixel-major (nchw3c).
    std::string pixelMajorStem = fmt::format(R"(graph @g(%x: f32[2,3,17,40]) {{
      weight @w : f32[{0},3,3,3]
      weight @b : f32[{0}]
      %xp = reorder(%x) {{layout="nchw3c"}}
      %y = conv2d(%xp, @w, @b) {{stride=[2,2], pads=[1,1,1,1], layout="nchw{0}c"}}
      %out = reorder(%y) {{layout="nchw"}}
      return y = %out }})", c);
    std::string head = fmt::format(R"(graph @g(%x: f32[1,32,9,37]) {{
      weight @w1 : f32[19,32,1,1]
      weight @w3 : f32[19,32,3,3]
      weight @b : f32[19]
      %xb = reorder(%x) {{layout="nchw{0}c"}}
      %a = conv2d(%xb, @w1, @b) {{layout="nchw"}}
      %c = fused_conv(%xb, @w3, @b) {{pads=[1,1,1,1], activation="relu", layout="nchw"}}
      %s = add(%a, %c)
      return y = %s }})", c);
    for (const auto &[name, text, reorders] :
         {std::tuple{"stem", stem, 1}, std::tuple{"pixel_stem", pixelMajorStem, 2}, std::tuple{"head", head, 1}})
      for (const ThreadedRun &run : compileWithThreads(fmt::format("blk_edge_{}{}", name, c), text, 5, 6)) {
        INFO(name << c << " threads=" << run.threads);
        CHECK(run.error < 1e-5);
        CHECK(std::count(run.families.begin(), run.families.end(), std::string("conv_blocked")) >= 1);
        CHECK(std::count(run.families.begin(), run.families.end(), std::string("reorder")) == reorders);
      }
  }
}
