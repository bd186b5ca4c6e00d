// The compiled library after the default pipeline (fused kernels, planned arena) against the
// reference interpreter on the model as loaded, for the five bundled models at 1x3x64x128:
// max |diff| <= 1e-4 x max|logit| (design.md's tolerance).
#include "pass_test_util.h"

#include "../codegen/compiled_model.h"

using namespace bisc;
using namespace bisc::test;

namespace {

void checkCompiled(const std::string &model) {
  auto graph = loadBundled(model);
  std::vector<Tensor> inputs = deterministicInputs(*graph);
  NamedOutputs reference = runForCheck(*graph, inputs);
  runPipeline(*graph, "default");
  testing::CompiledModel compiled(*graph, "passes_" + model);
  Tensor logits = compiled.run(inputs[0]);
  REQUIRE(reference.names.at(0) == graph->outputs().at(0).name);
  double error = testing::relativeError(logits, reference.tensors[0]);
  MESSAGE(model << ": compiled after the default pipeline vs interpreter before it: " << error);
  CHECK(error <= 1e-4);
}

} // namespace

TEST_CASE("passes: compiled bisenetv1_resnet18 after the default pipeline") { checkCompiled("bisenetv1_resnet18"); }
TEST_CASE("passes: compiled bisenetv1_resnet101 after the default pipeline") { checkCompiled("bisenetv1_resnet101"); }
TEST_CASE("passes: compiled bisenetv1_xception39 after the default pipeline") { checkCompiled("bisenetv1_xception39"); }
TEST_CASE("passes: compiled bisenetv2 after the default pipeline") { checkCompiled("bisenetv2"); }
TEST_CASE("passes: compiled bisenetv2_large after the default pipeline") { checkCompiled("bisenetv2_large"); }
