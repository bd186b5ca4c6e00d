//===- random_weights.h - Deterministic random numbers and test images ---===//
//
// Internal to the frontends library (and its tests). std::normal_distribution's output is
// implementation-defined, so bisc carries its own generator: splitmix64 for bits, Box-Muller
// for normals. Same seed, same numbers on every platform (up to the last ulp of std::log and
// std::cos, which the f32 rounding of the results hides in practice).
#pragma once

#include "ir/tensor.h"

#include <cstdint>
#include <string_view>

namespace bisc {

class Rng {
public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  /// A stream for one named tensor: weights keep their values when other weights are added
  /// or removed (e.g. by drop-aux-heads).
  Rng(uint64_t seed, std::string_view name);

  uint64_t next();
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi);
  /// Standard normal.
  double normal();

private:
  uint64_t state_;
};

/// A batch of images whose per-sample contrast (x1/4 .. x4, log-uniform) and per-channel
/// brightness (N(0,1)) vary, so BNs behind global pooling see spread-out statistics
/// (docs/random-weights.md). `shape` is N,C,H,W.
Tensor syntheticImages(const Shape &shape, uint64_t seed);

/// The shape BN calibration tries first: batch 4 at 64x128, the input's channels.
Shape calibrationShape(const Shape &inputShape);

} // namespace bisc
