//===- conv_microkernel.cpp - Register-blocked dense convolution ----------===//
//
// Iteration (n, oh, channel block) -- channel block innermost, so consecutive iterations of
// one thread reuse the same input rows from cache -- computes
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

struct ConvGeometry {
  int64_t n, ic, h, w, oc, oh, ow, kh, kw;
  int64_t strideH, strideW, padT, padL, dilH, dilW;
};

ConvGeometry convGeometry(const Node &node) {
  const Shape &x = node.inputs[0]->type.shape, &w = node.inputs[1]->type.shape;
  const Shape &y = node.result->type.shape;
  auto stride = node.attrInts("stride"), pads = node.attrInts("pads"), dil = node.attrInts("dilation");
  return {x[0], x[1], x[2], x[3], y[1], y[2], y[3], w[2], w[3],
          stride[0], stride[1], pads[0], pads[1], dil[0], dil[1]};
}

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

/// Repacks weights [OC, IC, KH, KW] into blocks [OC / B][IC][KH][KW][B] (the last block may be
/// narrower), so one tap's channelBlock scalars are adjacent.
std::vector<float> packWeights(const Tensor &weight, const ConvGeometry &g, int64_t block) {
  std::span<const float> w = weight.f32();
  int64_t taps = g.ic * g.kh * g.kw;
  std::vector<float> packed(size_t(g.oc * taps));
  for (int64_t oc0 = 0; oc0 < g.oc; oc0 += block) {
    int64_t width = std::min(block, g.oc - oc0);
    for (int64_t tap = 0; tap < taps; ++tap)
      for (int64_t o = 0; o < width; ++o)
        packed[size_t(oc0 * taps + tap * width + o)] = w[size_t((oc0 + o) * taps + tap)];
  }
  return packed;
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
  void accumulateTap(llvm::Value *inRow, llvm::Value *wTap, int64_t kw, int64_t constantStart,
                     llvm::Value *start, bool masked);
  llvm::Value *loadInput(llvm::Value *inRow, llvm::Value *start, int64_t firstColumnOffset,
                         int64_t constantStart, bool masked);
  llvm::Value *maskedLoad(llvm::Value *pointer, const std::vector<bool> &lanes);
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
  // Input rows ih0 + kh*dil inside [0, H): kh in [khLo, khHi).
  ih0_ = k_.add(k_.mul(oh, g_.strideH), -g_.padT);
  llvm::Value *negative = ir_.CreateSub(k_.i64(g_.dilH - 1), ih0_);
  khLo_ = k_.maxI(k_.i64(0), ir_.CreateSDiv(negative, k_.i64(g_.dilH)));
  llvm::Value *room = ir_.CreateSub(k_.i64(g_.h + g_.dilH - 1), ih0_);
  khHi_ = k_.minI(k_.i64(g_.kh), ir_.CreateSDiv(room, k_.i64(g_.dilH)));
  accumulators_.clear();
  for (int64_t i = 0; i < channels_ * b_.vectors; ++i) accumulators_.push_back(k_.stackSlot(vectorType_));

  int64_t tile = b_.tileWidth();
  std::vector<int64_t> starts;
  for (int64_t start = 0; start < g_.ow; start += tile) starts.push_back(std::min(start, g_.ow - tile));
  // Inside tiles at regular positions run in one loop; every other tile is emitted alone.
  size_t first = 0;
  while (first < starts.size() && !tileIsInside(starts[first])) ++first;
  size_t end = first;
  while (end < starts.size() && tileIsInside(starts[end]) && starts[end] == starts[first] + int64_t(end - first) * tile)
    ++end;
  // A tile overlapping its predecessor stores only the new columns: the output may share its
  // buffer with the residual, so a column must be finished exactly once.
  auto storedBefore = [&](size_t i) { return i == 0 ? int64_t(0) : starts[i - 1] + tile; };
  for (size_t i = 0; i < first; ++i) emitTile(starts[i], k_.i64(starts[i]), true, storedBefore(i));
  if (end > first)
    k_.loop(k_.i64(starts[first]), k_.i64(starts[end - 1] + 1),
            [&](llvm::Value *start) { emitTile(-1, start, false); }, tile);
  for (size_t i = end; i < starts.size(); ++i)
    emitTile(starts[i], k_.i64(starts[i]), !tileIsInside(starts[i]), storedBefore(i));
}

void RowEmitter::emitTile(int64_t constantStart, llvm::Value *start, bool masked, int64_t storedUpTo) {
  for (llvm::Value *slot : accumulators_) ir_.CreateStore(llvm::Constant::getNullValue(vectorType_), slot);
  int64_t taps = g_.kh * g_.kw;
  k_.loop(0, g_.ic, [&](llvm::Value *ic) {
    llvm::Value *inPlane = k_.element(inImage_, k_.mul(ic, g_.h * g_.w));
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
    parts.push_back(maskedLoad(partPointer, lanes));
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

/// A load whose `lanes` that are false read as 0 and touch no memory.
llvm::Value *RowEmitter::maskedLoad(llvm::Value *pointer, const std::vector<bool> &lanes) {
  bool all = std::all_of(lanes.begin(), lanes.end(), [](bool l) { return l; });
  bool none = std::none_of(lanes.begin(), lanes.end(), [](bool l) { return l; });
  if (none) return nullptr;
  if (all) return ir_.CreateAlignedLoad(vectorType_, pointer, llvm::Align(4));
  std::vector<llvm::Constant *> bits;
  for (bool lane : lanes) bits.push_back(ir_.getInt1(lane));
  return ir_.CreateMaskedLoad(vectorType_, pointer, llvm::Align(4), llvm::ConstantVector::get(bits),
                              llvm::Constant::getNullValue(vectorType_));
}

/// Stores the tile; with a compile-time `constantStart`, columns below `storedUpTo` are left
/// alone (a neighbouring tile already finished them).
void RowEmitter::storeTile(llvm::Value *start, int64_t constantStart, int64_t storedUpTo) {
  llvm::Value *zero = llvm::Constant::getNullValue(vectorType_);
  int64_t plane = g_.oh * g_.ow;
  for (int64_t o = 0; o < channels_; ++o) {
    llvm::Value *channelOffset = k_.mul(ir_.CreateAdd(oc0_, k_.i64(o)), plane);
    llvm::Value *bias = epilogue_.bias
        ? ir_.CreateVectorSplat(unsigned(b_.lanes),
                                k_.loadF32(k_.base(epilogue_.bias), ir_.CreateAdd(oc0_, k_.i64(o))))
        : nullptr;
    for (int64_t j = 0; j < b_.vectors; ++j) {
      llvm::Value *value = ir_.CreateLoad(vectorType_, accumulators_[size_t(o * b_.vectors + j)]);
      if (bias) value = ir_.CreateFAdd(value, bias);
      int64_t firstColumn = constantStart + j * b_.lanes;
      if (constantStart >= 0 && firstColumn + b_.lanes <= storedUpTo) continue;
      llvm::Value *index = ir_.CreateAdd(channelOffset, k_.add(start, j * b_.lanes));
      llvm::Value *storeMask = nullptr;
      if (constantStart >= 0 && firstColumn < storedUpTo) {
        std::vector<llvm::Constant *> bits;
        for (int64_t l = 0; l < b_.lanes; ++l) bits.push_back(ir_.getInt1(firstColumn + l >= storedUpTo));
        storeMask = llvm::ConstantVector::get(bits);
      }
      auto residual = [&] {
        llvm::Value *pointer = k_.element(residualRow_, index);
        return ir_.CreateAlignedLoad(vectorType_, pointer, llvm::Align(4));
      };
      if (epilogue_.residual && epilogue_.residualBeforeActivation) value = ir_.CreateFAdd(value, residual());
      if (epilogue_.relu) value = ir_.CreateSelect(ir_.CreateFCmpOLT(value, zero), zero, value);
      if (epilogue_.residual && !epilogue_.residualBeforeActivation) value = ir_.CreateFAdd(value, residual());
      llvm::Value *pointer = k_.element(outRow_, index);
      if (storeMask) ir_.CreateMaskedStore(value, pointer, llvm::Align(4), storeMask);
      else ir_.CreateAlignedStore(value, pointer, llvm::Align(4));
    }
  }
}

} // namespace

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
  Blocking b = blocking(g, context.defaults);
  KernelSpec spec{"conv_microkernel", context.defaults, {}};
  int64_t blocks = (g.oc + b.channels - 1) / b.channels;
  spec.schedule.parallelCount = g.n * g.oh * blocks;
  spec.schedule.channelBlock = b.channels;
  spec.schedule.vectorBlock = b.vectors;
  std::vector<float> packed = packWeights(weightData(node, 1), g, b.channels);
  int64_t packedOffset = context.buffers.blob->add(packed.data(), packed.size() * sizeof(float));
  const Value *x = node.inputs[0], *y = node.result;
  int64_t tailChannels = g.oc - (blocks - 1) * b.channels;

  spec.body = [=](KernelBuilder &k, llvm::Value *index) {
    auto &ir = k.ir();
    llvm::Value *block = ir.CreateSRem(index, k.i64(blocks));
    llvm::Value *row = ir.CreateSDiv(index, k.i64(blocks));
    llvm::Value *oh = ir.CreateSRem(row, k.i64(g.oh));
    llvm::Value *n = ir.CreateSDiv(row, k.i64(g.oh));
    llvm::Value *oc0 = k.mul(block, b.channels);
    llvm::Value *inImage = k.element(k.base(x), k.mul(n, g.ic * g.h * g.w));
    // Element offsets below are relative to (n, 0, oh, 0) of the output.
    llvm::Value *rowOffset = ir.CreateAdd(k.mul(n, g.oc * g.oh * g.ow), k.mul(oh, g.ow));
    llvm::Value *outRow = k.element(k.base(y), rowOffset);
    llvm::Value *residualRow = epilogue.residual ? k.element(k.base(epilogue.residual), rowOffset) : nullptr;
    llvm::Value *packedBlock = k.element(k.blobPointer(packedOffset), k.mul(oc0, g.ic * g.kh * g.kw));
    auto emitWidth = [&](int64_t channels) {
      RowEmitter(k, g, b, epilogue, channels).emitRow(inImage, outRow, residualRow, packedBlock, oc0, oh);
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
  if (convMicrokernelApplies(node, context.defaults)) return emitConvMicrokernel(node, epilogue, context);
  return std::nullopt;
}

} // namespace bisc
