//===- candidates.cpp - The conv microkernel schedules worth trying ---------===//
#include "compiler/schedule/candidates.h"

#include <fmt/format.h>

#include <algorithm>

namespace bisc {

namespace {

/// Fewer parallel iterations than this (or than the default schedule gives, if fewer) leave
/// the runtime's pool too few chunks to balance its threads.
constexpr int64_t kMinParallelIterations = 48;
constexpr int64_t kRowTiles[] = {1, 2, 4, 8};

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

} // namespace

Schedule effectiveSchedule(const ConvKernel &conv, const Schedule &schedule) {
  Schedule s = schedule;
  s.vectorBlock = std::clamp<int64_t>(conv.ow / schedule.vectorWidth, 1, schedule.vectorBlock);
  s.channelBlock = std::min(schedule.channelBlock, conv.oc);
  s.tileRows = std::clamp<int64_t>(schedule.tileRows, 1, conv.oh);
  int64_t rowTiles = conv.n * ceilDiv(conv.oh, s.tileRows), blocks = ceilDiv(conv.oc, s.channelBlock);
  s.parallelCount = rowTiles * blocks;
  // With one channel block or one row tile both loop orders are the same kernel.
  if (rowTiles == 1 || blocks == 1) s.channelBlocksOuter = false;
  return s;
}

int64_t registersNeeded(const ConvKernel &conv, int64_t channelBlock, int64_t vectorBlock) {
  // Stride 2 shuffles each input vector out of two loads: one more register in flight.
  int64_t inputs = vectorBlock + (conv.strideW == 2 ? 1 : 0);
  return channelBlock * vectorBlock + inputs + 1;
}

std::optional<std::string> checkSchedule(const ConvKernel &conv, const Schedule &schedule, const MachineModel &machine) {
  if (schedule.vectorWidth != machine.vectorWidth)
    return fmt::format("vector width {} is not the target's {}", schedule.vectorWidth, machine.vectorWidth);
  if (schedule.channelBlock < 1 || schedule.vectorBlock < 1 || schedule.tileRows < 1)
    return fmt::format("channel_block {}, vector_block {} and tile_rows {} must be at least 1", schedule.channelBlock,
                       schedule.vectorBlock, schedule.tileRows);
  Schedule s = effectiveSchedule(conv, schedule);
  int64_t needed = registersNeeded(conv, s.channelBlock, s.vectorBlock);
  if (needed > machine.registers)
    return fmt::format("block {}x{} needs {} vector registers, the target has {}", s.channelBlock, s.vectorBlock,
                       needed, machine.registers);
  return std::nullopt;
}

std::vector<Schedule> enumerateSchedules(const ConvKernel &conv, const MachineModel &machine, const Schedule &defaults) {
  std::vector<Schedule> out;
  auto add = [&](const Schedule &s) {
    Schedule e = effectiveSchedule(conv, s);
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  };
  Schedule first = effectiveSchedule(conv, defaults);
  add(first);
  int64_t minParallel = std::min(first.parallelCount, kMinParallelIterations);
  int64_t maxVectors = std::max<int64_t>(1, conv.ow / machine.vectorWidth);
  for (int64_t vectors = 1; vectors <= std::min<int64_t>(maxVectors, 8); ++vectors) {
    int64_t maxChannels = 0;
    while (registersNeeded(conv, maxChannels + 1, vectors) <= machine.registers) ++maxChannels;
    maxChannels = std::min(maxChannels, conv.oc);
    // Blocks below half the register file waste FMA throughput, unless the channels are few.
    for (int64_t channels = std::max<int64_t>(1, (maxChannels + 1) / 2); channels <= maxChannels; ++channels)
      for (int64_t rows : kRowTiles)
        for (bool outer : {false, true}) {
          Schedule s = defaults;
          s.vectorBlock = vectors, s.channelBlock = channels, s.tileRows = rows, s.channelBlocksOuter = outer;
          Schedule e = effectiveSchedule(conv, s);
          if (e.parallelCount < minParallel || e.tileRows != rows) continue;
          add(s);
        }
  }
  return out;
}

} // namespace bisc
