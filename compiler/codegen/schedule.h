//===- schedule.h - How a kernel's loops are arranged ----------------------===//
//
// The algorithm of a kernel (what it computes) is fixed by its op; the Schedule says how
// the loops run. Emitters read only this struct for such choices, so tuning a kernel edits
// its schedule, never its emitter. Each node may have its own (EmitContext::scheduleFor);
// compiler/schedule/ chooses them (cost model, schedule files, autotuning).
#pragma once

#include <cstdint>
#include <string>

namespace bisc {

/// Which kernel lowers a dense conv that Winograd does not take: the emitters' own choice
/// (the packed-tile conv where it applies, else the microkernel), or the microkernel always.
enum class DenseKernel { Auto, Microkernel };

struct Schedule {
  /// Iterations of the outer loop split across threads (e.g. N x output channels).
  int64_t parallelCount = 1;
  /// Output rows computed together: the direct conv keeps their accumulators in cache; the
  /// conv microkernel computes this many rows of one channel block per parallel iteration,
  /// so the block's weights and the rows' shared input are reused while they are in cache.
  int64_t tileRows = 8;
  /// Vector width in f32 lanes the target offers (4 NEON/SSE, 8 AVX2, 16 AVX-512).
  int64_t vectorWidth = 8;
  /// Register block of the conv microkernel: output channels x vectors along the row,
  /// whose product is the number of accumulator registers.
  int64_t channelBlock = 4;
  int64_t vectorBlock = 2;
  /// Loop order of the conv microkernel's parallel axis: false walks row tiles and, within
  /// one, every channel block (the input rows stay in cache); true walks channel blocks and,
  /// within one, every row tile (the block's weights stay in cache).
  bool channelBlocksOuter = false;
  DenseKernel denseKernel = DenseKernel::Auto;

  std::string describe() const;
  /// The starting point for a target with `vectorWidth` f32 lanes: register blocks sized to
  /// its vector register file (32 registers with AVX-512 and NEON, 16 with AVX2 and SSE).
  static Schedule forVectorWidth(int64_t vectorWidth, bool manyRegisters);

  bool operator==(const Schedule &) const = default;
};

} // namespace bisc
