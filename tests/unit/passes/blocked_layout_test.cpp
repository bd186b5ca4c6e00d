// The blocked-layout pass: golden text (tests/passes/golden/blocked_layout.*.bir, which also
// round-trips the layout annotations through the parser), its options and errors, the
// verifier's layout checks, a region grown through a depthwise conv, pools and a concat, and
// whole models compiled with the pass against the reference
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
  int reorders = opCounts(*graph)["reorder"], blockedValues = 0;
  for (const auto &node : graph->nodes()) blockedValues += node->result->type.blocked();
  CHECK(blockedValues > 0);
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
  runPipeline(*graph, "blocked-layout{block=8,convs=pointwise+strided+other}");
  CHECK(printGraph(*graph) == expected);
  CHECK(printGraph(*parseGraph(expected, "blocked_layout.out.bir")) == expected);

  auto before = parseGraph(input, inPath);
  fillTestWeights(*before);
  std::vector<Tensor> inputs = deterministicInputs(*before);
  NamedOutputs reference = runForCheck(*before, inputs);
  runPipeline(*before, "blocked-layout{block=8}");
  // Every conv kind by default: reorders for the input and %c for the output only; the
  // Winograd-shaped %d, the depthwise %e and the add join, and the 12-channel %g reads the
  // region and writes nchw.
  CHECK(opCounts(*before)["reorder"] == 2);
  CHECK(before->find("g")->producer->attrString("layout") == "nchw");
  CHECK(before->find("e")->type.channelBlock == 8);
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
  // groups = channels / 2 stays nchw; groups == channels with a channel multiplier is blocked.
  CHECK(verifyText(R"(graph @g(%x: f32[1,12,4,4]) {
    weight @w2 : f32[24,2,3,3]
    %b = reorder(%x) {layout="nchw4c"}
    %d = conv2d(%b, @w2) {pads=[1,1,1,1], groups=6}
    %r = reorder(%d) {layout="nchw"}
    return y = %r })").find("node %d (conv2d): operand layout nchw4c: grouped convs run in nchw only") !=
        std::string::npos);
  CHECK(verifyText(R"(graph @g(%x: f32[1,12,4,4]) {
    weight @w6 : f32[72,1,3,3]
    %b = reorder(%x) {layout="nchw4c"}
    %d = conv2d(%b, @w6) {pads=[1,1,1,1], groups=12}
    %r = reorder(%d) {layout="nchw"}
    return y = %r })") == "");
  CHECK(verifyText(std::string(head) + R"(%b = reorder(%x) {layout="nchw4c"}
    %d = conv2d(%b, @w) {pads=[1,1,1,1], groups=12}
    %r = reorder(%d) {layout="nchw"}
    return y = %r })") == "");
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

TEST_CASE("passes: a depthwise conv, a max_pool and a concat join a blocked region") {
  // Only the 1x1 convs start regions (convs=pointwise); the depthwise conv, the pool and the
  // concat join because their operands are blocked, so the region spans the graph.
  std::string text = R"(graph @g(%x: f32[1,16,12,37]) {
    weight @w1 : f32[16,16,1,1]
    weight @wd : f32[16,1,3,3]
    weight @bd : f32[16]
    weight @w2 : f32[8,32,1,1]
    %a = conv2d(%x, @w1)
    %dw = fused_conv(%a, @wd, @bd) {pads=[1,1,1,1], groups=16, activation="relu"}
    %pool = max_pool(%dw) {kernel=[3,3], stride=[2,2], pads=[1,1,1,1]}
    %skip = avg_pool(%a) {kernel=[3,3], stride=[2,2], pads=[1,1,1,1]}
    %cat = concat(%pool, %skip)
    %y = conv2d(%cat, @w2)
    return y = %y })";
  auto graph = parseGraph(text, "joins.bir");
  testing::fillWeightsForTest(*graph, 3);
  Tensor input = testing::testInput(graph->inputs()[0]->type.shape, 4);
  Tensor expected = interpret(*graph, std::span<const Tensor>(&input, 1))[0];
  runPipeline(*graph, "blocked-layout{block=8,convs=pointwise}");
  for (const char *name : {"a", "dw", "pool", "skip", "cat", "y"})
    CHECK_MESSAGE(graph->find(name)->type.channelBlock == 8, name);
  CHECK(opCounts(*graph)["reorder"] == 2);
  testing::CompiledModel compiled(*graph, "blocked_joins", 2);
  CHECK(testing::relativeError(compiled.run(input), expected) < 1e-5);
  std::map<std::string, int> families;
  for (const KernelStat &kernel : compiled.stats().kernels) ++families[kernel.family];
  CHECK(families["conv_blocked_depthwise"] == 1);
  CHECK(families["max_pool_blocked"] == 1);
  CHECK(families["avg_pool_blocked"] == 1);
  CHECK(families["concat_blocked"] == 1);
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
