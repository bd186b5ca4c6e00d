//===- emit_winograd.cpp - Winograd F(4x4, 3x3) dense convolution ---------===//
//
// One parallel iteration (channel-block group, image n, tile row tr, group gr) computes
// output rows 4 tr .. 4 tr + 3 for the columns of tileVectors x vectorWidth adjacent 4x4
// tiles (one vector lane per tile):
//
//   V[xi][ic][tiles] = (B^T d B)[xi]               d: 6x6 input tile, rows outside the image
//                                                  and masked-off columns read as 0
//   for each block of CB output channels in the group:
//     M[xi][o][tiles] = sum over ic of U[xi][ic][o] * V[xi][ic]
//                                                  36 GEMMs, registerBlock x tileVectors
//                                                  accumulators, U broadcast
//     out[o][4 tr + a][tile columns] = epilogue((A^T M[o] A)[a][...]), interleaved back to
//                                                  contiguous columns
//
// V and M live on the stack. A group holds as many channel blocks as keep its U within
// kWholeInputWeightBudget; the group is outermost, so a thread walks the image with the same
// U. When V of every input channel does not fit kWholeInputBudget, a group is one block and
// V is built and consumed in chunks of input channels within kStackBudget, redoing the input
// transform for each channel block.
// Input columns are gathered with shufflevector from contiguous loads whose lane masks are
// computed once per iteration (columns in the padding read as 0); iterations that touch no
// padding and store whole tiles take unmasked paths. Groups cover the row exactly; the last
// one is shifted left to end at the row's end and stores only the columns its predecessor
// did not, because the output may share its buffer with the residual.
#include "compiler/codegen/emit_winograd.h"

#include "compiler/codegen/winograd_math.h"

#include "ir/error.h"

#include <llvm/IR/Intrinsics.h>

#include <array>

namespace bisc {

namespace {

using winograd::kPoints; // the transforms: winograd_math.h
constexpr int64_t kMinChannels = 16;
/// How many input channels ahead the input transform prefetches.
constexpr int64_t kPrefetchChannels = 2;
/// Stack bytes of V and M together; M gets at most kAccumulatorBudget of it. With the whole
/// input transform on the stack (V of every input channel), the budget is kWholeInputBudget:
/// V, M and a block of U then share a 2 MiB L2.
constexpr int64_t kStackBudget = 256 * 1024, kAccumulatorBudget = 192 * 1024;
constexpr int64_t kWholeInputBudget = 1024 * 1024;
/// Every iteration with the whole input streams the U of its channel blocks from the
/// last-level cache; this bounds those bytes. Measured on a 2 MiB-L2 Xeon (128 input
/// channels, 64x128 map): all blocks in one iteration ran 1.2x faster than chunks with 256
/// or 512 output channels (U 4.7 / 9.4 MiB) and 1.4x slower with 1024 (18.9 MiB).
constexpr int64_t kWholeInputWeightBudget = 8 * 1024 * 1024;

struct Geometry {
  int64_t n, ic, h, w, oc, oh, ow, padT, padL;
};

Geometry geometry(const Node &node) {
  const Shape &x = node.inputs[0]->type.shape, &y = node.result->type.shape;
  auto pads = node.attrInts("pads");
  return {x[0], x[1], x[2], x[3], y[1], y[2], y[3], pads[0], pads[1]};
}

/// Block sizes, all fixed at compile time.
struct Plan {
  int64_t lanes, tileVectors;       ///< a group is tileVectors x lanes tiles
  int64_t registerBlock;            ///< output channels per GEMM register block
  int64_t blockRegisters, blocks;   ///< register blocks per channel block, channel blocks
  int64_t icChunk, chunks;
  int64_t tileRows, groups;
  /// V holds every input channel: one iteration transforms its input once and runs every
  /// channel block (else channel blocks are iterations and each redoes the transform).
  bool wholeInput;
  int64_t blocksPerIteration; ///< with wholeInput: channel blocks run on one transform
  int64_t tiles() const { return lanes * tileVectors; }
  int64_t groupWidth() const { return 4 * tiles(); }
  int64_t channelBlock() const { return blockRegisters * registerBlock; }
  /// Floats of one transform point for one channel: a vector per tile vector.
  int64_t pointFloats() const { return tiles(); }
};

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

Plan plan(const Geometry &g, const Schedule &defaults) {
  Plan p{};
  p.lanes = defaults.vectorWidth;
  // The microkernel's register budget (accumulators) is what the GEMM may hold too.
  int64_t accumulators = std::max<int64_t>(4, defaults.channelBlock * defaults.vectorBlock);
  p.tileVectors = g.ow >= 8 * p.lanes && accumulators >= 8 ? 2 : 1;
  // The register block in [max/2, max] that pads the output channels least (ties: larger).
  int64_t maxBlock = accumulators / p.tileVectors, best = maxBlock;
  for (int64_t r = maxBlock; r >= std::max<int64_t>(1, (maxBlock + 1) / 2); --r)
    if (ceilDiv(g.oc, r) * r < ceilDiv(g.oc, best) * best) best = r;
  p.registerBlock = best;
  int64_t registerBlocks = ceilDiv(g.oc, best);
  int64_t channelBytes = kPoints * p.pointFloats() * 4;
  int64_t maxBlockRegisters = std::max<int64_t>(1, kAccumulatorBudget / channelBytes / best);
  p.blocks = ceilDiv(registerBlocks, maxBlockRegisters);
  p.blockRegisters = ceilDiv(registerBlocks, p.blocks);
  p.wholeInput = p.blocks > 1 && (g.ic + p.channelBlock()) * channelBytes <= kWholeInputBudget;
  int64_t blockWeightBytes = kPoints * g.ic * p.channelBlock() * 4;
  // Groups of equal size: a lone short group leaves threads idle (4 blocks as 3 + 1 left one
  // of two threads idle for three quarters of the kernel).
  int64_t largestGroup = std::clamp<int64_t>(kWholeInputWeightBudget / blockWeightBytes, 1, p.blocks);
  p.blocksPerIteration = p.wholeInput ? ceilDiv(p.blocks, ceilDiv(p.blocks, largestGroup)) : 1;
  int64_t left = kStackBudget - p.channelBlock() * channelBytes;
  int64_t chunk = p.wholeInput ? g.ic : std::clamp<int64_t>(left / channelBytes, 1, g.ic);
  p.chunks = ceilDiv(g.ic, chunk);
  p.icChunk = ceilDiv(g.ic, p.chunks);
  p.tileRows = ceilDiv(g.oh, 4);
  p.groups = ceilDiv(g.ow, p.groupWidth());
  return p;
}

/// U[cb][xi][ic][o] = (G g G^T)[xi] for output channel cb * CB + o (0 past the last channel),
/// so the GEMM's broadcast scalars of one (xi, ic) are adjacent.
std::vector<float> transformWeights(const Tensor &weight, const Geometry &g, const Plan &p) {
  std::span<const float> w = weight.f32();
  int64_t cbWidth = p.channelBlock();
  std::vector<float> packed(size_t(p.blocks * kPoints * g.ic * cbWidth), 0.0f);
  for (int64_t oc = 0; oc < g.oc; ++oc)
    for (int64_t ic = 0; ic < g.ic; ++ic) {
      const float *kernel = &w[size_t((oc * g.ic + ic) * 9)];
      std::array<float, kPoints> u = winograd::transformKernel(kernel);
      int64_t cb = oc / cbWidth, o = oc % cbWidth;
      for (int64_t xi = 0; xi < kPoints; ++xi)
        packed[size_t(((cb * kPoints + xi) * g.ic + ic) * cbWidth + o)] = u[size_t(xi)];
    }
  return packed;
}

class WinogradEmitter {
public:
  WinogradEmitter(KernelBuilder &k, const Geometry &g, const Plan &p, const ConvEpilogue &epilogue,
                  const Value *x, const Value *y, int64_t weightsOffset)
      : k_(k), ir_(k.ir()), g_(g), p_(p), epilogue_(epilogue), x_(x), y_(y), weightsOffset_(weightsOffset),
        vectorType_(llvm::FixedVectorType::get(k.f32Type(), unsigned(p.lanes))), transforms_(ir_, vectorType_) {}

  void emitIteration(llvm::Value *index);

private:
  void selectBlock(llvm::Value *cb);
  void transformChunk(llvm::Value *c0);
  void transformOutputs();
  void prepareColumns();
  void prepareRows();
  void transformInput(llvm::Value *ic, llvm::Value *icInChunk, bool masked);
  void prefetchInput(llvm::Value *plane);
  void multiply(llvm::Value *c0, llvm::Value *count);
  void transformOutput(llvm::Value *o, bool masked);
  void storeRow(const std::array<llvm::Value *, 4> &row, llvm::Value *channel, int64_t a, int64_t j,
                llvm::Value *bias, bool masked);

  using Six = winograd::VectorTransforms::Six;
  Six transformInput6(const Six &d) { return transforms_.input(d); }
  std::array<llvm::Value *, 4> transformOutput6(const Six &m) { return transforms_.output(m); }
  llvm::Value *concat(std::vector<llvm::Value *> parts, int64_t width);
  llvm::Value *laneIndices();
  llvm::Value *firstTwoLanes() {
    std::vector<llvm::Constant *> used;
    for (int64_t l = 0; l < p_.lanes; ++l) used.push_back(ir_.getInt1(l < 2));
    return llvm::ConstantVector::get(used);
  }
  llvm::Value *vectorAt(llvm::Value *base, llvm::Value *index) {
    return ir_.CreateAlignedLoad(vectorType_, k_.element(base, index), llvm::Align(4));
  }
  llvm::Value *stackArray(int64_t floats);

  KernelBuilder &k_;
  llvm::IRBuilder<> &ir_;
  Geometry g_;
  Plan p_;
  ConvEpilogue epilogue_;
  const Value *x_, *y_;
  int64_t weightsOffset_;
  llvm::FixedVectorType *vectorType_;
  winograd::VectorTransforms transforms_;
  // Per iteration:
  llvm::Value *cb_ = nullptr, *n_ = nullptr, *tr_ = nullptr, *x0_ = nullptr, *firstNew_ = nullptr;
  llvm::Value *inImage_ = nullptr, *outImage_ = nullptr, *residualImage_ = nullptr;
  llvm::Value *v_ = nullptr, *m_ = nullptr, *u_ = nullptr, *blockRegisters_ = nullptr;
  std::vector<llvm::Value *> columnMasks_;         ///< [tileVector][5] input load masks
  std::array<llvm::Value *, 6> rowValid_{}, rowIndex_{};
  llvm::Value *inputInside_ = nullptr, *outputInside_ = nullptr;
  std::vector<llvm::Value *> accumulators_;
};

llvm::Value *WinogradEmitter::stackArray(int64_t floats) {
  auto *slot = llvm::cast<llvm::AllocaInst>(k_.stackSlot(llvm::ArrayType::get(k_.f32Type(), uint64_t(floats))));
  slot->setAlignment(llvm::Align(64));
  return slot;
}

llvm::Value *WinogradEmitter::laneIndices() {
  std::vector<llvm::Constant *> lanes;
  for (int64_t l = 0; l < p_.lanes; ++l) lanes.push_back(llvm::ConstantInt::get(ir_.getInt64Ty(), uint64_t(l)));
  return llvm::ConstantVector::get(lanes);
}

void WinogradEmitter::emitIteration(llvm::Value *index) {
  llvm::Value *gr = ir_.CreateSRem(index, k_.i64(p_.groups));
  llvm::Value *rest = ir_.CreateSDiv(index, k_.i64(p_.groups));
  tr_ = ir_.CreateSRem(rest, k_.i64(p_.tileRows));
  rest = ir_.CreateSDiv(rest, k_.i64(p_.tileRows));
  n_ = ir_.CreateSRem(rest, k_.i64(g_.n));
  // With wholeInput: the first of the iteration's blocksPerIteration channel blocks.
  llvm::Value *cb = k_.mul(ir_.CreateSDiv(rest, k_.i64(g_.n)), p_.wholeInput ? p_.blocksPerIteration : 1);
  firstNew_ = k_.mul(gr, p_.groupWidth());
  x0_ = k_.minI(firstNew_, k_.i64(g_.ow - p_.groupWidth()));
  inImage_ = k_.element(k_.base(x_), k_.mul(n_, g_.ic * g_.h * g_.w));
  llvm::Value *outOffset = k_.mul(n_, g_.oc * g_.oh * g_.ow);
  outImage_ = k_.element(k_.base(y_), outOffset);
  residualImage_ = epilogue_.residual ? k_.element(k_.base(epilogue_.residual), outOffset) : nullptr;
  v_ = stackArray(kPoints * p_.icChunk * p_.pointFloats());
  m_ = stackArray(kPoints * p_.channelBlock() * p_.pointFloats());
  accumulators_.clear();
  for (int64_t i = 0; i < p_.registerBlock * p_.tileVectors; ++i) accumulators_.push_back(k_.stackSlot(vectorType_));
  prepareColumns();
  prepareRows();
  // Most iterations read no padding and store whole tiles: those take unmasked paths.
  llvm::Value *left = k_.add(x0_, -g_.padL), *top = k_.add(k_.mul(tr_, 4), -g_.padT);
  inputInside_ = ir_.CreateAnd(
      ir_.CreateAnd(ir_.CreateICmpSGE(left, k_.i64(0)), ir_.CreateICmpSLE(left, k_.i64(g_.w - 4 * p_.tiles() - 2))),
      ir_.CreateAnd(ir_.CreateICmpSGE(top, k_.i64(0)), ir_.CreateICmpSLE(top, k_.i64(g_.h - 6))));
  outputInside_ = ir_.CreateAnd(ir_.CreateICmpEQ(x0_, firstNew_),
                                ir_.CreateICmpSLE(k_.mul(tr_, 4), k_.i64(g_.oh - 4)));

  if (p_.wholeInput) {
    transformChunk(k_.i64(0));
    llvm::Value *lastBlock = k_.minI(k_.add(cb, p_.blocksPerIteration), k_.i64(p_.blocks));
    k_.loop(cb, lastBlock, [&](llvm::Value *block) {
      selectBlock(block);
      multiply(k_.i64(0), k_.i64(g_.ic));
      transformOutputs();
    });
    return;
  }
  selectBlock(cb);
  k_.loop(k_.i64(0), k_.i64(g_.ic), [&](llvm::Value *c0) {
    transformChunk(c0);
    multiply(c0, k_.minI(k_.i64(p_.icChunk), ir_.CreateSub(k_.i64(g_.ic), c0)));
  }, p_.icChunk);
  transformOutputs();
}

/// Output channel block `cb`: its transformed weights and register blocks.
void WinogradEmitter::selectBlock(llvm::Value *cb) {
  cb_ = cb;
  u_ = k_.element(k_.blobPointer(weightsOffset_), k_.mul(cb_, kPoints * g_.ic * p_.channelBlock()));
  int64_t registerBlocks = ceilDiv(g_.oc, p_.registerBlock);
  blockRegisters_ = k_.minI(k_.i64(p_.blockRegisters),
                            ir_.CreateSub(k_.i64(registerBlocks), k_.mul(cb_, p_.blockRegisters)));
}

/// V for the input channels [c0, c0 + icChunk).
void WinogradEmitter::transformChunk(llvm::Value *c0) {
  llvm::Value *count = k_.minI(k_.i64(p_.icChunk), ir_.CreateSub(k_.i64(g_.ic), c0));
  k_.loop(k_.i64(0), count, [&](llvm::Value *i) {
    llvm::Value *ic = ir_.CreateAdd(c0, i);
    k_.ifThenElse(inputInside_, [&] { transformInput(ic, i, false); }, [&] { transformInput(ic, i, true); });
  });
}

/// The current channel block's outputs from M.
void WinogradEmitter::transformOutputs() {
  llvm::Value *channels = k_.minI(k_.i64(p_.channelBlock()),
                                  ir_.CreateSub(k_.i64(g_.oc), k_.mul(cb_, p_.channelBlock())));
  k_.loop(k_.i64(0), channels, [&](llvm::Value *o) {
    k_.ifThenElse(outputInside_, [&] { transformOutput(o, false); }, [&] { transformOutput(o, true); });
  });
}

/// Masks of the 5 vectors loaded per input row and tile vector: lanes whose column is inside
/// the image and among the 4 x lanes + 2 columns the tile vector's tiles read.
void WinogradEmitter::prepareColumns() {
  columnMasks_.clear();
  llvm::Value *lanes = laneIndices();
  auto *indexType = llvm::FixedVectorType::get(ir_.getInt64Ty(), unsigned(p_.lanes));
  for (int64_t j = 0; j < p_.tileVectors; ++j)
    for (int64_t part = 0; part < 5; ++part) {
      int64_t offset = j * 4 * p_.lanes + part * p_.lanes;
      llvm::Value *first = k_.add(x0_, offset - g_.padL);
      llvm::Value *columns = ir_.CreateAdd(ir_.CreateVectorSplat(unsigned(p_.lanes), first), lanes);
      llvm::Value *inside = ir_.CreateAnd(ir_.CreateICmpSGE(columns, llvm::Constant::getNullValue(indexType)),
                                          ir_.CreateICmpSLT(columns, ir_.CreateVectorSplat(unsigned(p_.lanes), k_.i64(g_.w))));
      if (part == 4) inside = ir_.CreateAnd(inside, firstTwoLanes()); // the only lanes used
      columnMasks_.push_back(inside);
    }
}

/// Input rows 4 tr - padT + r: whether each is inside the image, and a clamped row to address.
void WinogradEmitter::prepareRows() {
  llvm::Value *top = k_.add(k_.mul(tr_, 4), -g_.padT);
  for (int64_t r = 0; r < 6; ++r) {
    llvm::Value *row = k_.add(top, r);
    rowValid_[size_t(r)] = ir_.CreateAnd(ir_.CreateICmpSGE(row, k_.i64(0)), ir_.CreateICmpSLT(row, k_.i64(g_.h)));
    rowIndex_[size_t(r)] = k_.minI(k_.maxI(row, k_.i64(0)), k_.i64(g_.h - 1));
  }
}

/// The vectors `parts` (each `width` lanes; a count that is a power of two) side by side.
llvm::Value *WinogradEmitter::concat(std::vector<llvm::Value *> parts, int64_t width) {
  while (parts.size() > 1) {
    std::vector<llvm::Value *> joined;
    std::vector<int> mask;
    for (int64_t l = 0; l < 2 * width; ++l) mask.push_back(int(l));
    for (size_t i = 0; i + 1 < parts.size(); i += 2) joined.push_back(ir_.CreateShuffleVector(parts[i], parts[i + 1], mask));
    parts = std::move(joined);
    width *= 2;
  }
  return parts[0];
}

/// V[xi][icInChunk][tiles] = (B^T d B)[xi] for input channel `ic`.
/// `masked`: rows outside the image and columns in the padding read as 0; otherwise every
/// column and row read must be inside the image.
void WinogradEmitter::transformInput(llvm::Value *ic, llvm::Value *icInChunk, bool masked) {
  llvm::Value *plane = k_.element(inImage_, k_.mul(ic, g_.h * g_.w));
  int64_t wide = 4 * p_.lanes;
  prefetchInput(ir_.CreateGEP(k_.f32Type(), plane, k_.i64(kPrefetchChannels * g_.h * g_.w)));
  for (int64_t j = 0; j < p_.tileVectors; ++j) {
    // d[r][part]: input row r, columns x0 - padL + 4 lanes j + part lanes + [0, lanes).
    llvm::Value *d[6][5];
    for (int64_t r = 0; r < 6; ++r) {
      llvm::Value *row = k_.element(plane, k_.mul(rowIndex_[size_t(r)], g_.w));
      llvm::Value *valid = ir_.CreateVectorSplat(unsigned(p_.lanes), rowValid_[size_t(r)]);
      for (int64_t part = 0; part < 5; ++part) {
        // Not inbounds: the first vector of a row may start in the padding, before the tensor.
        llvm::Value *column = k_.add(x0_, j * wide + part * p_.lanes - g_.padL);
        llvm::Value *pointer = ir_.CreateGEP(k_.f32Type(), row, column);
        llvm::Value *mask = masked ? ir_.CreateAnd(columnMasks_[size_t(j * 5 + part)], valid)
                                   : part == 4 ? firstTwoLanes() : nullptr;
        d[r][part] = mask ? (llvm::Value *)ir_.CreateMaskedLoad(vectorType_, pointer, llvm::Align(4), mask,
                                                 llvm::Constant::getNullValue(vectorType_))
                          : ir_.CreateAlignedLoad(vectorType_, pointer, llvm::Align(4));
      }
    }
    // Row transform on contiguous columns, then gather column c of every tile: lane t
    // takes column 4 t + c of the 4 lanes + 2 columns.
    std::array<Six, 5> rows; // rows[part][i]
    for (int64_t part = 0; part < 5; ++part)
      rows[size_t(part)] = transformInput6({d[0][part], d[1][part], d[2][part], d[3][part], d[4][part], d[5][part]});
    for (int64_t i = 0; i < 6; ++i) {
      std::vector<llvm::Value *> parts;
      for (int64_t part = 0; part < 5; ++part) parts.push_back(rows[size_t(part)][size_t(i)]);
      llvm::Value *low = concat({parts[0], parts[1], parts[2], parts[3]}, p_.lanes);
      std::vector<int> widen;
      for (int64_t l = 0; l < wide; ++l) widen.push_back(l < p_.lanes ? int(l) : -1);
      llvm::Value *high = ir_.CreateShuffleVector(parts[4], widen);
      Six columns;
      for (int64_t c = 0; c < 6; ++c) {
        // Columns 4 and 5 are columns 0 and 1 one tile on: a one-lane shift, not a gather.
        std::vector<int> gather;
        for (int64_t t = 0; t < p_.lanes; ++t)
          gather.push_back(c < 4 ? int(4 * t + c) : t + 1 < p_.lanes ? int(t + 1) : int(p_.lanes + c - 4));
        columns[size_t(c)] = c < 4 ? ir_.CreateShuffleVector(low, high, gather)
                                   : ir_.CreateShuffleVector(columns[size_t(c - 4)], parts[4], gather);
      }
      Six transformed = transformInput6(columns);
      for (int64_t kk = 0; kk < 6; ++kk) {
        llvm::Value *value = transformed[size_t(kk)];
        int64_t xi = i * 6 + kk;
        llvm::Value *slot = ir_.CreateAdd(k_.mul(k_.add(icInChunk, xi * p_.icChunk), p_.pointFloats()),
                                          k_.i64(j * p_.lanes));
        ir_.CreateAlignedStore(value, k_.element(v_, slot), llvm::Align(4));
      }
    }
  }
}

/// The tile rows' input columns of a plane a few channels ahead: they come from far apart
/// rows of a large tensor, which the hardware prefetchers do not follow. Prefetches past
/// the tensor's end are harmless (they never fault).
void WinogradEmitter::prefetchInput(llvm::Value *plane) {
  int64_t span = 4 * p_.tiles() + 2, lineFloats = 16;
  for (int64_t r = 0; r < 6; ++r) {
    llvm::Value *row = ir_.CreateGEP(k_.f32Type(), plane, k_.mul(rowIndex_[size_t(r)], g_.w));
    for (int64_t column = 0; column < span + lineFloats - 1; column += lineFloats) {
      llvm::Value *pointer = ir_.CreateGEP(k_.f32Type(), row, k_.add(x0_, column - g_.padL));
      k_.prefetch(pointer);
    }
  }
}

/// M[xi][o] (+)= sum over the chunk's ic of U[xi][ic][o] * V[xi][ic]; the first chunk starts at 0.
void WinogradEmitter::multiply(llvm::Value *c0, llvm::Value *count) {
  int64_t rb = p_.registerBlock, tv = p_.tileVectors, point = p_.pointFloats();
  llvm::Value *zero = llvm::Constant::getNullValue(vectorType_);
  k_.loop(k_.i64(0), k_.i64(kPoints), [&](llvm::Value *xi) {
    k_.loop(k_.i64(0), blockRegisters_, [&](llvm::Value *block) {
      llvm::Value *o0 = k_.mul(block, rb);
      // M[xi][o0 + r] as element offset.
      auto mIndex = [&](int64_t r, int64_t j) {
        return k_.add(k_.mul(ir_.CreateAdd(k_.mul(xi, p_.channelBlock()), k_.add(o0, r)), point), j * p_.lanes);
      };
      k_.ifThenElse(ir_.CreateICmpEQ(c0, k_.i64(0)),
          [&] { for (llvm::Value *slot : accumulators_) ir_.CreateStore(zero, slot); },
          [&] {
            for (int64_t r = 0; r < rb; ++r)
              for (int64_t j = 0; j < tv; ++j)
                ir_.CreateStore(vectorAt(m_, mIndex(r, j)), accumulators_[size_t(r * tv + j)]);
          });
      llvm::Value *uPoint = k_.element(u_, k_.mul(xi, g_.ic * p_.channelBlock()));
      k_.loop(k_.i64(0), count, [&](llvm::Value *i) {
        std::vector<llvm::Value *> inputs;
        llvm::Value *vIndex = k_.mul(k_.mul(xi, p_.icChunk), point);
        vIndex = ir_.CreateAdd(vIndex, k_.mul(i, point));
        for (int64_t j = 0; j < tv; ++j) inputs.push_back(vectorAt(v_, k_.add(vIndex, j * p_.lanes)));
        llvm::Value *uRow = k_.element(uPoint, ir_.CreateAdd(k_.mul(ir_.CreateAdd(c0, i), p_.channelBlock()), o0));
        for (int64_t r = 0; r < rb; ++r) {
          llvm::Value *weight = ir_.CreateVectorSplat(unsigned(p_.lanes), k_.loadF32(uRow, k_.i64(r)));
          for (int64_t j = 0; j < tv; ++j) {
            llvm::Value *slot = accumulators_[size_t(r * tv + j)];
            llvm::Value *acc = ir_.CreateLoad(vectorType_, slot);
            acc = ir_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vectorType_}, {weight, inputs[size_t(j)], acc});
            ir_.CreateStore(acc, slot);
          }
        }
      });
      for (int64_t r = 0; r < rb; ++r)
        for (int64_t j = 0; j < tv; ++j)
          ir_.CreateAlignedStore(ir_.CreateLoad(vectorType_, accumulators_[size_t(r * tv + j)]),
                                 k_.element(m_, mIndex(r, j)), llvm::Align(4));
    });
  });
}

/// Output channel cb CB + o: A^T M A per tile vector, then the epilogue and the stores.
void WinogradEmitter::transformOutput(llvm::Value *o, bool masked) {
  llvm::Value *channel = ir_.CreateAdd(k_.mul(cb_, p_.channelBlock()), o);
  llvm::Value *bias = epilogue_.bias
      ? ir_.CreateVectorSplat(unsigned(p_.lanes), k_.loadF32(k_.base(epilogue_.bias), channel))
      : nullptr;
  for (int64_t j = 0; j < p_.tileVectors; ++j) {
    std::array<llvm::Value *, kPoints> m;
    for (int64_t xi = 0; xi < kPoints; ++xi)
      m[size_t(xi)] = vectorAt(m_, k_.add(k_.mul(k_.add(o, xi * p_.channelBlock()), p_.pointFloats()), j * p_.lanes));
    // t[c][a] = (A^T M)[a][c], then row a of the tile = A^T applied to (t[0][a] .. t[5][a]).
    std::array<std::array<llvm::Value *, 4>, 6> t;
    for (int64_t c = 0; c < 6; ++c) {
      Six column;
      for (int64_t r = 0; r < 6; ++r) column[size_t(r)] = m[size_t(r * 6 + c)];
      t[size_t(c)] = transformOutput6(column);
    }
    for (int64_t a = 0; a < 4; ++a) {
      Six row;
      for (int64_t c = 0; c < 6; ++c) row[size_t(c)] = t[size_t(c)][size_t(a)];
      storeRow(transformOutput6(row), channel, a, j, bias, masked);
    }
  }
}

/// Output row 4 tr + a of tile vector j: row[b] lane t is column 4 t + b of the tile vector's
/// 4 x lanes columns. `masked`: the row may be past the output's end and the group may be the
/// shifted last one; otherwise the row and all its columns are stored.
void WinogradEmitter::storeRow(const std::array<llvm::Value *, 4> &row, llvm::Value *channel, int64_t a,
                               int64_t j, llvm::Value *bias, bool masked) {
  llvm::Value *oh = k_.add(k_.mul(tr_, 4), a);
  auto store = [&] {
    llvm::Value *all = concat({row[0], row[1], row[2], row[3]}, p_.lanes);
    llvm::Value *zero = llvm::Constant::getNullValue(vectorType_);
    llvm::Value *rowOffset = ir_.CreateAdd(k_.mul(channel, g_.oh * g_.ow), k_.mul(oh, g_.ow));
    for (int64_t q = 0; q < 4; ++q) {
      std::vector<int> interleave;
      for (int64_t l = 0; l < p_.lanes; ++l) {
        int64_t column = q * p_.lanes + l;
        interleave.push_back(int((column % 4) * p_.lanes + column / 4));
      }
      llvm::Value *value = ir_.CreateShuffleVector(all, interleave);
      if (bias) value = ir_.CreateFAdd(value, bias);
      llvm::Value *first = k_.add(x0_, j * 4 * p_.lanes + q * p_.lanes);
      // Columns the previous group finished are left alone (the shifted last group).
      llvm::Value *fresh = nullptr;
      if (masked) {
        llvm::Value *columns = ir_.CreateAdd(ir_.CreateVectorSplat(unsigned(p_.lanes), first), laneIndices());
        fresh = ir_.CreateICmpSGE(columns, ir_.CreateVectorSplat(unsigned(p_.lanes), firstNew_));
      }
      llvm::Value *index = ir_.CreateAdd(rowOffset, first);
      auto residual = [&] {
        llvm::Value *pointer = k_.element(residualImage_, index);
        return fresh ? (llvm::Value *)ir_.CreateMaskedLoad(vectorType_, pointer, llvm::Align(4), fresh, zero)
                     : ir_.CreateAlignedLoad(vectorType_, pointer, llvm::Align(4));
      };
      if (epilogue_.residual && epilogue_.residualBeforeActivation) value = ir_.CreateFAdd(value, residual());
      if (epilogue_.relu) value = ir_.CreateSelect(ir_.CreateFCmpOLT(value, zero), zero, value);
      if (epilogue_.residual && !epilogue_.residualBeforeActivation) value = ir_.CreateFAdd(value, residual());
      llvm::Value *pointer = k_.element(outImage_, index);
      if (fresh) ir_.CreateMaskedStore(value, pointer, llvm::Align(4), fresh);
      else ir_.CreateAlignedStore(value, pointer, llvm::Align(4));
    }
  };
  if (masked) k_.ifThen(ir_.CreateICmpSLT(oh, k_.i64(g_.oh)), store);
  else store();
}

} // namespace

bool winogradApplies(const Node &node, const Schedule &defaults) {
  if (node.op != OpId::conv2d && node.op != OpId::fused_conv) return false;
  if (node.attrInt("groups") != 1) return false;
  const Shape &w = node.inputs[1]->type.shape;
  auto stride = node.attrInts("stride"), dilation = node.attrInts("dilation");
  if (w[2] != 3 || w[3] != 3 || stride[0] != 1 || stride[1] != 1 || dilation[0] != 1 || dilation[1] != 1)
    return false;
  Geometry g = geometry(node);
  // Few channels leave the per-tile transforms unamortised; the direct kernel keeps those.
  return g.ow >= 4 * defaults.vectorWidth && g.ic >= kMinChannels && g.oc >= kMinChannels;
}

KernelSpec emitWinogradConv(const Node &node, const ConvEpilogue &epilogue, EmitContext &context) {
  if (!winogradApplies(node, context.defaults))
    fail("codegen: node %{}: Winograd F(4x4,3x3) needs a dense 3x3 stride-1 undilated conv with rows of at "
         "least {} columns and >= {} input and output channels", node.name(), 4 * context.defaults.vectorWidth,
         kMinChannels);
  Geometry g = geometry(node);
  Plan p = plan(g, context.defaults);
  std::vector<float> packed = transformWeights(weightData(node, 1), g, p);
  int64_t offset = context.buffers.blob->add(packed.data(), packed.size() * sizeof(float));
  KernelSpec spec{"winograd_f4x4", context.defaults, {}};
  int64_t blockIterations = p.wholeInput ? ceilDiv(p.blocks, p.blocksPerIteration) : p.blocks;
  spec.schedule.parallelCount = blockIterations * g.n * p.tileRows * p.groups;
  spec.schedule.channelBlock = p.registerBlock;
  spec.schedule.vectorBlock = p.tileVectors;
  spec.schedule.tileRows = 4;
  const Value *x = node.inputs[0], *y = node.result;
  spec.body = [=](KernelBuilder &k, llvm::Value *index) {
    WinogradEmitter(k, g, p, epilogue, x, y, offset).emitIteration(index);
  };
  return spec;
}

} // namespace bisc
