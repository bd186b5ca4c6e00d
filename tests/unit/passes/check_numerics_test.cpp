// --check-numerics must name the first pass that moves the outputs: a deliberately wrong
// pass (it nudges one conv weight by 1%, a plausible folding bug) is injected into a real
// pipeline, on a small graph and on BiSeNetV2, and the error must name it, the output and
// the size of the difference, after the passes before it were reported as fine.
#include "pass_test_util.h"

#include "ir/error.h"
#include "passes/rewrite.h"

using namespace bisc;
using namespace bisc::test;

namespace {

/// Replaces the first conv's weight by weight * 1.01: the IR stays valid and verified.
class ScaleFirstConvWeight : public Pass {
public:
  std::string name() const override { return "scale-first-conv-weight"; }
  bool run(Graph &graph) override {
    for (const auto &node : graph.nodes()) {
      if (node->op != OpId::conv2d && node->op != OpId::fused_conv) continue;
      Value *weight = node->inputs[1];
      auto scaled = std::make_shared<Tensor>(*weight->data);
      for (float &w : scaled->f32()) w *= 1.01f;
      node->inputs[1] = rewrite::newWeight(graph, weight->name + ".scaled", weight->type, scaled);
      return true;
    }
    return false;
  }
};

/// A pass that wires a conv to an operand of the wrong shape: the verifier must name it.
class BreakShapes : public Pass {
public:
  std::string name() const override { return "break-shapes"; }
  bool run(Graph &graph) override {
    for (const auto &node : graph.nodes())
      if (node->op == OpId::fused_conv) {
        node->inputs[1] = node->inputs[2];  // the bias where the weight belongs
        return true;
      }
    return false;
  }
};

std::string expectFailure(Graph &graph, std::unique_ptr<Pass> wrong, std::string &log) {
  PassOptions options;
  options.checkNumerics = true;
  PassManager manager(options);
  manager.addPipeline("canonicalize,drop-aux-heads,fold-bn,fuse-conv-act");
  manager.addPass(std::move(wrong));
  manager.addPipeline("fuse-arm,fuse-ffm,dce");
  std::ostringstream out;
  std::string message;
  try {
    manager.run(graph, out);
  } catch (const Error &e) {
    message = e.what();
  }
  log = out.str();
  return message;
}

} // namespace

TEST_CASE("passes: check-numerics names an injected wrong pass (small graph)") {
  auto graph = parseGraph(readText(sourcePath("tests/passes/golden/default.in.bir")), "default.in.bir");
  fillTestWeights(*graph);
  std::string log;
  std::string message = expectFailure(*graph, std::make_unique<ScaleFirstConvWeight>(), log);
  INFO(message);
  CHECK(message.find("check-numerics: pass 'scale-first-conv-weight' changed the outputs") != std::string::npos);
  CHECK(message.find("output 'logits' at index") != std::string::npos);
  CHECK(message.find("max |diff|") != std::string::npos);
  CHECK(log.find("// check-numerics: fuse-conv-act ok") != std::string::npos);
  CHECK(log.find("fuse-arm") == std::string::npos);  // stopped at the wrong pass
}

TEST_CASE("passes: check-numerics names an injected wrong pass (bisenetv2)") {
  auto graph = loadModel(sourcePath("models/bisenetv2.json"));
  setInputShape(*graph, {1, 3, 64, 128});
  fillRandomWeights(*graph, 3);
  std::string log;
  std::string message = expectFailure(*graph, std::make_unique<ScaleFirstConvWeight>(), log);
  INFO(message);
  CHECK(message.find("pass 'scale-first-conv-weight' changed the outputs: output 'logits'") != std::string::npos);
  CHECK(log.find("// check-numerics: fold-bn ok") != std::string::npos);
}

TEST_CASE("passes: the same pipeline without the wrong pass is clean") {
  auto graph = parseGraph(readText(sourcePath("tests/passes/golden/default.in.bir")), "default.in.bir");
  fillTestWeights(*graph);
  PassOptions options;
  options.checkNumerics = true;
  std::string log;
  CHECK_NOTHROW(log = runPipeline(*graph, "canonicalize,drop-aux-heads,fold-bn,fuse-conv-act,fuse-arm,fuse-ffm,dce", options));
  CHECK(log.find("// check-numerics: dce ok") != std::string::npos);
}

TEST_CASE("passes: a pass that produces invalid IR is named by the verifier") {
  auto graph = parseGraph(readText(sourcePath("tests/passes/golden/default.in.bir")), "default.in.bir");
  PassManager manager;
  manager.addPipeline("fold-bn,fuse-conv-act");
  manager.addPass(std::make_unique<BreakShapes>());
  std::ostringstream out;
  CHECK_THROWS_WITH_AS(manager.run(*graph, out), doctest::Contains("pass 'break-shapes' produced invalid IR"), Error);
}

TEST_CASE("passes: check-numerics without weights says what is missing") {
  auto graph = parseGraph(readText(sourcePath("tests/passes/golden/default.in.bir")), "default.in.bir");
  PassOptions options;
  options.checkNumerics = true;
  CHECK_THROWS_WITH_AS(runPipeline(*graph, "fold-bn", options),
                       doctest::Contains("--check-numerics needs weights with data, but weight"), Error);
}
