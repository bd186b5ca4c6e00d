// Every schedule the enumerator produces for small convs, compiled and run against the
// reference interpreter: register blocks, row tiles (with a short last tile) and both loop
// orders. Candidates are batched into one graph per group: the convs of one input,
// concatenated, each with its own schedule (ScheduleOptions::byNode).
#include "../codegen/compiled_model.h"

#include "compiler/codegen/target.h"
#include "compiler/schedule/candidates.h"
#include "ir/interpreter/interpreter.h"
#include "ir/parser.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

using namespace bisc;
using namespace bisc::testing;

namespace {

struct ConvCase {
  std::string name, input, weight, attrs;
};

/// Graph text: `count` convs of `conv` over %x, concatenated along channels.
std::string batchText(const ConvCase &conv, size_t count, int64_t oc) {
  std::string text = fmt::format("graph @g(%x: f32[{}]) {{\n  weight @w : f32[{}]\n  weight @b : f32[{}]\n",
                                 conv.input, conv.weight, oc);
  std::string parts;
  for (size_t i = 0; i < count; ++i) {
    text += fmt::format("  %c{} = conv2d(%x, @w, @b) {{{}}}\n", i, conv.attrs);
    parts += fmt::format("{}%c{}", i ? ", " : "", i);
  }
  return text + fmt::format("  %y = concat({}) {{axis=1}}\n  return y = %y }}", parts);
}

/// Compiles every schedule of `schedules` for `conv` and checks each against the interpreter.
void checkSchedules(const ConvCase &conv, const std::vector<Schedule> &schedules) {
  int64_t oc = std::stoll(conv.weight.substr(0, conv.weight.find(',')));
  size_t perGraph = size_t(256 / oc); // the labels kernel takes at most 256 channels
  for (size_t first = 0; first < schedules.size(); first += perGraph) {
    size_t count = std::min(perGraph, schedules.size() - first);
    std::string name = fmt::format("{}_{}", conv.name, first);
    auto graph = parseGraph(batchText(conv, count, oc), name + ".bir");
    fillWeightsForTest(*graph, 11);
    Tensor x = testInput(graph->inputs()[0]->type.shape, 12);
    Tensor expected = interpret(*graph, std::span<const Tensor>(&x, 1))[0];
    ScheduleOptions options;
    for (size_t i = 0; i < count; ++i) options.byNode[fmt::format("c{}", i)] = schedules[first + i];
    for (auto &[node, schedule] : options.byNode) schedule.denseKernel = DenseKernel::Microkernel;
    CompiledModel model(*graph, name, 2, options);
    INFO(conv.name << " schedules " << first << ".." << first + count - 1);
    CHECK(relativeError(model.run(x), expected) < 1e-5);
    size_t microkernels = 0;
    for (const KernelStat &kernel : model.stats().kernels) {
      if (kernel.family != "conv_microkernel") continue;
      size_t index = std::stoul(kernel.name.substr(1));
      Schedule wanted = effectiveSchedule(convKernel(*graph->find(kernel.name)->producer), schedules[first + index]);
      wanted.denseKernel = DenseKernel::Microkernel;
      // The microkernel reports the order it was asked for, even where both are the same.
      wanted.channelBlocksOuter = schedules[first + index].channelBlocksOuter;
      CHECK(kernel.schedule == wanted.describe());
      ++microkernels;
    }
    CHECK(microkernels == count);
  }
}

std::vector<Schedule> enumerated(const ConvCase &conv) {
  auto graph = parseGraph(batchText(conv, 1, std::stoll(conv.weight.substr(0, conv.weight.find(',')))), "probe.bir");
  TargetSpec target = resolveTarget("", "");
  MachineModel machine = machineModel(target);
  Schedule defaults = Schedule::forVectorWidth(target.vectorWidth, machine.registers >= 32);
  return enumerateSchedules(convKernel(*graph->find("c0")->producer), machine, defaults);
}

} // namespace

TEST_CASE("schedule: every enumerated candidate of a 3x3 stride-1 conv matches the interpreter") {
  ConvCase conv{"cand_3x3", "1,5,13,40", "10,5,3,3", "pads=[1,1,1,1]"};
  std::vector<Schedule> schedules = enumerated(conv);
  MESSAGE(schedules.size() << " candidates");
  CHECK(schedules.size() > 4);
  checkSchedules(conv, schedules);
}

TEST_CASE("schedule: every enumerated candidate of stride-2, dilated and 1x1 convs matches the interpreter") {
  for (const ConvCase &conv : {ConvCase{"cand_s2", "1,3,26,80", "6,3,3,3", "stride=[2,2], pads=[1,1,1,1]"},
                               ConvCase{"cand_dil", "1,3,11,36", "7,3,3,3", "pads=[2,2,2,2], dilation=[2,2]"},
                               ConvCase{"cand_1x1", "2,9,5,33", "19,9,1,1", "groups=1"}}) {
    std::vector<Schedule> schedules = enumerated(conv);
    CHECK(!schedules.empty());
    checkSchedules(conv, schedules);
  }
}

TEST_CASE("schedule: row tiles that do not divide the rows, both loop orders, blocks wider than the channels") {
  TargetSpec target = resolveTarget("", "");
  Schedule base = Schedule::forVectorWidth(target.vectorWidth, target.vectorWidth >= 16 || target.isAArch64());
  std::vector<Schedule> schedules;
  for (int64_t rows : {3, 5, 13, 20})
    for (bool outer : {false, true}) {
      Schedule s = base;
      s.tileRows = rows, s.channelBlocksOuter = outer, s.channelBlock = rows == 20 ? 16 : 4, s.vectorBlock = 1;
      schedules.push_back(s);
    }
  checkSchedules({"cand_rows", "2,4,13,37", "9,4,3,3", "pads=[1,1,1,1]"}, schedules);
}
