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

/// The fastest dense kernel for the conv of `node` (conv2d or fused_conv) with `epilogue`:
/// Winograd F(4x4,3x3) where it applies, else the microkernel; nothing if neither applies
/// (the caller then uses the direct conv planes of emit_conv.cpp).
std::optional<KernelSpec> emitDenseConv(const Node &node, const ConvEpilogue &epilogue, EmitContext &context);

} // namespace bisc
