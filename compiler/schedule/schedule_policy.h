//===- schedule_policy.h - Which schedule a kernel gets ----------------------===//
//
// The schedule pass, run as the emitters ask (EmitContext::scheduleFor): for a dense conv
// the microkernel lowers, in order of precedence
//   1. ScheduleOptions::byNode (by node name; EmitContext holds these up front),
//   2. the schedule file's entry for the conv's kernel signature (checked against the conv
//      and target: an entry the target cannot run is an error naming file and entry),
//   3. the analytic cost model (cost_model.h), unless ScheduleOptions::costModel is off,
//   4. the target-wide default schedule.
#pragma once

#include "compiler/codegen/compile.h"
#include "compiler/codegen/target.h"

#include <functional>
#include <optional>

namespace bisc {

using ScheduleChooser = std::function<std::optional<Schedule>(const Node &, const Schedule &defaults)>;

/// The chooser for EmitContext::chooseSchedule; reads the schedule file now.
ScheduleChooser scheduleChooser(const ScheduleOptions &options, const TargetSpec &target);

} // namespace bisc
