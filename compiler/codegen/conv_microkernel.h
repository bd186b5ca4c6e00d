//===- conv_microkernel.h - Register-blocked dense convolution ------------===//
//
// Dense (groups = 1) convolutions of any kernel size, stride 1 or 2 and any dilation, as a
// microkernel whose accumulators stay in vector registers: one parallel iteration computes
// one output row of `Schedule::channelBlock` output channels, in tiles of
// `Schedule::vectorBlock` vectors along the row. Weights are repacked at compile time so the
// broadcast scalars of one tap are adjacent. Zero padding is exact: tiles whose input columns
// leave the image are emitted with compile-time lane masks (masked-off lanes read as 0).
#pragma once

#include "compiler/codegen/emitters.h"

#include <optional>

namespace bisc {

/// What happens to the accumulators before they are stored (fused_conv's epilogue).
struct ConvEpilogue {
  const Value *bias = nullptr;      ///< [OC], or none
  const Value *residual = nullptr;  ///< the output's shape, or none
  bool residualBeforeActivation = false;
  bool relu = false;
};

/// True if the microkernel handles this conv2d/fused_conv: dense, stride 1 or 2, and output
/// rows at least one vector wide for the target's vector width.
bool convMicrokernelApplies(const Node &node, const Schedule &defaults);

/// Emits the conv of `node` (operands x, weight) with `epilogue`; requires
/// convMicrokernelApplies().
KernelSpec emitConvMicrokernel(const Node &node, const ConvEpilogue &epilogue, EmitContext &context);

/// Sizes of a 2-D conv node (conv2d or fused_conv; operands x, weight).
struct ConvGeometry {
  int64_t n, ic, h, w, oc, oh, ow, kh, kw;
  int64_t strideH, strideW, padT, padL, dilH, dilW;
};
ConvGeometry convGeometry(const Node &node);

/// Where one output row of a register-blocked conv goes, for storeRowTile: element offsets
/// are relative to `outRow` / `residualRow` (the row's (n, 0, oh, 0)), channels `plane` apart.
struct ConvRowTarget {
  llvm::Value *outRow = nullptr, *residualRow = nullptr;
  int64_t plane = 0, lanes = 0;
};

/// Stores accumulators acc[o * vectors + j] (o < channels) as output channel oc0 + o, columns
/// start + j * lanes, through `epilogue` (bias, residual before or after the relu). With a
/// compile-time `constantStart` (-1: none), columns below `storedUpTo` are left alone: the
/// previous, overlapping tile finished them, and as the output may share its buffer with the
/// residual, a column must be finished exactly once.
void storeRowTile(KernelBuilder &k, const ConvEpilogue &epilogue, const ConvRowTarget &target,
                  const std::vector<llvm::Value *> &accumulators, int64_t channels, int64_t vectors,
                  llvm::Value *oc0, llvm::Value *start, int64_t constantStart, int64_t storedUpTo);

/// Emits tiles of `tile` columns covering a row of `ow` columns exactly, the last shifted left
/// to end at the row's end. Tiles for which `inside(start)` holds, at regular positions, run
/// in one loop (emit gets constantStart -1, masked false); every other tile is emitted alone
/// at its compile-time start, masked unless inside, with the columns its predecessor stored.
using RowTileEmitter = std::function<void(int64_t constantStart, llvm::Value *start, bool masked, int64_t storedUpTo)>;
void forEachRowTile(KernelBuilder &k, int64_t ow, int64_t tile, const std::function<bool(int64_t)> &inside,
                    const RowTileEmitter &emit);

/// A vector load whose lanes false in `lanes` read as 0 and touch no memory (columns in a
/// conv's padding); nullptr when every lane is false.
llvm::Value *loadColumns(KernelBuilder &k, llvm::FixedVectorType *type, llvm::Value *pointer,
                         const std::vector<bool> &lanes);

/// Repacks conv weights [OC, IC, KH, KW] into blocks [OC / block][IC][KH][KW][block] (the
/// last block may be narrower), so one tap's `block` scalars are adjacent.
std::vector<float> packConvWeights(const Tensor &weight, int64_t block);

/// True if the packed-tile conv (conv_packed.cpp) is chosen for this conv2d/fused_conv:
/// dense, stride 2 or 1x1, rows at least one vector wide, at least 16 input channels, more
/// output channels than one block, and a packed input tile within its stack budget.
bool packedConvApplies(const Node &node, const Schedule &schedule);

/// Emits the conv of `node` from packed input tiles; requires packedConvApplies().
KernelSpec emitPackedConv(const Node &node, const ConvEpilogue &epilogue, EmitContext &context);

/// The fastest dense kernel for the conv of `node` (conv2d or fused_conv) with `epilogue`:
/// Winograd F(4x4,3x3) where it applies, else the packed-tile conv, else the microkernel;
/// nothing if none applies (the caller then uses the direct conv planes of emit_conv.cpp).
std::optional<KernelSpec> emitDenseConv(const Node &node, const ConvEpilogue &epilogue, EmitContext &context);

} // namespace bisc
