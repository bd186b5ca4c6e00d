//===- emit_tensor_ops.cpp - Concat, argmax, softmax and the labels kernel --===//
#include "compiler/codegen/emitters.h"

#include "ir/error.h"

namespace bisc {

namespace {

/// Channel-axis ops only: BiSeNet concatenates and classifies over channels.
void expectChannelAxis(const Node &node) {
  int64_t axis = node.attrInt("axis");
  size_t rank = node.inputs[0]->type.shape.size();
  if (rank != 4 || (axis != 1 && axis != -3))
    fail("codegen: node %{} ({}): only axis 1 of rank-4 tensors is supported", node.name(), node.info().name);
}

/// Emits, for one row (n, h) of a [N, C, H, W] tensor at `base`, the index and value of the
/// first maximum over C for column w.
std::pair<llvm::Value *, llvm::Value *> argmaxAt(KernelBuilder &k, llvm::Value *rowBase, int64_t C,
                                                 int64_t plane, llvm::Value *w) {
  auto &ir = k.ir();
  llvm::Value *best = k.loadF32(rowBase, w);
  llvm::Value *bestIndex = k.i32(0);
  for (int64_t c = 1; c < C; ++c) {
    llvm::Value *v = k.loadF32(rowBase, k.add(w, c * plane));
    llvm::Value *better = ir.CreateFCmpOGT(v, best);
    best = ir.CreateSelect(better, v, best);
    bestIndex = ir.CreateSelect(better, k.i32(int32_t(c)), bestIndex);
  }
  return {bestIndex, best};
}

} // namespace

KernelSpec emitConcat(const Node &node, EmitContext &context) {
  expectChannelAxis(node);
  const Shape &out = node.result->type.shape;
  KernelSpec spec{"concat", context.defaults, {}};
  spec.schedule.parallelCount = out[0] * out[1];
  int64_t planeSize = out[2] * out[3];
  spec.body = [=, &node](KernelBuilder &k, llvm::Value *plane) {
    auto &ir = k.ir();
    llvm::Value *n = ir.CreateSDiv(plane, k.i64(out[1]));
    llvm::Value *c = ir.CreateSRem(plane, k.i64(out[1]));
    llvm::Value *outPlane = k.element(k.base(node.result), k.mul(plane, planeSize));
    int64_t first = 0;
    for (const Value *input : node.inputs) {
      int64_t channels = input->type.shape[1];
      llvm::Value *mine = ir.CreateAnd(ir.CreateICmpSGE(c, k.i64(first)), ir.CreateICmpSLT(c, k.i64(first + channels)));
      k.ifThen(mine, [&] {
        llvm::Value *inPlaneIndex = ir.CreateAdd(k.mul(n, channels), k.add(c, -first));
        llvm::Value *inPlane = k.element(k.base(input), k.mul(inPlaneIndex, planeSize));
        k.loop(0, planeSize, [&](llvm::Value *i) { k.storeF32(k.loadF32(inPlane, i), outPlane, i); });
      });
      first += channels;
    }
  };
  return spec;
}

KernelSpec emitArgmax(const Node &node, EmitContext &context) {
  expectChannelAxis(node);
  const Shape &in = node.inputs[0]->type.shape;
  KernelSpec spec{"argmax", context.defaults, {}};
  spec.schedule.parallelCount = in[0] * in[2];
  spec.body = [=, &node](KernelBuilder &k, llvm::Value *row) {
    auto &ir = k.ir();
    llvm::Value *n = ir.CreateSDiv(row, k.i64(in[2])), *h = ir.CreateSRem(row, k.i64(in[2]));
    llvm::Value *rowBase = k.element(k.base(node.inputs[0]), ir.CreateAdd(k.mul(n, in[1] * in[2] * in[3]), k.mul(h, in[3])));
    llvm::Value *outRow = k.element(k.base(node.result), k.mul(row, in[3]), ir.getInt32Ty());
    k.loop(0, in[3], [&](llvm::Value *w) {
      ir.CreateStore(argmaxAt(k, rowBase, in[1], in[2] * in[3], w).first, k.element(outRow, w, ir.getInt32Ty()));
    });
  };
  return spec;
}

KernelSpec emitLabels(const TensorType &logits, EmitContext &context) {
  const Shape &in = logits.shape;
  if (in[1] > 256) fail("codegen: {} classes do not fit 8-bit labels", in[1]);
  KernelSpec spec{"labels", context.defaults, {}};
  spec.schedule.parallelCount = in[0] * in[2];
  spec.body = [=](KernelBuilder &k, llvm::Value *row) {
    auto &ir = k.ir();
    llvm::Value *n = ir.CreateSDiv(row, k.i64(in[2])), *h = ir.CreateSRem(row, k.i64(in[2]));
    llvm::Value *rowBase = k.element(k.frameBase(Slot::Output), ir.CreateAdd(k.mul(n, in[1] * in[2] * in[3]), k.mul(h, in[3])));
    llvm::Value *outRow = k.element(k.frameBase(Slot::Labels), k.mul(row, in[3]), ir.getInt8Ty());
    k.loop(0, in[3], [&](llvm::Value *w) {
      llvm::Value *label = ir.CreateTrunc(argmaxAt(k, rowBase, in[1], in[2] * in[3], w).first, ir.getInt8Ty());
      ir.CreateStore(label, k.element(outRow, w, ir.getInt8Ty()));
    });
  };
  return spec;
}

KernelSpec emitSoftmax(const Node &node, EmitContext &context) {
  expectChannelAxis(node);
  const Shape &in = node.inputs[0]->type.shape;
  bool isLog = node.op == OpId::log_softmax;
  KernelSpec spec{isLog ? "log_softmax" : "softmax", context.defaults, {}};
  spec.schedule.parallelCount = in[0] * in[2];
  int64_t C = in[1], plane = in[2] * in[3];
  spec.body = [=, &node](KernelBuilder &k, llvm::Value *row) {
    auto &ir = k.ir();
    llvm::Value *n = ir.CreateSDiv(row, k.i64(in[2])), *h = ir.CreateSRem(row, k.i64(in[2]));
    llvm::Value *offset = ir.CreateAdd(k.mul(n, C * plane), k.mul(h, in[3]));
    llvm::Value *inRow = k.element(k.base(node.inputs[0]), offset);
    llvm::Value *outRow = k.element(k.base(node.result), offset);
    k.loop(0, in[3], [&](llvm::Value *w) {
      llvm::Value *maxValue = argmaxAt(k, inRow, C, plane, w).second;
      llvm::Value *sum = k.f32(0.0f);
      for (int64_t c = 0; c < C; ++c)
        sum = ir.CreateFAdd(sum, k.exp(ir.CreateFSub(k.loadF32(inRow, k.add(w, c * plane)), maxValue)));
      llvm::Value *logSum = ir.CreateUnaryIntrinsic(llvm::Intrinsic::log, sum);
      for (int64_t c = 0; c < C; ++c) {
        llvm::Value *shifted = ir.CreateFSub(k.loadF32(inRow, k.add(w, c * plane)), maxValue);
        llvm::Value *v = isLog ? ir.CreateFSub(shifted, logSum) : ir.CreateFDiv(k.exp(shifted), sum);
        k.storeF32(v, outRow, k.add(w, c * plane));
      }
    });
  };
  return spec;
}

} // namespace bisc
