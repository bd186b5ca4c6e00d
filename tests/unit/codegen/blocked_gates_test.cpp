// The blocked gates of emit_blocked_gates.cpp (arm, ffm, context_embedding in NCHW{c}c)
// against the reference interpreter (which ignores layouts), for blocks 4, 8 and 16, each
// compiled with 1 and 2 threads: planes shorter than, equal to and longer than the pool's
// partial sums with a tail, several images, FFM with one attention conv (none / relu) and two
// (relu / none), CE with 3x3 (direct, Winograd in one kernel and in two), strided, dilated
// and 1x1 convs. Each case counts the kernel families, so none can pass on the NCHW gates
// behind reorders. Then: ARM gives the NCHW kernel's bits, the verifier's errors for gates
// that cannot be blocked, and the blocked-layout pass keeping a chain of the three gates in
// one region.
#include "blocked_checks.h"

#include "ir/error.h"
#include "ir/layout_rules.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/passes.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>

using namespace bisc;
using namespace bisc::testing;

namespace {

std::string armWeights(int channels) {
  return fmt::format("weight @w : f32[{0},{0},1,1]\n    weight @b : f32[{0}]", channels);
}

/// Input shapes "N,C,H,W" for C = `channels`: 35 pixels (partial sums and a tail), 111 in
/// 3-wide rows, 9 (fewer than the partial sums: tail only) and 32 (no tail).
std::vector<std::string> planeShapes(int channels) {
  return {fmt::format("2,{},5,7", channels), fmt::format("1,{},37,3", channels), fmt::format("1,{},3,3", channels),
          fmt::format("1,{},4,8", channels)};
}

} // namespace

TEST_CASE("codegen: blocked arm, odd planes, blocks 4, 8, 16") {
  for (int c : {4, 8, 16})
    for (const std::string &shape : planeShapes(3 * c)) {
      std::string name = fmt::format("blk_arm_c{}_{}", c, shape);
      std::replace(name.begin(), name.end(), ',', '_');
      checkKernels(name, blockedGraph(c, shape, armWeights(3 * c), "%y = arm(%xb, @w, @b)"),
                   {{"arm_pool_blocked", 1}, {"arm_gate_blocked", 1}, {"reorder", 2}, {"arm_pool", 0}});
    }
}

TEST_CASE("codegen: blocked arm gives the nchw arm's bits") {
  // Same pool order, same gate math, one multiply: exactly equal, not just close.
  for (int c : {8, 16}) {
    std::string shape = fmt::format("2,{},5,7", 2 * c), weights = armWeights(2 * c);
    auto plain = parseGraph(fmt::format(R"(graph @g(%x: f32[{}]) {{
      {}
      %y = arm(%x, @w, @b)
      return y = %y }})", shape, weights));
    auto blocked = parseGraph(blockedGraph(c, shape, weights, "%y = arm(%xb, @w, @b)"));
    fillWeightsForTest(*plain, 3);
    fillWeightsForTest(*blocked, 3);
    Tensor input = testInput(plain->inputs()[0]->type.shape, 4);
    CompiledModel plainModel(*plain, fmt::format("blk_arm_bits_nchw{}", c));
    CompiledModel blockedModel(*blocked, fmt::format("blk_arm_bits_c{}", c));
    CHECK(relativeError(blockedModel.run(input), plainModel.run(input)) == 0.0);
  }
}

namespace {

/// FFM over sp = conv1x1(xb) (2c channels) and cp = relu(xb) (c channels), 2c outputs, with
/// one attention conv or two through 3 hidden channels.
std::string ffmGraph(int c, const std::string &input, bool twoConvs, const std::string &attrs) {
  std::string weights = fmt::format(R"(weight @ws : f32[{0},{1},1,1]
    weight @w : f32[{0},{2},1,1]
    weight @b : f32[{0}])", 2 * c, c, 3 * c);
  if (twoConvs)
    weights += fmt::format(R"(
    weight @a1 : f32[3,{0},1,1]
    weight @ab1 : f32[3]
    weight @a2 : f32[{0},3,1,1]
    weight @ab2 : f32[{0}])", 2 * c);
  else
    weights += fmt::format("\n    weight @a1 : f32[{0},{0},1,1]\n    weight @ab1 : f32[{0}]", 2 * c);
  std::string body = fmt::format(R"(%sp = conv2d(%xb, @ws)
    %cp = relu(%xb)
    %y = ffm(%sp, %cp, @w, @b, @a1, @ab1{}){})", twoConvs ? ", @a2, @ab2" : "", attrs);
  return blockedGraph(c, input, weights, body);
}

} // namespace

TEST_CASE("codegen: blocked ffm with one and two attention convs, blocks 4, 8, 16") {
  const std::pair<bool, const char *> variants[] = {
      {false, ""}, {false, " {att_activation=\"relu\"}"}, {true, " {att_activation=\"relu\"}"}, {true, ""}};
  for (int c : {4, 8, 16})
    for (const std::string &shape : {fmt::format("2,{},5,7", c), fmt::format("1,{},3,37", c)})
      for (auto [twoConvs, attrs] : variants) {
        std::string name = fmt::format("blk_ffm_c{}_{}_{}{}", c, shape, twoConvs ? 2 : 1, attrs[0] ? "_relu" : "");
        std::replace(name.begin(), name.end(), ',', '_');
        checkKernels(name, ffmGraph(c, shape, twoConvs, attrs),
                     {{"ffm_concat_blocked", 1}, {"conv_blocked", 2}, {"ffm_pool_blocked", 1},
                      {"ffm_attention", twoConvs ? 1 : 0}, {"ffm_gate_blocked", 1}, {"reorder", 2}});
      }
}

namespace {

/// context_embedding of xb (`channels`) into `outChannels` with a KxK conv and `attrs`.
std::string ceGraph(int c, const std::string &input, int channels, int outChannels, int kernel,
                    const std::string &attrs) {
  std::string weights = fmt::format(R"(weight @gw : f32[{0},{0},1,1]
    weight @gb : f32[{0}]
    weight @w : f32[{1},{0},{2},{2}]
    weight @b : f32[{1}])", channels, outChannels, kernel);
  return blockedGraph(c, input, weights, fmt::format("%y = context_embedding(%xb, @gw, @gb, @w, @b){}", attrs));
}

std::map<std::string, int> ceFamilies(const std::string &conv) {
  return {{"ce_pool_blocked", 1}, {"ce_add_blocked", 1}, {conv, 1}, {"reorder", 2}, {"ce_taps", 0}};
}

} // namespace

TEST_CASE("codegen: blocked context_embedding, 3x3 / strided / dilated / 1x1 convs, blocks 4, 8, 16") {
  for (int c : {4, 8, 16}) {
    // Fewer than 16 channels (c = 4, 8) or a stride keeps the 3x3 conv off Winograd.
    std::string in = fmt::format("2,{},5,7", c);
    checkKernels(fmt::format("blk_ce3_c{}", c), ceGraph(c, in, c, 2 * c, 3, " {pads=[1,1,1,1]}"),
                 ceFamilies(c < 16 ? "conv_blocked" : "winograd_f4x4_blocked"));
    checkKernels(fmt::format("blk_ce_s2_c{}", c),
                 ceGraph(c, fmt::format("1,{},9,11", 2 * c), 2 * c, c, 3, " {stride=[2,2], pads=[1,2,1,0]}"),
                 ceFamilies("conv_blocked"));
    checkKernels(fmt::format("blk_ce_dil_c{}", c),
                 ceGraph(c, fmt::format("1,{},9,11", c), c, c, 3, " {stride=[2,2], pads=[0,1,2,1], dilation=[2,1]}"),
                 ceFamilies("conv_blocked"));
    checkKernels(fmt::format("blk_ce1_c{}", c), ceGraph(c, fmt::format("1,{},4,6", 2 * c), 2 * c, c, 1, ""),
                 ceFamilies("conv_blocked"));
  }
  // BiSeNetV2's shape at 1/32 (128 channels there): 16 channels and more go to Winograd.
  checkKernels("blk_ce_winograd", ceGraph(8, "1,16,6,13", 16, 16, 3, " {pads=[1,1,1,1]}"),
               ceFamilies("winograd_f4x4_blocked"));
  // A map of 160 tiles: Winograd's two-kernel form, its V in scratch after the gate's own.
  std::map<std::string, int> twoKernels = ceFamilies("winograd_f4x4_blocked");
  twoKernels["input_transform_blocked"] = 1;
  checkKernels("blk_ce_winograd_shared", ceGraph(16, "1,64,40,64", 64, 64, 3, " {pads=[1,1,1,1]}"), twoKernels);
}

TEST_CASE("codegen: gates that cannot be blocked are named by the layout rule") {
  // An ffm whose cp has 4 channels (not whole nchw8c blocks): the pass never blocks it.
  auto ffm = parseGraph(R"(graph @g(%x: f32[1,4,5,7]) {
    weight @ws : f32[8,4,1,1]
    weight @w : f32[8,12,1,1]
    weight @b : f32[8]
    weight @a1 : f32[8,8,1,1]
    weight @ab1 : f32[8]
    %sp = conv2d(%x, @ws)
    %y = ffm(%sp, %x, @w, @b, @a1, @ab1)
    return y = %y })");
  CHECK(blockedUnsupported(*ffm->find("y")->producer, 8).find("an ffm input (%x") != std::string::npos);
  CHECK(blockedUnsupported(*ffm->find("y")->producer, 4).empty());
  // A grouped context_embedding in a blocked layout is a verifier error.
  std::string grouped = ceGraph(8, "1,16,5,7", 16, 16, 3, " {pads=[1,1,1,1], groups=2}");
  grouped.replace(grouped.find("f32[16,16,3,3]"), 14, "f32[16,8,3,3]");
  CHECK_THROWS_WITH_AS(parseGraph(grouped, "gates.bir"),
                       doctest::Contains("a grouped context_embedding conv (groups 2) runs in nchw only"), Error);
}

TEST_CASE("passes + codegen: blocked-layout keeps a chain of arm, context_embedding and ffm in one region") {
  auto graph = parseGraph(R"(graph @g(%x: f32[1,16,6,10]) {
    weight @w1 : f32[16,16,1,1]
    weight @aw : f32[16,16,1,1]
    weight @ab : f32[16]
    weight @gw : f32[16,16,1,1]
    weight @gb : f32[16]
    weight @cw : f32[16,16,3,3]
    weight @cb : f32[16]
    weight @fw : f32[16,32,1,1]
    weight @fb : f32[16]
    weight @a1 : f32[16,16,1,1]
    weight @ab1 : f32[16]
    %a = conv2d(%x, @w1)
    %r = arm(%a, @aw, @ab)
    %e = context_embedding(%r, @gw, @gb, @cw, @cb) {pads=[1,1,1,1]}
    %y = ffm(%e, %r, @fw, @fb, @a1, @ab1)
    return y = %y })");
  createPass("blocked-layout", "block=8")->run(*graph);
  int reorders = 0;
  for (const auto &node : graph->nodes()) reorders += node->op == OpId::reorder;
  CHECK(reorders == 2);  // the input into the region, the output out of it
  for (const char *name : {"r", "e", "y"}) CHECK(graph->find(name)->type.channelBlock == 8);
  checkKernels("blk_gate_chain", printGraph(*graph),
               {{"arm_gate_blocked", 1}, {"ce_add_blocked", 1}, {"ffm_gate_blocked", 1}, {"reorder", 2}});
}
