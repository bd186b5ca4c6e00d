// The fused ops' kernels (fused_conv, arm, ffm, bga, context_embedding, resize_add,
// resize_mul, resize_concat): each compiled library against the reference interpreter, whose fused kernels
// run the unfused subgraphs, with 1 and 2 threads.
#include "compiled_model.h"

#include "ir/interpreter/interpreter.h"
#include "ir/parser.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>

using namespace bisc;
using namespace bisc::testing;

namespace {

constexpr double kTolerance = 1e-4; // x max |reference|

/// Kernel families of the last compile (to check which emitter a case exercised).
std::vector<std::string> lastFamilies;

/// Compiles `text` for 1 and 2 threads and checks both against the interpreter.
void checkFused(const std::string &name, const std::string &text) {
  for (const ThreadedRun &run : compileWithThreads(name, text, 11, 5)) {
    INFO(name, " with ", run.threads, " threads: max |diff| / max |ref| = ", run.error);
    CHECK(run.error <= kTolerance);
    lastFamilies = run.families;
  }
}

bool compiledWith(const std::string &family) {
  return std::find(lastFamilies.begin(), lastFamilies.end(), family) != lastFamilies.end();
}

} // namespace

TEST_CASE("codegen fused: fused_conv through the direct conv planes (grouped, strided, narrow rows)") {
  // Rows narrower than any vector (ow = 3) or groups > 1 keep these off the microkernel.
  checkFused("fc_plain", R"(graph @g(%x: f32[1,5,6,3]) {
    weight @w : f32[7,5,3,3]
    %y = fused_conv(%x, @w) {pads=[1,1,1,1]}
    return y = %y })");
  CHECK(compiledWith("fused_conv"));
  checkFused("fc_relu_stride2", R"(graph @g(%x: f32[2,4,11,5]) {
    weight @w : f32[6,4,3,3]
    weight @b : f32[6]
    %y = fused_conv(%x, @w, @b) {stride=[2,2], pads=[1,1,1,1], activation="relu"}
    return y = %y })");
  CHECK(compiledWith("fused_conv"));
  checkFused("fc_before_grouped", R"(graph @g(%x: f32[1,6,9,10]) {
    weight @w0 : f32[8,6,1,1]
    weight @w : f32[8,3,3,3]
    weight @b : f32[8]
    %r = conv2d(%x, @w0)
    %y = fused_conv(%x, @w, @b, %r) {pads=[1,1,1,1], groups=2, activation="relu", residual="before_act"}
    return y = %y })");
  CHECK(compiledWith("fused_conv"));
  checkFused("fc_after_depthwise", R"(graph @g(%x: f32[1,4,12,9]) {
    weight @w : f32[4,1,3,3]
    weight @b : f32[4]
    %r = relu(%x)
    %y = fused_conv(%x, @w, @b, %r) {pads=[2,2,2,2], dilation=[2,2], groups=4, activation="relu", residual="after_act"}
    return y = %y })");
  CHECK(compiledWith("fused_conv"));
  checkFused("fc_before_noact_dw_stride2", R"(graph @g(%x: f32[1,4,12,9]) {
    weight @w0 : f32[8,4,1,1]
    weight @w : f32[8,1,3,3]
    weight @b : f32[8]
    %r = conv2d(%x, @w0) {stride=[2,2]}
    %y = fused_conv(%x, @w, @b, %r) {stride=[2,2], pads=[1,1,1,1], groups=4, residual="before_act"}
    return y = %y })");
  CHECK(compiledWith("fused_conv"));
}

TEST_CASE("codegen fused: fused_conv through the microkernel (dense, wide rows)") {
  checkFused("fcm_relu", R"(graph @g(%x: f32[1,5,6,37]) {
    weight @w : f32[6,5,3,3]
    weight @b : f32[6]
    %y = fused_conv(%x, @w, @b) {pads=[1,1,1,1], activation="relu"}
    return y = %y })");
  CHECK(compiledWith("conv_microkernel"));
  checkFused("fcm_before_stride2", R"(graph @g(%x: f32[1,4,8,70]) {
    weight @w0 : f32[5,4,1,1]
    weight @w : f32[5,4,3,3]
    weight @b : f32[5]
    %r = conv2d(%x, @w0) {stride=[2,2]}
    %y = fused_conv(%x, @w, @b, %r) {stride=[2,2], pads=[1,1,1,1], activation="relu", residual="before_act"}
    return y = %y })");
  CHECK(compiledWith("conv_microkernel"));
  checkFused("fcm_after", R"(graph @g(%x: f32[2,3,5,40]) {
    weight @w : f32[3,3,3,3]
    weight @b : f32[3]
    %r = relu(%x)
    %y = fused_conv(%x, @w, @b, %r) {pads=[1,1,1,1], activation="relu", residual="after_act"}
    return y = %y })");
  CHECK(compiledWith("conv_microkernel"));
}

TEST_CASE("codegen fused: direct fused_conv result sharing its buffer with the residual") {
  // plan-memory may reuse a residual that dies at the fused conv for its result: the direct
  // conv reads each residual element just before storing that element. Rows of 3 columns
  // and groups = 2 keep these on the direct conv on every target. (The microkernel
  // recomputes the overlapping columns of a row's last tile, so it is not checked here.)
  constexpr const char *text = R"(graph @g(%x: f32[1,4,6,{width}]) {{
      weight @w0 : f32[4,4,3,3]
      weight @w : f32[4,{wchannels},3,3]
      weight @b : f32[4]
      %r = conv2d(%x, @w0) {{pads=[1,1,1,1]}} : f32[1,4,6,{width}] at 0
      %y = fused_conv(%x, @w, @b, %r) {{pads=[1,1,1,1], groups={groups}, activation="relu",
                                        residual="after_act"}} : f32[1,4,6,{width}] at 0
      %z = sigmoid(%y)
      return z = %z }})";
  auto graph = [&](int width, int groups) {
    return fmt::format(text, fmt::arg("width", width), fmt::arg("wchannels", 4 / groups), fmt::arg("groups", groups));
  };
  checkFused("fc_inplace_narrow", graph(3, 1));
  CHECK(compiledWith("fused_conv"));
  checkFused("fc_inplace_grouped", graph(40, 2));
  CHECK(compiledWith("fused_conv"));
}

TEST_CASE("codegen fused: arm") {
  checkFused("arm", R"(graph @g(%x: f32[2,6,5,7]) {
    weight @w : f32[6,6,1,1]
    weight @b : f32[6]
    %y = arm(%x, @w, @b)
    return y = %y })");
  CHECK(compiledWith("arm_pool"));
  CHECK(compiledWith("arm_gate"));
  // More channels than vector lanes: the gate's dot product runs on vectors plus a tail.
  checkFused("arm_wide", R"(graph @g(%x: f32[1,37,3,5]) {
    weight @w : f32[37,37,1,1]
    weight @b : f32[37]
    %y = arm(%x, @w, @b)
    return y = %y })");
}

namespace {

/// An FFM over sp = conv1x1(x) (3 channels) and cp = relu(x) (4 channels) with `attention`
/// weight declarations, operands and attributes spliced in. The default input's rows of 3
/// columns keep the conv off the microkernel on every target.
std::string ffmGraph(const std::string &weights, const std::string &operands, const std::string &attrs,
                     const std::string &input = "f32[2,4,9,3]") {
  return R"(graph @g(%x: )" + input + R"() {
    weight @ws : f32[3,4,1,1]
    weight @w : f32[8,7,1,1]
    weight @b : f32[8]
    )" + weights + R"(
    %sp = conv2d(%x, @ws)
    %cp = relu(%x)
    %y = ffm(%sp, %cp, @w, @b, )" + operands + ")" + attrs + R"(
    return y = %y })";
}

} // namespace

TEST_CASE("codegen fused: ffm with one and two attention convs") {
  const char *one = "weight @a1 : f32[8,8,1,1]\n    weight @ab1 : f32[8]";
  checkFused("ffm_one", ffmGraph(one, "@a1, @ab1", ""));
  CHECK(!compiledWith("ffm_attention"));
  checkFused("ffm_one_relu", ffmGraph(one, "@a1, @ab1", " {att_activation=\"relu\"}"));
  const char *two = "weight @a1 : f32[2,8,1,1]\n    weight @ab1 : f32[2]\n"
                    "    weight @a2 : f32[8,2,1,1]\n    weight @ab2 : f32[8]";
  checkFused("ffm_two_relu", ffmGraph(two, "@a1, @ab1, @a2, @ab2", " {att_activation=\"relu\"}"));
  CHECK(compiledWith("ffm_attention"));
  checkFused("ffm_two", ffmGraph(two, "@a1, @ab1, @a2, @ab2", ""));
  CHECK(compiledWith("ffm_conv"));
  // Rows as wide as a vector: the concat goes to scratch and the conv to the microkernel.
  checkFused("ffm_wide_one", ffmGraph(one, "@a1, @ab1", "", "f32[2,4,3,37]"));
  CHECK(compiledWith("ffm_concat"));
  checkFused("ffm_wide_two_relu", ffmGraph(two, "@a1, @ab1, @a2, @ab2", " {att_activation=\"relu\"}", "f32[1,4,3,40]"));
  CHECK(compiledWith("ffm_concat"));
}

namespace {

/// A BGA over left1 = x [N,4,8,12], left2 = max_pool(x) [2,3], right2 = conv1x1(left2) and
/// right1 = `right1` (an avg_pool of x), with the resize attributes `attrs`.
std::string bgaGraph(const std::string &right1, const std::string &attrs) {
  return R"(graph @g(%x: f32[2,4,8,12]) {
    weight @w : f32[4,4,1,1]
    %l2 = max_pool(%x) {kernel=[4,4], stride=[4,4]}
    %r2 = conv2d(%l2, @w)
    %r1 = )" + right1 + R"(
    %y = bga(%x, %l2, %r1, %r2) )" + attrs + R"(
    return y = %y })";
}

} // namespace

TEST_CASE("codegen fused: bga modes") {
  const char *quarter = "avg_pool(%x) {kernel=[4,4], stride=[4,4]}";
  checkFused("bga_nearest_scale", bgaGraph(quarter, "{scale=[4.0,4.0]}"));
  checkFused("bga_nearest_size", bgaGraph(quarter, ""));
  checkFused("bga_bilinear", bgaGraph(quarter, "{mode=\"bilinear\"}"));
  checkFused("bga_bilinear_corners", bgaGraph(quarter, "{mode=\"bilinear\", align_corners=true}"));
  // right1 at half size while left2 stays at a quarter: two different resizes.
  const char *half = "avg_pool(%x) {kernel=[2,2], stride=[2,2]}";
  checkFused("bga_nearest_mixed", bgaGraph(half, ""));
  checkFused("bga_bilinear_mixed", bgaGraph(half, "{mode=\"bilinear\"}"));
}

TEST_CASE("codegen fused: context_embedding") {
  checkFused("ce_3x3", R"(graph @g(%x: f32[2,6,5,3]) {
    weight @gw : f32[6,6,1,1]
    weight @gb : f32[6]
    weight @w : f32[6,6,3,3]
    weight @b : f32[6]
    %y = context_embedding(%x, @gw, @gb, @w, @b) {pads=[1,1,1,1]}
    return y = %y })");
  CHECK(compiledWith("ce_conv"));
  checkFused("ce_grouped_strided", R"(graph @g(%x: f32[1,4,9,11]) {
    weight @gw : f32[4,4,1,1]
    weight @gb : f32[4]
    weight @w : f32[6,2,3,3]
    weight @b : f32[6]
    %y = context_embedding(%x, @gw, @gb, @w, @b) {stride=[2,2], pads=[0,1,2,1], dilation=[2,1], groups=2}
    return y = %y })");
  // Dense convs with wide rows run on the conv microkernel, the g terms in a last pass.
  checkFused("ce_microkernel", R"(graph @g(%x: f32[1,6,5,37]) {
    weight @gw : f32[6,6,1,1]
    weight @gb : f32[6]
    weight @w : f32[5,6,3,3]
    weight @b : f32[5]
    %y = context_embedding(%x, @gw, @gb, @w, @b) {pads=[1,1,1,1]}
    return y = %y })");
  CHECK(compiledWith("ce_taps"));
  checkFused("ce_microkernel_stride2", R"(graph @g(%x: f32[2,4,8,40]) {
    weight @gw : f32[4,4,1,1]
    weight @gb : f32[4]
    weight @w : f32[6,4,3,3]
    weight @b : f32[6]
    %y = context_embedding(%x, @gw, @gb, @w, @b) {stride=[2,2], pads=[1,2,1,0]}
    return y = %y })");
  CHECK(compiledWith("ce_taps"));
  checkFused("ce_pointwise", R"(graph @g(%x: f32[1,5,4,6]) {
    weight @gw : f32[5,5,1,1]
    weight @gb : f32[5]
    weight @w : f32[3,5,1,1]
    weight @b : f32[3]
    %y = context_embedding(%x, @gw, @gb, @w, @b)
    return y = %y })");
}

TEST_CASE("codegen fused: ffm and context_embedding convs on the packed and Winograd kernels") {
  // 20 concatenated channels into 8: a 1x1 conv for the packed-tile kernel.
  checkFused("ffm_packed", R"(graph @g(%x: f32[1,12,4,40]) {
    weight @ws : f32[8,12,1,1]
    weight @w : f32[8,20,1,1]
    weight @b : f32[8]
    weight @a1 : f32[8,8,1,1]
    weight @ab1 : f32[8]
    %sp = conv2d(%x, @ws)
    %cp = relu(%x)
    %y = ffm(%sp, %cp, @w, @b, @a1, @ab1)
    return y = %y })");
  CHECK(compiledWith("conv_packed"));
  CHECK(compiledWith("ffm_concat"));
  checkFused("ce_winograd", R"(graph @g(%x: f32[1,16,6,70]) {
    weight @gw : f32[16,16,1,1]
    weight @gb : f32[16]
    weight @w : f32[16,16,3,3]
    weight @b : f32[16]
    %y = context_embedding(%x, @gw, @gb, @w, @b) {pads=[1,1,1,1]}
    return y = %y })");
  CHECK(compiledWith("winograd_f4x4"));
  CHECK(compiledWith("ce_taps"));
  checkFused("ce_packed_stride2", R"(graph @g(%x: f32[1,16,8,44]) {
    weight @gw : f32[16,16,1,1]
    weight @gb : f32[16]
    weight @w : f32[8,16,3,3]
    weight @b : f32[8]
    %y = context_embedding(%x, @gw, @gb, @w, @b) {stride=[2,2], pads=[1,1,1,1]}
    return y = %y })");
  CHECK(compiledWith("conv_packed"));
  CHECK(compiledWith("ce_taps"));
}

TEST_CASE("codegen fused: resize_add and resize_mul") {
  auto graph = [](const std::string &op, const std::string &pool, const std::string &attrs) {
    return R"(graph @g(%x: f32[2,3,12,18]) {
      %s = avg_pool(%x) )" + pool + R"(
      %y = )" + op + "(%x, %s) " + attrs + R"(
      return y = %y })";
  };
  const char *half = "{kernel=[2,2], stride=[2,2]}", *third = "{kernel=[3,3], stride=[3,3]}";
  checkFused("radd_nearest_scale", graph("resize_add", half, "{scale=[2.0,2.0]}"));
  checkFused("radd_nearest_third", graph("resize_add", third, ""));
  checkFused("rmul_bilinear", graph("resize_mul", half, "{mode=\"bilinear\"}"));
  checkFused("rmul_bilinear_corners", graph("resize_mul", third, "{mode=\"bilinear\", align_corners=true}"));
  checkFused("radd_bilinear_scale", graph("resize_add", third, "{mode=\"bilinear\", scale=[3.0,3.0]}"));
}

TEST_CASE("codegen fused: resize_concat with the resized operand first, middle and last") {
  // The small operand has its own channel count (5, via a 1x1 conv) so the channel ranges of
  // the operands are uneven; two images check the (n, c) plane split.
  auto graph = [](const std::string &pool, const std::string &operands, const std::string &attrs) {
    return R"(graph @g(%x: f32[2,3,12,18]) {
      weight @w : f32[5,3,1,1]
      %p = avg_pool(%x) )" + pool + R"(
      %s = conv2d(%p, @w)
      %r = relu(%x)
      %y = resize_concat()" + operands + ") " + attrs + R"(
      return y = %y })";
  };
  const char *half = "{kernel=[2,2], stride=[2,2]}", *third = "{kernel=[3,3], stride=[3,3]}";
  checkFused("rcat_nearest_scale_middle", graph(half, "%x, %s, %r", "{resized=1, scale=[2.0,2.0]}"));
  CHECK(compiledWith("resize_concat"));
  checkFused("rcat_nearest_third_first", graph(third, "%s, %x", "{resized=0}"));
  checkFused("rcat_bilinear_last", graph(half, "%x, %r, %s", "{resized=2, mode=\"bilinear\"}"));
  checkFused("rcat_bilinear_corners_first",
             graph(third, "%s, %r, %x", "{resized=0, mode=\"bilinear\", align_corners=true}"));
  checkFused("rcat_bilinear_scale_middle",
             graph(third, "%r, %s, %x", "{resized=1, mode=\"bilinear\", scale=[3.0,3.0]}"));
  checkFused("rcat_bilinear_corners_scale_last",
             graph(half, "%r, %s", "{resized=1, mode=\"bilinear\", align_corners=true, scale=[2.0,2.0]}"));
  CHECK(compiledWith("resize_concat"));
}

TEST_CASE("codegen fused: gates in a planned arena keep their scratch clear of live tensors") {
  // Offsets as plan-memory would give them, reusing freed buffers; the gates' scratch vectors
  // go after the highest one, so a phase never overwrites a tensor a later phase reads.
  checkFused("planned_chain", R"(graph @g(%x: f32[1,4,8,12]) {
    weight @w : f32[4,4,3,3]
    weight @b : f32[4]
    weight @aw : f32[4,4,1,1]
    weight @ab : f32[4]
    weight @gw : f32[4,4,1,1]
    weight @gb : f32[4]
    weight @fw : f32[4,8,1,1]
    weight @fb : f32[4]
    weight @a1 : f32[4,4,1,1]
    weight @ab1 : f32[4]
    %c = fused_conv(%x, @w, @b) {pads=[1,1,1,1], activation="relu"} : f32[1,4,8,12] at 0
    %a = arm(%c, @aw, @ab) : f32[1,4,8,12] at 1536
    %e = context_embedding(%a, @gw, @gb, @w, @b) {pads=[1,1,1,1]} : f32[1,4,8,12] at 0
    %f = ffm(%e, %a, @fw, @fb, @a1, @ab1) : f32[1,4,8,12] at 3072
    %y = resize_mul(%f, %e) {mode="bilinear"}
    return y = %y })");
  CHECK(compiledWith("ffm_gate"));
}
