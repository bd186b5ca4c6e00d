//===- autotune.h - Time candidate schedules, keep the fastest --------------===//
//
// For each distinct dense conv (not Winograd) of a graph (by kernel signature), the autotuner
// compiles that one conv with each candidate schedule -- first what a compile without tuning
// would use (the emitters' kernel choice: the packed conv where it applies, else the
// microkernel with the cost model's blocking), then the target-wide default, then the
// microkernel with the cost model's best blockings -- into a one-node module, JITs it for the host with LLVM ORC
// (LLJIT), runs it on random data (on AutotuneOptions::threads threads), and keeps the schedule with the lowest
// median time. Winners go into a ScheduleTable (schedule_file.h); kernels already in the
// table are not timed again. The time budget is shared out between the kernels still to tune
// in proportion to their MACs.
#pragma once

#include "compiler/codegen/target.h"
#include "compiler/schedule/conv_kernel.h"
#include "compiler/schedule/schedule_file.h"
#include "ir/graph.h"

#include <functional>
#include <set>
#include <string>

namespace bisc {

struct AutotuneOptions {
  double budgetSeconds = 90;  ///< for the whole graph (each kernel times at least two candidates)
  int runs = 5;               ///< timed runs per candidate (after one warm-up); the median counts
  int maxCandidates = 8;      ///< per kernel, the default included
  /// Threads a candidate runs on (split over the parallel axis as the runtime's pool does): the
  /// thread count the model will run with. 1 (the runtime's default) is the least noisy.
  int threads = 1;
  std::function<void(const std::string &)> log;  ///< one line per tuned kernel, if set
};

struct AutotuneReport {
  int kernels = 0;     ///< distinct dense convs of the graph
  int reused = 0;      ///< already in the table
  int tuned = 0;       ///< timed now
  int candidates = 0;  ///< schedules timed in all
  int improved = 0;    ///< kernels whose winner is not what an untuned compile would use
  double seconds = 0;
};

/// Tunes the dense convs of `graph` (shapes inferred, weights loaded) for `target`, which must
/// be the host: the kernels run here. Adds the winners to `table`.
AutotuneReport autotune(const Graph &graph, const TargetSpec &target, ScheduleTable &table,
                        const AutotuneOptions &options);

struct TimedKernel {
  std::string kernel;  ///< the emitted kernel: family and schedule
  double ms = 0;       ///< median of the runs; 0 if not timed
};

/// The conv `conv` alone compiled with `schedule` and timed (random data, one thread; median
/// milliseconds of `runs` on `threads` threads), unless the emitted kernel is in `skip`.
TimedKernel timeConvSchedule(const ConvKernel &conv, const Schedule &schedule, const TargetSpec &target, int runs,
                             int threads = 1, const std::set<std::string> &skip = {});

} // namespace bisc
