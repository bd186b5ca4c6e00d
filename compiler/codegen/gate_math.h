//===- gate_math.h - Per-channel math shared by the NCHW and blocked gates --===//
//
// ARM, FFM and Context Embedding pass [N, C] vectors (pooled means, gates, FFM's hidden
// attention) between their phases through scratch memory. Such a vector has the same bytes
// in NCHW and NCHW{c}c, so the gate math on it is shared by emit_gates.cpp and
// emit_blocked_gates.cpp: both layouts compute bit-identical gates.
#pragma once

#include "compiler/codegen/emitters.h"

#include <optional>
#include <utility>

namespace bisc {

/// w[row, :] . vector[n, :] + b[row] for a 1x1 conv weight [rows, cols, 1, 1] applied to the
/// [N, cols] vector at arena byte `vector`, in `lanes` partial sums.
llvm::Value *pointwiseRow(KernelBuilder &k, const Value *w, const Value *b, llvm::Value *row, int64_t vector,
                          llvm::Value *n, int64_t cols, int64_t lanes);

/// (plane / channels, plane % channels): image and channel (or channel block) of a plane.
std::pair<llvm::Value *, llvm::Value *> splitPlane(KernelBuilder &k, llvm::Value *plane, int64_t channels);

/// conv2d(x, weight, bias) -> result outside any graph, with the stride/pads/dilation/groups
/// of `like` (none: a 1x1 conv's defaults), for the dense conv kernels (which keep no
/// reference to the node). With `relu`, a fused_conv with activation relu.
Node detachedConv(Value *x, Value *weight, Value *bias, Value *result, const Node *like = nullptr,
                  bool relu = false);

/// Throws naming the node unless attribute `attr` is "none" or "relu".
void expectActivation(const Node &node, const char *attr);

/// FFM's attention on its pooled [N, C] vector (ir/fused_ops.h): h = W1 pooled + b1, relu'd
/// with att_activation relu, then with att_weight2 h = W2 h + b2; the gate is sigmoid(h).
class FfmAttention {
public:
  /// Reserves the hidden [N, mid] vector's scratch for two attention convs.
  FfmAttention(const Node &node, int64_t pooled, EmitContext &context);
  /// Two convs: the phase hidden[n, m] = act(W1 pooled + b1)[m]; one conv: nothing.
  std::optional<KernelSpec> hiddenPhase(const Schedule &defaults) const;
  /// h[n, channel], the sigmoid's argument (reads the hidden vector with two convs).
  llvm::Value *logit(KernelBuilder &k, llvm::Value *n, llvm::Value *channel) const;

private:
  const Value *att1_, *bias1_, *att2_ = nullptr, *bias2_ = nullptr;
  bool relu_;
  int64_t images_, channels_, mid_, pooled_, hidden_ = -1, lanes_;
};

} // namespace bisc
