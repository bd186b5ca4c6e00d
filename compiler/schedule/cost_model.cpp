//===- cost_model.cpp - Analytic cost of a conv microkernel schedule --------===//
#include "compiler/schedule/cost_model.h"

#include <algorithm>

namespace bisc {

namespace {

/// Cycles per byte a load costs beyond L1 when its data is in L2, or further out. They only
/// count what the FMAs do not hide (prefetching streams most of it).
constexpr double kL2CyclesPerByte = 0.02, kFarCyclesPerByte = 0.08;
/// FMA latency in cycles: an accumulator takes one FMA per tap, so a tap lasts at least this.
constexpr double kFmaLatency = 4;
/// Loop overhead per (ic, kh) iteration of the tile's reduction (kw is unrolled).
constexpr double kLoopCycles = 1.5;
/// A schedule other than the default must be estimated at least this much cheaper.
constexpr double kMinGain = 0.05;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

double tapCycles(const ConvKernel &conv, int64_t channels, int64_t vectors) {
  double fmas = double(channels * vectors);
  double loads = double(vectors * conv.strideW + channels);
  // Stride 2: a shuffle per input vector shares the FMA pipes on x86.
  double pipes = fmas + (conv.strideW == 2 ? double(vectors) : 0.0);
  return std::max({pipes / 2.0, loads / 2.0, kFmaLatency});
}

double bytePrice(double reuseDistance, const MachineModel &machine) {
  if (reuseDistance <= double(machine.l1Bytes) * 0.75) return 0.0;
  if (reuseDistance <= double(machine.l2Bytes) * 0.75) return kL2CyclesPerByte;
  return kFarCyclesPerByte;
}

} // namespace

double estimateCycles(const ConvKernel &c, const Schedule &schedule, const MachineModel &machine) {
  Schedule s = effectiveSchedule(c, schedule);
  int64_t lanes = s.vectorWidth, vectors = s.vectorBlock, tile = lanes * vectors;
  int64_t tilesPerRow = ceilDiv(c.ow, tile);
  int64_t blocks = ceilDiv(c.oc, s.channelBlock), tail = c.oc - (blocks - 1) * s.channelBlock;
  int64_t rows = c.n * c.oh, taps = c.ic * c.kh * c.kw;
  double perTileRow = double(blocks - 1) * tapCycles(c, s.channelBlock, vectors) + tapCycles(c, tail, vectors);
  double compute = double(rows * tilesPerRow) * (double(taps) * perTileRow + double(blocks * c.ic * c.kh) * kLoopCycles);

  // Bytes one tile reads (its weights block and input slice), priced by where they still
  // are: in L1 if what the loop touched since their last use fits, else in L2.
  double weightBlock = double(s.channelBlock * taps * 4);
  double allWeights = double(c.oc * taps * 4);
  double inputSlice = double(c.ic * c.kh * (tile * c.strideW + (c.kw - 1) * c.dilW) * 4);
  int64_t tileInputRows = (s.tileRows - 1) * c.strideH + (c.kh - 1) * c.dilH + 1;
  double rowTileInput = double(c.ic * tileInputRows * c.w * 4);
  double imageInput = double(c.ic * c.h * c.w * 4);
  int64_t rowTiles = c.n * ceilDiv(c.oh, s.tileRows);
  // Weights are reused by the row's next tile, else by the tile's next row, else by the
  // next row tile: right away with blocks outer, after every other block with blocks inner.
  double weightDistance = tilesPerRow > 1 ? weightBlock + inputSlice
                          : s.tileRows > 1 || s.channelBlocksOuter || blocks == 1 ? weightBlock + rowTileInput
                                                                                 : allWeights + rowTileInput;
  // The input slice is reused by the next channel block (blocks inner) or the next row of
  // the tile (overlapping rows): either way after one weights block and the row tile.
  double inputDistance = weightBlock + rowTileInput;
  double near = double(rows * tilesPerRow * blocks) *
                (weightBlock * std::min(bytePrice(weightDistance, machine), kL2CyclesPerByte) +
                 inputSlice * std::min(bytePrice(inputDistance, machine), kL2CyclesPerByte));
  // Beyond L2: blocks inner stream all weights once per row tile unless they stay in L2;
  // blocks outer stream the whole input once per block unless it stays in L2.
  double l2 = double(machine.l2Bytes) * 0.75;
  double farWeights = !s.channelBlocksOuter && blocks > 1 && allWeights + rowTileInput > l2
                          ? double(rowTiles) * allWeights
                          : allWeights;
  double farInput = s.channelBlocksOuter && blocks > 1 && imageInput + weightBlock > l2 ? double(blocks) * imageInput
                                                                                       : imageInput;
  double memory = near + (farWeights + farInput) * kFarCyclesPerByte;
  return compute + memory;
}

std::vector<Schedule> rankSchedules(const ConvKernel &conv, const MachineModel &machine, const Schedule &defaults) {
  std::vector<Schedule> candidates = enumerateSchedules(conv, machine, defaults);
  std::vector<std::pair<double, Schedule>> scored;
  for (const Schedule &s : candidates) scored.emplace_back(estimateCycles(conv, s, machine), s);
  std::stable_sort(scored.begin(), scored.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
  std::vector<Schedule> ranked;
  for (auto &[cost, s] : scored) ranked.push_back(s);
  return ranked;
}

Schedule chooseSchedule(const ConvKernel &conv, const MachineModel &machine, const Schedule &defaults) {
  std::vector<Schedule> ranked = rankSchedules(conv, machine, defaults);
  Schedule fallback = effectiveSchedule(conv, defaults);
  if (ranked.empty()) return fallback;
  double best = estimateCycles(conv, ranked.front(), machine), current = estimateCycles(conv, fallback, machine);
  return best < current * (1.0 - kMinGain) ? ranked.front() : fallback;
}

} // namespace bisc
