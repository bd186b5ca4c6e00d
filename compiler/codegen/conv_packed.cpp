//===- conv_packed.cpp - Dense convolution from a packed input tile ------===//
//
// Iteration (n, oh) computes one output row of every output channel:
//
//   for each tile of T = vectors * lanes output columns:
//     P[ic][kh][phase][i] = in[ic, oh*sh - padT + kh*dh, (start + i)*sw - padL + phase]
//                                                   (0 outside the image; phase < sw)
//     for each block of channelBlock output channels:
//       acc[o][j] = sum over ic, kh, kw of w[oc0 + o, ic, kh, kw] * P[ic][kh][phase][off + j*lanes]
//                                                   (phase, off) = divmod(kw*dw, sw)
//       out[oc0 + o, oh, start + j*lanes ...] = epilogue(acc[o][j])
//
// Why pack: in NCHW the rows a tile reads sit one per channel plane, a power-of-two apart in
// BiSeNet's tensors, so they collide in the same cache sets and every channel block re-reads
// them from far away; stride-2 taps also need a shuffle per load. The packed tile is
// contiguous, lives in cache for all the channel blocks, holds the zero padding (the
// arithmetic needs no lane masks) and has its stride phases split (no shuffles).
#include "compiler/codegen/conv_microkernel.h"

#include "ir/error.h"

namespace bisc {

namespace {

/// Stack bytes of one packed tile; larger tiles take the plain microkernel.
constexpr int64_t kPackedTileBudget = 256 * 1024;
constexpr int64_t kMinPackedChannels = 16;

int64_t roundUp(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

/// Sizes of the register block and the packed tile, fixed at compile time.
struct PackPlan {
  int64_t lanes, vectors, channels;  ///< tile = vectors x lanes columns; channels per block
  int64_t phaseFloats;               ///< one stride phase of one packed row, whole vectors
  int64_t tileWidth() const { return vectors * lanes; }
  int64_t rowFloats(const ConvGeometry &g) const { return g.strideW * phaseFloats; }
  int64_t tileBytes(const ConvGeometry &g) const { return g.ic * g.kh * rowFloats(g) * 4; }
};

PackPlan packPlan(const ConvGeometry &g, const Schedule &schedule) {
  PackPlan p{};
  p.lanes = schedule.vectorWidth;
  p.channels = std::min(schedule.channelBlock, g.oc);
  for (p.vectors = std::clamp<int64_t>(g.ow / p.lanes, 1, schedule.vectorBlock); p.vectors >= 1; --p.vectors) {
    p.phaseFloats = roundUp(p.tileWidth() + (g.kw - 1) * g.dilW / g.strideW, p.lanes);
    if (p.tileBytes(g) <= kPackedTileBudget) return p;
  }
  return p; // vectors == 0: does not fit
}

class PackedEmitter {
public:
  PackedEmitter(KernelBuilder &k, const ConvGeometry &g, const PackPlan &p, const ConvEpilogue &epilogue,
                const Value *x, const Value *y, int64_t weightsOffset)
      : k_(k), ir_(k.ir()), g_(g), p_(p), epilogue_(epilogue), x_(x), y_(y), weightsOffset_(weightsOffset),
        vectorType_(llvm::FixedVectorType::get(k.f32Type(), unsigned(p.lanes))) {}

  void emitIteration(llvm::Value *index);

private:
  void emitTile(int64_t constantStart, llvm::Value *start, bool masked, int64_t storedUpTo);
  void pack(int64_t constantStart, llvm::Value *start, bool masked);
  void packRow(llvm::Value *inRow, llvm::Value *packedRow, llvm::Value *first, int64_t constantFirst, bool masked);
  void computeBlock(llvm::Value *oc0, int64_t channels, int64_t constantStart, llvm::Value *start,
                    int64_t storedUpTo);
  bool tileIsInside(int64_t start) const;

  KernelBuilder &k_;
  llvm::IRBuilder<> &ir_;
  ConvGeometry g_;
  PackPlan p_;
  ConvEpilogue epilogue_;
  const Value *x_, *y_;
  int64_t weightsOffset_;
  llvm::FixedVectorType *vectorType_;
  // Per iteration:
  llvm::Value *inImage_ = nullptr, *outRow_ = nullptr, *residualRow_ = nullptr, *ih0_ = nullptr;
  llvm::Value *packed_ = nullptr;
  std::vector<llvm::Value *> accumulators_;
};

/// True if every column the pack reads for the tile at `start` is inside the image.
bool PackedEmitter::tileIsInside(int64_t start) const {
  int64_t first = start * g_.strideW - g_.padL;
  return first >= 0 && first + p_.rowFloats(g_) <= g_.w;
}

void PackedEmitter::emitIteration(llvm::Value *index) {
  llvm::Value *oh = ir_.CreateSRem(index, k_.i64(g_.oh)), *n = ir_.CreateSDiv(index, k_.i64(g_.oh));
  inImage_ = k_.element(k_.base(x_), k_.mul(n, g_.ic * g_.h * g_.w));
  // Element offsets of the stores are relative to (n, 0, oh, 0) of the output.
  llvm::Value *rowOffset = ir_.CreateAdd(k_.mul(n, g_.oc * g_.oh * g_.ow), k_.mul(oh, g_.ow));
  outRow_ = k_.element(k_.base(y_), rowOffset);
  residualRow_ = epilogue_.residual ? k_.element(k_.base(epilogue_.residual), rowOffset) : nullptr;
  ih0_ = k_.add(k_.mul(oh, g_.strideH), -g_.padT);
  auto *slot = llvm::cast<llvm::AllocaInst>(
      k_.stackSlot(llvm::ArrayType::get(k_.f32Type(), uint64_t(p_.tileBytes(g_) / 4))));
  slot->setAlignment(llvm::Align(64));
  packed_ = slot;
  accumulators_.clear();
  for (int64_t i = 0; i < p_.channels * p_.vectors; ++i) accumulators_.push_back(k_.stackSlot(vectorType_));

  forEachRowTile(k_, g_.ow, p_.tileWidth(), [&](int64_t start) { return tileIsInside(start); },
                 [&](int64_t constantStart, llvm::Value *start, bool masked, int64_t storedUpTo) {
                   emitTile(constantStart, start, masked, storedUpTo);
                 });
}

void PackedEmitter::emitTile(int64_t constantStart, llvm::Value *start, bool masked, int64_t storedUpTo) {
  pack(constantStart, start, masked);
  int64_t blocks = g_.oc / p_.channels, tail = g_.oc % p_.channels;
  k_.loop(k_.i64(0), k_.i64(blocks), [&](llvm::Value *block) {
    computeBlock(k_.mul(block, p_.channels), p_.channels, constantStart, start, storedUpTo);
  });
  if (tail) computeBlock(k_.i64(blocks * p_.channels), tail, constantStart, start, storedUpTo);
}

/// Copies the tile's input rows into P; rows outside the image become zeros.
void PackedEmitter::pack(int64_t constantStart, llvm::Value *start, bool masked) {
  llvm::Value *first = k_.add(k_.mul(start, g_.strideW), -g_.padL);
  int64_t constantFirst = constantStart * g_.strideW - g_.padL, rowFloats = p_.rowFloats(g_);
  for (int64_t kh = 0; kh < g_.kh; ++kh) {
    llvm::Value *ih = k_.add(ih0_, kh * g_.dilH);
    llvm::Value *inside = ir_.CreateAnd(ir_.CreateICmpSGE(ih, k_.i64(0)), ir_.CreateICmpSLT(ih, k_.i64(g_.h)));
    k_.ifThenElse(inside, [&] {
      k_.loop(0, g_.ic, [&](llvm::Value *ic) {
        llvm::Value *inRow = k_.element(inImage_, ir_.CreateAdd(k_.mul(ic, g_.h * g_.w), k_.mul(ih, g_.w)));
        llvm::Value *packedRow = k_.element(packed_, k_.mul(k_.add(k_.mul(ic, g_.kh), kh), rowFloats));
        packRow(inRow, packedRow, first, constantFirst, masked);
      });
    }, [&] {
      llvm::Value *zero = llvm::Constant::getNullValue(vectorType_);
      k_.loop(0, g_.ic, [&](llvm::Value *ic) {
        llvm::Value *packedRow = k_.element(packed_, k_.mul(k_.add(k_.mul(ic, g_.kh), kh), rowFloats));
        for (int64_t v = 0; v < rowFloats; v += p_.lanes)
          ir_.CreateAlignedStore(zero, k_.element(packedRow, k_.i64(v)), llvm::Align(4));
      });
    });
  }
}

/// One packed row: phase q holds input columns first + q + stride * i. With `masked`, the
/// compile-time column `constantFirst` locates the lanes outside the image (read as 0).
void PackedEmitter::packRow(llvm::Value *inRow, llvm::Value *packedRow, llvm::Value *first, int64_t constantFirst,
                            bool masked) {
  int64_t s = g_.strideW, lanes = p_.lanes;
  for (int64_t v = 0; v < p_.phaseFloats; v += lanes) {
    // s consecutive vectors hold `lanes` columns of every phase, interleaved.
    std::vector<llvm::Value *> parts;
    for (int64_t part = 0; part < s; ++part) {
      int64_t offset = s * v + part * lanes;
      // Not inbounds: a tile's first vector may start in the padding, before the row.
      llvm::Value *pointer = ir_.CreateGEP(k_.f32Type(), inRow, k_.add(first, offset));
      if (!masked) {
        parts.push_back(ir_.CreateAlignedLoad(vectorType_, pointer, llvm::Align(4)));
        continue;
      }
      std::vector<bool> inside(static_cast<size_t>(lanes));
      for (int64_t l = 0; l < lanes; ++l) inside[size_t(l)] = constantFirst + offset + l >= 0 && constantFirst + offset + l < g_.w;
      llvm::Value *loaded = loadColumns(k_, vectorType_, pointer, inside);
      parts.push_back(loaded ? loaded : llvm::Constant::getNullValue(vectorType_));
    }
    for (int64_t q = 0; q < s; ++q) {
      llvm::Value *phase = parts[0];
      if (s == 2) {
        std::vector<int> pick;
        for (int64_t l = 0; l < lanes; ++l) pick.push_back(int(2 * l + q));
        phase = ir_.CreateShuffleVector(parts[0], parts[1], pick);
      }
      ir_.CreateAlignedStore(phase, k_.element(packedRow, k_.i64(q * p_.phaseFloats + v)), llvm::Align(4));
    }
  }
}

/// Output channels [oc0, oc0 + channels) of the tile, from P.
void PackedEmitter::computeBlock(llvm::Value *oc0, int64_t channels, int64_t constantStart, llvm::Value *start,
                                 int64_t storedUpTo) {
  llvm::Value *zero = llvm::Constant::getNullValue(vectorType_);
  for (int64_t i = 0; i < channels * p_.vectors; ++i) ir_.CreateStore(zero, accumulators_[size_t(i)]);
  int64_t taps = g_.kh * g_.kw, rowFloats = p_.rowFloats(g_);
  // Weights [OC / B][IC][KH][KW][B] (packConvWeights): a tap's `channels` scalars are adjacent.
  llvm::Value *weights = k_.element(k_.blobPointer(weightsOffset_), k_.mul(oc0, g_.ic * taps));
  k_.loop(0, g_.ic, [&](llvm::Value *ic) {
    k_.loop(0, g_.kh, [&](llvm::Value *kh) {
      llvm::Value *row = ir_.CreateAdd(k_.mul(ic, g_.kh), kh);
      llvm::Value *packedRow = k_.element(packed_, k_.mul(row, rowFloats));
      llvm::Value *tapWeights = k_.element(weights, k_.mul(row, g_.kw * channels));
      for (int64_t kw = 0; kw < g_.kw; ++kw) {
        int64_t phase = kw * g_.dilW % g_.strideW, offset = kw * g_.dilW / g_.strideW;
        std::vector<llvm::Value *> inputs;
        for (int64_t j = 0; j < p_.vectors; ++j) {
          llvm::Value *pointer = k_.element(packedRow, k_.i64(phase * p_.phaseFloats + offset + j * p_.lanes));
          inputs.push_back(ir_.CreateAlignedLoad(vectorType_, pointer, llvm::Align(4)));
        }
        for (int64_t o = 0; o < channels; ++o) {
          llvm::Value *weight =
              ir_.CreateVectorSplat(unsigned(p_.lanes), k_.loadF32(tapWeights, k_.i64(kw * channels + o)));
          for (int64_t j = 0; j < p_.vectors; ++j) {
            llvm::Value *slot = accumulators_[size_t(o * p_.vectors + j)];
            llvm::Value *acc = ir_.CreateLoad(vectorType_, slot);
            acc = ir_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vectorType_}, {weight, inputs[size_t(j)], acc});
            ir_.CreateStore(acc, slot);
          }
        }
      }
    });
  });
  ConvRowTarget target{outRow_, residualRow_, g_.oh * g_.ow, p_.lanes};
  storeRowTile(k_, epilogue_, target, accumulators_, channels, p_.vectors, oc0, start, constantStart, storedUpTo);
}

} // namespace

bool packedConvApplies(const Node &node, const Schedule &schedule) {
  if (node.op != OpId::conv2d && node.op != OpId::fused_conv) return false;
  if (node.attrInt("groups") != 1) return false;
  ConvGeometry g = convGeometry(node);
  if ((g.strideW != 1 && g.strideW != 2) || g.ow < schedule.vectorWidth) return false;
  // Where packing pays (measured on BiSeNet's convs): strided taps and 1x1 convs over many
  // channel planes, shared by several channel blocks. Stride-1 3x3 convs that are not
  // Winograd's are as fast in the plain microkernel; a few input channels do not collide.
  bool strided = g.strideW == 2, pointwise = g.kh == 1 && g.kw == 1;
  return (strided || pointwise) && g.ic >= kMinPackedChannels && g.oc > schedule.channelBlock &&
         packPlan(g, schedule).vectors >= 1;
}

KernelSpec emitPackedConv(const Node &node, const ConvEpilogue &epilogue, EmitContext &context) {
  const Schedule &schedule = context.defaults;
  if (!packedConvApplies(node, schedule))
    fail("codegen: node %{}: the packed-tile conv needs groups 1, stride 1 or 2, rows of at least {} columns, "
         "more than {} output channels and a tile within {} KiB", node.name(), schedule.vectorWidth,
         schedule.channelBlock, kPackedTileBudget / 1024);
  ConvGeometry g = convGeometry(node);
  PackPlan p = packPlan(g, schedule);
  std::vector<float> packed = packConvWeights(weightData(node, 1), p.channels);
  int64_t offset = context.buffers.blob->add(packed.data(), packed.size() * sizeof(float));
  KernelSpec spec{"conv_packed", schedule, {}};
  spec.schedule.parallelCount = g.n * g.oh;
  spec.schedule.channelBlock = p.channels;
  spec.schedule.vectorBlock = p.vectors;
  spec.schedule.tileRows = 1;
  const Value *x = node.inputs[0], *y = node.result;
  spec.body = [=](KernelBuilder &k, llvm::Value *index) {
    PackedEmitter(k, g, p, epilogue, x, y, offset).emitIteration(index);
  };
  return spec;
}

} // namespace bisc
