//===- emit_blocked.h - Kernels of the blocked NCHW{c}c layout -------------===//
//
// Values the blocked-layout pass puts in NCHW{c}c (TensorType::channelBlock = c) are read and
// written by these kernels: the dense conv (conv2d / fused_conv with its epilogue) in
// emit_blocked_conv.cpp (3x3 stride-1 ones as Winograd in emit_blocked_winograd.cpp) and the reorder between layouts in emit_blocked_reorder.cpp.
// The depthwise conv (also with a channel multiplier), max / avg / global average pooling,
// channel concat and the per-channel broadcast add / mul are in emit_blocked_spatial.cpp;
// resize, resize_add / mul / concat and BiSeNetV2's bga in emit_blocked_resize.cpp.
// The multi-phase gates arm, ffm and context_embedding are in emit_blocked_gates.cpp.
// Same-shape elementwise ops need no kernel of their own: both operands and the result share
// one layout, so the flat NCHW elementwise kernel is correct for them as it is.
#pragma once

#include "compiler/codegen/conv_microkernel.h"
#include "compiler/codegen/emitters.h"

namespace bisc {

/// True if `node` reads or writes a blocked value (emitBlockedKernel() must take it).
bool usesBlockedLayout(const Node &node);

/// The kernel of a node that uses a blocked layout: reorder, depthwise conv, pooling, concat,
/// elementwise, the resize family; throws naming the node for anything else (a dense conv,
/// which may be several kernels, goes through emitNodeKernels to emitBlockedConv).
KernelSpec emitBlockedKernel(const Node &node, EmitContext &context);

/// Register block of the blocked conv and Winograd GEMM: `blocks` output vectors (at most
/// maxBlocks) x `columns` output columns or tiles, sized to the register file.
struct BlockedConvBlocking {
  int64_t blocks, columns;
};
BlockedConvBlocking blockedConvBlocking(int64_t ocBlocks, int64_t maxBlocks, const Schedule &defaults);

/// A dense (groups 1) conv2d / fused_conv: Winograd's kernels where blockedWinogradApplies(),
/// else the register-blocked direct conv; dispatched by emitNodeKernels.
std::vector<KernelSpec> emitBlockedConv(const Node &node, EmitContext &context);

/// True if the blocked dense conv `node` runs as Winograd F(4x4,3x3) (emit_blocked_winograd.cpp):
/// 3x3, stride 1, undilated, input and output blocked, with enough channels to amortise the
/// transforms.
bool blockedWinogradApplies(const Node &node);
/// Emits `node` with `epilogue`; requires blockedWinogradApplies(). One kernel, or two (input
/// transform into scratch memory, then GEMM and output transform) for deep layers with few
/// tiles, where that reads the transformed weights once.
std::vector<KernelSpec> emitBlockedWinogradConv(const Node &node, const ConvEpilogue &epilogue,
                                                EmitContext &context);
KernelSpec emitReorder(const Node &node, EmitContext &context);

/// Bias, activation and residual of a blocked conv2d / fused_conv; throws naming the node for
/// an epilogue the blocked kernels do not have.
ConvEpilogue blockedEpilogue(const Node &node);
/// conv2d / fused_conv with groups == input channels and output channels a multiple m of
/// them: depthwise (m = 1, family conv_blocked_depthwise) or with a channel multiplier
/// (conv_blocked_grouped).
KernelSpec emitBlockedDepthwiseConv(const Node &node, EmitContext &context);
/// max_pool and avg_pool with every attribute of the NCHW kernel.
KernelSpec emitBlockedPool(const Node &node, EmitContext &context);
/// Result [N,C,1,1] in the input's layout (for a 1x1 map the same bytes as NCHW).
KernelSpec emitBlockedGlobalAvgPool(const Node &node, EmitContext &context);
/// Channel concat of inputs whose channels are multiples of the block.
KernelSpec emitBlockedConcat(const Node &node, EmitContext &context);
/// add / mul of a [N,C,H,W] value and a per-channel [N or 1,C,1,1] vector.
KernelSpec emitBlockedChannelBroadcast(const Node &node, EmitContext &context);

/// resize, resize_add and resize_mul (emit_blocked_resize.cpp): every mode and attribute of
/// the NCHW kernels, one output row of one channel block per iteration.
KernelSpec emitBlockedResize(const Node &node, EmitContext &context);
/// resize_concat of operands whose channels are multiples of the block.
KernelSpec emitBlockedResizeConcat(const Node &node, EmitContext &context);
/// bga as two kernels (the small-size gates into scratch, then the output rows); dispatched
/// by emitNodeKernels, since emitBlockedKernel returns one kernel.
std::vector<KernelSpec> emitBlockedBga(const Node &node, EmitContext &context);
/// The multi-phase gates with activations and result in one blocked layout
/// (emit_blocked_gates.cpp): the phases of the NCHW kernels, one vector per pixel;
/// dispatched by emitNodeKernels. context_embedding needs groups 1.
std::vector<KernelSpec> emitBlockedArm(const Node &node, EmitContext &context);
std::vector<KernelSpec> emitBlockedFfm(const Node &node, EmitContext &context);
std::vector<KernelSpec> emitBlockedContextEmbedding(const Node &node, EmitContext &context);

} // namespace bisc
