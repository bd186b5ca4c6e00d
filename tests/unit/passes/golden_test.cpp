// Golden-text tests: tests/passes/golden/<pass>.in.bir through the pipeline named on its
// first line ("// passes: ...") must print exactly <pass>.out.bir, and with deterministic
// weights the interpreter must give the same outputs before and after.
#include "pass_test_util.h"

using namespace bisc;
using namespace bisc::test;

namespace {

void checkGolden(const std::string &stem) {
  std::string inPath = sourcePath("tests/passes/golden/" + stem + ".in.bir");
  std::string expected = readText(sourcePath("tests/passes/golden/" + stem + ".out.bir"));
  std::string input = readText(inPath);
  const std::string prefix = "// passes: ";
  REQUIRE(input.starts_with(prefix));
  std::string pipeline = input.substr(prefix.size(), input.find('\n') - prefix.size());

  auto graph = parseGraph(input, inPath);
  runPipeline(*graph, pipeline);
  CHECK(printGraph(*graph) == expected);
  CHECK(printGraph(*parseGraph(expected, stem + ".out.bir")) == expected);

  // Numerics: the same weights before and after (fold-bn rounds once, hence the tolerance).
  auto before = parseGraph(input, inPath);
  fillTestWeights(*before);
  std::vector<Tensor> inputs = deterministicInputs(*before);
  NamedOutputs reference = runForCheck(*before, inputs);
  runPipeline(*before, pipeline);
  auto problem = compareOutputs(reference, runForCheck(*before, inputs), 1e-5);
  CHECK_MESSAGE(!problem, *problem);
}

} // namespace

TEST_CASE("passes: golden canonicalize") { checkGolden("canonicalize"); }
TEST_CASE("passes: golden drop-aux-heads") { checkGolden("drop_aux_heads"); }
TEST_CASE("passes: golden fold-bn") { checkGolden("fold_bn"); }
TEST_CASE("passes: golden fuse-conv-act") { checkGolden("fuse_conv_act"); }
TEST_CASE("passes: golden fuse-arm") { checkGolden("fuse_arm"); }
TEST_CASE("passes: golden fuse-ffm") { checkGolden("fuse_ffm"); }
TEST_CASE("passes: golden fuse-bga") { checkGolden("fuse_bga"); }
TEST_CASE("passes: golden fuse-ce") { checkGolden("fuse_ce"); }
TEST_CASE("passes: golden fuse-resize") { checkGolden("fuse_resize"); }
TEST_CASE("passes: golden cse") { checkGolden("cse"); }
TEST_CASE("passes: golden dce") { checkGolden("dce"); }
TEST_CASE("passes: golden plan-memory") { checkGolden("plan_memory"); }
TEST_CASE("passes: golden default pipeline") { checkGolden("default"); }
