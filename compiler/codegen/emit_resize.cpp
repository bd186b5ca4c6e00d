//===- emit_resize.cpp - Resize, resize_add, resize_mul, resize_concat ----===//
//
// The source taps come from compile-time tables (see resize_taps.h). Resize runs one
// iteration per band of output rows of one (n, c) plane, separably through RowResizer
// (each source row interpolated along W once, then vector lerps between two such rows).
// resize_add / resize_mul read the small operand through the same taps one value at a time
// and combine it with x as they go; resize_concat samples it straight into its output
// channels and copies the other operands' planes: the upsampled tensor never exists.
#include "compiler/codegen/emitters.h"
#include "compiler/codegen/resize_taps.h"

#include <algorithm>
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
  row0_ = k_.mul(index(taps_.rows.first, oh), taps_.inW * lanes_);
  if (!taps_.bilinear) return;
  row1_ = k_.mul(index(taps_.rows.second, oh), taps_.inW * lanes_);
  lambdaH_ = k_.loadF32(k_.blobPointer(taps_.rows.lambda), oh);
}

llvm::Value *ResizeSampler::sample(llvm::Value *plane, llvm::Value *ow) {
  auto &ir = k_.ir();
  llvm::Value *c0 = k_.mul(index(taps_.cols.first, ow), lanes_);
  auto pixel = [&](llvm::Value *row, llvm::Value *column) {
    return k_.loadLanes(plane, ir.CreateAdd(row, column), lanes_);
  };
  if (!taps_.bilinear) return pixel(row0_, c0);
  llvm::Value *c1 = k_.mul(index(taps_.cols.second, ow), lanes_);
  llvm::Value *lw = k_.loadF32(k_.blobPointer(taps_.cols.lambda), ow);
  llvm::Value *lw0 = ir.CreateFSub(k_.f32(1.0f), lw), *lh0 = ir.CreateFSub(k_.f32(1.0f), lambdaH_);
  llvm::Value *lh = k_.splat(lambdaH_, lanes_);
  lw = k_.splat(lw, lanes_), lw0 = k_.splat(lw0, lanes_), lh0 = k_.splat(lh0, lanes_);
  auto lerp = [&](llvm::Value *row) {
    return ir.CreateFAdd(ir.CreateFMul(lw0, pixel(row, c0)), ir.CreateFMul(lw, pixel(row, c1)));
  };
  return ir.CreateFAdd(ir.CreateFMul(lh0, lerp(row0_)), ir.CreateFMul(lh, lerp(row1_)));
}

RowResizer::RowResizer(KernelBuilder &k, const ResizeTaps &taps, int64_t lanes, int64_t caches)
    : k_(k), taps_(taps), lanes_(lanes), caches_(caches) {
  cache_ = k.stackSlot(llvm::ArrayType::get(k.f32Type(), uint64_t(2 * caches * taps.outW)));
  tags_ = k.stackSlot(llvm::ArrayType::get(k.ir().getInt64Ty(), uint64_t(2 * caches)));
}

void RowResizer::beginPlane() {
  k_.loop(0, 2 * caches_, [&](llvm::Value *slot) {
    k_.ir().CreateStore(k_.i64(-1), k_.element(tags_, slot, k_.ir().getInt64Ty()));
  });
}

llvm::Value *RowResizer::cachedRow(llvm::Value *plane, llvm::Value *sourceRow, llvm::Value *cache) {
  auto &ir = k_.ir();
  llvm::Value *slot = ir.CreateAdd(ir.CreateAnd(sourceRow, k_.i64(1)), k_.mul(cache, 2));
  llvm::Value *tag = k_.element(tags_, slot, ir.getInt64Ty());
  llvm::Value *cacheRow = k_.element(cache_, k_.mul(slot, taps_.outW));
  k_.ifThen(ir.CreateICmpNE(ir.CreateLoad(ir.getInt64Ty(), tag), sourceRow), [&] {
    llvm::Value *source = k_.element(plane, k_.mul(sourceRow, taps_.inW));
    auto index = [&](int64_t table, llvm::Value *ow) {
      return ir.CreateSExt(k_.loadI32(k_.blobPointer(table), ow), ir.getInt64Ty());
    };
    k_.loop(0, taps_.outW, [&](llvm::Value *ow) {
      llvm::Value *first = k_.loadF32(source, index(taps_.cols.first, ow));
      if (!taps_.bilinear) return k_.storeF32(first, cacheRow, ow);
      llvm::Value *second = k_.loadF32(source, index(taps_.cols.second, ow));
      llvm::Value *lw = k_.loadF32(k_.blobPointer(taps_.cols.lambda), ow);
      llvm::Value *lw0 = ir.CreateFSub(k_.f32(1.0f), lw);
      k_.storeF32(ir.CreateFAdd(ir.CreateFMul(lw0, first), ir.CreateFMul(lw, second)), cacheRow, ow);
    });
    ir.CreateStore(sourceRow, tag);
  });
  return cacheRow;
}

void RowResizer::row(llvm::Value *plane, llvm::Value *oh, const Consumer &consume, llvm::Value *cache) {
  auto &ir = k_.ir();
  if (!cache) cache = k_.i64(0);
  auto sourceRow = [&](int64_t table) { return ir.CreateSExt(k_.loadI32(k_.blobPointer(table), oh), ir.getInt64Ty()); };
  llvm::Value *row0 = cachedRow(plane, sourceRow(taps_.rows.first), cache);
  llvm::Value *row1 = nullptr, *lh = nullptr, *lh0 = nullptr;
  if (taps_.bilinear) {
    row1 = cachedRow(plane, sourceRow(taps_.rows.second), cache);
    lh = k_.loadF32(k_.blobPointer(taps_.rows.lambda), oh);
    lh0 = ir.CreateFSub(k_.f32(1.0f), lh);
  }
  k_.vectorLoop(k_.i64(0), k_.i64(taps_.outW), lanes_, [&](llvm::Value *ow, int64_t lanes) {
    llvm::Value *value = k_.loadLanes(row0, ow, lanes);
    if (taps_.bilinear)
      value = ir.CreateFAdd(ir.CreateFMul(k_.splat(lh0, lanes), value),
                            ir.CreateFMul(k_.splat(lh, lanes), k_.loadLanes(row1, ow, lanes)));
    consume(ow, value, lanes);
  });
}

int64_t resizeBandRows(const ResizeTaps &taps, int64_t pixelsPerBand) {
  return std::clamp<int64_t>(pixelsPerBand / std::max<int64_t>(taps.outW, 1), 1, std::max<int64_t>(taps.outH, 1));
}

/// Outputs at least this large are written with streaming (non-temporal) stores: a tensor
/// this size would not stay in cache for its reader anyway (it is the logits of a x8
/// upsampling), and skipping the read-for-ownership of every line makes the kernel, which
/// only writes, 1.5-2x faster (bench: V2's final resize at 512x1024).
constexpr int64_t kStreamingStoreBytes = 8 << 20;

KernelSpec emitResize(const Node &node, EmitContext &context) {
  const Shape &in = node.inputs[0]->type.shape, &out = node.result->type.shape;
  ResizeTaps taps = resizeTaps(node, in, out, *context.buffers.blob);
  KernelSpec spec{"resize", context.defaults, {}};
  // Bands of rows: enough iterations to share among threads, few enough that refilling the
  // row cache at each band's start costs little.
  int64_t bandRows = resizeBandRows(taps, 64 * 1024), bands = (out[2] + bandRows - 1) / bandRows;
  spec.schedule.parallelCount = out[0] * out[1] * bands;
  const Value *x = node.inputs[0], *y = node.result;
  int64_t lanes = context.defaults.vectorWidth, vectorBytes = lanes * 4;
  bool streaming = node.result->type.elements() * 4 >= kStreamingStoreBytes;
  // Whole-vector rows keep every vector store on a vector boundary when the output's base is.
  bool rowsWholeVectors = out[3] % lanes == 0;

  spec.body = [=](KernelBuilder &k, llvm::Value *iteration) {
    auto &ir = k.ir();
    llvm::Value *plane = ir.CreateSDiv(iteration, k.i64(bands));
    llvm::Value *firstRow = k.mul(ir.CreateSRem(iteration, k.i64(bands)), bandRows);
    llvm::Value *inPlane = k.element(k.base(x), k.mul(plane, in[2] * in[3]));
    llvm::Value *outPlane = k.element(k.base(y), k.mul(plane, out[2] * out[3]));
    auto emitRows = [&](llvm::Align align) {
      RowResizer resizer(k, taps, lanes);
      resizer.beginPlane();
      k.loop(firstRow, k.minI(k.add(firstRow, bandRows), k.i64(out[2])), [&](llvm::Value *oh) {
        llvm::Value *outRow = k.element(outPlane, k.mul(oh, out[3]));
        resizer.row(inPlane, oh, [&](llvm::Value *ow, llvm::Value *value, int64_t) {
          llvm::StoreInst *store = ir.CreateAlignedStore(value, k.element(outRow, ow), align);
          if (streaming) k.markNontemporal(store);
        });
      });
    };
    if (!streaming || !rowsWholeVectors) return emitRows(llvm::Align(4));
    // An aligned output (the caller's logits need not be) gets whole-vector streaming stores;
    // otherwise the backend splits each into 8-byte ones, still faster than cached stores.
    llvm::Value *misalignment = ir.CreateAnd(ir.CreatePtrToInt(k.base(y), ir.getInt64Ty()), k.i64(vectorBytes - 1));
    k.ifThenElse(ir.CreateICmpEQ(misalignment, k.i64(0)), [&] { emitRows(llvm::Align(uint64_t(vectorBytes))); },
                 [&] { emitRows(llvm::Align(4)); });
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
