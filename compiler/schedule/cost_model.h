//===- cost_model.h - Analytic cost of a conv microkernel schedule ----------===//
//
// Cycles of one core running a dense conv with a given schedule, from the target's vector
// width, register count and cache sizes:
//
//   compute: per tap, the FMAs of the register block on two FMA pipes, the loads (input
//            vectors and broadcast weights) on two load ports, and at least one FMA latency
//            (too few accumulators cannot hide it); times the taps of every tile the row is
//            cut into (the last tile recomputes columns when the tile does not divide the row)
//            and every channel block (the last one may be narrower);
//   memory:  the bytes each tile reads (its weights block and input slice), priced by the
//            cache level they are still in, judged by how much other data the loop order
//            touches between two uses (reuse distance against the L1 / L2 sizes).
//
// It ranks candidates; it does not predict milliseconds.
#pragma once

#include "compiler/schedule/candidates.h"

namespace bisc {

/// Estimated cycles of `conv` with `schedule` on one core of `machine`.
double estimateCycles(const ConvKernel &conv, const Schedule &schedule, const MachineModel &machine);

/// The candidates of enumerateSchedules(), cheapest estimate first.
std::vector<Schedule> rankSchedules(const ConvKernel &conv, const MachineModel &machine, const Schedule &defaults);

/// The cost model's choice: the cheapest candidate, or the default schedule unless another is
/// estimated clearly (kMinGain) cheaper, so the model never trades a known kernel for noise.
Schedule chooseSchedule(const ConvKernel &conv, const MachineModel &machine, const Schedule &defaults);

} // namespace bisc
