//===- schedule_policy.cpp - Which schedule a kernel gets --------------------===//
#include "compiler/schedule/schedule_policy.h"

#include "compiler/codegen/conv_microkernel.h"
#include "compiler/schedule/cost_model.h"
#include "compiler/schedule/schedule_file.h"
#include "ir/error.h"

#include <memory>

namespace bisc {

ScheduleChooser scheduleChooser(const ScheduleOptions &options, const TargetSpec &target) {
  if (options.chooser) return options.chooser;
  MachineModel machine = machineModel(target);
  auto table = std::make_shared<ScheduleTable>();
  if (!options.file.empty()) *table = readScheduleFile(options.file, machine);
  if (table->empty() && !options.costModel) return {};
  return [=, file = options.file, costModel = options.costModel](const Node &node,
                                                                  const Schedule &defaults) -> std::optional<Schedule> {
    if (!convMicrokernelApplies(node, defaults)) return std::nullopt;
    ConvKernel conv = convKernel(node);
    std::string signature = kernelSignature(conv, machine.cpu);
    if (auto entry = table->find(signature); entry != table->end()) {
      if (std::optional<std::string> problem = checkSchedule(conv, entry->second.schedule, machine))
        fail("schedule file {}: entry '{}' (node %{}): {}", file, signature, node.name(), *problem);
      return effectiveSchedule(conv, entry->second.schedule);
    }
    if (costModel) return chooseSchedule(conv, machine, defaults);
    return std::nullopt;
  };
}

} // namespace bisc
