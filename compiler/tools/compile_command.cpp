//===- compile_command.cpp - `bisc compile`: a model to a native library --===//
//
//   load MODEL -> weights (file or seed, at the model's own shape) -> --input-shape
//   -> pass pipeline (when bisc is built with passes/) -> compileGraph -> --stats report
#include "compiler/tools/compile_command.h"

#include "compiler/codegen/compile.h"
#include "compiler/codegen/stopwatch.h"
#include "compiler/codegen/target.h"
#include "compiler/schedule/autotune.h"
#include "compiler/tools/cli_options.h"
#include "frontends/common/model_io.h"
#include "ir/error.h"

#include <llvm/TargetParser/Host.h>

#ifdef BISC_HAVE_PASSES
#include "passes/pass_manager.h"
#endif

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

namespace bisc {

const char *const kCompileUsage =
    "usage: bisc compile MODEL (--weights W.safetensors | --random-weights SEED) --name NAME -o DIR\n"
    "                    [--target T] [--mcpu CPU] [--lib shared|static] [--emit llvm|asm|obj]\n"
    "                    [--weights-file] [--input-shape NxCxHxW] [--stats] [pass flags]\n"
    "                    [--schedule FILE] [--no-cost-model]\n"
    "                    [--autotune [--autotune-budget SECONDS] [--autotune-threads N]]";

namespace {

const char *kCompileHelp = R"(
Compiles MODEL (bisc JSON, .bir, or .onnx whose weights come from the file) with its weights
into a native library and its C header:
DIR/libNAME.so (or DIR/libNAME.a) and DIR/NAME.h, every entry point prefixed NAME_.

  --weights W.safetensors  weights to embed (every weight of the model, declared shapes)
  --random-weights SEED    deterministic random weights instead (docs/random-weights.md)
  --name NAME              library and symbol prefix; a C identifier
  -o DIR                   output directory (created if missing)
  --target TRIPLE          x86_64-linux-gnu (default: the host) or aarch64-linux-gnu;
                           cross targets link with aarch64-linux-gnu-gcc / -ar
  --mcpu CPU               CPU to tune and select instructions for (x86-64-v2, haswell,
                           x86-64-v3, znver3, skylake-avx512, cortex-a72, ...);
                           default: the host CPU, or generic when cross-compiling
  --lib shared|static      library kind (default shared)
  --emit llvm|asm|obj      write DIR/NAME.ll, NAME.s or NAME.o (optimised) instead of a library
  --weights-file           keep the weights in DIR/NAME.weights, loaded at create time
                           (options.weights_path), instead of embedding them
  --input-shape NxCxHxW    compile for this input shape instead of the model's
  --stats                  print kernels, arena, code and weight bytes and the time of each phase

Schedules (docs/schedules.md): each microkernel conv's register block, row tile and loop order
are chosen by an analytic cost model from the target's vector registers and cache sizes.
  --schedule FILE          reuse the tuned schedules in FILE (JSON, keyed by conv shape and CPU);
                           with --autotune, also where the results are written
  --autotune               time candidate schedules (the default kernel, and the microkernel with
                           the cost model's best blockings) of each distinct dense conv on this
                           machine (host target only, JIT-compiled) and keep the fastest; kernels
                           already in the schedule file are not timed again. Writes --schedule
                           FILE, or DIR/NAME.schedules.json
  --autotune-budget SECONDS  time allowed for tuning (default 90)
  --autotune-threads N     threads each candidate runs on: those the model will run with
                           (default 1)
  --no-cost-model          one target-wide default schedule for every kernel (for comparison)
)";

#ifndef BISC_HAVE_PASSES
const char *kNoPassesHelp = R"(
This bisc was built without passes/: the graph is compiled as loaded, unoptimised.
)";
#endif

struct Phase {
  std::string name;
  double seconds;
};

LibraryKind parseLibraryKind(const std::optional<std::string> &text) {
  if (!text || *text == "shared") return LibraryKind::Shared;
  if (*text == "static") return LibraryKind::Static;
  throw cli::UsageError(fmt::format("--lib '{}': expected shared or static", *text));
}

EmitKind parseEmitKind(const std::optional<std::string> &text) {
  if (!text) return EmitKind::Library;
  if (*text == "llvm") return EmitKind::LLVM;
  if (*text == "asm") return EmitKind::Asm;
  if (*text == "obj") return EmitKind::Object;
  throw cli::UsageError(fmt::format("--emit '{}': expected llvm, asm or obj", *text));
}

std::string humanBytes(int64_t bytes) {
  if (bytes >= 10 * 1024 * 1024) return fmt::format("{} ({:.1f} MiB)", bytes, double(bytes) / (1024.0 * 1024.0));
  if (bytes >= 10 * 1024) return fmt::format("{} ({:.1f} KiB)", bytes, double(bytes) / 1024.0);
  return std::to_string(bytes);
}

void printStats(const CompileStats &stats, const std::vector<Phase> &phases, bool weightsFile) {
  std::map<std::string, int> families;
  int64_t macs = 0;
  for (const KernelStat &kernel : stats.kernels) {
    families[kernel.family]++;
    macs += kernel.macs;
  }
  std::string byFamily;
  for (const auto &[family, count] : families) byFamily += fmt::format("{}{} {}", byFamily.empty() ? "" : ", ", family, count);
  std::string text = fmt::format("target        {} (cpu {})\n", stats.triple, stats.cpu);
  text += fmt::format("kernels       {} ({})\n", stats.kernels.size(), byFamily);
  text += fmt::format("conv MACs     {}\n", macs);
  text += fmt::format("arena bytes   {}\n", humanBytes(stats.arenaBytes));
  if (stats.codeBytes > 0) text += fmt::format("code bytes    {}\n", humanBytes(stats.codeBytes));
  text += fmt::format("weight bytes  {}{}\n", humanBytes(stats.weightBytes), weightsFile ? " (side file)" : " (embedded)");
  double total = 0;
  std::string times;
  for (const Phase &phase : phases) {
    times += fmt::format("{}{} {:.3f}", times.empty() ? "" : ", ", phase.name, phase.seconds);
    total += phase.seconds;
  }
  text += fmt::format("time (s)      {}; total {:.3f}\n", times, total);
  for (const std::string &file : stats.files) {
    std::error_code ec;
    auto size = std::filesystem::file_size(file, ec);
    text += fmt::format("wrote         {}{}\n", file, ec ? "" : fmt::format(" ({} bytes)", size));
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
}

#ifdef BISC_HAVE_PASSES
using PassFlags = PassOptions;
#else
struct PassFlags {};
#endif

/// Splits off the pass flags (--passes=..., --print-ir-after=...) when passes are built in.
std::vector<std::string> takePassFlags(int argc, char **argv, PassFlags &flags) {
  std::vector<std::string> rest(argv, argv + argc);
#ifdef BISC_HAVE_PASSES
  std::vector<std::string> tail(rest.begin() + std::min(argc, 2), rest.end());
  tail = cli::asUsageError([&] { return parsePassFlags(tail, flags); });
  rest.resize(size_t(std::min(argc, 2)));
  rest.insert(rest.end(), tail.begin(), tail.end());
#else
  (void)flags;
#endif
  return rest;
}

std::optional<double> autotuneBudget(const cli::Args &args) {
  std::optional<std::string> text = args.value("--autotune-budget");
  if (!text) return std::nullopt;
  double seconds = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), seconds);
  if (ec != std::errc() || end != text->data() + text->size() || !(seconds >= 0))
    throw cli::UsageError(fmt::format("--autotune-budget '{}': expected seconds (a non-negative number)", *text));
  return seconds;
}

/// Tunes the graph's convs, adding to `file` if it exists, and writes it back; `verbose`
/// prints each kernel's result.
void runAutotune(const Graph &graph, const CompileOptions &options, const std::string &file,
                 std::optional<double> budget, int threads, bool verbose) {
  TargetSpec target = resolveTarget(options.triple, options.cpu);
  if (!target.isHost || (!options.cpu.empty() && options.cpu != llvm::sys::getHostCPUName().str()))
    throw cli::UsageError("--autotune times kernels on this machine: leave --target and --mcpu at the host");
  ScheduleTable table;
  if (std::filesystem::exists(file)) table = readScheduleFile(file, machineModel(target));
  AutotuneOptions tune;
  if (budget) tune.budgetSeconds = *budget;
  tune.threads = threads;
  if (verbose) tune.log = [](const std::string &line) { std::printf("%s\n", line.c_str()); };
  AutotuneReport report = autotune(graph, target, table, tune);
  std::error_code error;
  std::filesystem::path parent = std::filesystem::path(file).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, error);
  writeScheduleFile(file, table);
  std::printf("autotune: %d dense conv kernels (%d reused from the file, %d tuned, %d faster than the default), "
              "%d candidates timed in %.1f s; wrote %s\n",
              report.kernels, report.reused, report.tuned, report.improved, report.candidates, report.seconds,
              file.c_str());
}

} // namespace

int compileCommand(int argc, char **argv) {
  PassFlags passOptions;
  std::vector<std::string> remaining = takePassFlags(argc, argv, passOptions);
  std::vector<char *> rawArgs;
  for (std::string &arg : remaining) rawArgs.push_back(arg.data());
  cli::Args args(int(rawArgs.size()), rawArgs.data(), 2,
                 {.valued = {"--weights", "--random-weights", "--name", "-o", "--target", "--mcpu", "--lib",
                             "--emit", "--input-shape", "--schedule", "--autotune-budget", "--autotune-threads"},
                  .flags = {"--weights-file", "--stats", "--autotune", "--no-cost-model"}});
  if (args.has("--help")) {
    std::string help = std::string(kCompileUsage) + "\n" + kCompileHelp;
#ifdef BISC_HAVE_PASSES
    help += "\npass flags (as bisc-opt; the default pipeline runs unless --passes= says otherwise):\n" + passFlagsHelp();
#else
    help += kNoPassesHelp;
#endif
    return std::fputs(help.c_str(), stdout), 0;
  }
  std::string model = args.onePositional("MODEL");
  CompileOptions options;
  options.name = args.required("--name");
  options.outputDir = args.required("-o");
  options.triple = args.value("--target").value_or("");
  options.cpu = args.value("--mcpu").value_or("");
  options.library = parseLibraryKind(args.value("--lib"));
  options.emit = parseEmitKind(args.value("--emit"));
  options.weightsFile = args.has("--weights-file");
  std::optional<Shape> shape = args.shape("--input-shape");
  options.schedules.costModel = !args.has("--no-cost-model");
  std::optional<std::string> scheduleFile = args.value("--schedule");
  if (scheduleFile && scheduleFile->empty()) throw cli::UsageError("--schedule needs a file name");
  std::optional<double> budget = autotuneBudget(args);
  std::optional<uint64_t> tuneThreads = args.unsignedValue("--autotune-threads");
  if ((budget || tuneThreads) && !args.has("--autotune"))
    throw cli::UsageError("--autotune-budget and --autotune-threads are only meaningful with --autotune");
  if (tuneThreads && (*tuneThreads < 1 || *tuneThreads > 256))
    throw cli::UsageError(fmt::format("--autotune-threads {}: expected 1 to 256", *tuneThreads));

  std::vector<Phase> phases;
  Stopwatch clock;
  std::unique_ptr<Graph> graph = loadModel(model, shape);
  phases.push_back({"load", clock.lap()});
  // Weights are filled at the model's own shape, so a seed gives the same weights as `bisc run`.
  cli::attachModelWeights(*graph, args);
  phases.push_back({"weights", clock.lap()});
  if (shape) cli::applyInputShape(*graph, *shape, model);
#ifdef BISC_HAVE_PASSES
  // bisc-opt has no target; here blocked-layout's block defaults to the target's lanes.
  passOptions.passDefaults["blocked-layout"] =
      fmt::format("block={}", resolveTarget(options.triple, options.cpu).vectorWidth);
  runPasses(*graph, passOptions, std::cout);
  std::cout.flush();
  phases.push_back({"passes", clock.lap()});
#endif
  if (args.has("--autotune")) {
    std::string file = scheduleFile.value_or((std::filesystem::path(options.outputDir) / (options.name + ".schedules.json")).string());
    runAutotune(*graph, options, file, budget, int(tuneThreads.value_or(1)), args.has("--stats"));
    phases.push_back({"autotune", clock.lap()});
    scheduleFile = file;
  }
  if (scheduleFile) options.schedules.file = *scheduleFile;
  CompileStats stats = compileGraph(*graph, options);
  phases.push_back({"lower", stats.buildSeconds});
  phases.push_back({"optimise", stats.optimizeSeconds});
  phases.push_back({"emit", stats.emitSeconds});
  if (options.emit == EmitKind::Library) phases.push_back({"link", stats.linkSeconds});
  if (args.has("--stats")) printStats(stats, phases, options.weightsFile);
  return 0;
}

} // namespace bisc
