// The register-blocked conv microkernel against the reference interpreter: tile edges with
// padding masks, stride 2, dilation, channel-block tails, rows barely one vector wide.
#include "compiled_model.h"

#include "ir/interpreter/interpreter.h"
#include "ir/parser.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

using namespace bisc;
using namespace bisc::testing;

namespace {

double microkernelError(const std::string &name, const std::string &input, const std::string &weight,
                        const std::string &attrs, int threads = 1) {
  std::string text = fmt::format(R"(graph @g(%x: f32[{}]) {{
    weight @w : f32[{}]
    weight @b : f32[{}]
    %y = conv2d(%x, @w, @b) {{{}}}
    return y = %y }})", input, weight, weight.substr(0, weight.find(',')), attrs);
  auto graph = parseGraph(text, name + ".bir");
  fillWeightsForTest(*graph, 3);
  Tensor x = testInput(graph->inputs()[0]->type.shape, 4);
  Tensor expected = interpret(*graph, std::span<const Tensor>(&x, 1))[0];
  CompiledModel model(*graph, name, threads);
  return relativeError(model.run(x), expected);
}

} // namespace

TEST_CASE("codegen: conv microkernel, 3x3 stride 1 over rows of many tiles") {
  CHECK(microkernelError("mk_3x3", "1,8,9,150", "19,8,3,3", "pads=[1,1,1,1]") < 1e-5);
  CHECK(microkernelError("mk_3x3_t2", "2,5,7,67", "13,5,3,3", "pads=[1,1,1,1]", 2) < 1e-5);
}

TEST_CASE("codegen: conv microkernel, stride 2, dilation, 1x1 and 7x7") {
  CHECK(microkernelError("mk_s2", "1,6,11,97", "10,6,3,3", "stride=[2,2], pads=[1,1,1,1]") < 1e-5);
  CHECK(microkernelError("mk_7x7", "1,3,19,90", "16,3,7,7", "stride=[2,2], pads=[3,3,3,3]") < 1e-5);
  CHECK(microkernelError("mk_dil", "1,4,12,70", "6,4,3,3", "pads=[2,2,2,2], dilation=[2,2]") < 1e-5);
  CHECK(microkernelError("mk_1x1", "1,33,5,40", "21,33,1,1", "groups=1") < 1e-5);
  CHECK(microkernelError("mk_asym", "1,4,8,33", "7,4,3,3", "pads=[0,2,1,0]") < 1e-5);
}

TEST_CASE("codegen: conv microkernel finishes each column once when the output is the residual") {
  // OW = 40 with 16 lanes: the last tile overlaps its predecessor. %y shares %r's buffer
  // (arena offset 7680), so a column stored twice would add the residual twice.
  auto graph = parseGraph(R"(graph @g(%x: f32[1,4,6,40]) {
    weight @w1 : f32[8,4,3,3]
    weight @b1 : f32[8]
    weight @w2 : f32[8,8,3,3]
    weight @b2 : f32[8]
    weight @w3 : f32[8,4,3,3]
    %a = conv2d(%x, @w1, @b1) {pads=[1,1,1,1]} : f32[1,8,6,40] at 0
    %r = conv2d(%x, @w3, @b1) {pads=[1,1,1,1]} : f32[1,8,6,40] at 7680
    %y = fused_conv(%a, @w2, @b2, %r) {pads=[1,1,1,1], activation="relu", residual="after_act"} : f32[1,8,6,40] at 7680
    %z = relu(%y)
    return z = %z })", "mk_inplace.bir");
  fillWeightsForTest(*graph, 5);
  Tensor x = testInput(graph->inputs()[0]->type.shape, 6);
  Tensor expected = interpret(*graph, std::span<const Tensor>(&x, 1))[0];
  CompiledModel model(*graph, "mk_inplace", 1);
  CHECK(relativeError(model.run(x), expected) < 1e-5);
}
