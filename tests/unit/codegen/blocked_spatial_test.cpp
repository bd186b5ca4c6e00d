// The blocked NCHW{c}c kernels of emit_blocked_spatial.cpp against the reference interpreter
// (which ignores layouts), for blocks 4, 8 and 16, each compiled with 1 and 2 threads:
// depthwise convs (3x3 stride 1 and 2, 5x5 dilation 2, bias + relu, residuals, rows narrower
// than the kernel, odd widths so edge tiles and the interior loop both run), grouped convs
// with a channel multiplier (groups == input channels, 2, 3 or 6 outputs each), max / avg
// pooling (ceil_mode, count_include_pad, dilation), global_avg_pool, channel concat, add / mul
// by a per-channel vector, and the verifier's error for a grouping that stays nchw.
#include "blocked_checks.h"

#include "ir/error.h"
#include "ir/parser.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>

using namespace bisc;
using namespace bisc::testing;

namespace {

std::string depthwiseWeights(int channels, int kernel) {
  return fmt::format("weight @w : f32[{0},1,{1},{1}]\n    weight @b : f32[{0}]", channels, kernel);
}

/// Weights of a conv with groups == `channels` and `multiplier` outputs per input channel.
std::string groupedWeights(int channels, int multiplier, int kernel) {
  return depthwiseWeights(channels * multiplier, kernel);
}

} // namespace

TEST_CASE("codegen: blocked depthwise 3x3 stride 1 and 2 with bias and relu, odd widths") {
  for (int c : {4, 8, 16}) {
    int ch = 2 * c;
    std::string body = fmt::format(R"(%s1 = fused_conv(%xb, @w, @b) {{pads=[1,1,1,1], groups={0}, activation="relu"}}
      %y = conv2d(%s1, @w, @b) {{stride=[2,2], pads=[1,1,1,1], groups={0}}})", ch);
    checkKernels(fmt::format("blk_dw3_c{}", c), blockedGraph(c, fmt::format("2,{},9,37", ch), depthwiseWeights(ch, 3), body),
                 {{"conv_blocked_depthwise", 2}, {"reorder", 2}});
    checkKernels(fmt::format("blk_dw3_w41_c{}", c),
                 blockedGraph(c, fmt::format("1,{},6,41", ch), depthwiseWeights(ch, 3), body),
                 {{"conv_blocked_depthwise", 2}});
  }
}

TEST_CASE("codegen: blocked depthwise 5x5 dilation 2, asymmetric pads, rows narrower than the kernel") {
  for (int c : {4, 8, 16}) {
    std::string dilated = fmt::format("%y = conv2d(%xb, @w, @b) {{pads=[4,4,4,4], dilation=[2,2], groups={}}}", c);
    checkKernels(fmt::format("blk_dw5_dil_c{}", c), blockedGraph(c, fmt::format("1,{},11,37", c), depthwiseWeights(c, 5), dilated),
                 {{"conv_blocked_depthwise", 1}});
    // Widths 2 and 3 under a 5x5 window: no interior column, every tap decided at compile time.
    std::string narrow = fmt::format(R"(%n = conv2d(%xb, @w, @b) {{pads=[2,2,2,2], groups={0}}}
      %y = conv2d(%n, @w, @b) {{stride=[2,2], pads=[1,2,0,1], groups={0}}})", c);
    checkKernels(fmt::format("blk_dw5_narrow_c{}", c), blockedGraph(c, fmt::format("1,{},4,3", c), depthwiseWeights(c, 5), narrow),
                 {{"conv_blocked_depthwise", 2}});
  }
  std::string tiny = "%y = conv2d(%xb, @w, @b) {pads=[2,2,2,2], groups=8}";
  checkKernels("blk_dw5_w2", blockedGraph(8, "1,8,2,2", depthwiseWeights(8, 5), tiny), {{"conv_blocked_depthwise", 1}});
}

TEST_CASE("codegen: blocked depthwise with a residual before and after the activation") {
  for (int c : {4, 8, 16})
    for (const char *residual : {"before_act", "after_act"}) {
      std::string body = fmt::format(R"(%r = relu(%xb)
        %y = fused_conv(%xb, @w, @b, %r) {{pads=[1,1,1,1], groups={}, activation="relu", residual="{}"}})",
                                     2 * c, residual);
      checkKernels(fmt::format("blk_dw_{}_c{}", residual, c),
                   blockedGraph(c, fmt::format("1,{},5,37", 2 * c), depthwiseWeights(2 * c, 3), body),
                   {{"conv_blocked_depthwise", 1}});
    }
}

TEST_CASE("codegen: blocked grouped conv with channel multiplier 2, 3, 6: stride 1 and 2, bias, relu, odd widths") {
  // Two images of two input blocks: output block b of image n must read input block b / m of
  // image n. Heights 9 and widths 37 / 3 (stride 2: no interior column at width 3).
  for (int c : {4, 8, 16})
    for (int m : {2, 3, 6}) {
      int ch = 2 * c;
      std::string relu = fmt::format(
          R"(%y = fused_conv(%xb, @w, @b) {{pads=[1,1,1,1], groups={}, activation="relu"}})", ch);
      std::string strided = fmt::format("%y = conv2d(%xb, @w, @b) {{stride=[2,2], pads=[1,1,1,1], groups={}}}", ch);
      std::string asymmetric = fmt::format("%y = conv2d(%xb, @w) {{stride=[2,2], pads=[0,1,2,0], groups={}}}", ch);
      for (int width : {37, 3}) {
        std::string input = fmt::format("2,{},9,{}", ch, width);
        checkKernels(fmt::format("blk_grouped_relu_c{}_m{}_w{}", c, m, width),
                     blockedGraph(c, input, groupedWeights(ch, m, 3), relu), {{"conv_blocked_grouped", 1}});
        checkKernels(fmt::format("blk_grouped_s2_c{}_m{}_w{}", c, m, width),
                     blockedGraph(c, input, groupedWeights(ch, m, 3), strided), {{"conv_blocked_grouped", 1}});
      }
      checkKernels(fmt::format("blk_grouped_pads_c{}_m{}", c, m),
                   blockedGraph(c, fmt::format("1,{},8,20", ch), groupedWeights(ch, m, 3), asymmetric),
                   {{"conv_blocked_grouped", 1}});
    }
}

TEST_CASE("codegen: blocked grouped conv with a residual before and after the activation, 5x5 dilation 2") {
  for (int c : {4, 8, 16})
    for (int m : {2, 6}) {
      for (const char *residual : {"before_act", "after_act"}) {
        // The residual comes from a dense 1x1 conv so that it is blocked and differs from x.
        std::string weights = groupedWeights(c, m, 3) + fmt::format("\n    weight @wr : f32[{},{},1,1]", m * c, c);
        std::string body = fmt::format(R"(%r = conv2d(%xb, @wr)
          %y = fused_conv(%xb, @w, @b, %r) {{pads=[1,1,1,1], groups={}, activation="relu", residual="{}"}})",
                                       c, residual);
        checkKernels(fmt::format("blk_grouped_{}_c{}_m{}", residual, c, m),
                     blockedGraph(c, fmt::format("1,{},5,19", c), weights, body),
                     {{"conv_blocked_grouped", 1}, {"conv_blocked", 1}});
      }
      std::string dilated = fmt::format("%y = conv2d(%xb, @w, @b) {{pads=[4,4,4,4], dilation=[2,2], groups={}}}", c);
      checkKernels(fmt::format("blk_grouped_dil_c{}_m{}", c, m),
                   blockedGraph(c, fmt::format("1,{},11,21", c), groupedWeights(c, m, 5), dilated),
                   {{"conv_blocked_grouped", 1}});
    }
}

TEST_CASE("codegen: blocked max_pool 3x3/2 pad 1 with and without ceil_mode, dilation") {
  // Height 10 and widths 37 / 38: in ceil mode a last window hangs over the bottom or right.
  const std::pair<const char *, int> pools[] = {
      {"kernel=[3,3], stride=[2,2], pads=[1,1,1,1]", 37},
      {"kernel=[3,3], stride=[2,2], pads=[1,1,1,1], ceil_mode=true", 38},
      {"kernel=[3,3], stride=[1,1], pads=[1,1,1,1], dilation=[2,2]", 37},
      {"kernel=[2,2], stride=[2,2], ceil_mode=true", 37},
  };
  for (int c : {4, 8, 16})
    for (size_t i = 0; i < std::size(pools); ++i)
      checkKernels(fmt::format("blk_maxpool{}_c{}", i, c),
                   blockedGraph(c, fmt::format("2,{},10,{}", c, pools[i].second), "",
                                fmt::format("%y = max_pool(%xb) {{{}}}", pools[i].first)),
                   {{"max_pool_blocked", 1}});
}

TEST_CASE("codegen: blocked avg_pool with count_include_pad true and false, ceil_mode") {
  const char *pools[] = {
      "kernel=[3,3], stride=[2,2], pads=[1,1,1,1]",
      "kernel=[3,3], stride=[2,2], pads=[1,1,1,1], count_include_pad=false",
      "kernel=[3,3], stride=[2,2], pads=[1,1,1,1], ceil_mode=true",
      "kernel=[3,3], stride=[2,2], pads=[1,1,1,1], ceil_mode=true, count_include_pad=false",
      "kernel=[3,3], stride=[1,1], pads=[1,1,1,1], count_include_pad=false",
  };
  for (int c : {4, 8, 16})
    for (size_t i = 0; i < std::size(pools); ++i) {
      checkKernels(fmt::format("blk_avgpool{}_c{}", i, c),
                   blockedGraph(c, fmt::format("1,{},10,41", c), "", fmt::format("%y = avg_pool(%xb) {{{}}}", pools[i])),
                   {{"avg_pool_blocked", 1}});
    }
  // A 2x2 map under a 3x3 window: every column is an edge column.
  checkKernels("blk_avgpool_narrow", blockedGraph(8, "1,8,2,2", "", fmt::format("%y = avg_pool(%xb) {{{}}}", pools[4])),
               {{"avg_pool_blocked", 1}});
}

TEST_CASE("codegen: blocked global_avg_pool and add / mul by a per-channel vector") {
  for (int c : {4, 8, 16}) {
    // The gate: y = x * sigmoid(gap(x)) + bias vector, the [N,C,1,1] operands on either side.
    std::string body = R"(%g = global_avg_pool(%xb)
      %s = sigmoid(%g)
      %m = mul(%xb, %s)
      %a = add(%g, %m)
      %y = mul(%a, @v))";
    checkKernels(fmt::format("blk_gap_gate_c{}", c),
                 blockedGraph(c, fmt::format("2,{},5,7", 2 * c), fmt::format("weight @v : f32[1,{},1,1]", 2 * c), body),
                 {{"global_avg_pool_blocked", 1}, {"broadcast_blocked", 3}});
    // A [N,C,1,1] result is the same bytes in both layouts; the reorder to nchw still runs.
    checkKernels(fmt::format("blk_gap_c{}", c), blockedGraph(c, fmt::format("1,{},9,37", c), "", "%y = global_avg_pool(%xb)"),
                 {{"global_avg_pool_blocked", 1}, {"reorder", 2}});
  }
}

TEST_CASE("codegen: blocked concat of 2 and 3 inputs") {
  for (int c : {4, 8, 16}) {
    std::string body = R"(%p = conv2d(%xb, @w1)
      %r = relu(%xb)
      %two = concat(%r, %p)
      %three = concat(%p, %xb, %two)
      %y = relu(%three))";
    checkKernels(fmt::format("blk_concat_c{}", c),
                 blockedGraph(c, fmt::format("2,{},3,37", 2 * c), fmt::format("weight @w1 : f32[{},{},1,1]", c, 2 * c), body),
                 {{"concat_blocked", 2}, {"conv_blocked", 1}});
  }
}

TEST_CASE("ir: a conv with groups = channels / 2 in a blocked layout is a verifier error") {
  // Only groups 1 and groups == input channels (any channel multiplier) have blocked kernels.
  std::string text = R"(graph @g(%x: f32[1,8,4,4]) {
    weight @w : f32[16,2,3,3]
    %b = reorder(%x) {layout="nchw4c"}
    %grouped = conv2d(%b, @w) {pads=[1,1,1,1], groups=4}
    %r = reorder(%grouped) {layout="nchw"}
    return y = %r })";
  std::string message;
  try {
    parseGraph(text, "grouped.bir");
  } catch (const Error &e) {
    message = e.what();
  }
  CHECK(message.find("node %grouped (conv2d)") != std::string::npos);
  CHECK(message.find("grouped convs run in nchw only") != std::string::npos);
  CHECK(message.find("groups == input channels with output channels a multiple of them") != std::string::npos);
  CHECK(message.find("groups 4, 8 -> 16 channels") != std::string::npos);
}
