//===- emit_resize.cpp - Resize, resize_add, resize_mul, resize_concat ----===//
//
// One iteration is one (n, c) plane; the source taps come from compile-time tables (see
// resize_taps.h). resize_add / resize_mul read the small operand through the same taps and
// combine it with x as they go; resize_concat samples it straight into its output channels
// and copies the other operands' planes: the upsampled tensor never exists.
#include "compiler/codegen/emitters.h"
#include "compiler/codegen/resize_taps.h"

#include <cmath>

namespace bisc {

namespace {

/// Source taps of one axis: index pair and the weight of the second index.
struct AxisTable {
  std::vector<int32_t> first, second;
  std::vector<float> lambda;
};

/// PyTorch's source-coordinate rules; `scale` is 1/scale_factor when one was given,
/// else in/out. As in aten, an axis keeping its size is copied and a nearest axis
/// doubling its size reads dst / 2, whatever the scale factor.
AxisTable axisTable(int64_t in, int64_t out, double scale, bool bilinear, bool alignCorners) {
  AxisTable table;
  auto push = [&](int64_t i0, int64_t i1, float lambda) {
    table.first.push_back(int32_t(i0));
    table.second.push_back(int32_t(i1));
    table.lambda.push_back(lambda);
  };
  for (int64_t dst = 0; dst < out; ++dst) {
    if (in == out) {
      push(dst, dst, 0.0f);
      continue;
    }
    if (!bilinear) {
      int64_t src = out == 2 * in ? dst / 2 : std::min<int64_t>(int64_t(std::floor(float(dst) * float(scale))), in - 1);
      push(src, src, 0.0f);
      continue;
    }
    // In float, in the order PyTorch's CPU kernel computes it.
    float src;
    if (alignCorners)
      src = out > 1 ? float(in - 1) / float(out - 1) * float(dst) : 0.0f;
    else
      src = std::max(float(scale) * (float(dst) + 0.5f) - 0.5f, 0.0f);
    int64_t i0 = std::min<int64_t>(int64_t(src), in - 1);
    int64_t i1 = std::min<int64_t>(i0 + 1, in - 1);
    push(i0, i1, std::clamp(src - float(i0), 0.0f, 1.0f));
  }
  return table;
}

AxisTaps addTable(WeightsBlob &blob, const AxisTable &table) {
  return {blob.add(table.first.data(), table.first.size() * 4),
          blob.add(table.second.data(), table.second.size() * 4),
          blob.add(table.lambda.data(), table.lambda.size() * 4)};
}

} // namespace

ResizeTaps resizeTaps(const Node &node, const Shape &in, const Shape &out, WeightsBlob &blob) {
  ResizeTaps taps;
  taps.bilinear = node.attrString("mode") == "bilinear";
  bool alignCorners = node.attrBool("align_corners");
  taps.inH = in[2], taps.inW = in[3], taps.outH = out[2], taps.outW = out[3];
  double scaleH = double(in[2]) / double(out[2]), scaleW = double(in[3]) / double(out[3]);
  if (node.hasAttr("scale")) {
    scaleH = 1.0 / node.attrFloats("scale")[0];
    scaleW = 1.0 / node.attrFloats("scale")[1];
  }
  taps.rows = addTable(blob, axisTable(in[2], out[2], scaleH, taps.bilinear, alignCorners));
  taps.cols = addTable(blob, axisTable(in[3], out[3], scaleW, taps.bilinear, alignCorners));
  return taps;
}

llvm::Value *ResizeSampler::index(int64_t table, llvm::Value *i) {
  return k_.ir().CreateSExt(k_.loadI32(k_.blobPointer(table), i), k_.ir().getInt64Ty());
}

void ResizeSampler::beginRow(llvm::Value *oh) {
  row0_ = k_.mul(index(taps_.rows.first, oh), taps_.inW);
  if (!taps_.bilinear) return;
  row1_ = k_.mul(index(taps_.rows.second, oh), taps_.inW);
  lambdaH_ = k_.loadF32(k_.blobPointer(taps_.rows.lambda), oh);
}

llvm::Value *ResizeSampler::sample(llvm::Value *plane, llvm::Value *ow) {
  auto &ir = k_.ir();
  llvm::Value *c0 = index(taps_.cols.first, ow);
  if (!taps_.bilinear) return k_.loadF32(plane, ir.CreateAdd(row0_, c0));
  llvm::Value *c1 = index(taps_.cols.second, ow);
  llvm::Value *lw = k_.loadF32(k_.blobPointer(taps_.cols.lambda), ow);
  llvm::Value *lw0 = ir.CreateFSub(k_.f32(1.0f), lw), *lh0 = ir.CreateFSub(k_.f32(1.0f), lambdaH_);
  auto lerp = [&](llvm::Value *row) {
    return ir.CreateFAdd(ir.CreateFMul(lw0, k_.loadF32(plane, ir.CreateAdd(row, c0))),
                         ir.CreateFMul(lw, k_.loadF32(plane, ir.CreateAdd(row, c1))));
  };
  return ir.CreateFAdd(ir.CreateFMul(lh0, lerp(row0_)), ir.CreateFMul(lambdaH_, lerp(row1_)));
}

KernelSpec emitResize(const Node &node, EmitContext &context) {
  const Shape &in = node.inputs[0]->type.shape, &out = node.result->type.shape;
  ResizeTaps taps = resizeTaps(node, in, out, *context.buffers.blob);
  KernelSpec spec{"resize", context.defaults, {}};
  spec.schedule.parallelCount = out[0] * out[1];
  const Value *x = node.inputs[0], *y = node.result;

  spec.body = [=](KernelBuilder &k, llvm::Value *plane) {
    llvm::Value *inPlane = k.element(k.base(x), k.mul(plane, in[2] * in[3]));
    llvm::Value *outPlane = k.element(k.base(y), k.mul(plane, out[2] * out[3]));
    ResizeSampler sampler(k, taps);
    k.loop(0, out[2], [&](llvm::Value *oh) {
      sampler.beginRow(oh);
      llvm::Value *outRow = k.element(outPlane, k.mul(oh, out[3]));
      k.loop(0, out[3], [&](llvm::Value *ow) { k.storeF32(sampler.sample(inPlane, ow), outRow, ow); });
    });
  };
  return spec;
}

KernelSpec emitResizeBinary(const Node &node, EmitContext &context) {
  const Shape &small = node.inputs[1]->type.shape, &out = node.result->type.shape;
  ResizeTaps taps = resizeTaps(node, small, out, *context.buffers.blob);
  bool isAdd = node.op == OpId::resize_add;
  KernelSpec spec{isAdd ? "resize_add" : "resize_mul", context.defaults, {}};
  spec.schedule.parallelCount = out[0] * out[1];
  const Value *x = node.inputs[0], *smallValue = node.inputs[1], *y = node.result;

  spec.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto &ir = k.ir();
    llvm::Value *smallPlane = k.element(k.base(smallValue), k.mul(plane, small[2] * small[3]));
    llvm::Value *xPlane = k.element(k.base(x), k.mul(plane, out[2] * out[3]));
    llvm::Value *outPlane = k.element(k.base(y), k.mul(plane, out[2] * out[3]));
    ResizeSampler sampler(k, taps);
    k.loop(0, out[2], [&](llvm::Value *oh) {
      sampler.beginRow(oh);
      llvm::Value *xRow = k.element(xPlane, k.mul(oh, out[3]));
      llvm::Value *outRow = k.element(outPlane, k.mul(oh, out[3]));
      k.loop(0, out[3], [&](llvm::Value *ow) {
        llvm::Value *up = sampler.sample(smallPlane, ow), *v = k.loadF32(xRow, ow);
        k.storeF32(isAdd ? ir.CreateFAdd(v, up) : ir.CreateFMul(v, up), outRow, ow);
      });
    });
  };
  return spec;
}

KernelSpec emitResizeConcat(const Node &node, EmitContext &context) {
  const Shape &out = node.result->type.shape;
  size_t resized = size_t(node.attrInt("resized"));
  const Shape &small = node.inputs[resized]->type.shape;
  ResizeTaps taps = resizeTaps(node, small, out, *context.buffers.blob);
  KernelSpec spec{"resize_concat", context.defaults, {}};
  spec.schedule.parallelCount = out[0] * out[1];
  std::vector<const Value *> inputs(node.inputs.begin(), node.inputs.end());
  const Value *y = node.result;

  // As emitConcat: the output plane (n, c) comes from the operand owning channel c.
  spec.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto &ir = k.ir();
    llvm::Value *n = ir.CreateSDiv(plane, k.i64(out[1]));
    llvm::Value *c = ir.CreateSRem(plane, k.i64(out[1]));
    llvm::Value *outPlane = k.element(k.base(y), k.mul(plane, out[2] * out[3]));
    int64_t first = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Shape &shape = inputs[i]->type.shape;
      int64_t channels = shape[1], inPlaneSize = shape[2] * shape[3];
      llvm::Value *mine = ir.CreateAnd(ir.CreateICmpSGE(c, k.i64(first)), ir.CreateICmpSLT(c, k.i64(first + channels)));
      k.ifThen(mine, [&] {
        llvm::Value *inPlaneIndex = ir.CreateAdd(k.mul(n, channels), k.add(c, -first));
        llvm::Value *inPlane = k.element(k.base(inputs[i]), k.mul(inPlaneIndex, inPlaneSize));
        if (i != resized) {
          k.loop(0, inPlaneSize, [&](llvm::Value *j) { k.storeF32(k.loadF32(inPlane, j), outPlane, j); });
          return;
        }
        ResizeSampler sampler(k, taps);
        k.loop(0, out[2], [&](llvm::Value *oh) {
          sampler.beginRow(oh);
          llvm::Value *outRow = k.element(outPlane, k.mul(oh, out[3]));
          k.loop(0, out[3], [&](llvm::Value *ow) { k.storeF32(sampler.sample(inPlane, ow), outRow, ow); });
        });
      });
      first += channels;
    }
  };
  return spec;
}

} // namespace bisc
