// The blocked-layout pass: golden text (tests/passes/golden/blocked_layout.*.bir, which also
// round-trips the layout annotations through the parser), its options and errors, the
// verifier's layout checks, and whole models compiled with the pass against the reference
// interpreter on the model as loaded (1x3x64x128, design.md's 1e-4 tolerance).
#include "pass_test_util.h"

#include "../codegen/compiled_model.h"

#include "ir/error.h"
#include "ir/verifier.h"
#include "passes/passes.h"

using namespace bisc;
using namespace bisc::test;

namespace {

void checkCompiledWithPass(const std::string &model, const std::string &pipeline) {
  auto graph = loadBundled(model);
  std::vector<Tensor> inputs = deterministicInputs(*graph);
  NamedOutputs reference = runForCheck(*graph, inputs);
  runPipeline(*graph, pipeline);
  int reorders = opCounts(*graph)["reorder"];
  CHECK(reorders > 0);
  for (int threads : {1, 2}) {
    testing::CompiledModel compiled(*graph, "blocked_" + model + "_t" + std::to_string(threads), threads);
    double error = testing::relativeError(compiled.run(inputs[0]), reference.tensors[0]);
    MESSAGE(model << " (" << pipeline << ", " << threads << " threads, " << reorders
                  << " reorders): compiled vs interpreter: " << error);
    CHECK(error <= 1e-4);
  }
}

std::string verifyText(const std::string &text) {
  try {
    parseGraph(text, "layout.bir");
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("passes: golden blocked-layout") {
  std::string inPath = sourcePath("tests/passes/golden/blocked_layout.in.bir");
  std::string input = readText(inPath);
  std::string expected = readText(sourcePath("tests/passes/golden/blocked_layout.out.bir"));
  auto graph = parseGraph(input, inPath);
  runPipeline(*graph, "blocked-layout{block=8}");
  CHECK(printGraph(*graph) == expected);
  CHECK(printGraph(*parseGraph(expected, "blocked_layout.out.bir")) == expected);

  auto before = parseGraph(input, inPath);
  fillTestWeights(*before);
  std::vector<Tensor> inputs = deterministicInputs(*before);
  NamedOutputs reference = runForCheck(*before, inputs);
  runPipeline(*before, "blocked-layout{block=8, convs=all}");
  CHECK(opCounts(*before)["reorder"] == 4);
  auto problem = compareOutputs(reference, runForCheck(*before, inputs), 1e-6);
  CHECK_MESSAGE(!problem, *problem);
}

TEST_CASE("passes: blocked-layout options are checked") {
  CHECK(parsePipeline("default,blocked-layout{block=8,convs=all}").back() ==
        "blocked-layout{block=8,convs=all}");
  CHECK_THROWS_WITH_AS(parsePipeline("blocked-layout{block=1}"),
                       doctest::Contains("pass 'blocked-layout': option block must be an integer >= 2"), Error);
  CHECK_THROWS_WITH_AS(parsePipeline("blocked-layout{lanes=8}"),
                       doctest::Contains("unknown option 'lanes' (known: block, convs)"), Error);
  CHECK_THROWS_WITH_AS(parsePipeline("blocked-layout{convs=pointwise+dense}"),
                       doctest::Contains("unknown conv kind 'dense'"), Error);
  CHECK_THROWS_WITH_AS(parsePipeline("dce{x=1}"), doctest::Contains("pass 'dce': takes no options"), Error);
  // Defaults (bisc compile's target lanes) go first; the entry's own options follow them.
  CHECK_THROWS_WITH_AS(createPass("blocked-layout", "block=1"),
                       doctest::Contains("pass 'blocked-layout': option block must be an integer >= 2"), Error);
  CHECK_THROWS_WITH_AS(createPass("blocked-layout{block=1}", "block=8"),
                       doctest::Contains("option block must be an integer >= 2 (vector lanes), got '1'"), Error);
  CHECK(createPass("blocked-layout{block=8}", "convs=all"));
}

TEST_CASE("ir: layouts are verified") {
  const char *head = "graph @g(%x: f32[1,12,4,4]) {\n weight @w : f32[12,1,3,3]\n";
  CHECK(verifyText(std::string(head) + R"(%b = reorder(%x) {layout="nchw8c"}
    return y = %b })").find("12 channels, not a multiple of the block of layout nchw8c") != std::string::npos);
  CHECK(verifyText(std::string(head) + R"(%b = reorder(%x) {layout="nchw4c"}
    %r = reorder(%b) {layout="nchw"}
    return y = %b })").find("output 'y' is f32[1,12,4,4] nchw4c; outputs are nchw") != std::string::npos);
  CHECK(verifyText(std::string(head) + R"(%b = reorder(%x) {layout="nchw4c"}
    %d = conv2d(%b, @w) {pads=[1,1,1,1], groups=12}
    %r = reorder(%d) {layout="nchw"}
    return y = %r })").find("grouped and depthwise convs run in nchw only") != std::string::npos);
  CHECK(verifyText(std::string(head) + R"(%b = reorder(%x) {layout="nchw4c"}
    %s = add(%b, %x)
    return y = %s })").find("have different layouts; insert a reorder") != std::string::npos);
  CHECK(verifyText(std::string(head) + R"(%b = reorder(%x) {layout="nhwc"}
    return y = %b })").find("attribute layout must be nchw or nchw<c>c") != std::string::npos);
  CHECK(verifyText(R"(graph @g(%x: f32[1,8,4,4] nchw8c) { %r = relu(%x) return y = %r })")
            .find("graph inputs are nchw") != std::string::npos);
  CHECK(verifyText(std::string(head) + R"(%b = reorder(%x) {layout="nchw4c"} : f32[1,12,4,4] nchw2c
    %r = reorder(%b) {layout="nchw"}
    return y = %r })").find("annotated f32[1,12,4,4] nchw2c but its op rule gives f32[1,12,4,4] nchw4c") !=
        std::string::npos);
}

TEST_CASE("passes: compiled bisenetv1_resnet18 with blocked-layout") {
  checkCompiledWithPass("bisenetv1_resnet18", "default,blocked-layout{block=16,convs=all}");
}
TEST_CASE("passes: blocked-layout chooses convs by kind") {
  auto graph = parseGraph(readText(sourcePath("tests/passes/golden/blocked_layout.in.bir")), "blocked_layout.in.bir");
  runPipeline(*graph, "blocked-layout{block=8,convs=pointwise}");
  // Only the 1x1 convs %a and %down are blocked: reorders for the input, and for %a and
  // %down feeding the nchw stride-2 %b.
  CHECK(graph->find("a")->type.channelBlock == 8);
  CHECK(graph->find("down")->type.channelBlock == 8);
  CHECK(graph->find("b")->type.channelBlock == 0);
  CHECK(opCounts(*graph)["reorder"] == 3);
}

TEST_CASE("passes: compiled bisenetv2 with blocked-layout") {
  checkCompiledWithPass("bisenetv2", "default,blocked-layout{block=16}");
}
