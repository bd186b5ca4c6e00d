//===- emit_labels.cpp - run_labels' last kernel with the arg-max fused in --===//
//
// run_labels only needs the class of each pixel. When the graph ends in a resize (BiSeNetV2
// and V1-ResNet18 do: the x8 upsampling of the head's logits; the V1 variants ending in
// log_softmax keep the separate labels kernel), its last kernel can compute every channel of
// an output row in turn, keep the running maximum and its channel in an L1-sized stack row,
// and write only the u8 labels: the full-resolution logits (C floats a pixel) are never
// written or read back. The values are RowResizer's, as in the resize kernel, and the
// comparison is the labels kernel's (strictly greater wins, channel 0 first), so ties and
// NaNs resolve exactly as there.
#include "compiler/codegen/emitters.h"
#include "compiler/codegen/resize_taps.h"

#include "ir/error.h"

namespace bisc {

namespace {

/// The most stack the per-channel row caches may take (19 classes x 2 rows x 2048 floats fit;
/// the pool's workers get 8 MiB stacks).
constexpr int64_t kMaxCacheBytes = 512 * 1024;

} // namespace

bool fusesLabels(const Node &node) {
  const Shape &out = node.result->type.shape;
  // The fused kernel reads an nchw source (a blocked resize has its own kernel).
  return node.op == OpId::resize && node.inputs[0]->type.shape.size() == 4 && !node.inputs[0]->type.blocked() &&
         out.size() == 4 && out[1] <= 256;
}

KernelSpec emitResizeLabels(const Node &node, EmitContext &context) {
  if (!fusesLabels(node))
    fail("codegen: node %{} ({}) cannot end run_labels with a fused arg-max", node.name(), node.info().name);
  const Shape &in = node.inputs[0]->type.shape, &out = node.result->type.shape;
  ResizeTaps taps = resizeTaps(node, in, out, *context.buffers.blob);
  KernelSpec spec{"resize_labels", context.defaults, {}};
  // Bands of rows as in the resize kernel; within one, every channel keeps its own two
  // cached source rows, so each is interpolated along W once however the channels interleave
  // (unless that would not fit the stack: then one shared cache, refilled per channel).
  int64_t bandRows = resizeBandRows(taps, 64 * 1024), bands = (out[2] + bandRows - 1) / bandRows;
  spec.schedule.parallelCount = out[0] * bands;
  const Value *x = node.inputs[0];
  int64_t channels = out[1], lanes = context.defaults.vectorWidth;
  bool cachePerChannel = RowResizer::cacheBytes(taps, channels) <= kMaxCacheBytes;

  spec.body = [=](KernelBuilder &k, llvm::Value *iteration) {
    auto &ir = k.ir();
    llvm::Type *f32 = k.f32Type(), *i32 = ir.getInt32Ty(), *i8 = ir.getInt8Ty();
    llvm::Value *n = ir.CreateSDiv(iteration, k.i64(bands));
    llvm::Value *firstRow = k.mul(ir.CreateSRem(iteration, k.i64(bands)), bandRows);
    llvm::Value *endRow = k.minI(k.add(firstRow, bandRows), k.i64(out[2]));
    llvm::Value *best = k.stackSlot(llvm::ArrayType::get(f32, uint64_t(out[3])));
    llvm::Value *bestChannel = k.stackSlot(llvm::ArrayType::get(i32, uint64_t(out[3])));
    RowResizer resizer(k, taps, lanes, cachePerChannel ? channels : 1);
    resizer.beginPlane();
    k.loop(firstRow, endRow, [&](llvm::Value *oh) {
      k.loop(0, channels, [&](llvm::Value *c) {
        llvm::Value *plane = k.element(k.base(x), k.mul(ir.CreateAdd(k.mul(n, channels), c), in[2] * in[3]));
        llvm::Value *first = ir.CreateICmpEQ(c, k.i64(0));
        llvm::Value *channel = ir.CreateTrunc(c, i32);
        if (!cachePerChannel) resizer.beginPlane(); // the shared cache holds another channel's rows
        resizer.row(plane, oh, [&](llvm::Value *ow, llvm::Value *value, int64_t width) {
          llvm::Value *oldBest = k.loadLanes(best, ow, width);
          llvm::Value *oldChannel = k.loadLanes(bestChannel, ow, width, i32);
          llvm::Value *better = ir.CreateOr(k.splat(first, width), ir.CreateFCmpOGT(value, oldBest));
          k.storeLanes(ir.CreateSelect(better, value, oldBest), best, ow);
          k.storeLanes(ir.CreateSelect(better, k.splat(channel, width), oldChannel), bestChannel, ow, i32);
        }, cachePerChannel ? c : k.i64(0));
      });
      llvm::Value *labels = k.element(k.frameBase(Slot::Labels), k.mul(ir.CreateAdd(k.mul(n, out[2]), oh), out[3]), i8);
      k.vectorLoop(k.i64(0), k.i64(out[3]), lanes, [&](llvm::Value *ow, int64_t width) {
        llvm::Type *narrow = width == 1 ? i8 : llvm::FixedVectorType::get(i8, unsigned(width));
        k.storeLanes(ir.CreateTrunc(k.loadLanes(bestChannel, ow, width, i32), narrow), labels, ow, i8);
      });
    });
  };
  return spec;
}

} // namespace bisc
