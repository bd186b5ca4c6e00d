// The autotuner on a tiny graph with a small budget: it times the default and other
// candidates of each distinct conv, writes a schedule file that later compiles reuse with
// identical choices and no timing, and the tuned library still matches the interpreter.
#include "../codegen/compiled_model.h"

#include "compiler/schedule/autotune.h"
#include "compiler/schedule/candidates.h"
#include "ir/error.h"
#include "ir/interpreter/interpreter.h"
#include "ir/parser.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

using namespace bisc;
using namespace bisc::testing;

namespace {

// Two convs of the same shape (one kernel signature) and a stride-2 one.
const char *kTinyGraph = R"(graph @g(%x: f32[1,8,24,64]) {
  weight @w1 : f32[8,8,3,3]
  weight @w2 : f32[8,8,3,3]
  weight @w3 : f32[32,8,3,3]
  %a = conv2d(%x, @w1) {pads=[1,1,1,1]}
  %b = conv2d(%a, @w2) {pads=[1,1,1,1]}
  %c = conv2d(%b, @w3) {stride=[2,2], pads=[1,1,1,1]}
  return y = %c })";

/// "node: schedule" of every conv kernel (microkernel or packed).
std::vector<std::string> convSchedules(const CompiledModel &model) {
  std::vector<std::string> schedules;
  for (const KernelStat &kernel : model.stats().kernels)
    if (kernel.family.starts_with("conv")) schedules.push_back(kernel.name + ": " + kernel.schedule);
  return schedules;
}

} // namespace

TEST_CASE("schedule autotune: tunes a tiny graph, and compiles with the file reuse its choices") {
  auto graph = parseGraph(kTinyGraph, "tune.bir");
  fillWeightsForTest(*graph, 21);
  TargetSpec target = resolveTarget("", "");
  ScheduleTable table;
  AutotuneOptions options;
  options.budgetSeconds = 4;
  options.runs = 3;
  options.threads = 2; // split over two threads as the runtime's pool does
  AutotuneReport report = autotune(*graph, target, table, options);
  CHECK(report.kernels == 2);
  CHECK(report.tuned == 2);
  CHECK(report.candidates >= 4); // the default and the model's favourite at least, per kernel
  CHECK(report.seconds < 15);
  REQUIRE(table.size() == 2);
  for (const auto &[kernel, tuned] : table) {
    CHECK(kernel.ends_with("cpu=" + target.cpu));
    CHECK(tuned.measuredMs > 0);
    CHECK(tuned.measuredMs <= tuned.defaultMs);
    CHECK(tuned.threads == 2);
  }
  for (const char *node : {"a", "c"}) {
    ConvKernel conv = convKernel(*graph->find(node)->producer);
    CHECK(!checkSchedule(conv, table.at(kernelSignature(conv, target.cpu)).schedule, machineModel(target)));
  }

  namespace fs = std::filesystem;
  fs::path dir = fs::path(BISC_BINARY_DIR) / "test-out" / "schedule";
  fs::create_directories(dir);
  std::string file = (dir / "tiny.schedules.json").string();
  writeScheduleFile(file, table);

  // A second autotune with the file's table times nothing.
  ScheduleTable again = readScheduleFile(file, machineModel(target));
  AutotuneReport reuse = autotune(*graph, target, again, options);
  CHECK(reuse.reused == 2);
  CHECK(reuse.tuned == 0);
  CHECK(reuse.candidates == 0);

  ScheduleOptions withFile;
  withFile.file = file;
  Tensor x = testInput(graph->inputs()[0]->type.shape, 22);
  Tensor expected = interpret(*graph, std::span<const Tensor>(&x, 1))[0];
  CompiledModel first(*graph, "tuned_a", 2, withFile);
  CompiledModel second(*graph, "tuned_b", 1, withFile);
  CHECK(relativeError(first.run(x), expected) < 1e-5);
  CHECK(relativeError(second.run(x), expected) < 1e-5);
  std::vector<std::string> chosen = convSchedules(first);
  CHECK(chosen.size() == 3);
  CHECK(chosen == convSchedules(second));
  // And they are the file's: the microkernel with the tuned blocking where it won.
  for (const char *node : {"a", "b", "c"}) {
    ConvKernel conv = convKernel(*graph->find(node)->producer);
    Schedule tuned = table.at(kernelSignature(conv, target.cpu)).schedule;
    if (tuned.denseKernel != DenseKernel::Microkernel) continue;
    CHECK(std::find(chosen.begin(), chosen.end(),
                    std::string(node) + ": " + effectiveSchedule(conv, tuned).describe()) != chosen.end());
  }
}

TEST_CASE("schedule file: an entry the conv cannot use is an error naming the file, entry and node") {
  auto graph = parseGraph(kTinyGraph, "badfile.bir");
  fillWeightsForTest(*graph, 23);
  TargetSpec target = resolveTarget("", "");
  MachineModel machine = machineModel(target);
  ConvKernel conv = convKernel(*graph->find("c")->producer);
  // A block that fits as written (the file check) but not with stride 2's shuffle register.
  Schedule s = Schedule::forVectorWidth(target.vectorWidth, machine.registers >= 32);
  s.vectorBlock = 1;
  s.channelBlock = machine.registers - 2;
  ScheduleTable table{{kernelSignature(conv, target.cpu), {s, 1, 1, 1}}};
  std::string file = (std::filesystem::path(BISC_BINARY_DIR) / "test-out" / "schedule" / "unusable.json").string();
  std::filesystem::create_directories(std::filesystem::path(file).parent_path());
  writeScheduleFile(file, table);
  ScheduleOptions options;
  options.file = file;
  std::string message;
  try {
    CompiledModel model(*graph, "unusable", 1, options);
  } catch (const Error &error) {
    message = error.what();
  }
  CHECK(message.find("schedule file " + file + ": entry '" + kernelSignature(conv, target.cpu) + "' (node %c)") !=
        std::string::npos);
  CHECK(message.find("vector registers") != std::string::npos);
}
