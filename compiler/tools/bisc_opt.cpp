//===- bisc_opt.cpp - bisc-opt: run passes on a model and debug them ------===//
//
//   bisc-opt FILE [--input-shape NxCxHxW] [--weights W | --random-weights SEED]
//            [--passes=P1,P2|default] [pass debugging flags] [--print-ir] [-o OUT.bir]
//            [--dot OUT.dot]
//
// A fixed sequence of steps: load (by extension), set the input shape, attach weights, run
// the pass pipeline through the PassManager (which prints IR, times passes and checks
// numerics as the flags ask), emit text / Graphviz. Without --passes= no pass runs (the
// graph is only verified), so bisc-opt FILE --print-ir round-trips a model.
#include "compiler/tools/cli_options.h"

#include "frontends/common/model_io.h"
#include "ir/error.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/graphviz.h"
#include "passes/pass_manager.h"

#include <cstdio>
#include <fstream>
#include <iostream>

namespace bisc {

namespace {

const char *kUsage =
    "usage: bisc-opt FILE(.json|.bir|.onnx) [--input-shape NxCxHxW] [--weights W.safetensors | "
    "--random-weights SEED] [--passes=P1,P2,...] [--print-ir] [-o OUT.bir] [--dot OUT.dot]";

const char *kHelp = R"(bisc-opt: load a model, run passes on its IR, print and debug them.

usage: bisc-opt FILE(.json|.bir|.onnx) [options]

options:
  --input-shape NxCxHxW    re-infer every shape for this input shape
  --weights FILE           attach weights from a safetensors file
  --random-weights SEED    fill deterministic random weights (calibrated BN statistics)
  --print-ir               print the final IR text form to stdout
  -o FILE                  write the final IR text form to FILE (reads back identically)
  --dot FILE               write the final graph as Graphviz dot ('-' for stdout); fused
                           nodes are filled and list the nodes they contain
  -h, --help               show this help

pass flags (no pass runs unless --passes= is given; --check-numerics needs weights):
)";

const char *kTail = R"(
IR dumps, timing and check-numerics reports go to stdout, each line of a report starting
with "//". Errors go to stderr as "bisc-opt: error: ..." (exit 1); a bad command line
exits 2.
)";

struct OptOptions {
  std::string input;
  std::optional<Shape> inputShape;
  std::optional<std::string> weights;
  std::optional<uint64_t> seed;
  bool printIr = false;
  std::optional<std::string> outputFile, dotFile;
  PassOptions passes;
};

/// Pass flags are consumed first (they use --flag=value); the rest goes to cli::Args.
OptOptions parseOptions(int argc, char **argv, bool &help) {
  OptOptions options;
  options.passes.pipeline.clear();
  std::vector<std::string> rest = cli::asUsageError(
      [&] { return parsePassFlags(std::vector<std::string>(argv + 1, argv + argc), options.passes); });
  std::vector<char *> raw{argv[0]};
  for (std::string &arg : rest) raw.push_back(arg.data());
  cli::Args args(int(raw.size()), raw.data(), 1,
                 {.valued = {"--input-shape", "-o", "--weights", "--random-weights", "--dot"},
                  .flags = {"--print-ir"}});
  help = args.has("--help");
  if (help) return options;
  options.input = args.onePositional("input FILE");
  options.inputShape = args.shape("--input-shape");
  options.weights = args.value("--weights");
  options.seed = args.unsignedValue("--random-weights");
  if (options.weights && options.seed)
    throw cli::UsageError("give at most one of --weights and --random-weights");
  options.printIr = args.has("--print-ir");
  options.outputFile = args.value("-o");
  options.dotFile = args.value("--dot");
  bool debugging = !options.passes.printBefore.empty() || !options.passes.printAfter.empty() ||
                   options.passes.printBeforeAll || options.passes.printAfterAll ||
                   options.passes.printAfterChange || !options.passes.stopAfter.empty() ||
                   options.passes.checkNumerics || options.passes.timePasses ||
                   options.passes.passStatistics;
  if (debugging && options.passes.pipeline.empty())
    throw cli::UsageError("pass debugging flags need a pipeline: add --passes=... (or --passes=default)");
  return options;
}

void writeText(const std::string &text, const std::string &file) {
  if (file == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  std::ofstream out(file, std::ios::binary);
  out << text;
  if (!out) fail("{}: cannot write", file);
}

void emit(const Graph &graph, const OptOptions &options) {
  std::string text = printGraph(graph);
  if (options.printIr) std::fwrite(text.data(), 1, text.size(), stdout);
  if (options.outputFile) writeText(text, *options.outputFile);
  if (options.dotFile) writeText(graphToDot(graph), *options.dotFile);
}

int run(int argc, char **argv) {
  bool help = false;
  OptOptions options = parseOptions(argc, argv, help);
  if (help) {
    std::fputs((std::string(kHelp) + passFlagsHelp() + kTail).c_str(), stdout);
    return 0;
  }
  std::unique_ptr<Graph> graph = loadModel(options.input, options.inputShape);
  if (options.inputShape) cli::applyInputShape(*graph, *options.inputShape, options.input);
  if (options.weights) attachWeights(*graph, *options.weights);
  if (options.seed) fillRandomWeights(*graph, *options.seed);
  if (options.passes.pipeline.empty()) {
    verifyOrThrow(*graph);
  } else {
    runPasses(*graph, options.passes, std::cout);
    std::cout.flush();
  }
  emit(*graph, options);
  return 0;
}

} // namespace

} // namespace bisc

int main(int argc, char **argv) {
  return bisc::cli::runTool("bisc-opt", bisc::kUsage, [&] { return bisc::run(argc, argv); });
}
