// The blocked NCHW{c}c kernels of emit_blocked_resize.cpp against the reference interpreter,
// for blocks 4, 8 and 16, each compiled with 1 and 2 threads: resize (nearest and bilinear,
// align_corners, a scale or a `like` operand, up and down, integer and non-integer ratios,
// odd sizes), resize_add / resize_mul, resize_concat with the small operand first, middle and
// last, and bga (nearest and bilinear, right1 at left2's size or another one). Each test checks
// the blocked kernel families ran, so none can pass through an nchw fallback. Last, the
// blocked-layout pass lets these ops join a region instead of reordering around them.
#include "blocked_checks.h"

#include "../passes/pass_test_util.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>

using namespace bisc;
using namespace bisc::testing;

namespace {

const char *const kModes[] = {"", "mode=\"bilinear\"", "mode=\"bilinear\", align_corners=true"};

/// A test name's word for one of kModes.
std::string modeTag(const std::string &mode) {
  if (mode.empty()) return "nearest";
  return mode.find("align_corners") == std::string::npos ? "bilinear" : "corners";
}

/// `mode` and `more` joined into one attribute list ("{...}", or "" if both are empty).
std::string attrs(const std::string &mode, const std::string &more = "") {
  std::string joined = mode.empty() ? more : more.empty() ? mode : mode + ", " + more;
  return joined.empty() ? "" : "{" + joined + "}";
}

} // namespace

// Each graph chains several ops of one mode (one compile checks them all): the chained
// values are the same in the interpreter, so a wrong kernel still shows in the output.

TEST_CASE("codegen: blocked resize by a scale, up and down, integer and non-integer") {
  // As the shape rule floors them: 5x7 by 2 -> 10x14, by 1.7 x 2.3 -> 17x32, by 0.5 -> 8x16,
  // by 1 x 3 -> 8x48 (an axis keeping its size is copied).
  for (int c : {4, 8, 16})
    for (const char *mode : kModes) {
      std::string body = fmt::format(R"(%a = resize(%xb) {}
        %b = resize(%a) {}
        %d = resize(%b) {}
        %y = resize(%d) {})", attrs(mode, "scale=[2.0,2.0]"), attrs(mode, "scale=[1.7,2.3]"),
                                     attrs(mode, "scale=[0.5,0.5]"), attrs(mode, "scale=[1.0,3.0]"));
      checkKernels(fmt::format("blk_resize_scale_c{}_{}", c, modeTag(mode)),
                   blockedGraph(c, fmt::format("2,{},5,7", 2 * c), body),
                   {{"resize_blocked", 4}, {"reorder", 2}}, 17, 3);
    }
}

TEST_CASE("codegen: blocked resize to a like operand's size, odd and non-integer ratios") {
  // Pools of x (11x17 -> 3x5 and 5x8) resized back to x's size: the ratios 11/3, 17/5, 11/5
  // and 17/8 are not integers. `like` is blocked like x.
  for (int c : {4, 8, 16})
    for (const char *mode : kModes) {
      std::string body = fmt::format(R"(%s3 = avg_pool(%xb) {{kernel=[3,3], stride=[3,3]}}
        %s2 = avg_pool(%xb) {{kernel=[2,2], stride=[2,2]}}
        %a = resize(%s3, %xb) {0}
        %b = resize(%s2, %xb) {0}
        %y = add(%a, %b))", attrs(mode));
      checkKernels(fmt::format("blk_resize_like_c{}_{}", c, modeTag(mode)),
                   blockedGraph(c, fmt::format("1,{},11,17", c), body),
                   {{"resize_blocked", 2}, {"avg_pool_blocked", 2}}, 17, 3);
    }
}

TEST_CASE("codegen: blocked resize_add and resize_mul") {
  // From 11x17: %s 3x5 scaled by 3 onto %t 9x15; %s to x's size (ratios 11/3, 17/5); that
  // 9x15 result to x's size (11/9, 17/15).
  for (int c : {4, 8, 16})
    for (const char *op : {"resize_add", "resize_mul"})
      for (const char *mode : kModes) {
        std::string body = fmt::format(R"(%s = avg_pool(%xb) {{kernel=[3,3], stride=[3,3]}}
          %t = avg_pool(%xb) {{kernel=[3,3], stride=[1,1]}}
          %a = {0}(%t, %s) {1}
          %b = {0}(%xb, %s) {2}
          %y = {0}(%b, %a) {2})", op, attrs(mode, "scale=[3.0,3.0]"), attrs(mode));
        checkKernels(fmt::format("blk_{}_c{}_{}", op, c, modeTag(mode)),
                     blockedGraph(c, fmt::format("2,{},11,17", 2 * c), body),
                     {{std::string(op) + "_blocked", 3}}, 17, 3);
      }
}

TEST_CASE("codegen: blocked resize_concat with the resized operand first, middle and last") {
  // From 10x14: %s2 (two blocks: a pool by 2 twice over) by the scale 2 first, %t (a pool by
  // 3, 3x4: ratios 10/3, 14/4) to the size in the middle, %s by the scale 2 last; the
  // operands of one and two blocks make the blocks' owners uneven.
  for (int c : {4, 8, 16})
    for (const char *mode : kModes) {
      std::string body = fmt::format(R"(%s = avg_pool(%xb) {{kernel=[2,2], stride=[2,2]}}
        %s2 = concat(%s, %s)
        %t = avg_pool(%xb) {{kernel=[3,3], stride=[3,3]}}
        %r = relu(%xb)
        %a = resize_concat(%s2, %xb) {}
        %b = resize_concat(%xb, %t, %r) {}
        %d = resize_concat(%r, %xb, %s) {}
        %y = concat(%a, %b, %d))", attrs(mode, "resized=0, scale=[2.0,2.0]"), attrs(mode, "resized=1"),
                                     attrs(mode, "resized=2, scale=[2.0,2.0]"));
      checkKernels(fmt::format("blk_rcat_c{}_{}", c, modeTag(mode)),
                   blockedGraph(c, fmt::format("2,{},10,14", c), body),
                   {{"resize_concat_blocked", 3}, {"concat_blocked", 2}}, 17, 3);
    }
}

namespace {

/// A BGA of left1 = %xb, left2 = max_pool(x) and right2 = avg_pool(x) (both by 4), right1 =
/// avg_pool(x) by `rightPool`, with the resize attributes `attributes`, as %`name`.
std::string bga(const std::string &name, int rightPool, const std::string &attributes) {
  return fmt::format(R"(%{0}.l2 = max_pool(%xb) {{kernel=[4,4], stride=[4,4]}}
    %{0}.r2 = avg_pool(%xb) {{kernel=[4,4], stride=[4,4]}}
    %{0}.r1 = avg_pool(%xb) {{kernel=[{1},{1}], stride=[{1},{1}]}}
    %{0} = bga(%xb, %{0}.l2, %{0}.r1, %{0}.r2) {2})", name, rightPool, attributes);
}

} // namespace

TEST_CASE("codegen: blocked bga, nearest and bilinear, one or two resizes") {
  for (int c : {4, 8, 16})
    for (const char *mode : kModes) {
      // 8x12 -> 2x3: by the scale 4 and to left1's size.
      std::string quarter =
          bga("p", 4, attrs(mode, "scale=[4.0,4.0]")) + "\n" + bga("q", 4, attrs(mode)) + "\n%y = add(%p, %q)";
      checkKernels(fmt::format("blk_bga_c{}_{}", c, modeTag(mode)),
                   blockedGraph(c, fmt::format("2,{},8,12", 2 * c), quarter),
                   {{"bga_blocked_small", 2}, {"bga_blocked", 2}}, 17, 3);
      // Odd 9x13: left2 2x3 and right1 4x6, two resizes by non-integer ratios.
      checkKernels(fmt::format("blk_bga_mixed_c{}_{}", c, modeTag(mode)),
                   blockedGraph(c, fmt::format("1,{},9,13", c), bga("y", 2, attrs(mode))),
                   {{"bga_blocked_small", 1}, {"bga_blocked", 1}});
    }
}

TEST_CASE("codegen: blocked-layout lets the resize family and bga join a region") {
  // Blocked convs around each op: the pass must keep them in the region (no reorder but the
  // input's and the output's), and the compiled graph must match the interpreter.
  std::string text = R"(graph @g(%x: f32[1,16,16,24]) {
    weight @w : f32[16,16,1,1]
    weight @w2 : f32[16,16,3,3]
    %a = conv2d(%x, @w)
    %d = conv2d(%a, @w2) {stride=[2,2], pads=[1,1,1,1]}
    %e = conv2d(%d, @w)
    %up = resize(%e) {mode="bilinear", scale=[2.0,2.0]}
    %s = resize_add(%a, %e) {scale=[2.0,2.0]}
    %m = resize_mul(%s, %d) {mode="bilinear", align_corners=true}
    %l2 = conv2d(%d, @w)
    %b = bga(%m, %l2, %d, %e) {scale=[2.0,2.0]}
    %c = add(%b, %up)
    %y = conv2d(%c, @w)
    return y = %y })";
  auto graph = parseGraph(text, "blk_resize_region.bir");
  bisc::test::runPipeline(*graph, "blocked-layout{block=8}");
  std::map<std::string, int> counts = bisc::test::opCounts(*graph);
  CHECK(counts["reorder"] == 2);
  std::string blocked = printGraph(*graph);
  checkKernels("blk_resize_region", blocked,
               {{"resize_blocked", 1},
                {"resize_add_blocked", 1},
                {"resize_mul_blocked", 1},
                {"bga_blocked", 1},
                {"reorder", 2}}, 17, 3);
}
