//===- schedule_file.h - Tuned schedules saved for later compiles -----------===//
//
// A schedule file maps kernel signatures (conv_kernel.h) to the schedule the autotuner
// measured fastest, so later compiles of any model with the same conv on the same CPU reuse
// it without timing. JSON (docs/schedules.md):
//
//   {"format": "bisc-schedules", "version": 1, "entries": [
//     {"kernel": "dense_conv x=1x64x64x128 w=... cpu=sapphirerapids", "vector_width": 16,
//      "channel_block": 6, "vector_block": 4, "tile_rows": 1, "loop_order": "rows_outer",
//      "dense_kernel": "microkernel", "measured_ms": 0.41, "default_ms": 0.47, "threads": 2}]}
//
// Reading checks every field and that the blocks of entries for the target's CPU fit its
// registers; errors name the file and the entry.
#pragma once

#include "compiler/codegen/schedule.h"
#include "compiler/schedule/machine_model.h"

#include <map>
#include <string>

namespace bisc {

struct TunedSchedule {
  Schedule schedule;
  double measuredMs = 0;  ///< the winner's median time when tuned (0: not measured)
  double defaultMs = 0;   ///< the untuned choice's median time then (file, cost model)
  int threads = 0;        ///< threads the times were taken with (0: unknown)
};

/// Signature -> tuned schedule. Entries for other CPUs are kept and written back untouched.
using ScheduleTable = std::map<std::string, TunedSchedule>;

/// Reads and checks `path` against `machine`; throws bisc::Error naming the file and entry.
ScheduleTable readScheduleFile(const std::string &path, const MachineModel &machine);
/// Parses the text of a schedule file (`path` only names it in errors).
ScheduleTable parseScheduleText(const std::string &text, const std::string &path, const MachineModel &machine);

std::string scheduleFileText(const ScheduleTable &table);
void writeScheduleFile(const std::string &path, const ScheduleTable &table);

} // namespace bisc
