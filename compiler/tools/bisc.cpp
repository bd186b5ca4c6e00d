//===- bisc.cpp - bisc: the user-facing driver (stats, run) --------------===//
//
//   bisc stats MODEL [--input-shape S] [--json]
//   bisc run MODEL (--weights W.safetensors | --random-weights SEED) --input X.npy
//            --output Y.npy [--output-name NAME] [--input-shape S]
//
// Each command is a function from parsed arguments to an exit code; `compile` joins them
// when the code generator lands.
#include "compiler/tools/cli_options.h"
#include "compiler/tools/compile_command.h"
#include "compiler/tools/stats.h"

#include "frontends/common/model_io.h"
#include "ir/error.h"
#include "ir/interpreter/interpreter.h"

#include <cstdio>

namespace bisc {

namespace {

const char *kUsage = "usage: bisc <stats|run|compile> MODEL [options]   (bisc --help, bisc COMMAND --help)";

const char *kHelp = R"(bisc: compile and inspect BiSeNet models.

usage: bisc COMMAND MODEL [options]

commands:
  stats MODEL [--input-shape NxCxHxW] [--json]
      parameters, MACs, node counts and activation sizes, for the inference graph
      (training-only outputs excluded) and in total
  run MODEL (--weights W.safetensors | --random-weights SEED) --input X.npy --output Y.npy
      [--output-name NAME] [--input-shape NxCxHxW]
      run the reference interpreter on X.npy (its shape sets the input shape) and write
      the first inference output (or NAME) to Y.npy
  compile MODEL (--weights W.safetensors | --random-weights SEED) --name NAME -o DIR
      [--target x86_64-linux-gnu|aarch64-linux-gnu] [--mcpu CPU] [--lib shared|static]
      [--emit llvm|asm|obj] [--weights-file] [--input-shape NxCxHxW] [--stats]
      compile to DIR/libNAME.so (or .a) and DIR/NAME.h, a C library that needs no bisc,
      LLVM or C++ runtime (bisc compile --help)

MODEL is a bisc JSON graph (.json), IR text (.bir) or ONNX (.onnx, weights from the file:
no --weights needed; docs/onnx.md). Errors go to stderr as
"bisc: error: ..." (exit 1); a bad command line exits 2.
)";

const char *kStatsHelp = R"(usage: bisc stats MODEL [--input-shape NxCxHxW] [--json]

Prints learnable parameters (BN running statistics on their own line), conv MACs
(N*OC*OH*OW*(IC/groups)*KH*KW), MACs per op kind, node counts and activation bytes, for the
inference graph and in total.
  --input-shape NxCxHxW  count at this input shape instead of the model's
  --json                 machine-readable output
)";

const char *kRunHelp = R"(usage: bisc run MODEL (--weights W.safetensors | --random-weights SEED)
                --input X.npy --output Y.npy [--output-name NAME] [--input-shape NxCxHxW]

Runs the reference interpreter. The input shape is taken from X.npy (--input-shape, if
given, must agree). --random-weights SEED fills deterministic weights
(docs/random-weights.md). Writes the first output that is not training-only, or NAME.
)";

std::unique_ptr<Graph> loadWithShape(const std::string &path, const std::optional<Shape> &shape) {
  std::unique_ptr<Graph> graph = loadModel(path, shape);
  if (shape) cli::applyInputShape(*graph, *shape, path);
  return graph;
}

const char *kStatsUsage = "usage: bisc stats MODEL [--input-shape NxCxHxW] [--json]";
const char *kRunUsage = "usage: bisc run MODEL (--weights W.safetensors | --random-weights SEED) "
                        "--input X.npy --output Y.npy [--output-name NAME] [--input-shape NxCxHxW]";

int statsCommand(int argc, char **argv) {
  cli::Args args(argc, argv, 2, {.valued = {"--input-shape"}, .flags = {"--json"}});
  if (args.has("--help")) return std::fputs(kStatsHelp, stdout), 0;
  std::string model = args.onePositional("MODEL");
  std::unique_ptr<Graph> graph = loadWithShape(model, args.shape("--input-shape"));
  ModelStats stats = computeStats(*graph);
  std::string text = args.has("--json") ? statsJson(stats) : statsTable(stats);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

/// Index of the output `bisc run` writes: NAME, or the first inference output.
size_t pickOutput(const Graph &graph, const std::optional<std::string> &name, const std::string &model) {
  std::string names;
  for (size_t i = 0; i < graph.outputs().size(); ++i) {
    const GraphOutput &output = graph.outputs()[i];
    if (name ? output.name == *name : !output.trainingOnly) return i;
    names += (names.empty() ? "" : ", ") + output.name;
  }
  if (name) fail("{}: no output named '{}' (outputs: {})", model, *name, names);
  fail("{}: every output is training-only; choose one with --output-name ({})", model, names);
}

/// Usage errors of the weight options that need no model: both given, or a malformed seed.
/// Checked before any file is read, so a bad command line always exits 2.
void checkWeightOptions(const cli::Args &args) {
  bool seedGiven = args.unsignedValue("--random-weights").has_value();
  if (args.has("--weights") && seedGiven)
    throw cli::UsageError("give exactly one of --weights W.safetensors and --random-weights SEED");
}

int runCommand(int argc, char **argv) {
  cli::Args args(argc, argv, 2,
                 {.valued = {"--weights", "--random-weights", "--input", "--output", "--output-name",
                             "--input-shape"}, .flags = {}});
  if (args.has("--help")) return std::fputs(kRunHelp, stdout), 0;
  std::string model = args.onePositional("MODEL");
  std::string inputPath = args.required("--input"), outputPath = args.required("--output");
  std::optional<Shape> shape = args.shape("--input-shape");
  checkWeightOptions(args);
  Tensor input = readNpy(inputPath);
  if (shape && *shape != input.shape())
    fail("{}: --input-shape {} disagrees with the array's shape {}", inputPath, shapeToString(*shape),
         shapeToString(input.shape()));
  std::unique_ptr<Graph> graph = loadModel(model, input.shape());
  cli::attachModelWeights(*graph, args);
  if (graph->inputs().size() != 1) fail("{}: bisc run needs a model with one input", model);
  cli::applyInputShape(*graph, input.shape(), model);
  size_t index = pickOutput(*graph, args.value("--output-name"), model);
  InterpretOptions options;
  options.trainingOutputs = graph->outputs()[index].trainingOnly;
  std::vector<Tensor> results = interpret(*graph, std::span<const Tensor>(&input, 1), options);
  writeNpy(outputPath, results[index]);
  return 0;
}

int run(int argc, char **argv) {
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "--help" || command == "-h" || command == "help") return std::fputs(kHelp, stdout), 0;
  if (command == "stats") return cli::withUsage(kStatsUsage, [&] { return statsCommand(argc, argv); });
  if (command == "run") return cli::withUsage(kRunUsage, [&] { return runCommand(argc, argv); });
  if (command == "compile") return cli::withUsage(kCompileUsage, [&] { return compileCommand(argc, argv); });
  if (command.empty()) throw cli::UsageError("missing command");
  throw cli::UsageError(fmt::format("unknown command '{}' (commands: stats, run, compile)", command));
}

} // namespace

} // namespace bisc

int main(int argc, char **argv) {
  return bisc::cli::runTool("bisc", bisc::kUsage, [&] { return bisc::run(argc, argv); });
}
