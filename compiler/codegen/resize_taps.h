//===- resize_taps.h - Reading a resized plane without materialising it ----===//
//
// Resize is separable: the source rows and columns (and bilinear weights) of every output
// row and column depend only on the shapes, so they are computed at compile time and stored
// as tables in the weights blob. ResizeSampler then reads any plane of the source shape
// resized to the output shape, one value at a time, so resize, resize_add / resize_mul and
// the BGA gate interpolate on the fly instead of writing the upsampled tensor.
#pragma once

#include "compiler/codegen/kernel_builder.h"

#include <functional>

namespace bisc {

/// Blob offsets of one axis' tables: first and second source index (i32), weight of the
/// second (f32).
struct AxisTaps {
  int64_t first, second, lambda;
};

struct ResizeTaps {
  bool bilinear = false;
  int64_t inH = 0, inW = 0, outH = 0, outW = 0;
  AxisTaps rows, cols;
};

/// Tables for resizing [*, *, in H, in W] planes to out's H, W under the mode,
/// align_corners and optional scale attributes of `node` (resize, resize_add, resize_mul,
/// bga), following aten's source-index rules.
ResizeTaps resizeTaps(const Node &node, const Shape &in, const Shape &out, WeightsBlob &blob);

/// Output rows per band (iteration) of a row-wise resize kernel: about `pixelsPerBand`
/// output pixels, at least one row and at most the plane.
int64_t resizeBandRows(const ResizeTaps &taps, int64_t pixelsPerBand);

/// Emits reads of resized planes in row order: beginRow(oh), then sample(plane, ow) for
/// any plane of the source shape. A pixel is `lanes` consecutive floats: 1 for an NCHW plane,
/// c for a plane of the blocked layout NCHW{c}c, where sample() returns the vector of the
/// pixel's c channels (same arithmetic per lane, so both layouts give the same floats).
class ResizeSampler {
public:
  ResizeSampler(KernelBuilder &k, const ResizeTaps &taps, int64_t lanes = 1) : k_(k), taps_(taps), lanes_(lanes) {}

  /// Loads the source rows and row weight of output row `oh`.
  void beginRow(llvm::Value *oh);
  /// The resized pixel at (current row, ow) of the plane starting at `plane`.
  llvm::Value *sample(llvm::Value *plane, llvm::Value *ow);

private:
  llvm::Value *index(int64_t table, llvm::Value *i);

  KernelBuilder &k_;
  ResizeTaps taps_;
  int64_t lanes_;
  llvm::Value *row0_ = nullptr, *row1_ = nullptr, *lambdaH_ = nullptr;
};

/// Emits whole resized rows, separably and vectorised: a source row is interpolated along W
/// once into a two-row stack cache (slot = source row % 2, tagged with the row it holds), and
/// each output row is then a vector lerp of its two cached source rows. The arithmetic is
/// ResizeSampler's (W taps first, then H), so both give the same floats. Rows must be asked
/// for in increasing order within a plane for the cache to help; any order is correct.
/// With `caches` > 1 there is one such cache per plane of a group read row by row in turn
/// (all channels of an output row: the fused arg-max).
class RowResizer {
public:
  /// Consumes `lanes` output values (a vector, or a scalar when lanes is 1) at column `ow`.
  using Consumer = std::function<void(llvm::Value *ow, llvm::Value *value, int64_t lanes)>;

  RowResizer(KernelBuilder &k, const ResizeTaps &taps, int64_t lanes, int64_t caches = 1);

  /// Forgets the cached rows: call before the first row of every plane (or group).
  void beginPlane();
  /// Emits output row `oh` of the source plane starting at `plane`, through cache `cache`
  /// (an i64 below `caches`; null: 0): `consume` is called for the columns in vectors of
  /// `lanes`, then for the remaining ones one at a time.
  void row(llvm::Value *plane, llvm::Value *oh, const Consumer &consume, llvm::Value *cache = nullptr);

  /// Stack bytes of the row caches for `caches` planes.
  static int64_t cacheBytes(const ResizeTaps &taps, int64_t caches) { return caches * 2 * taps.outW * 4; }

private:
  /// The row of cache `cache` holding source row `sourceRow` of `plane` along W, filled if
  /// it is not.
  llvm::Value *cachedRow(llvm::Value *plane, llvm::Value *sourceRow, llvm::Value *cache);

  KernelBuilder &k_;
  ResizeTaps taps_;
  int64_t lanes_, caches_;
  llvm::Value *cache_ = nullptr, *tags_ = nullptr;
};

} // namespace bisc
