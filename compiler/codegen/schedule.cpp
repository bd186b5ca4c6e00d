//===- schedule.cpp - How a kernel's loops are arranged ---------------------===//
#include "compiler/codegen/schedule.h"

#include <fmt/format.h>

namespace bisc {

std::string Schedule::describe() const {
  return fmt::format("parallel={} tile_rows={} vector={} block={}x{}{}{}", parallelCount, tileRows, vectorWidth,
                     channelBlock, vectorBlock, channelBlocksOuter ? " order=channel_blocks_outer" : "",
                     denseKernel == DenseKernel::Microkernel ? " kernel=microkernel" : "");
}

Schedule Schedule::forVectorWidth(int64_t vectorWidth, bool manyRegisters) {
  Schedule schedule;
  schedule.vectorWidth = vectorWidth;
  // Accumulators + one register per loaded input vector + the broadcast weight must fit:
  // 6 x 4 + 4 + 1 = 29 of 32, or 6 x 2 + 2 + 1 = 15 of 16.
  schedule.channelBlock = 6;
  schedule.vectorBlock = manyRegisters ? 4 : 2;
  // One output row per microkernel iteration (the direct conv derives its own row tile).
  schedule.tileRows = 1;
  return schedule;
}

} // namespace bisc
