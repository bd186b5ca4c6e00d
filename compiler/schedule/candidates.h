//===- candidates.h - The conv microkernel schedules worth trying -----------===//
//
// For one conv on one target: register blocks channelBlock x vectorBlock whose accumulators,
// input vectors and broadcast weight fit the vector registers, row tiles that leave enough
// parallel iterations for the threads, and both loop orders. Every candidate is an effective
// blocking (what the microkernel would use, not merely ask for), so no two are the same
// kernel. checkSchedule() is the same test applied to a schedule from a file.
#pragma once

#include "compiler/schedule/conv_kernel.h"
#include "compiler/schedule/machine_model.h"

#include <optional>
#include <vector>

namespace bisc {

/// The register block the microkernel actually uses for `schedule` on `conv` (it narrows the
/// row block to rows shorter than a tile and the channel block to the output channels), and
/// the parallel iteration count.
Schedule effectiveSchedule(const ConvKernel &conv, const Schedule &schedule);

/// Vector registers the microkernel holds live: accumulators, input vectors (and one more
/// for the stride-2 shuffle), the broadcast weight.
int64_t registersNeeded(const ConvKernel &conv, int64_t channelBlock, int64_t vectorBlock);

/// Why `schedule` cannot run `conv` on `machine`, or nothing if it can.
std::optional<std::string> checkSchedule(const ConvKernel &conv, const Schedule &schedule, const MachineModel &machine);

/// Every candidate, the effective `defaults` first; at most a few hundred.
std::vector<Schedule> enumerateSchedules(const ConvKernel &conv, const MachineModel &machine, const Schedule &defaults);

} // namespace bisc
