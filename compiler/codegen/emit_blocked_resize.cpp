//===- emit_blocked_resize.cpp - Resize family and BGA in NCHW{c}c --------===//
//
// In [N][C/c][H][W][c] the c channels of one pixel are one vector and a resize never mixes
// channels, so every output pixel is one vector: nearest loads its source pixel, bilinear
// lerps four source pixels with the column's weight (compile-time tables of resize_taps.h,
// read per column) and the row's (read once per row). ResizeSampler does exactly this with
// lanes = c, in the NCHW kernels' order of operations, so both layouts give the same floats.
//
// resize, resize_add, resize_mul and resize_concat run one output row of one channel block
// per parallel iteration, (n, block, oh): a row of W pixel vectors, combined with the row of
// the full-size operand (resize_add / resize_mul) or copied from the operand owning the
// block (resize_concat's pass-through operands).
//
// bga runs as two kernels:
//   bga_blocked_small  per row of a small plane: B = left2 * sigmoid(right2) into scratch and,
//                      with nearest, sigmoid(right1) too (picking a pixel commutes with
//                      sigmoid, so it is taken once per source pixel, not per output pixel)
//   bga_blocked        per output row: out = left1 * sigmoid(resize(right1)) + resize(B)
// The NCHW kernel's single kernel, one plane per iteration, would here leave only N * C/c
// iterations (8 for BiSeNetV2's 128 channels at c = 16): too few to share among threads.
#include "compiler/codegen/emit_blocked.h"
#include "compiler/codegen/resize_taps.h"

#include "ir/error.h"

namespace bisc {

namespace {

/// The block c of `node`'s result after checking that every activation operand is in that
/// layout with whole blocks of channels.
int64_t expectOneBlockedLayout(const Node &node) {
  int64_t c = node.result->type.channelBlock;
  for (const Value *input : node.inputs) {
    if (!input || input->kind == ValueKind::Weight) continue;
    const TensorType &type = input->type;
    if (c <= 0 || type.channelBlock != c || type.shape.size() != 4 || type.shape[1] % c != 0)
      fail("codegen: node %{} ({}): the blocked kernel needs every operand in the result's layout {} with channels a "
           "multiple of the block, got %{} {}", node.name(), node.info().name, layoutName(c), input->name,
           toString(type));
  }
  return c;
}

/// Floats of one channel block's [H][W][c] plane of `shape`.
int64_t blockPlane(const Shape &shape, int64_t c) { return shape[2] * shape[3] * c; }

/// Writes a row of `width` pixels at `out`: the vector pixel(index) at each pixel's float
/// index (a multiple of c).
void combineRow(KernelBuilder &k, int64_t width, int64_t c, llvm::Value *out,
                const std::function<llvm::Value *(llvm::Value *index)> &pixel) {
  k.loop(k.i64(0), k.i64(width * c), [&](llvm::Value *index) { k.storeLanes(pixel(index), out, index); }, c);
}

} // namespace

KernelSpec emitBlockedResize(const Node &node, EmitContext &context) {
  int64_t c = expectOneBlockedLayout(node);
  bool binary = node.op == OpId::resize_add || node.op == OpId::resize_mul;
  bool isAdd = node.op == OpId::resize_add;
  const Value *source = node.inputs[binary ? 1 : 0], *full = binary ? node.inputs[0] : nullptr, *y = node.result;
  const Shape &in = source->type.shape, &out = y->type.shape;
  ResizeTaps taps = resizeTaps(node, in, out, *context.buffers.blob);
  KernelSpec spec{std::string(node.info().name) + "_blocked", context.defaults, {}};
  spec.schedule.parallelCount = out[0] * (out[1] / c) * out[2];
  spec.schedule.vectorWidth = c;

  // Iteration row = (n * C/c + block) * OH + oh: the output row, and the full operand's, at
  // row * OW * c; the source plane is block plane n * C/c + block of the small shape.
  spec.body = [=](KernelBuilder &k, llvm::Value *row) {
    auto &ir = k.ir();
    llvm::Value *plane = ir.CreateSDiv(row, k.i64(out[2])), *oh = ir.CreateSRem(row, k.i64(out[2]));
    llvm::Value *sourcePlane = k.element(k.base(source), k.mul(plane, blockPlane(in, c)));
    llvm::Value *outRow = k.element(k.base(y), k.mul(row, out[3] * c));
    llvm::Value *fullRow = full ? k.element(k.base(full), k.mul(row, out[3] * c)) : nullptr;
    ResizeSampler sampler(k, taps, c);
    sampler.beginRow(oh);
    k.loop(0, out[3], [&](llvm::Value *ow) {
      llvm::Value *index = k.mul(ow, c), *up = sampler.sample(sourcePlane, ow);
      if (fullRow) {
        llvm::Value *v = k.loadLanes(fullRow, index, c);
        up = isAdd ? ir.CreateFAdd(v, up) : ir.CreateFMul(v, up);
      }
      k.storeLanes(up, outRow, index);
    });
  };
  return spec;
}

KernelSpec emitBlockedResizeConcat(const Node &node, EmitContext &context) {
  int64_t c = expectOneBlockedLayout(node);
  const Shape &out = node.result->type.shape;
  size_t resized = size_t(node.attrInt("resized"));
  const Shape &small = node.inputs[resized]->type.shape;
  ResizeTaps taps = resizeTaps(node, small, out, *context.buffers.blob);
  int64_t outBlocks = out[1] / c;
  KernelSpec spec{"resize_concat_blocked", context.defaults, {}};
  spec.schedule.parallelCount = out[0] * outBlocks * out[2];
  spec.schedule.vectorWidth = c;
  std::vector<const Value *> inputs(node.inputs.begin(), node.inputs.end());
  const Value *y = node.result;

  // Output block b of image n is block b - first of the operand whose blocks start at
  // `first`: its row oh is copied, or sampled from the small operand.
  spec.body = [=](KernelBuilder &k, llvm::Value *row) {
    auto &ir = k.ir();
    llvm::Value *oh = ir.CreateSRem(row, k.i64(out[2])), *image = ir.CreateSDiv(row, k.i64(out[2]));
    llvm::Value *n = ir.CreateSDiv(image, k.i64(outBlocks)), *block = ir.CreateSRem(image, k.i64(outBlocks));
    llvm::Value *outRow = k.element(k.base(y), k.mul(row, out[3] * c));
    int64_t first = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Shape &shape = inputs[i]->type.shape;
      int64_t blocks = shape[1] / c;
      llvm::Value *mine =
          ir.CreateAnd(ir.CreateICmpSGE(block, k.i64(first)), ir.CreateICmpSLT(block, k.i64(first + blocks)));
      k.ifThen(mine, [&] {
        llvm::Value *inPlane = ir.CreateAdd(k.mul(n, blocks), k.add(block, -first));
        if (i != resized) {
          llvm::Value *inRowIndex = ir.CreateAdd(k.mul(inPlane, out[2]), oh);
          llvm::Value *inRow = k.element(k.base(inputs[i]), k.mul(inRowIndex, out[3] * c));
          combineRow(k, out[3], c, outRow, [&](llvm::Value *index) { return k.loadLanes(inRow, index, c); });
          return;
        }
        llvm::Value *sourcePlane = k.element(k.base(inputs[i]), k.mul(inPlane, blockPlane(shape, c)));
        ResizeSampler sampler(k, taps, c);
        sampler.beginRow(oh);
        k.loop(0, out[3],
               [&](llvm::Value *ow) { k.storeLanes(sampler.sample(sourcePlane, ow), outRow, k.mul(ow, c)); });
      });
      first += blocks;
    }
  };
  return spec;
}

std::vector<KernelSpec> emitBlockedBga(const Node &node, EmitContext &context) {
  int64_t c = expectOneBlockedLayout(node);
  const Value *left1 = node.inputs[0], *left2 = node.inputs[1], *right1 = node.inputs[2],
              *right2 = node.inputs[3], *y = node.result;
  const Shape &out = y->type.shape, &small = left2->type.shape, &r1 = right1->type.shape;
  WeightsBlob &blob = *context.buffers.blob;
  ResizeTaps rightTaps = resizeTaps(node, r1, out, blob);
  ResizeTaps smallTaps = resizeTaps(node, small, out, blob);
  bool nearest = !rightTaps.bilinear;
  int64_t planes = out[0] * out[1] / c;
  // Scratch in the blocked layout of the small operands: B, and (nearest) sigmoid(right1).
  int64_t gatedSmall = context.reserveScratch(planes * blockPlane(small, c) * 4);
  int64_t gatedRight = nearest ? context.reserveScratch(planes * blockPlane(r1, c) * 4) : -1;

  // Iterations [0, smallRows): rows of B; then [smallRows, smallRows + rightRows): rows of
  // sigmoid(right1). Row r of a blocked tensor starts at float r * W * c.
  int64_t smallRows = planes * small[2], rightRows = nearest ? planes * r1[2] : 0;
  KernelSpec gates{"bga_blocked_small", context.defaults, {}};
  gates.schedule.parallelCount = smallRows + rightRows;
  gates.schedule.vectorWidth = c;
  gates.body = [=](KernelBuilder &k, llvm::Value *row) {
    auto gateB = [&] {
      llvm::Value *offset = k.mul(row, small[3] * c);
      llvm::Value *l2 = k.element(k.base(left2), offset), *r2 = k.element(k.base(right2), offset);
      combineRow(k, small[3], c, k.element(k.arenaPointer(gatedSmall), offset), [&](llvm::Value *i) {
        return k.ir().CreateFMul(k.loadLanes(l2, i, c), k.sigmoid(k.loadLanes(r2, i, c)));
      });
    };
    if (!nearest) return gateB();
    k.ifThenElse(k.ir().CreateICmpSLT(row, k.i64(smallRows)), gateB, [&] {
      llvm::Value *offset = k.mul(k.add(row, -smallRows), r1[3] * c);
      llvm::Value *right = k.element(k.base(right1), offset);
      combineRow(k, r1[3], c, k.element(k.arenaPointer(gatedRight), offset),
                 [&](llvm::Value *i) { return k.sigmoid(k.loadLanes(right, i, c)); });
    });
  };

  KernelSpec combine{"bga_blocked", context.defaults, {}};
  combine.schedule.parallelCount = planes * out[2];
  combine.schedule.vectorWidth = c;
  combine.body = [=](KernelBuilder &k, llvm::Value *row) {
    auto &ir = k.ir();
    llvm::Value *plane = ir.CreateSDiv(row, k.i64(out[2])), *oh = ir.CreateSRem(row, k.i64(out[2]));
    llvm::Value *rightBase = nearest ? k.arenaPointer(gatedRight) : k.base(right1);
    llvm::Value *right = k.element(rightBase, k.mul(plane, blockPlane(r1, c)));
    llvm::Value *b = k.element(k.arenaPointer(gatedSmall), k.mul(plane, blockPlane(small, c)));
    llvm::Value *l1Row = k.element(k.base(left1), k.mul(row, out[3] * c));
    llvm::Value *outRow = k.element(k.base(y), k.mul(row, out[3] * c));
    ResizeSampler rightSampler(k, rightTaps, c), smallSampler(k, smallTaps, c);
    rightSampler.beginRow(oh);
    smallSampler.beginRow(oh);
    k.loop(0, out[3], [&](llvm::Value *ow) {
      llvm::Value *index = k.mul(ow, c), *r = rightSampler.sample(right, ow);
      llvm::Value *a = ir.CreateFMul(k.loadLanes(l1Row, index, c), nearest ? r : k.sigmoid(r));
      k.storeLanes(ir.CreateFAdd(a, smallSampler.sample(b, ow)), outRow, index);
    });
  };
  return {gates, combine};
}

} // namespace bisc
