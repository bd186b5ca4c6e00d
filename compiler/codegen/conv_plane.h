//===- conv_plane.h - One output plane of a direct convolution ------------===//
//
// The direct convolution of emit_conv.cpp as a building block: conv2d, fused_conv, the
// FFM's 1x1 conv over a concat that is never materialised and the Context Embedding's conv
// of x + g all emit their planes with it. One call computes output plane (n, oc) in tiles of
// Schedule::tileRows rows, accumulating each tile in a stack buffer (so it stays in L1 and
// the output may share memory with a residual operand), then stores each tile through an
// epilogue. Depthwise planes (one input channel per group, no unit taps) instead sum each
// output in a register and store it through the epilogue once, which is just as safe.
#pragma once

#include "compiler/codegen/emitters.h"

#include <functional>
#include <vector>

namespace bisc {

/// Geometry of a 2-d convolution (NCHW input, OIHW weight).
struct ConvShape {
  int64_t n, ic, h, w, oc, oh, ow, kh, kw, groups;
  int64_t strideH, strideW, padT, padL, dilH, dilW;
};

/// The geometry of a conv-like node (conv2d, fused_conv, context_embedding): input operand
/// 0, weight operand `weightOperand`, stride/pads/dilation/groups attributes.
ConvShape convShape(const Node &node, size_t weightOperand = 1);

/// The geometry of a 1x1, stride-1, unpadded conv of an [N, inChannels, H, W] input.
ConvShape pointwiseShape(const Shape &x, int64_t inChannels, int64_t outChannels);

/// Tiles and parallel axis (n x output channels) of a conv of `shape`.
Schedule convSchedule(const ConvShape &shape, const Schedule &defaults);

/// A channel range of the conv input: a concat's operands are read where they are.
struct ConvInputPart {
  const Value *value;
  int64_t channels;
};

/// What one output plane reads and how it is finished.
struct ConvPlane {
  ConvShape shape;
  /// Input channels in order; more than one part needs groups == 1.
  std::vector<ConvInputPart> input;
  const Value *weight = nullptr;
  const Value *bias = nullptr; ///< [OC] or none
  const Value *out = nullptr;
  /// Turns an accumulated value (bias included) into the stored one; `plane` is the (n, oc)
  /// plane index and `pixel` the index inside it (to read a residual). Null stores as is.
  std::function<llvm::Value *(KernelBuilder &, llvm::Value *acc, llvm::Value *plane, llvm::Value *pixel)> epilogue;
};

/// Emits plane `plane` (= n * OC + oc) of `conv` with `schedule.tileRows`. `unitTaps`, if
/// given, points to KH*KW floats added like the weights of an extra input channel that is 1
/// inside the image and 0 in the padding (a per-channel constant added to the input, folded
/// through the weights).
void emitConvPlane(KernelBuilder &k, const ConvPlane &conv, const Schedule &schedule, llvm::Value *plane,
                   llvm::Value *unitTaps = nullptr);

/// Adds taps[kh, kw] to every pixel of the output plane at `outPlane` whose tap (kh, kw)
/// reads inside the image: the unit-taps channel of emitConvPlane, applied after the fact to
/// a plane another kernel computed.
void addUnitTaps(KernelBuilder &k, const ConvShape &shape, llvm::Value *outPlane, llvm::Value *taps);

} // namespace bisc
