//===- emitters.h - One emitter per kernel family ---------------------------===//
//
// An emitter turns one node into a KernelSpec: how many iterations its parallel axis has
// and the IR of one iteration. It may add compile-time tables (folded BN scales, resize
// indices) to the weights blob. Families: conv (dense, depthwise, grouped, 1x1), elementwise
// (BN, activations, broadcast add/mul), pooling, resize, tensor ops (concat, argmax,
// softmax). emitKernel() dispatches by op.
#pragma once

#include "compiler/codegen/kernel_builder.h"
#include "compiler/codegen/schedule.h"

#include <functional>
#include <string>

namespace bisc {

struct KernelSpec {
  std::string family;
  Schedule schedule;
  /// Emits iteration `index` of the parallel axis.
  std::function<void(KernelBuilder &, llvm::Value *index)> body;
};

/// Everything an emitter may consult besides its node.
struct EmitContext {
  BufferMap &buffers;
  Schedule defaults; ///< target-derived starting point (vector width)
};

KernelSpec emitKernel(const Node &node, EmitContext &context);

KernelSpec emitConv(const Node &node, EmitContext &context);
KernelSpec emitElementwise(const Node &node, EmitContext &context);
KernelSpec emitPool(const Node &node, EmitContext &context);
KernelSpec emitGlobalAvgPool(const Node &node, EmitContext &context);
KernelSpec emitResize(const Node &node, EmitContext &context);
KernelSpec emitConcat(const Node &node, EmitContext &context);
KernelSpec emitArgmax(const Node &node, EmitContext &context);
KernelSpec emitSoftmax(const Node &node, EmitContext &context);
/// Arg-max over the channels of the logits (frame output slot) into u8 labels (labels slot).
KernelSpec emitLabels(const TensorType &logits, EmitContext &context);

/// The data of a weight operand; throws if the graph was compiled without weights.
const Tensor &weightData(const Node &node, size_t operand);

} // namespace bisc
