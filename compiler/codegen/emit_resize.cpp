//===- emit_resize.cpp - Nearest and bilinear resize -----------------------===//
//
// Resize is separable: the source rows and columns (and bilinear weights) of every output
// row and column depend only on the shapes, so they are computed here at compile time and
// stored as tables in the weights blob. One iteration is one (n, c) plane.
#include "compiler/codegen/emitters.h"

#include <cmath>

namespace bisc {

namespace {

/// Source taps of one axis: index pair and the weight of the second index.
struct AxisTable {
  std::vector<int32_t> first, second;
  std::vector<float> lambda;
};

/// PyTorch's source-coordinate rules; `scale` is 1/scale_factor when one was given,
/// else in/out.
AxisTable axisTable(int64_t in, int64_t out, double scale, bool bilinear, bool alignCorners) {
  AxisTable table;
  for (int64_t dst = 0; dst < out; ++dst) {
    if (!bilinear) {
      int64_t src = std::min<int64_t>(int64_t(std::floor(float(dst) * float(scale))), in - 1);
      table.first.push_back(int32_t(src));
      table.second.push_back(int32_t(src));
      table.lambda.push_back(0.0f);
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
    table.first.push_back(int32_t(i0));
    table.second.push_back(int32_t(i1));
    table.lambda.push_back(src - float(i0));
  }
  return table;
}

struct TableOffsets {
  int64_t first, second, lambda;
};

TableOffsets addTable(WeightsBlob &blob, const AxisTable &table) {
  return {blob.add(table.first.data(), table.first.size() * 4),
          blob.add(table.second.data(), table.second.size() * 4),
          blob.add(table.lambda.data(), table.lambda.size() * 4)};
}

} // namespace

KernelSpec emitResize(const Node &node, EmitContext &context) {
  const Shape &in = node.inputs[0]->type.shape, &out = node.result->type.shape;
  bool bilinear = node.attrString("mode") == "bilinear";
  bool alignCorners = node.attrBool("align_corners");
  double scaleH = double(in[2]) / double(out[2]), scaleW = double(in[3]) / double(out[3]);
  if (node.hasAttr("scale")) {
    scaleH = 1.0 / node.attrFloats("scale")[0];
    scaleW = 1.0 / node.attrFloats("scale")[1];
  }
  WeightsBlob &blob = *context.buffers.blob;
  TableOffsets rows = addTable(blob, axisTable(in[2], out[2], scaleH, bilinear, alignCorners));
  TableOffsets cols = addTable(blob, axisTable(in[3], out[3], scaleW, bilinear, alignCorners));
  KernelSpec spec{"resize", context.defaults, {}};
  spec.schedule.parallelCount = out[0] * out[1];
  const Value *x = node.inputs[0], *y = node.result;

  spec.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto &ir = k.ir();
    llvm::Value *inPlane = k.element(k.base(x), k.mul(plane, in[2] * in[3]));
    llvm::Value *outPlane = k.element(k.base(y), k.mul(plane, out[2] * out[3]));
    auto index = [&](int64_t table, llvm::Value *i) {
      return ir.CreateSExt(k.loadI32(k.blobPointer(table), i), ir.getInt64Ty());
    };
    k.loop(0, out[2], [&](llvm::Value *oh) {
      llvm::Value *row0 = k.element(inPlane, k.mul(index(rows.first, oh), in[3]));
      llvm::Value *row1 = k.element(inPlane, k.mul(index(rows.second, oh), in[3]));
      llvm::Value *lh = k.loadF32(k.blobPointer(rows.lambda), oh);
      llvm::Value *outRow = k.element(outPlane, k.mul(oh, out[3]));
      k.loop(0, out[3], [&](llvm::Value *ow) {
        llvm::Value *c0 = index(cols.first, ow);
        if (!bilinear) {
          k.storeF32(k.loadF32(row0, c0), outRow, ow);
          return;
        }
        llvm::Value *c1 = index(cols.second, ow);
        llvm::Value *lw = k.loadF32(k.blobPointer(cols.lambda), ow);
        llvm::Value *lw0 = ir.CreateFSub(k.f32(1.0f), lw), *lh0 = ir.CreateFSub(k.f32(1.0f), lh);
        auto lerp = [&](llvm::Value *row) {
          return ir.CreateFAdd(ir.CreateFMul(lw0, k.loadF32(row, c0)), ir.CreateFMul(lw, k.loadF32(row, c1)));
        };
        llvm::Value *v = ir.CreateFAdd(ir.CreateFMul(lh0, lerp(row0)), ir.CreateFMul(lh, lerp(row1)));
        k.storeF32(v, outRow, ow);
      });
    });
  };
  return spec;
}

} // namespace bisc
