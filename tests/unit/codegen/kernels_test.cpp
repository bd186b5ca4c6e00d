// Every kernel family: the compiled library against the reference interpreter.
#include "compiled_model.h"

#include "ir/interpreter/interpreter.h"
#include "ir/parser.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

using namespace bisc;
using namespace bisc::testing;

namespace {

/// Compiles `text`, runs it and the interpreter on the same input, returns the relative error.
double compareWithInterpreter(const std::string &name, const std::string &text, int threads = 1) {
  auto graph = parseGraph(text, name + ".bir");
  fillWeightsForTest(*graph, 1);
  Tensor input = testInput(graph->inputs()[0]->type.shape, 2);
  Tensor expected = interpret(*graph, std::span<const Tensor>(&input, 1))[0];
  CompiledModel model(*graph, name, threads);
  return relativeError(model.run(input), expected);
}

} // namespace

TEST_CASE("codegen: convolutions (dense, strided, grouped, depthwise, dilated, asymmetric pads)") {
  CHECK(compareWithInterpreter("conv_dense", R"(graph @g(%x: f32[2,5,13,17]) {
    weight @w : f32[7,5,3,3]
    weight @b : f32[7]
    %y = conv2d(%x, @w, @b) {pads=[1,1,1,1]}
    return y = %y })") < 1e-5);
  CHECK(compareWithInterpreter("conv_stride2", R"(graph @g(%x: f32[1,3,15,21]) {
    weight @w : f32[8,3,7,7]
    %y = conv2d(%x, @w) {stride=[2,2], pads=[3,3,3,3]}
    return y = %y })") < 1e-5);
  CHECK(compareWithInterpreter("conv_grouped6", R"(graph @g(%x: f32[1,4,9,11]) {
    weight @w : f32[24,1,3,3]
    %y = conv2d(%x, @w) {stride=[2,2], pads=[1,1,1,1], groups=4}
    return y = %y })") < 1e-5);
  CHECK(compareWithInterpreter("conv_dilated", R"(graph @g(%x: f32[1,6,12,10]) {
    weight @w : f32[6,3,3,3]
    %y = conv2d(%x, @w) {pads=[2,1,0,2], dilation=[2,1], groups=2}
    return y = %y })") < 1e-5);
  CHECK(compareWithInterpreter("conv_pointwise", R"(graph @g(%x: f32[1,16,8,8]) {
    weight @w : f32[4,16,1,1]
    %y = conv2d(%x, @w)
    return y = %y })") < 1e-5);
}

TEST_CASE("codegen: elementwise, batch norm and broadcast") {
  CHECK(compareWithInterpreter("elementwise", R"(graph @g(%x: f32[2,4,6,10]) {
    weight @bn.weight : f32[4]
    weight @bn.bias : f32[4]
    weight @bn.running_mean : f32[4]
    weight @bn.running_var : f32[4]
    %bn = batch_norm(%x, @bn.weight, @bn.bias, @bn.running_mean, @bn.running_var)
    %r = relu(%bn)
    %g = global_avg_pool(%x)
    %s = sigmoid(%g)
    %m = mul(%r, %s)
    %a = add(%m, %x)
    %d = dropout(%a)
    return y = %d })") < 1e-5);
}

TEST_CASE("codegen: pooling") {
  CHECK(compareWithInterpreter("max_pool", R"(graph @g(%x: f32[1,3,13,18]) {
    %y = max_pool(%x) {kernel=[3,3], stride=[2,2], pads=[1,1,1,1]}
    return y = %y })") < 1e-6);
  CHECK(compareWithInterpreter("max_pool_ceil", R"(graph @g(%x: f32[1,3,14,17]) {
    %y = max_pool(%x) {kernel=[3,3], stride=[2,2], ceil_mode=true}
    return y = %y })") < 1e-6);
  CHECK(compareWithInterpreter("avg_pool_pad", R"(graph @g(%x: f32[1,3,13,18]) {
    %y = avg_pool(%x) {kernel=[3,3], stride=[2,2], pads=[1,1,1,1]}
    return y = %y })") < 1e-6);
  CHECK(compareWithInterpreter("avg_pool_nopad", R"(graph @g(%x: f32[1,3,13,18]) {
    %y = avg_pool(%x) {kernel=[3,3], stride=[2,2], pads=[1,1,1,1], ceil_mode=true, count_include_pad=false}
    return y = %y })") < 1e-6);
}

TEST_CASE("codegen: resize and concat") {
  CHECK(compareWithInterpreter("resize_bilinear", R"(graph @g(%x: f32[1,3,7,9]) {
    %a = resize(%x) {mode="bilinear", scale=[8.0,8.0]}
    %p = max_pool(%a) {kernel=[2,2], stride=[2,2]}
    %b = resize(%x, %p) {mode="bilinear", align_corners=true}
    %n = resize(%x, %p)
    %c = concat(%p, %b, %n)
    return y = %c })") < 1e-5);
  CHECK(compareWithInterpreter("resize_down", R"(graph @g(%x: f32[1,2,13,17]) {
    %a = resize(%x) {mode="bilinear", scale=[0.5,0.5]}
    %b = resize(%x) {scale=[4.0,4.0]}
    %c = resize(%b, %a) {mode="bilinear"}
    return y = %c })") < 1e-5);
}

TEST_CASE("codegen: a resize with an output past the streaming size, aligned or not") {
  // 4 x 512 x 1024 floats = 8 MiB: written with streaming stores, whole vectors when the
  // logits sit on a 64-byte boundary, split ones when not; a width of 1032 is not whole vectors.
  for (const char *width : {"128", "129"}) {
    std::string text = fmt::format(R"(graph @g(%x: f32[1,4,64,{}]) {{
      %y = resize(%x) {{mode="bilinear", scale=[8.0,8.0]}}
      return y = %y }})", width);
    auto graph = parseGraph(text, "resize_streaming.bir");
    Tensor input = testInput(graph->inputs()[0]->type.shape, 3);
    Tensor expected = interpret(*graph, std::span<const Tensor>(&input, 1))[0];
    CompiledModel model(*graph, fmt::format("resize_streaming_{}", width), 2);
    for (size_t offset : {0, 4, 32}) {
      CAPTURE(width);
      CAPTURE(offset);
      CHECK(relativeError(model.run(input, offset), expected) < 1e-6);
    }
  }
}

TEST_CASE("codegen: softmax, log_softmax and labels") {
  const char *text = R"(graph @g(%x: f32[2,5,6,7]) {
    %s = softmax(%x)
    %l = log_softmax(%s)
    return y = %l })";
  CHECK(compareWithInterpreter("softmax", text) < 1e-5);
  auto graph = parseGraph(text);
  Tensor input = testInput({2, 5, 6, 7}, 3);
  Tensor expected = interpret(*graph, std::span<const Tensor>(&input, 1))[0];
  CompiledModel model(*graph, "labels");
  std::vector<uint8_t> labels = model.runLabels(input);
  auto logits = expected.f32();
  for (size_t i = 0; i < labels.size(); ++i) {
    size_t n = i / 42, pixel = i % 42;
    int best = 0;
    for (int c = 1; c < 5; ++c)
      if (logits[(n * 5 + size_t(c)) * 42 + pixel] > logits[(n * 5 + size_t(best)) * 42 + pixel]) best = c;
    CHECK(labels[i] == best);
  }
}

TEST_CASE("codegen: two threads give the same result as one") {
  const char *text = R"(graph @g(%x: f32[1,8,16,16]) {
    weight @w : f32[16,8,3,3]
    %y = conv2d(%x, @w) {pads=[1,1,1,1]}
    %r = relu(%y)
    return y = %r })";
  CHECK(compareWithInterpreter("threads2", text, 2) < 1e-5);
  CHECK(compareWithInterpreter("threads3", text, 3) < 1e-5);
}
