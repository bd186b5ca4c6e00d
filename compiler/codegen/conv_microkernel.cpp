//===- conv_microkernel.cpp - Register-blocked dense convolution ----------===//
//
// Iteration (n, row tile, channel block) -- channel block innermost by default, so consecutive
// iterations of one thread reuse the same input rows from cache; outermost with
// Schedule::channelBlocksOuter, so they reuse the block's weights -- computes, for each of
// the Schedule::tileRows rows oh of its tile,
//
//   for each tile of T = vectorBlock * vectorWidth output columns:
//     acc[o][j] = 0                                  o < channelBlock, j < vectorBlock
//     for ic, for kh whose input row is inside the image:
//       for kw:                                      (unrolled)
//         x[j] = in[ic, ih, (start + j*VW)*stride + kw*dil - pad ...]   (VW lanes, strided)
//         acc[o][j] += w[oc0 + o, ic, kh, kw] * x[j]                  (broadcast, FMA)
//     out[oc0 + o, oh, start + j*VW ...] = epilogue(acc[o][j])
//
// Tiles cover the row exactly; the last one is shifted left to end at the row's end (it
// recomputes a few columns, which is harmless because tiles store, never accumulate). Tiles
// whose input columns stay inside the image run in a loop; the few at the edges are emitted
// at their compile-time positions with lane masks for the columns in the padding.
#include "compiler/codegen/conv_microkernel.h"

#include "compiler/codegen/emit_winograd.h"

#include "ir/error.h"

#include <llvm/IR/Intrinsics.h>

namespace bisc {

namespace {

/// The register block actually used: the schedule's, narrowed to rows shorter than a tile.
struct Blocking {
  int64_t lanes, channels, vectors;
  int64_t tileWidth() const { return lanes * vectors; }
};

Blocking blocking(const ConvGeometry &g, const Schedule &schedule) {
  int64_t lanes = schedule.vectorWidth;
  int64_t vectors = std::clamp<int64_t>(g.ow / lanes, 1, schedule.vectorBlock);
  int64_t channels = std::min(schedule.channelBlock, g.oc);
  return {lanes, channels, vectors};
}

/// Emits one microkernel instance for a fixed channel-block width.
class RowEmitter {
public:
  RowEmitter(KernelBuilder &k, const ConvGeometry &g, const Blocking &b, const ConvEpilogue &epilogue,
             int64_t channels)
      : k_(k), ir_(k.ir()), g_(g), b_(b), epilogue_(epilogue), channels_(channels),
        vectorType_(llvm::FixedVectorType::get(k.f32Type(), unsigned(b.lanes))) {}

  /// The row `oh` of image `n` for output channels [oc0, oc0 + channels).
  void emitRow(llvm::Value *inImage, llvm::Value *outRowBase, llvm::Value *residualRowBase,
               llvm::Value *packedBlock, llvm::Value *oc0, llvm::Value *oh);

private:
  void emitTile(int64_t constantStart, llvm::Value *start, bool masked, int64_t storedUpTo = 0);
  void prefetchInput(llvm::Value *inPlane, llvm::Value *start);
  void accumulateTap(llvm::Value *inRow, llvm::Value *wTap, int64_t kw, int64_t constantStart,
                     llvm::Value *start, bool masked);
  llvm::Value *loadInput(llvm::Value *inRow, llvm::Value *start, int64_t firstColumnOffset,
                         int64_t constantStart, bool masked);
  void storeTile(llvm::Value *start, int64_t constantStart, int64_t storedUpTo);
  bool tileIsInside(int64_t start) const;

  KernelBuilder &k_;
  llvm::IRBuilder<> &ir_;
  ConvGeometry g_;
  Blocking b_;
  ConvEpilogue epilogue_;
  int64_t channels_;
  llvm::FixedVectorType *vectorType_;
  // Per row:
  llvm::Value *inImage_ = nullptr, *outRow_ = nullptr, *residualRow_ = nullptr;
  llvm::Value *firstBlock_ = nullptr;
  llvm::Value *packed_ = nullptr, *oc0_ = nullptr, *ih0_ = nullptr, *khLo_ = nullptr, *khHi_ = nullptr;
  std::vector<llvm::Value *> accumulators_;
};

bool RowEmitter::tileIsInside(int64_t start) const {
  int64_t first = start * g_.strideW - g_.padL;
  int64_t last = (start + b_.tileWidth() - 1) * g_.strideW + (g_.kw - 1) * g_.dilW - g_.padL;
  // Stride-2 loads read one column past the last used one.
  return first >= 0 && last + (g_.strideW - 1) < g_.w;
}

void RowEmitter::emitRow(llvm::Value *inImage, llvm::Value *outRowBase, llvm::Value *residualRowBase,
                         llvm::Value *packedBlock, llvm::Value *oc0, llvm::Value *oh) {
  inImage_ = inImage, outRow_ = outRowBase, residualRow_ = residualRowBase;
  packed_ = packedBlock, oc0_ = oc0;
  firstBlock_ = ir_.CreateICmpEQ(oc0, k_.i64(0));
  // Input rows ih0 + kh*dil inside [0, H): kh in [khLo, khHi).
  ih0_ = k_.add(k_.mul(oh, g_.strideH), -g_.padT);
  llvm::Value *negative = ir_.CreateSub(k_.i64(g_.dilH - 1), ih0_);
  khLo_ = k_.maxI(k_.i64(0), ir_.CreateSDiv(negative, k_.i64(g_.dilH)));
  llvm::Value *room = ir_.CreateSub(k_.i64(g_.h + g_.dilH - 1), ih0_);
  khHi_ = k_.minI(k_.i64(g_.kh), ir_.CreateSDiv(room, k_.i64(g_.dilH)));
  accumulators_.clear();
  for (int64_t i = 0; i < channels_ * b_.vectors; ++i) accumulators_.push_back(k_.stackSlot(vectorType_));

  forEachRowTile(k_, g_.ow, b_.tileWidth(), [&](int64_t start) { return tileIsInside(start); },
                 [&](int64_t constantStart, llvm::Value *start, bool masked, int64_t storedUpTo) {
                   emitTile(constantStart, start, masked, storedUpTo);
                 });
}

void RowEmitter::emitTile(int64_t constantStart, llvm::Value *start, bool masked, int64_t storedUpTo) {
  for (llvm::Value *slot : accumulators_) ir_.CreateStore(llvm::Constant::getNullValue(vectorType_), slot);
  int64_t taps = g_.kh * g_.kw;
  k_.loop(0, g_.ic, [&](llvm::Value *ic) {
    llvm::Value *inPlane = k_.element(inImage_, k_.mul(ic, g_.h * g_.w));
    k_.ifThen(firstBlock_, [&] { prefetchInput(inPlane, start); });
    k_.loop(khLo_, khHi_, [&](llvm::Value *kh) {
      llvm::Value *ih = ir_.CreateAdd(ih0_, k_.mul(kh, g_.dilH));
      llvm::Value *inRow = k_.element(inPlane, k_.mul(ih, g_.w));
      llvm::Value *tap = ir_.CreateAdd(k_.mul(ic, taps), k_.mul(kh, g_.kw));
      llvm::Value *wTap = k_.element(packed_, k_.mul(tap, channels_));
      for (int64_t kw = 0; kw < g_.kw; ++kw) accumulateTap(inRow, wTap, kw, constantStart, start, masked);
    });
  });
  storeTile(start, constantStart, storedUpTo);
}

/// The tile's input rows a few channels ahead. The rows of one tile are far apart (one per
/// channel plane, each on its own page), which hardware prefetchers do not follow; only the
/// first channel block prefetches, the others find the rows in cache.
void RowEmitter::prefetchInput(llvm::Value *inPlane, llvm::Value *start) {
  // Enough channels ahead to cover a memory latency of ~400 cycles at 2 FMAs per cycle.
  int64_t fmasPerChannel = g_.kh * g_.kw * channels_ * b_.vectors;
  int64_t ahead = std::clamp<int64_t>(800 / std::max<int64_t>(fmasPerChannel, 1), 2, 32);
  llvm::Value *plane = ir_.CreateGEP(k_.f32Type(), inPlane, k_.i64(ahead * g_.h * g_.w));
  int64_t span = (b_.tileWidth() - 1) * g_.strideW + (g_.kw - 1) * g_.dilW + g_.strideW, lineFloats = 16;
  llvm::Value *first = k_.add(k_.mul(start, g_.strideW), -g_.padL);
  for (int64_t kh = 0; kh < g_.kh; ++kh) {
    llvm::Value *ih = k_.minI(k_.maxI(k_.add(ih0_, kh * g_.dilH), k_.i64(0)), k_.i64(g_.h - 1));
    llvm::Value *row = ir_.CreateGEP(k_.f32Type(), plane, k_.mul(ih, g_.w));
    for (int64_t column = 0; column < span + lineFloats - 1; column += lineFloats)
      k_.prefetch(ir_.CreateGEP(k_.f32Type(), row, k_.add(first, column)));
  }
}

void RowEmitter::accumulateTap(llvm::Value *inRow, llvm::Value *wTap, int64_t kw, int64_t constantStart,
                               llvm::Value *start, bool masked) {
  std::vector<llvm::Value *> inputs;
  for (int64_t j = 0; j < b_.vectors; ++j) {
    int64_t offset = (j * b_.lanes) * g_.strideW + kw * g_.dilW - g_.padL;
    inputs.push_back(loadInput(inRow, start, offset, constantStart, masked));
  }
  for (int64_t o = 0; o < channels_; ++o) {
    llvm::Value *scalar = k_.loadF32(wTap, k_.i64(kw * channels_ + o));
    llvm::Value *weight = ir_.CreateVectorSplat(unsigned(b_.lanes), scalar);
    for (int64_t j = 0; j < b_.vectors; ++j) {
      if (!inputs[size_t(j)]) continue;  // every lane in the padding
      llvm::Value *slot = accumulators_[size_t(o * b_.vectors + j)];
      llvm::Value *acc = ir_.CreateLoad(vectorType_, slot);
      acc = ir_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vectorType_}, {weight, inputs[size_t(j)], acc});
      ir_.CreateStore(acc, slot);
    }
  }
}

/// Lanes l of in[(start + l)*stride + offset]; nullptr if every lane is in the padding.
llvm::Value *RowEmitter::loadInput(llvm::Value *inRow, llvm::Value *start, int64_t offset,
                                   int64_t constantStart, bool masked) {
  llvm::Value *first = ir_.CreateAdd(k_.mul(start, g_.strideW), k_.i64(offset));
  llvm::Value *pointer = k_.element(inRow, first);
  std::vector<llvm::Value *> parts;
  for (int64_t part = 0; part < g_.strideW; ++part) {
    llvm::Value *partPointer = k_.element(pointer, k_.i64(part * b_.lanes));
    if (!masked) {
      parts.push_back(ir_.CreateAlignedLoad(vectorType_, partPointer, llvm::Align(4)));
      continue;
    }
    std::vector<bool> lanes(size_t(b_.lanes));
    int64_t column0 = constantStart * g_.strideW + offset + part * b_.lanes;
    for (int64_t l = 0; l < b_.lanes; ++l) lanes[size_t(l)] = column0 + l >= 0 && column0 + l < g_.w;
    parts.push_back(loadColumns(k_, vectorType_, partPointer, lanes));
  }
  if (std::all_of(parts.begin(), parts.end(), [](llvm::Value *p) { return p == nullptr; })) return nullptr;
  for (llvm::Value *&part : parts)
    if (!part) part = llvm::Constant::getNullValue(vectorType_);
  if (g_.strideW == 1) return parts[0];
  // Stride 2: the even lanes of the two loaded vectors.
  std::vector<int> even;
  for (int64_t l = 0; l < b_.lanes; ++l) even.push_back(int(l * 2));
  return ir_.CreateShuffleVector(parts[0], parts[1], even);
}

void RowEmitter::storeTile(llvm::Value *start, int64_t constantStart, int64_t storedUpTo) {
  ConvRowTarget target{outRow_, residualRow_, g_.oh * g_.ow, b_.lanes};
  storeRowTile(k_, epilogue_, target, accumulators_, channels_, b_.vectors, oc0_, start, constantStart, storedUpTo);
}

} // namespace

void storeRowTile(KernelBuilder &k, const ConvEpilogue &epilogue, const ConvRowTarget &target,
                  const std::vector<llvm::Value *> &accumulators, int64_t channels, int64_t vectors,
                  llvm::Value *oc0, llvm::Value *start, int64_t constantStart, int64_t storedUpTo) {
  auto &ir = k.ir();
  auto *vectorType = llvm::FixedVectorType::get(k.f32Type(), unsigned(target.lanes));
  llvm::Value *zero = llvm::Constant::getNullValue(vectorType);
  for (int64_t o = 0; o < channels; ++o) {
    llvm::Value *channel = k.add(oc0, o);
    llvm::Value *bias = epilogue.bias
        ? ir.CreateVectorSplat(unsigned(target.lanes), k.loadF32(k.base(epilogue.bias), channel))
        : nullptr;
    for (int64_t j = 0; j < vectors; ++j) {
      int64_t firstColumn = constantStart + j * target.lanes;
      if (constantStart >= 0 && firstColumn + target.lanes <= storedUpTo) continue;
      llvm::Value *value = ir.CreateLoad(vectorType, accumulators[size_t(o * vectors + j)]);
      if (bias) value = ir.CreateFAdd(value, bias);
      llvm::Value *index = ir.CreateAdd(k.mul(channel, target.plane), k.add(start, j * target.lanes));
      llvm::Value *storeMask = nullptr;
      if (constantStart >= 0 && firstColumn < storedUpTo) {
        std::vector<llvm::Constant *> bits;
        for (int64_t l = 0; l < target.lanes; ++l) bits.push_back(ir.getInt1(firstColumn + l >= storedUpTo));
        storeMask = llvm::ConstantVector::get(bits);
      }
      auto residual = [&] {
        return ir.CreateAlignedLoad(vectorType, k.element(target.residualRow, index), llvm::Align(4));
      };
      if (epilogue.residual && epilogue.residualBeforeActivation) value = ir.CreateFAdd(value, residual());
      if (epilogue.relu) value = ir.CreateSelect(ir.CreateFCmpOLT(value, zero), zero, value);
      if (epilogue.residual && !epilogue.residualBeforeActivation) value = ir.CreateFAdd(value, residual());
      llvm::Value *pointer = k.element(target.outRow, index);
      if (storeMask) ir.CreateMaskedStore(value, pointer, llvm::Align(4), storeMask);
      else ir.CreateAlignedStore(value, pointer, llvm::Align(4));
    }
  }
}

void forEachRowTile(KernelBuilder &k, int64_t ow, int64_t tile, const std::function<bool(int64_t)> &inside,
                    const RowTileEmitter &emit) {
  std::vector<int64_t> starts;
  for (int64_t start = 0; start < ow; start += tile) starts.push_back(std::min(start, ow - tile));
  size_t first = 0;
  while (first < starts.size() && !inside(starts[first])) ++first;
  size_t end = first;
  while (end < starts.size() && inside(starts[end]) && starts[end] == starts[first] + int64_t(end - first) * tile)
    ++end;
  auto storedBefore = [&](size_t i) { return i == 0 ? int64_t(0) : starts[i - 1] + tile; };
  for (size_t i = 0; i < first; ++i) emit(starts[i], k.i64(starts[i]), true, storedBefore(i));
  if (end > first)
    k.loop(k.i64(starts[first]), k.i64(starts[end - 1] + 1), [&](llvm::Value *start) { emit(-1, start, false, 0); },
           tile);
  for (size_t i = end; i < starts.size(); ++i)
    emit(starts[i], k.i64(starts[i]), !inside(starts[i]), storedBefore(i));
}

ConvGeometry convGeometry(const Node &node) {
  const Shape &x = node.inputs[0]->type.shape, &w = node.inputs[1]->type.shape;
  const Shape &y = node.result->type.shape;
  auto stride = node.attrInts("stride"), pads = node.attrInts("pads"), dil = node.attrInts("dilation");
  return {x[0], x[1], x[2], x[3], y[1], y[2], y[3], w[2], w[3],
          stride[0], stride[1], pads[0], pads[1], dil[0], dil[1]};
}

llvm::Value *loadColumns(KernelBuilder &k, llvm::FixedVectorType *type, llvm::Value *pointer,
                         const std::vector<bool> &lanes) {
  auto &ir = k.ir();
  if (std::none_of(lanes.begin(), lanes.end(), [](bool l) { return l; })) return nullptr;
  if (std::all_of(lanes.begin(), lanes.end(), [](bool l) { return l; }))
    return ir.CreateAlignedLoad(type, pointer, llvm::Align(4));
  std::vector<llvm::Constant *> bits;
  for (bool lane : lanes) bits.push_back(ir.getInt1(lane));
  return ir.CreateMaskedLoad(type, pointer, llvm::Align(4), llvm::ConstantVector::get(bits),
                             llvm::Constant::getNullValue(type));
}

std::vector<float> packConvWeights(const Tensor &weight, int64_t block) {
  std::span<const float> w = weight.f32();
  const Shape &shape = weight.type().shape;
  int64_t oc = shape[0], taps = shape[1] * shape[2] * shape[3];
  std::vector<float> packed(size_t(oc * taps));
  for (int64_t oc0 = 0; oc0 < oc; oc0 += block) {
    int64_t width = std::min(block, oc - oc0);
    for (int64_t tap = 0; tap < taps; ++tap)
      for (int64_t o = 0; o < width; ++o)
        packed[size_t(oc0 * taps + tap * width + o)] = w[size_t((oc0 + o) * taps + tap)];
  }
  return packed;
}

bool convMicrokernelApplies(const Node &node, const Schedule &defaults) {
  if (node.op != OpId::conv2d && node.op != OpId::fused_conv) return false;
  if (node.attrInt("groups") != 1) return false;
  ConvGeometry g = convGeometry(node);
  return (g.strideW == 1 || g.strideW == 2) && g.ow >= defaults.vectorWidth;
}

KernelSpec emitConvMicrokernel(const Node &node, const ConvEpilogue &epilogue, EmitContext &context) {
  if (!convMicrokernelApplies(node, context.defaults))
    fail("codegen: node %{}: the conv microkernel needs groups 1, stride 1 or 2 and rows of at "
         "least {} columns", node.name(), context.defaults.vectorWidth);
  ConvGeometry g = convGeometry(node);
  const Schedule &schedule = context.scheduleFor(node);
  Blocking b = blocking(g, schedule);
  KernelSpec spec{"conv_microkernel", schedule, {}};
  int64_t blocks = (g.oc + b.channels - 1) / b.channels;
  int64_t tileRows = std::clamp<int64_t>(schedule.tileRows, 1, g.oh);
  int64_t rowTiles = (g.oh + tileRows - 1) / tileRows;
  spec.schedule.parallelCount = g.n * rowTiles * blocks;
  spec.schedule.channelBlock = b.channels;
  spec.schedule.vectorBlock = b.vectors;
  spec.schedule.tileRows = tileRows;
  std::vector<float> packed = packConvWeights(weightData(node, 1), b.channels);
  int64_t packedOffset = context.buffers.blob->add(packed.data(), packed.size() * sizeof(float));
  const Value *x = node.inputs[0], *y = node.result;
  int64_t tailChannels = g.oc - (blocks - 1) * b.channels;
  bool channelBlocksOuter = schedule.channelBlocksOuter;

  spec.body = [=](KernelBuilder &k, llvm::Value *index) {
    auto &ir = k.ir();
    // index -> (channel block, image, row tile) in the schedule's loop order.
    llvm::Value *block, *imageTile;
    if (channelBlocksOuter) {
      block = ir.CreateSDiv(index, k.i64(g.n * rowTiles));
      imageTile = ir.CreateSRem(index, k.i64(g.n * rowTiles));
    } else {
      block = ir.CreateSRem(index, k.i64(blocks));
      imageTile = ir.CreateSDiv(index, k.i64(blocks));
    }
    llvm::Value *rowTile = ir.CreateSRem(imageTile, k.i64(rowTiles));
    llvm::Value *n = ir.CreateSDiv(imageTile, k.i64(rowTiles));
    llvm::Value *oc0 = k.mul(block, b.channels);
    llvm::Value *inImage = k.element(k.base(x), k.mul(n, g.ic * g.h * g.w));
    llvm::Value *packedBlock = k.element(k.blobPointer(packedOffset), k.mul(oc0, g.ic * g.kh * g.kw));
    auto emitRow = [&](int64_t channels, llvm::Value *oh) {
      // Element offsets below are relative to (n, 0, oh, 0) of the output.
      llvm::Value *rowOffset = ir.CreateAdd(k.mul(n, g.oc * g.oh * g.ow), k.mul(oh, g.ow));
      llvm::Value *outRow = k.element(k.base(y), rowOffset);
      llvm::Value *residualRow = epilogue.residual ? k.element(k.base(epilogue.residual), rowOffset) : nullptr;
      RowEmitter(k, g, b, epilogue, channels).emitRow(inImage, outRow, residualRow, packedBlock, oc0, oh);
    };
    auto emitWidth = [&](int64_t channels) {
      if (tileRows == 1) return emitRow(channels, rowTile);
      llvm::Value *first = k.mul(rowTile, tileRows);
      llvm::Value *last = k.minI(k.add(first, tileRows), k.i64(g.oh));
      k.loop(first, last, [&](llvm::Value *oh) { emitRow(channels, oh); });
    };
    if (tailChannels == b.channels) {
      emitWidth(b.channels);
      return;
    }
    k.ifThenElse(ir.CreateICmpEQ(block, k.i64(blocks - 1)), [&] { emitWidth(tailChannels); },
                 [&] { emitWidth(b.channels); });
  };
  return spec;
}

std::optional<KernelSpec> emitDenseConv(const Node &node, const ConvEpilogue &epilogue, EmitContext &context) {
  if (winogradApplies(node, context.defaults)) return emitWinogradConv(node, epilogue, context);
  // A schedule may pin the microkernel (the autotuner times it against the packed conv).
  bool packedAllowed = context.scheduleFor(node).denseKernel != DenseKernel::Microkernel;
  if (packedAllowed && packedConvApplies(node, context.defaults))
    return emitPackedConv(node, epilogue, context);
  if (convMicrokernelApplies(node, context.defaults)) return emitConvMicrokernel(node, epilogue, context);
  return std::nullopt;
}

} // namespace bisc
