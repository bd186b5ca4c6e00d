//===- emitters.h - One emitter per kernel family ---------------------------===//
//
// An emitter turns one node into a KernelSpec: how many iterations its parallel axis has
// and the IR of one iteration. It may add compile-time tables (folded BN scales, resize
// indices, repacked or Winograd-transformed weights) to the weights blob. Families: dense
// convs (Winograd F(4x4,3x3) for stride-1 3x3 in emit_winograd, the register-blocked
// microkernel in conv_microkernel for the other dense ones), direct convs (depthwise, grouped,
// narrow rows: emit_conv), elementwise (BN, activations, broadcast add/mul), pooling, resize,
// tensor ops (concat, argmax, softmax), and the fused ops: fused conv, resize + add/mul/concat,
// gates (arm, ffm, bga, context_embedding). emitNodeKernels() dispatches by op.
#pragma once

#include "compiler/codegen/kernel_builder.h"
#include "compiler/codegen/schedule.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
  /// Schedules by node name, chosen before or during emission; a node without one uses
  /// `defaults`. Records every choice `chooseSchedule` made.
  std::map<std::string, Schedule> nodeSchedules{};
  /// Chooses the schedule of a node that has none yet (compiler/schedule/: schedule file,
  /// cost model); unset or nothing returned: `defaults`.
  std::function<std::optional<Schedule>(const Node &, const Schedule &defaults)> chooseSchedule{};
  /// Arena byte offset of the scratch area a node's kernels share while the node runs
  /// (the gates' per-channel vectors, FFM's concat copy); -1 until the module builder places it.
  int64_t scratchOffset = -1;
  /// The most scratch any node asked for: the arena grows by this much.
  int64_t scratchBytes = 0;
  /// Scratch taken by the node being emitted.
  int64_t scratchUsed = 0;

  /// Tensors emitters created in scratch (kept alive for the kernels that address them).
  std::vector<std::unique_ptr<Value>> scratchTensors{};

  /// The schedule of `node` (a gate's detached conv has the gate's name).
  const Schedule &scheduleFor(const Node &node);

  /// Reserves `bytes` (64-byte aligned) of the current node's scratch; returns the arena
  /// byte offset.
  int64_t reserveScratch(int64_t bytes);
  /// A tensor of `type` in the current node's scratch that KernelBuilder::base() finds, for
  /// handing an intermediate to another emitter.
  Value *scratchTensor(const std::string &name, const TensorType &type);
};

/// The kernels of one node, run in order. Most nodes have one; a gate whose output planes
/// all need a reduction over every channel first (arm, ffm, context_embedding) has one per
/// phase, passing small vectors through scratch memory.
std::vector<KernelSpec> emitNodeKernels(const Node &node, EmitContext &context);

/// The kernel of a single-kernel node.
KernelSpec emitKernel(const Node &node, EmitContext &context);

KernelSpec emitConv(const Node &node, EmitContext &context);
KernelSpec emitElementwise(const Node &node, EmitContext &context);
KernelSpec emitPool(const Node &node, EmitContext &context);
KernelSpec emitGlobalAvgPool(const Node &node, EmitContext &context);
KernelSpec emitResize(const Node &node, EmitContext &context);
KernelSpec emitConcat(const Node &node, EmitContext &context);
KernelSpec emitArgmax(const Node &node, EmitContext &context);
KernelSpec emitSoftmax(const Node &node, EmitContext &context);
KernelSpec emitFusedConv(const Node &node, EmitContext &context);
KernelSpec emitResizeBinary(const Node &node, EmitContext &context); ///< resize_add, resize_mul
KernelSpec emitResizeConcat(const Node &node, EmitContext &context);
KernelSpec emitBga(const Node &node, EmitContext &context);
std::vector<KernelSpec> emitArm(const Node &node, EmitContext &context);
std::vector<KernelSpec> emitFfm(const Node &node, EmitContext &context);
std::vector<KernelSpec> emitContextEmbedding(const Node &node, EmitContext &context);
/// Arg-max over the channels of the logits (frame output slot) into u8 labels (labels slot).
KernelSpec emitLabels(const TensorType &logits, EmitContext &context);
/// Whether run_labels can end with emitResizeLabels(node) instead of `node`'s kernel and the
/// labels kernel: a resize of at most 256 channels.
bool fusesLabels(const Node &node);
/// `node` (a resize making the logits) with the arg-max fused in: writes u8 labels (labels
/// slot), never the logits (emit_labels.cpp).
KernelSpec emitResizeLabels(const Node &node, EmitContext &context);

/// The data of a weight operand; throws if the graph was compiled without weights.
const Tensor &weightData(const Node &node, size_t operand);

} // namespace bisc
