// fuse-resize on concat consumers: the interpreter gives the same outputs bit for bit before
// and after the pass (resize_concat runs the resize and concat kernels it replaced), for every
// operand position, mode and target form; and resize_concat's shape rule names what is wrong.
#include "pass_test_util.h"

#include "ir/error.h"

using namespace bisc;
using namespace bisc::test;

namespace {

/// A graph whose concat reads `upsample` (a resize of the 2x-smaller %s) at `position`
/// among full-size operands %a (4 channels) and %b (relu(x), 3 channels).
std::string concatGraph(const std::string &upsample, size_t position) {
  std::vector<std::string> operands{"%a", "%b"};
  operands.insert(operands.begin() + long(position), "%up");
  return R"(graph @g(%x: f32[2,3,8,12]) {
    weight @w : f32[4,3,1,1]
    weight @ws : f32[5,3,1,1]
    %a = conv2d(%x, @w)
    %b = relu(%x)
    %p = avg_pool(%x) {kernel=[2,2], stride=[2,2]}
    %s = conv2d(%p, @ws)
    %up = )" + upsample + R"(
    %y = concat()" + operands[0] + ", " + operands[1] + ", " + operands[2] + R"()
    return y = %y
  })";
}

/// The error message of parsing (and verifying) `text`, or "" if it parsed.
std::string parseError(const std::string &text) {
  try {
    parseGraph(text, "bad.bir");
  } catch (const Error &error) {
    return error.what();
  }
  return "";
}

} // namespace

TEST_CASE("passes: fuse-resize folds an upsampled concat operand in any position, bit for bit") {
  const char *upsamples[] = {
      R"(resize(%s) {scale=[2.0,2.0]})",
      R"(resize(%s, %a))",
      R"(resize(%s, %b) {mode="bilinear"})",
      R"(resize(%s, %a) {mode="bilinear", align_corners=true})",
      R"(resize(%s) {mode="bilinear", scale=[2.0,2.0]})",
  };
  for (const char *upsample : upsamples)
    for (size_t position = 0; position < 3; ++position) {
      std::string text = concatGraph(upsample, position);
      INFO(upsample, " at ", position);
      auto graph = parseGraph(text, "concat.bir");
      fillTestWeights(*graph);
      std::vector<Tensor> inputs = deterministicInputs(*graph);
      NamedOutputs before = runForCheck(*graph, inputs);
      runPipeline(*graph, "fuse-resize");
      std::map<std::string, int> counts = opCounts(*graph);
      CHECK(counts["resize_concat"] == 1);
      CHECK(counts["resize"] == 0);
      CHECK(counts["concat"] == 0);
      const Node &fused = *graph->nodes().back();
      CHECK(fused.attrInt("resized") == int64_t(position));
      auto problem = compareOutputs(before, runForCheck(*graph, inputs), 0.0);
      CHECK_MESSAGE(!problem, *problem);
    }
}

TEST_CASE("passes: fuse-resize leaves concats it cannot fold") {
  // Downsampling, a resize with a second user, and a concat along H are left alone.
  const char *texts[] = {
      R"(graph @g(%x: f32[1,3,8,8], %t: f32[1,3,4,4]) {
        %down = resize(%x) {scale=[0.5,0.5]}
        %y = concat(%t, %down)
        return y = %y })",
      R"(graph @g(%x: f32[1,3,8,8], %s: f32[1,3,4,4]) {
        %up = resize(%s, %x)
        %y = concat(%x, %up)
        return y = %y, up = %up })",
      R"(graph @g(%x: f32[1,3,8,8], %s: f32[1,3,4,4]) {
        %up = resize(%s, %x)
        %y = concat(%x, %up) {axis=2}
        return y = %y })",
  };
  for (const char *text : texts) {
    auto graph = parseGraph(text, "keep.bir");
    std::string before = printGraph(*graph);
    runPipeline(*graph, "fuse-resize");
    CHECK(printGraph(*graph) == before);
  }
}

TEST_CASE("passes: resize_concat's shape rule names the bad operand or attribute") {
  auto graph = [](const std::string &operands, const std::string &attrs) {
    return "graph @g(%x: f32[1,3,8,8], %s: f32[1,2,4,4], %z: f32[1,3,6,8]) {\n  %y = resize_concat(" +
           operands + ") " + attrs + "\n  return y = %y\n}\n";
  };
  CHECK(parseError(graph("%x, %s", "{resized=1, scale=[2.0,2.0]}")) == "");
  CHECK(parseError(graph("%x, %s", "{resized=2}")).find("attribute resized must name an operand (0..1), got 2") !=
        std::string::npos);
  CHECK(parseError(graph("%s", "{resized=0}")).find("needs at least two operands") != std::string::npos);
  CHECK(parseError(graph("%x, %s, %z", "{resized=1}")).find("input 2 is f32[1,3,6,8] but input 0 is f32[1,3,8,8]") !=
        std::string::npos);
  CHECK(parseError(graph("%s, %x", "{resized=0, scale=[3.0,3.0]}")).find("does not give") != std::string::npos);
  CHECK(parseError(graph("%x, %s", "{resized=1, align_corners=true}")).find("align_corners only applies") !=
        std::string::npos);
}
