//===- passes.h - Factories of every pass, and the registry ---------------===//
#pragma once

#include "passes/pass.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bisc {

#define BISC_PASS(name, factory) std::unique_ptr<Pass> factory();
#include "passes/passes.def"

/// The pass of a pipeline entry "name" or "name{options}", or nullptr. `defaults` (option
/// text) is applied before the entry's own options.
std::unique_ptr<Pass> createPass(std::string_view entry, std::string_view defaults = {});
/// Every registered pass name, in passes.def order.
std::vector<std::string> registeredPassNames();
/// What `default` expands to.
const std::vector<std::string> &defaultPipeline();

/// Erases the nodes no graph output needs (training-only outputs count); returns how many.
int eliminateDeadCode(Graph &graph);

/// Result of plan-memory. Graph outputs are not in the arena (the caller's output buffers
/// hold them; their arenaOffset stays -1), nor are inputs and weights.
struct MemoryPlan {
  int64_t peakBytes = 0;      ///< arena size: the highest end offset
  int64_t totalBytes = 0;     ///< sum of every planned activation, each 64-byte aligned
  int64_t planned = 0;        ///< node results given an offset
  int64_t inPlace = 0;        ///< results that reuse the buffer of an input dying there
  /// The most bytes live at once (no placement can need less with these in-place choices);
  /// peakBytes - liveBytes is what fragmentation costs.
  int64_t liveBytes = 0;
};

/// Assigns Value::arenaOffset to every node result but the graph outputs (see
/// plan_memory.cpp) and returns the sizes.
MemoryPlan planMemory(Graph &graph);

} // namespace bisc
