//===- emit_blocked.h - Kernels of the blocked NCHW{c}c layout -------------===//
//
// Values the blocked-layout pass puts in NCHW{c}c (TensorType::channelBlock = c) are read and
// written by these kernels: the dense conv (conv2d / fused_conv with its epilogue) in
// emit_blocked_conv.cpp and the reorder between layouts in emit_blocked_reorder.cpp.
// Same-shape elementwise ops need no kernel of their own: both operands and the result share
// one layout, so the flat NCHW elementwise kernel is correct for them as it is.
#pragma once

#include "compiler/codegen/conv_microkernel.h"
#include "compiler/codegen/emitters.h"

namespace bisc {

/// True if `node` reads or writes a blocked value (emitBlockedKernel() must take it).
bool usesBlockedLayout(const Node &node);

/// The kernel of a node that uses a blocked layout: reorder, dense conv, same-shape
/// elementwise; throws naming the node for anything else.
KernelSpec emitBlockedKernel(const Node &node, EmitContext &context);

/// Register block of the blocked conv: `blocks` output vectors x `columns` output columns.
struct BlockedConvBlocking {
  int64_t blocks, columns;
};
BlockedConvBlocking blockedConvBlocking(int64_t ocBlocks, const Schedule &defaults);

KernelSpec emitBlockedConv(const Node &node, EmitContext &context);
KernelSpec emitReorder(const Node &node, EmitContext &context);

} // namespace bisc
