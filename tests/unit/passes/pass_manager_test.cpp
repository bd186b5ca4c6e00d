// PassManager options: pipeline text, unknown names, print-ir-before/after/after-change,
// stop-after, time-passes and statistics; and the Graphviz export of a fused graph.
#include "pass_test_util.h"

#include "ir/error.h"
#include "passes/graphviz.h"

using namespace bisc;
using namespace bisc::test;

namespace {

std::unique_ptr<Graph> miniGraph() {
  return parseGraph(readText(sourcePath("tests/passes/golden/default.in.bir")), "default.in.bir");
}

size_t occurrences(const std::string &text, const std::string &what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

} // namespace

TEST_CASE("passes: pipeline text expands default and rejects unknown names") {
  CHECK(parsePipeline("default") == defaultPipeline());
  CHECK(parsePipeline(" fold-bn , dce ") == std::vector<std::string>{"fold-bn", "dce"});
  CHECK_THROWS_WITH_AS(parsePipeline("fold-bn,fuse-everything"),
                       doctest::Contains("unknown pass 'fuse-everything'; known passes: canonicalize"), Error);
  for (const std::string &name : registeredPassNames()) {
    INFO(name);
    REQUIRE(createPass(name));
    CHECK(createPass(name)->name() == name);
  }
}

TEST_CASE("passes: every registered pass has a golden test") {
  for (std::string name : registeredPassNames()) {
    std::replace(name.begin(), name.end(), '-', '_');
    INFO(name);
    CHECK(readText(sourcePath("tests/passes/golden/" + name + ".in.bir")).size() > 0);
  }
}

TEST_CASE("passes: pass flags parse like the drivers give them") {
  PassOptions options;
  std::vector<std::string> rest = parsePassFlags(
      {"model.json", "--passes=fold-bn,dce", "--print-ir-after=dce", "--stop-after=dce",
       "--time-passes", "--check-numerics", "-o", "x.bir"},
      options);
  CHECK(rest == std::vector<std::string>{"model.json", "-o", "x.bir"});
  CHECK(options.pipeline == "fold-bn,dce");
  CHECK(options.printAfter == std::set<std::string>{"dce"});
  CHECK(options.stopAfter == "dce");
  CHECK(options.timePasses);
  CHECK(options.checkNumerics);
  CHECK_THROWS_WITH_AS(parsePassFlag("--stop-after=nothing", options),
                       doctest::Contains("--stop-after: unknown pass 'nothing'"), Error);
}

TEST_CASE("passes: print-ir before/after, after-change and stop-after") {
  auto graph = miniGraph();
  PassOptions options;
  options.printBefore = {"fold-bn"};
  options.printAfter = {"fuse-conv-act"};
  std::string log = runPipeline(*graph, "canonicalize,fold-bn,fuse-conv-act,cse", options);
  CHECK(occurrences(log, "// -----// IR before fold-bn //----- //") == 1);
  CHECK(occurrences(log, "// -----// IR after fuse-conv-act //----- //") == 1);
  CHECK(occurrences(log, "graph @mini") == 2);

  graph = miniGraph();
  options = {};
  options.printAfterChange = true;
  log = runPipeline(*graph, "cse,fold-bn,cse,dce", options);
  // cse and dce change nothing here, fold-bn does.
  CHECK(occurrences(log, "graph @mini") == 1);
  CHECK(occurrences(log, "IR after fold-bn (changed)") == 1);

  graph = miniGraph();
  options = {};
  options.stopAfter = "fold-bn";
  log = runPipeline(*graph, "default", options);
  CHECK(log.find("// stopped after fold-bn") != std::string::npos);
  CHECK(opCounts(*graph).count("batch_norm") == 0);
  CHECK(opCounts(*graph).count("relu") == 1);  // fuse-conv-act did not run
  CHECK(graph->nodes().back()->result->arenaOffset < 0);
}

TEST_CASE("passes: time-passes reports every pass and the memory plan") {
  auto graph = miniGraph();
  PassOptions options;
  options.timePasses = true;
  std::string log = runPipeline(*graph, "default", options);
  CHECK(log.find("Pass execution timing report") != std::string::npos);
  for (const std::string &name : defaultPipeline()) CHECK(log.find("  " + name + "\n") != std::string::npos);
  CHECK(log.find("// plan-memory: peak-bytes = 3072") != std::string::npos);
  CHECK(log.find("// plan-memory: sum-of-activations-bytes = 3584") != std::string::npos);
  CHECK(log.find("// fuse-arm: fused = 2") != std::string::npos);  // the FFM gate too, then
  CHECK(log.find("// fuse-ffm: fused = 1") != std::string::npos);  // absorbed by the ffm
}

TEST_CASE("passes: Graphviz export labels fused nodes with what they contain") {
  auto graph = miniGraph();
  runPipeline(*graph, "default");
  std::string dot = graphToDot(*graph);
  CHECK(dot.starts_with("digraph \"mini\" {"));
  CHECK(dot.ends_with("}\n"));
  CHECK(dot.find("arm.mul\\narm : f32[1,4,8,8]\\n--- fused:\\narm.gap\\narm.att\\narm.sig\\narm.mul") !=
        std::string::npos);
  CHECK(dot.find("ffm.cat\\nffm.conv\\nffm.relu") != std::string::npos);
  CHECK(occurrences(dot, "fillcolor=\"lightblue\"") == 3);  // stem CBR, arm, ffm
  CHECK(occurrences(dot, " -> ") == 7);
}
