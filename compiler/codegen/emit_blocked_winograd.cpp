//===- emit_blocked_winograd.cpp - Winograd F(4x4, 3x3) in NCHW{c}c --------===//
//
// With the channels in the vector lanes, every transform is plain vector arithmetic on the
// c channels of one pixel (the NCHW kernel, emit_winograd.cpp, gathers and interleaves
// columns instead), and the 36 GEMMs have the blocked direct conv's register block:
// `blocks` output-channel vectors x `registerTiles` tiles, weights loaded as vectors and
// transformed inputs broadcast.
//
// Output tiles (4x4) are numbered across the batch, row by row, so that a small map (deep
// layers) still fills a register block, and are cut into ranges of `rangeTiles`. One parallel
// iteration is (output-channel group, tile range):
//
//   V[xi][icb][t][0..c) = (B^T d B)[xi]       every input block; d: the 6x6 input tile,
//                                              zero outside the image
//   for each pair (`blocks` output blocks) of the group:
//     M[xi][t][b]   = sum over ic of V[xi][ic / c][t][ic % c] * U[pair][xi][ic][b]
//     out[ob + b][the tile's pixels] = epilogue(A^T M[.][t][b] A)
//
// V and M live on the stack (kStackBudget together). V is built once per iteration and every
// pair of the group runs on it; the output channels are split into groups only as far as
// keeps a group's transformed weights U within kWeightBudget, which every iteration streams
// from the last-level cache. The last range is padded with tiles past the image: they read
// zeros and store nothing. Each output pixel is stored once, reading its residual just
// before, so the output may share its buffer with the residual.
//
// Deep layers (few tiles, many channels: ResNet's layer4 has 32 tiles and 512 x 512 channels)
// would need several ranges, and every range streams all of U again (36 x 512 x 512 floats,
// 38 MB, three times). There V of the whole map is small (2.4 MB), so the node runs as two
// kernels instead: one transforms every tile into V in the node's scratch memory, the other
// runs one pair per iteration over all tiles, so U is read once (R18 at 512x1024, 1 thread:
// layer4's convs 15.7 -> 9.3 ms, layer3's about 0.85x). Taking two pairs per iteration, so
// that V too is read half as often, measured the same.
#include "compiler/codegen/emit_blocked.h"
#include "compiler/codegen/winograd_math.h"

#include "ir/error.h"

namespace bisc {

namespace {

using winograd::kPoints;
using Six = winograd::VectorTransforms::Six;

/// Fewer channels leave the per-tile transforms unamortised.
constexpr int64_t kMinChannels = 16;
/// Stack bytes of V and M together (the header promises kernels at most ~1 MiB), and of M.
constexpr int64_t kStackBudget = 1024 * 1024, kAccumulatorBudget = 256 * 1024;
/// Transformed weights one iteration streams (as in the NCHW kernel).
constexpr int64_t kWeightBudget = 8 * 1024 * 1024;
/// Largest V of the whole map that the two-kernel form keeps in scratch memory.
constexpr int64_t kSharedInputBudget = 8 * 1024 * 1024;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Sizes and block sizes, all fixed at compile time.
struct Plan {
  int64_t c, n, icBlocks, ocBlocks, h, w, oh, ow, padT, padL;
  int64_t tileCols, imageTiles, tiles;  ///< tiles per tile row, per image, in the batch
  int64_t blocks, registerTiles;        ///< register block: output vectors x tiles
  int64_t rangeTiles, ranges;           ///< rangeTiles is a multiple of registerTiles
  int64_t pairs, pairsPerGroup, groups;
  /// The two-kernel form: V of all tiles in scratch (one range), one pair per iteration.
  bool sharedInput;
  int64_t ic() const { return icBlocks * c; }
  int64_t vFloats() const { return kPoints * ic() * rangeTiles; }
  int64_t mFloats() const { return kPoints * rangeTiles * blocks * c; }
  int64_t pairFloats() const { return kPoints * ic() * blocks * c; }
};

/// Cuts the tiles into about `ranges` equal ranges of equal register blocks of at most
/// `maxRegisterTiles` tiles.
void cutRanges(Plan &p, int64_t ranges, int64_t maxRegisterTiles) {
  int64_t perRange = ceilDiv(p.tiles, ranges);
  int64_t registerBlocks = ceilDiv(perRange, maxRegisterTiles);
  p.registerTiles = ceilDiv(perRange, registerBlocks);
  p.rangeTiles = p.registerTiles * registerBlocks;
  p.ranges = ceilDiv(p.tiles, p.rangeTiles);
}

Plan plan(const Node &node, const Schedule &defaults) {
  const Shape &x = node.inputs[0]->type.shape, &y = node.result->type.shape;
  auto pads = node.attrInts("pads");
  Plan p{};
  p.c = node.result->type.channelBlock;
  p.n = x[0], p.icBlocks = x[1] / p.c, p.h = x[2], p.w = x[3];
  p.ocBlocks = y[1] / p.c, p.oh = y[2], p.ow = y[3], p.padT = pads[0], p.padL = pads[1];
  p.tileCols = ceilDiv(p.ow, 4);
  p.imageTiles = ceilDiv(p.oh, 4) * p.tileCols;
  p.tiles = p.n * p.imageTiles;
  // Two output vectors by up to 14 tiles: 4 x 6 (the direct conv's choice) measured 2-8%
  // slower here, where every broadcast is a transformed input rather than an input pixel.
  BlockedConvBlocking blocking = blockedConvBlocking(p.ocBlocks, 2, defaults);
  p.blocks = blocking.blocks;
  // Tiles per range: as many as V and M allow, then evened out over the ranges and cut into
  // equal register blocks of at most blocking.columns tiles.
  int64_t tileBytes = (kPoints * p.ic() + kPoints * p.blocks * p.c) * 4;
  int64_t maxTiles = std::max<int64_t>(1, std::min(kStackBudget / tileBytes,
                                                   kAccumulatorBudget / (kPoints * p.blocks * p.c * 4)));
  cutRanges(p, ceilDiv(p.tiles, maxTiles), blocking.columns);
  p.pairs = ceilDiv(p.ocBlocks, p.blocks);
  if (p.ranges > 1) {
    // Every range would stream all of U: the two-kernel form, if V of the whole map fits the
    // scratch budget and M of all its tiles the stack.
    Plan whole = p;
    cutRanges(whole, 1, blocking.columns);
    if (whole.vFloats() * 4 <= kSharedInputBudget && whole.mFloats() * 4 <= kStackBudget) {
      p = whole;
      p.sharedInput = true;
      p.pairsPerGroup = 1, p.groups = p.pairs;
      return p;
    }
  }
  int64_t largest = std::clamp<int64_t>(kWeightBudget / (p.pairFloats() * 4), 1, p.pairs);
  p.groups = ceilDiv(p.pairs, largest);
  p.pairsPerGroup = ceilDiv(p.pairs, p.groups);  // groups of equal size (see emit_winograd.cpp)
  p.groups = ceilDiv(p.pairs, p.pairsPerGroup);
  return p;
}

/// U[pair][xi][ic][b][0..c) = (G g G^T)[xi] of output channel (pair * blocks + b) * c + lane;
/// zero for the blocks past the last when the pairs do not divide them.
std::vector<float> transformWeights(const Tensor &weight, const Plan &p) {
  std::span<const float> w = weight.f32();
  int64_t ic = p.ic(), oc = p.ocBlocks * p.c, pairWidth = p.blocks * p.c;
  std::vector<float> packed(size_t(p.pairs * p.pairFloats()), 0.0f);
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t i = 0; i < ic; ++i) {
      std::array<float, kPoints> u = winograd::transformKernel(&w[size_t((o * ic + i) * 9)]);
      int64_t pair = o / pairWidth, inPair = o % pairWidth;
      for (int64_t xi = 0; xi < kPoints; ++xi)
        packed[size_t(pair * p.pairFloats() + (xi * ic + i) * pairWidth + inPair)] = u[size_t(xi)];
    }
  return packed;
}

/// Where a tile is: image n (clamped to the batch for addressing), its first output row and
/// column, and whether it is a tile of the image at all (the last range's padding is not).
struct TilePosition {
  llvm::Value *n, *oh0, *ow0, *real;
};

class BlockedWinogradEmitter {
public:
  /// `vOffset`: V's arena byte offset in the two-kernel form (p.sharedInput), else unused.
  BlockedWinogradEmitter(KernelBuilder &k, const Plan &p, const ConvEpilogue &epilogue, const Value *x,
                         const Value *y, int64_t weightsOffset, int64_t vOffset = -1)
      : k_(k), ir_(k.ir()), p_(p), epilogue_(epilogue), x_(x), y_(y), weightsOffset_(weightsOffset),
        vOffset_(vOffset), vector_(llvm::FixedVectorType::get(k.f32Type(), unsigned(p.c))),
        transforms_(ir_, vector_) {}

  /// One (group, range); in the two-kernel form one pair over every tile, V already built.
  void emitIteration(llvm::Value *index);
  /// The two-kernel form's first kernel: V of tile `t` (every input block) into scratch.
  void emitInputTransform(llvm::Value *t);

private:
  TilePosition position(llvm::Value *tile);
  void transformInputs();
  void transformTile(llvm::Value *t);
  void transformInput(const TilePosition &tile, llvm::Value *t, llvm::Value *icb, bool inside);
  void multiply(llvm::Value *pair);
  void transformOutputs(llvm::Value *pair);
  void transformOutput(const TilePosition &tile, llvm::Value *t, llvm::Value *ob, int64_t b, bool inside);
  void store(llvm::Value *value, llvm::Value *index, llvm::Value *bias);
  llvm::Value *vectorAt(llvm::Value *base, llvm::Value *index) {
    return ir_.CreateAlignedLoad(vector_, k_.element(base, index), llvm::Align(4));
  }
  llvm::Value *stackArray(int64_t floats) {
    auto *slot = llvm::cast<llvm::AllocaInst>(k_.stackSlot(llvm::ArrayType::get(k_.f32Type(), uint64_t(floats))));
    slot->setAlignment(llvm::Align(64));
    return slot;
  }

  KernelBuilder &k_;
  llvm::IRBuilder<> &ir_;
  Plan p_;
  ConvEpilogue epilogue_;
  const Value *x_, *y_;
  int64_t weightsOffset_, vOffset_;
  llvm::FixedVectorType *vector_;
  winograd::VectorTransforms transforms_;
  // Per iteration:
  llvm::Value *tile0_ = nullptr, *v_ = nullptr, *m_ = nullptr;
  std::vector<llvm::Value *> accumulators_;
};

void BlockedWinogradEmitter::emitIteration(llvm::Value *index) {
  llvm::Value *range = ir_.CreateSRem(index, k_.i64(p_.ranges));
  llvm::Value *group = ir_.CreateSDiv(index, k_.i64(p_.ranges));
  tile0_ = k_.mul(range, p_.rangeTiles);
  v_ = p_.sharedInput ? k_.arenaPointer(vOffset_) : stackArray(p_.vFloats());
  m_ = stackArray(p_.mFloats());
  accumulators_.clear();
  for (int64_t i = 0; i < p_.blocks * p_.registerTiles; ++i) accumulators_.push_back(k_.stackSlot(vector_));
  if (!p_.sharedInput) transformInputs();
  llvm::Value *firstPair = k_.mul(group, p_.pairsPerGroup);
  llvm::Value *endPair = k_.minI(k_.add(firstPair, p_.pairsPerGroup), k_.i64(p_.pairs));
  k_.loop(firstPair, endPair, [&](llvm::Value *pair) {
    multiply(pair);
    transformOutputs(pair);
  });
}

TilePosition BlockedWinogradEmitter::position(llvm::Value *tile) {
  llvm::Value *n = ir_.CreateSDiv(tile, k_.i64(p_.imageTiles));
  llvm::Value *inImage = ir_.CreateSRem(tile, k_.i64(p_.imageTiles));
  llvm::Value *oh0 = k_.mul(ir_.CreateSDiv(inImage, k_.i64(p_.tileCols)), 4);
  llvm::Value *ow0 = k_.mul(ir_.CreateSRem(inImage, k_.i64(p_.tileCols)), 4);
  llvm::Value *real = ir_.CreateICmpSLT(tile, k_.i64(p_.tiles));
  return {k_.minI(n, k_.i64(p_.n - 1)), oh0, ow0, real};
}

void BlockedWinogradEmitter::emitInputTransform(llvm::Value *t) {
  tile0_ = k_.i64(0);
  v_ = k_.arenaPointer(vOffset_);
  transformTile(t);
}

/// V for every tile of the range.
void BlockedWinogradEmitter::transformInputs() {
  k_.loop(k_.i64(0), k_.i64(p_.rangeTiles), [&](llvm::Value *t) { transformTile(t); });
}

/// V of tile `t` of the range, every input block; a tile whose 6x6 input lies inside the
/// image loads without checks.
void BlockedWinogradEmitter::transformTile(llvm::Value *t) {
  TilePosition tile = position(ir_.CreateAdd(tile0_, t));
  llvm::Value *top = k_.add(tile.oh0, -p_.padT), *left = k_.add(tile.ow0, -p_.padL);
  llvm::Value *inside = ir_.CreateAnd(
      ir_.CreateAnd(ir_.CreateICmpSGE(top, k_.i64(0)), ir_.CreateICmpSLE(top, k_.i64(p_.h - 6))),
      ir_.CreateAnd(ir_.CreateICmpSGE(left, k_.i64(0)), ir_.CreateICmpSLE(left, k_.i64(p_.w - 6))));
  inside = ir_.CreateAnd(inside, tile.real);
  auto blocks = [&](bool fast) {
    k_.loop(k_.i64(0), k_.i64(p_.icBlocks), [&](llvm::Value *icb) { transformInput(tile, t, icb, fast); });
  };
  k_.ifThenElse(inside, [&] { blocks(true); }, [&] { blocks(false); });
}

void BlockedWinogradEmitter::transformInput(const TilePosition &tile, llvm::Value *t, llvm::Value *icb,
                                            bool inside) {
  llvm::Value *plane = k_.element(k_.base(x_), k_.mul(ir_.CreateAdd(k_.mul(tile.n, p_.icBlocks), icb),
                                                      p_.h * p_.w * p_.c));
  llvm::Value *top = k_.add(tile.oh0, -p_.padT), *left = k_.add(tile.ow0, -p_.padL);
  llvm::Value *zero = llvm::Constant::getNullValue(vector_);
  std::array<llvm::Value *, 6> rows{}, rowValid{}, columns{}, columnValid{};
  for (int64_t i = 0; i < 6; ++i) {
    llvm::Value *row = k_.add(top, i), *column = k_.add(left, i);
    if (inside) {
      rows[size_t(i)] = row, columns[size_t(i)] = column;
      continue;
    }
    // Outside the image: a clamped address whose value is replaced by 0.
    rowValid[size_t(i)] = ir_.CreateAnd(tile.real, ir_.CreateAnd(ir_.CreateICmpSGE(row, k_.i64(0)),
                                                                 ir_.CreateICmpSLT(row, k_.i64(p_.h))));
    columnValid[size_t(i)] = ir_.CreateAnd(ir_.CreateICmpSGE(column, k_.i64(0)), ir_.CreateICmpSLT(column, k_.i64(p_.w)));
    rows[size_t(i)] = k_.minI(k_.maxI(row, k_.i64(0)), k_.i64(p_.h - 1));
    columns[size_t(i)] = k_.minI(k_.maxI(column, k_.i64(0)), k_.i64(p_.w - 1));
  }
  // B^T d per column, then B on the rows of the result.
  std::array<Six, 6> byColumn;
  for (int64_t j = 0; j < 6; ++j) {
    Six d;
    for (int64_t i = 0; i < 6; ++i) {
      llvm::Value *index = k_.mul(ir_.CreateAdd(k_.mul(rows[size_t(i)], p_.w), columns[size_t(j)]), p_.c);
      llvm::Value *value = vectorAt(plane, index);
      if (!inside) value = ir_.CreateSelect(ir_.CreateAnd(rowValid[size_t(i)], columnValid[size_t(j)]), value, zero);
      d[size_t(i)] = value;
    }
    byColumn[size_t(j)] = transforms_.input(d);
  }
  for (int64_t i = 0; i < 6; ++i) {
    Six row;
    for (int64_t j = 0; j < 6; ++j) row[size_t(j)] = byColumn[size_t(j)][size_t(i)];
    Six transformed = transforms_.input(row);
    for (int64_t j = 0; j < 6; ++j) {
      int64_t xi = i * 6 + j;
      llvm::Value *slot = ir_.CreateAdd(k_.mul(ir_.CreateAdd(k_.i64(xi * p_.icBlocks), icb), p_.rangeTiles), t);
      ir_.CreateAlignedStore(transformed[size_t(j)], k_.element(v_, k_.mul(slot, p_.c)), llvm::Align(4));
    }
  }
}

/// M[xi][t][b] = sum over ic of V[xi][ic / c][t][ic % c] * U[pair][xi][ic][b], register block
/// by register block.
void BlockedWinogradEmitter::multiply(llvm::Value *pair) {
  int64_t c = p_.c, blocks = p_.blocks, tiles = p_.registerTiles;
  llvm::Value *zero = llvm::Constant::getNullValue(vector_);
  llvm::Value *uPair = k_.element(k_.blobPointer(weightsOffset_), k_.mul(pair, p_.pairFloats()));
  k_.loop(k_.i64(0), k_.i64(kPoints), [&](llvm::Value *xi) {
    llvm::Value *uPoint = k_.element(uPair, k_.mul(xi, p_.ic() * blocks * c));
    llvm::Value *vPoint = k_.element(v_, k_.mul(xi, p_.icBlocks * p_.rangeTiles * c));
    k_.loop(k_.i64(0), k_.i64(p_.rangeTiles), [&](llvm::Value *t0) {
      for (llvm::Value *slot : accumulators_) ir_.CreateStore(zero, slot);
      k_.loop(k_.i64(0), k_.i64(p_.icBlocks), [&](llvm::Value *icb) {
        llvm::Value *vBlock = k_.element(vPoint, ir_.CreateAdd(k_.mul(icb, p_.rangeTiles * c), k_.mul(t0, c)));
        llvm::Value *uBlock = k_.element(uPoint, k_.mul(icb, c * blocks * c));
        // The block's c input channels are a loop, not unrolled (see emit_blocked_conv.cpp).
        k_.loop(0, c, [&](llvm::Value *l) {
          std::vector<llvm::Value *> weights;
          for (int64_t b = 0; b < blocks; ++b)
            weights.push_back(vectorAt(uBlock, k_.add(k_.mul(l, blocks * c), b * c)));
          for (int64_t t = 0; t < tiles; ++t) {
            llvm::Value *splat = ir_.CreateVectorSplat(unsigned(c), k_.loadF32(vBlock, k_.add(l, t * c)));
            for (int64_t b = 0; b < blocks; ++b) {
              llvm::Value *slot = accumulators_[size_t(t * blocks + b)];
              llvm::Value *acc = ir_.CreateLoad(vector_, slot);
              acc = ir_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vector_}, {weights[size_t(b)], splat, acc});
              ir_.CreateStore(acc, slot);
            }
          }
        });
      });
      for (int64_t t = 0; t < tiles; ++t)
        for (int64_t b = 0; b < blocks; ++b) {
          llvm::Value *index = k_.mul(k_.add(k_.mul(ir_.CreateAdd(k_.mul(xi, p_.rangeTiles), k_.add(t0, t)), blocks), b), c);
          ir_.CreateAlignedStore(ir_.CreateLoad(vector_, accumulators_[size_t(t * blocks + b)]), k_.element(m_, index),
                                 llvm::Align(4));
        }
    }, tiles);
  });
}

/// The pair's output blocks of every tile of the range; whole tiles inside the output store
/// without checks.
void BlockedWinogradEmitter::transformOutputs(llvm::Value *pair) {
  k_.loop(k_.i64(0), k_.i64(p_.rangeTiles), [&](llvm::Value *t) {
    TilePosition tile = position(ir_.CreateAdd(tile0_, t));
    llvm::Value *inside = ir_.CreateAnd(tile.real, ir_.CreateAnd(ir_.CreateICmpSLE(tile.oh0, k_.i64(p_.oh - 4)),
                                                                 ir_.CreateICmpSLE(tile.ow0, k_.i64(p_.ow - 4))));
    for (int64_t b = 0; b < p_.blocks; ++b) {
      llvm::Value *ob = k_.add(k_.mul(pair, p_.blocks), b);
      auto emit = [&] {
        k_.ifThenElse(inside, [&] { transformOutput(tile, t, ob, b, true); },
                      [&] { transformOutput(tile, t, ob, b, false); });
      };
      // A pair past the last block exists only when the pairs do not divide the blocks.
      if (p_.ocBlocks % p_.blocks == 0 || b == 0) emit();
      else k_.ifThen(ir_.CreateICmpSLT(ob, k_.i64(p_.ocBlocks)), emit);
    }
  });
}

void BlockedWinogradEmitter::transformOutput(const TilePosition &tile, llvm::Value *t, llvm::Value *ob, int64_t b,
                                             bool inside) {
  int64_t c = p_.c;
  std::array<llvm::Value *, kPoints> m;
  for (int64_t xi = 0; xi < kPoints; ++xi) {
    llvm::Value *index = k_.mul(k_.add(k_.mul(k_.add(t, xi * p_.rangeTiles), p_.blocks), b), c);
    m[size_t(xi)] = vectorAt(m_, index);
  }
  // A^T M per column, then A on the rows of the result.
  std::array<winograd::VectorTransforms::Four, 6> byColumn;
  for (int64_t j = 0; j < 6; ++j) {
    Six column;
    for (int64_t i = 0; i < 6; ++i) column[size_t(i)] = m[size_t(i * 6 + j)];
    byColumn[size_t(j)] = transforms_.output(column);
  }
  llvm::Value *bias = epilogue_.bias ? vectorAt(k_.base(epilogue_.bias), k_.mul(ob, c)) : nullptr;
  llvm::Value *plane = k_.mul(ir_.CreateAdd(k_.mul(tile.n, p_.ocBlocks), ob), p_.oh * p_.ow);
  for (int64_t a = 0; a < 4; ++a) {
    Six row;
    for (int64_t j = 0; j < 6; ++j) row[size_t(j)] = byColumn[size_t(j)][size_t(a)];
    winograd::VectorTransforms::Four pixels = transforms_.output(row);
    llvm::Value *oh = k_.add(tile.oh0, a);
    for (int64_t col = 0; col < 4; ++col) {
      llvm::Value *ow = k_.add(tile.ow0, col);
      llvm::Value *index = k_.mul(ir_.CreateAdd(plane, ir_.CreateAdd(k_.mul(oh, p_.ow), ow)), c);
      if (inside) {
        store(pixels[size_t(col)], index, bias);
        continue;
      }
      llvm::Value *stored = ir_.CreateAnd(tile.real, ir_.CreateAnd(ir_.CreateICmpSLT(oh, k_.i64(p_.oh)),
                                                                   ir_.CreateICmpSLT(ow, k_.i64(p_.ow))));
      k_.ifThen(stored, [&] { store(pixels[size_t(col)], index, bias); });
    }
  }
}

/// The epilogue of one output pixel's c channels, and its store.
void BlockedWinogradEmitter::store(llvm::Value *value, llvm::Value *index, llvm::Value *bias) {
  llvm::Value *zero = llvm::Constant::getNullValue(vector_);
  auto residual = [&] { return vectorAt(k_.base(epilogue_.residual), index); };
  if (bias) value = ir_.CreateFAdd(value, bias);
  if (epilogue_.residual && epilogue_.residualBeforeActivation) value = ir_.CreateFAdd(value, residual());
  if (epilogue_.relu) value = ir_.CreateSelect(ir_.CreateFCmpOLT(value, zero), zero, value);
  if (epilogue_.residual && !epilogue_.residualBeforeActivation) value = ir_.CreateFAdd(value, residual());
  ir_.CreateAlignedStore(value, k_.element(k_.base(y_), index), llvm::Align(4));
}

} // namespace

bool blockedWinogradApplies(const Node &node) {
  if (node.op != OpId::conv2d && node.op != OpId::fused_conv) return false;
  if (node.attrInt("groups") != 1) return false;
  if (!node.inputs[0]->type.blocked() || !node.result->type.blocked()) return false;
  const Shape &w = node.inputs[1]->type.shape;
  auto stride = node.attrInts("stride"), dilation = node.attrInts("dilation");
  if (w[2] != 3 || w[3] != 3 || stride != std::vector<int64_t>{1, 1} || dilation != std::vector<int64_t>{1, 1})
    return false;
  return w[0] >= kMinChannels && w[1] >= kMinChannels;
}

namespace {

/// The weights transformed for `p`, in the blob; the spec of the GEMM (and output transform)
/// kernel, whose V is on its stack or, in the two-kernel form, at arena byte `vOffset`.
KernelSpec winogradSpec(const Node &node, const ConvEpilogue &epilogue, EmitContext &context, const Plan &p,
                        int64_t vOffset) {
  std::vector<float> packed = transformWeights(weightData(node, 1), p);
  int64_t offset = context.buffers.blob->add(packed.data(), packed.size() * sizeof(float));
  KernelSpec spec{"winograd_f4x4_blocked", context.defaults, {}};
  spec.schedule.parallelCount = p.groups * p.ranges;
  spec.schedule.channelBlock = p.blocks;
  spec.schedule.vectorBlock = p.registerTiles;
  spec.schedule.vectorWidth = p.c;
  spec.schedule.tileRows = 4;
  const Value *x = node.inputs[0], *y = node.result;
  spec.body = [=](KernelBuilder &k, llvm::Value *index) {
    BlockedWinogradEmitter(k, p, epilogue, x, y, offset, vOffset).emitIteration(index);
  };
  return spec;
}

} // namespace

std::vector<KernelSpec> emitBlockedWinogradConv(const Node &node, const ConvEpilogue &epilogue,
                                                EmitContext &context) {
  if (!blockedWinogradApplies(node))
    fail("codegen: node %{}: blocked Winograd F(4x4,3x3) needs a dense 3x3 stride-1 undilated conv with >= {} "
         "input and output channels", node.name(), kMinChannels);
  Plan p = plan(node, context.defaults);
  if (!p.sharedInput) return {winogradSpec(node, epilogue, context, p, -1)};
  int64_t vOffset = context.reserveScratch(p.vFloats() * 4);
  KernelSpec input{"input_transform_blocked", context.defaults, {}};
  input.schedule.parallelCount = p.rangeTiles;
  input.schedule.vectorWidth = p.c;
  const Value *x = node.inputs[0], *y = node.result;
  input.body = [=](KernelBuilder &k, llvm::Value *tile) {
    BlockedWinogradEmitter(k, p, epilogue, x, y, -1, vOffset).emitInputTransform(tile);
  };
  return {input, winogradSpec(node, epilogue, context, p, vOffset)};
}

} // namespace bisc
