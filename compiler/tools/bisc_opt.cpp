//===- bisc_opt.cpp - bisc-opt: load, transform and print the IR ---------===//
//
//   bisc-opt FILE [--input-shape NxCxHxW] [--print-ir] [-o OUT.bir]
//
// The driver is a fixed sequence of steps: load (by extension), set the input shape, run the
// pass pipeline, emit. The pipeline step is where --passes=..., --print-ir-after=... and the
// PassManager plug in; today it only re-verifies.
#include "compiler/tools/cli_options.h"

#include "frontends/common/model_io.h"
#include "ir/error.h"
#include "ir/printer.h"
#include "ir/verifier.h"

#include <cstdio>
#include <fstream>

namespace bisc {

namespace {

const char *kUsage = "usage: bisc-opt FILE(.json|.bir) [--input-shape NxCxHxW] [--print-ir] [-o OUT.bir]";

const char *kHelp = R"(bisc-opt: load a model, transform its IR and print it.

usage: bisc-opt FILE(.json|.bir) [options]

options:
  --input-shape NxCxHxW  re-infer every shape for this input shape
  --print-ir             print the IR text form to stdout
  -o FILE                write the IR text form to FILE (a .bir that reads back identically)
  -h, --help             show this help

Errors go to stderr as "bisc-opt: error: ..." (exit 1); a bad command line exits 2.
)";

struct OptOptions {
  std::string input;
  std::optional<Shape> inputShape;
  bool printIr = false;
  std::optional<std::string> outputFile;
};

OptOptions parseOptions(int argc, char **argv, bool &help) {
  cli::Args args(argc, argv, 1, {.valued = {"--input-shape", "-o"}, .flags = {"--print-ir"}});
  help = args.has("--help");
  OptOptions options;
  if (help) return options;
  options.input = args.onePositional("input FILE");
  options.inputShape = args.shape("--input-shape");
  options.printIr = args.has("--print-ir");
  options.outputFile = args.value("-o");
  return options;
}

/// The transformation step. Passes will run here, each followed by verification and the
/// requested IR printing.
void runPipeline(Graph &graph, const OptOptions &) { verifyOrThrow(graph); }

void emit(const Graph &graph, const OptOptions &options) {
  std::string text = printGraph(graph);
  if (options.printIr) std::fwrite(text.data(), 1, text.size(), stdout);
  if (options.outputFile) {
    std::ofstream out(*options.outputFile, std::ios::binary);
    out << text;
    if (!out) fail("{}: cannot write", *options.outputFile);
  }
}

int run(int argc, char **argv) {
  bool help = false;
  OptOptions options = parseOptions(argc, argv, help);
  if (help) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  std::unique_ptr<Graph> graph = loadModel(options.input);
  if (options.inputShape) cli::applyInputShape(*graph, *options.inputShape, options.input);
  runPipeline(*graph, options);
  emit(*graph, options);
  return 0;
}

} // namespace

} // namespace bisc

int main(int argc, char **argv) {
  return bisc::cli::runTool("bisc-opt", bisc::kUsage, [&] { return bisc::run(argc, argv); });
}
