//===- resize_taps.h - Reading a resized plane without materialising it ----===//
//
// Resize is separable: the source rows and columns (and bilinear weights) of every output
// row and column depend only on the shapes, so they are computed at compile time and stored
// as tables in the weights blob. ResizeSampler then reads any plane of the source shape
// resized to the output shape, one value at a time, so resize, resize_add / resize_mul and
// the BGA gate interpolate on the fly instead of writing the upsampled tensor.
#pragma once

#include "compiler/codegen/kernel_builder.h"

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

/// Emits reads of resized planes in row order: beginRow(oh), then sample(plane, ow) for
/// any plane of the source shape.
class ResizeSampler {
public:
  ResizeSampler(KernelBuilder &k, const ResizeTaps &taps) : k_(k), taps_(taps) {}

  /// Loads the source rows and row weight of output row `oh`.
  void beginRow(llvm::Value *oh);
  /// The resized value at (current row, ow) of the plane starting at `plane`.
  llvm::Value *sample(llvm::Value *plane, llvm::Value *ow);

private:
  llvm::Value *index(int64_t table, llvm::Value *i);

  KernelBuilder &k_;
  ResizeTaps taps_;
  llvm::Value *row0_ = nullptr, *row1_ = nullptr, *lambdaH_ = nullptr;
};

} // namespace bisc
