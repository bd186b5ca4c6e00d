//===- emit_winograd.h - Winograd F(4x4, 3x3) dense convolution -----------===//
//
// Stride-1, undilated, dense 3x3 convolutions as Winograd F(4x4, 3x3): each 4x4 output tile
// is A^T [ U (.) (B^T d B) ] A over its 6x6 input tile d, with the transformed weights
// U = G g G^T computed at compile time, so a tile takes 36 multiplies per (ic, oc) instead
// of 144. The input and output transforms run inside the kernel's tiles (no transformed
// tensor is ever written to the arena).
#pragma once

#include "compiler/codegen/conv_microkernel.h"

namespace bisc {

/// True if `node` (conv2d / fused_conv) is a 3x3, stride 1, dilation 1, groups 1 conv whose
/// output rows are at least 4 x vectorWidth columns wide and which has at least 16 input and
/// 16 output channels (fewer leave the transforms unamortised).
bool winogradApplies(const Node &node, const Schedule &defaults);

/// Emits `node` (operands x, weight) with `epilogue`; requires winogradApplies().
KernelSpec emitWinogradConv(const Node &node, const ConvEpilogue &epilogue, EmitContext &context);

} // namespace bisc
