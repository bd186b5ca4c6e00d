// Winograd F(4x4,3x3) in the blocked NCHW{c}c layout against the reference interpreter:
// tiles cut by the output's edges, batches (tiles numbered across images), several tile
// ranges and output-channel groups, an odd number of output blocks, every epilogue with the
// residual sharing the output's buffer, and blocks 4, 8 and 16; each with 1 and 2 threads.
// Both forms: one kernel, and the two-kernel form (input transform into scratch first) that
// maps with several tile ranges take when V of the whole map is small.
#include "compiled_model.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>

using namespace bisc;
using namespace bisc::testing;

namespace {

enum class Form { OneKernel, TwoKernels };

void checkWinograd(const std::string &name, const std::string &text, Form form = Form::OneKernel) {
  for (const ThreadedRun &run : compileWithThreads(name, text, 11, 12)) {
    INFO(name << " threads=" << run.threads);
    CHECK(run.error < 1e-5);
    auto count = [&](const char *family) { return std::count(run.families.begin(), run.families.end(), family); };
    CHECK(count("winograd_f4x4_blocked") == 1);
    CHECK(count("input_transform_blocked") == (form == Form::TwoKernels ? 1 : 0));
  }
}

/// x -> nchw{c}c -> 3x3 conv2d with `pads` -> nchw.
std::string convGraph(int c, const std::string &input, int oc, const std::string &pads) {
  int ic = std::stoi(input.substr(input.find(',') + 1));
  return fmt::format(R"(graph @g(%x: f32[{0}]) {{
    weight @w : f32[{1},{2},3,3]
    weight @b : f32[{1}]
    %xb = reorder(%x) {{layout="nchw{3}c"}}
    %y = conv2d(%xb, @w, @b) {{pads={4}}}
    %out = reorder(%y) {{layout="nchw"}}
    return y = %out }})", input, oc, ic, c, pads);
}

} // namespace

TEST_CASE("codegen: blocked Winograd, tiles cut by the output's edges, blocks 4, 8, 16") {
  for (int c : {4, 8, 16}) {
    checkWinograd(fmt::format("bwino_edges{}", c), convGraph(c, "1,64,9,37", 64, "[1,1,1,1]"));
    checkWinograd(fmt::format("bwino_valid{}", c), convGraph(c, "1,64,10,11", 64, "[0,0,0,0]"));
  }
  checkWinograd("bwino_asym", convGraph(16, "1,64,7,13", 64, "[0,2,1,0]"));
}

TEST_CASE("codegen: blocked Winograd, batches, tile ranges, channel groups, odd output blocks") {
  checkWinograd("bwino_batch", convGraph(16, "2,64,6,10", 96, "[1,1,1,1]"));
  // 480 tiles: M of all of them (2.3 MB) would not fit the stack, so nine ranges in one
  // kernel; 160 tiles: the two-kernel form.
  checkWinograd("bwino_ranges", convGraph(16, "1,64,80,96", 32, "[1,1,1,1]"));
  checkWinograd("bwino_shared", convGraph(16, "1,64,40,64", 64, "[1,1,1,1]"), Form::TwoKernels);
  // As ResNet's layer4 (32 tiles, wide channels), with a half-empty last pair of blocks.
  checkWinograd("bwino_shared_deep", convGraph(16, "1,256,16,32", 48, "[1,1,1,1]"), Form::TwoKernels);
  checkWinograd("bwino_shared8", convGraph(8, "1,256,16,30", 40, "[1,1,1,1]"), Form::TwoKernels);
  checkWinograd("bwino_odd_blocks", convGraph(16, "1,64,12,20", 80, "[1,1,1,1]"));
  // U of 512 input x 128 output channels is 9.4 MB: two output-channel groups.
  checkWinograd("bwino_groups", convGraph(16, "1,512,4,8", 128, "[1,1,1,1]"));
}

TEST_CASE("codegen: blocked Winograd epilogues with the residual sharing the output buffer") {
  for (const char *residual : {"before_act", "after_act"}) {
    std::string text = fmt::format(R"(graph @g(%x: f32[1,64,10,18]) {{
      weight @w1 : f32[64,64,3,3]
      weight @b1 : f32[64]
      weight @w2 : f32[64,64,1,1]
      %xb = reorder(%x) {{layout="nchw16c"}} : f32[1,64,10,18] nchw16c at 0
      %r = conv2d(%xb, @w2, @b1) : f32[1,64,10,18] nchw16c at 65536
      %y = fused_conv(%xb, @w1, @b1, %r) {{pads=[1,1,1,1], activation="relu", residual="{}"}} : f32[1,64,10,18] nchw16c at 65536
      %out = reorder(%y) {{layout="nchw"}}
      return y = %out }})", residual);
    checkWinograd(fmt::format("bwino_fused_{}", residual), text);
  }
  // The two-kernel form: 1.2 MB of V in scratch, the residual in the output's buffer.
  std::string deep = R"(graph @g(%x: f32[1,256,16,32]) {
    weight @w1 : f32[256,256,3,3]
    weight @b1 : f32[256]
    weight @w2 : f32[256,256,1,1]
    %xb = reorder(%x) {layout="nchw16c"}
    %r = conv2d(%xb, @w2, @b1)
    %y = fused_conv(%xb, @w1, @b1, %r) {pads=[1,1,1,1], activation="relu", residual="before_act"}
    %out = reorder(%y) {layout="nchw"}
    return y = %out })";
  checkWinograd("bwino_fused_shared", deep, Form::TwoKernels);
}
