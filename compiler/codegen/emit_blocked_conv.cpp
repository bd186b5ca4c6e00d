//===- emit_blocked_conv.cpp - Dense conv in the NCHW{c}c layout -----------===//
//
// Input [N][IC/c][H][W][c], output [N][OC/c][OH][OW][c], c = the layout's block (one vector).
// One parallel iteration computes one output row of `blocks` output-channel blocks
// (innermost, so consecutive iterations reuse the same input rows from cache):
//
//   for each tile of `columns` output columns:
//     acc[o][j] = bias[ob+o]                              o < blocks, j < columns
//     for icb, for kh whose input row is inside the image:
//       for kw (unrolled), for l < c:
//         w[o] = packed[ob+o][icb][kh][kw][l][0..c)       (vector loads)
//         acc[o][j] += w[o] * x[icb][ih][(ow0+j)*stride + kw*dil - pad][l]   (broadcast)
//     out[ob+o][oh][ow0+j][0..c) = epilogue(acc[o][j])
//
// Every FMA has one vector weight and one broadcast input, whatever the stride, so strided
// and 1x1 convs run as fast as stride-1 ones. Tiles never overlap (a shorter tail tile ends
// the row), so each output element is finished exactly once and the output may share its
// buffer with the residual. Tiles whose columns reach into the padding are emitted at their
// compile-time positions, skipping the taps that fall outside; the others run in a loop.
//
// At a region's edge (a conv with a `layout` attribute) the two sides differ: the input may
// have its own block ci (a stem reads the image as nchw3c: pixel-major rows, so its
// broadcasts walk one contiguous row instead of planes a power of two apart, which share
// cache sets) or be nchw; the output may be nchw (a classifier's 19 channels: lanes past
// the last channel are padding, each lane stored to its own plane).
#include "compiler/codegen/emit_blocked.h"

#include "ir/error.h"
#include "ir/fused_ops.h"

#include <llvm/IR/Intrinsics.h>

namespace bisc {

namespace {

struct BlockedGeometry {
  int64_t n, icBlocks, h, w, ocBlocks, oh, ow, kh, kw;
  int64_t strideH, strideW, padT, padL, dilH, dilW;
  int64_t lanes;   ///< c, the output's block (the input's too unless it has its own)
  int64_t inLanes; ///< channels per input block: its layout's, or c for nchw
  int64_t ic, oc;  ///< channels; with an nchw side they need not be multiples of c
  bool inBlocked, outBlocked;
  /// Floats from one input pixel to the next along a row, and from one channel of a block
  /// to the next.
  int64_t pixelStride() const { return inBlocked ? inLanes : 1; }
  int64_t laneStride() const { return inBlocked ? 1 : h * w; }
  /// Packed weight floats of one (output block, input block).
  int64_t blockWeights() const { return kh * kw * inLanes * lanes; }
};

BlockedGeometry blockedGeometry(const Node &node) {
  const TensorType &xType = node.inputs[0]->type, &yType = node.result->type;
  const Shape &x = xType.shape, &wt = node.inputs[1]->type.shape, &y = yType.shape;
  int64_t c = yType.blocked() ? yType.channelBlock : xType.channelBlock;
  int64_t ci = xType.blocked() ? xType.channelBlock : c;
  auto stride = node.attrInts("stride"), pads = node.attrInts("pads"), dil = node.attrInts("dilation");
  return {x[0], (x[1] + ci - 1) / ci, x[2], x[3], (y[1] + c - 1) / c, y[2], y[3], wt[2], wt[3],
          stride[0], stride[1], pads[0], pads[1], dil[0], dil[1], c, ci,
          x[1], y[1], xType.blocked(), yType.blocked()};
}

/// Weights [OC][IC][KH][KW] -> [OC/c][IC/ci][KH][KW][ci in][c out]: the c output channels of
/// one input channel and tap form one vector. Channels past IC or OC (an nchw side) are zeros.
std::vector<float> packBlockedWeights(const Tensor &weight, const BlockedGeometry &g) {
  std::span<const float> w = weight.f32();
  int64_t c = g.lanes, ci = g.inLanes, taps = g.kh * g.kw;
  std::vector<float> packed(size_t(g.ocBlocks * g.icBlocks * g.blockWeights()), 0.0f);
  size_t next = 0;
  for (int64_t ob = 0; ob < g.ocBlocks; ++ob)
    for (int64_t icb = 0; icb < g.icBlocks; ++icb)
      for (int64_t tap = 0; tap < taps; ++tap)
        for (int64_t l = 0; l < ci; ++l)
          for (int64_t o = 0; o < c; ++o, ++next)
            if (ob * c + o < g.oc && icb * ci + l < g.ic)
              packed[next] = w[size_t(((ob * c + o) * g.ic + icb * ci + l) * taps + tap)];
  return packed;
}

/// Emits the rows of one register block shape (`blocks` output vectors x `columns` columns).
/// With `inputBlockOuter`, the row is swept once per input-channel block, the partial sums
/// kept in the output row between sweeps, so only one input block's weights (kh*kw*c*c*blocks
/// floats) are live at a time and stay in L1 for every tile of the row.
class BlockedRowEmitter {
public:
  /// `biasOffset`: the bias padded to whole blocks in the weights blob, or -1 (the bias operand).
  BlockedRowEmitter(KernelBuilder &k, const BlockedGeometry &g, const ConvEpilogue &epilogue, int64_t biasOffset,
                    int64_t blocks, int64_t columns, bool inputBlockOuter)
      : k_(k), ir_(k.ir()), g_(g), epilogue_(epilogue), biasOffset_(biasOffset), blocks_(blocks), columns_(columns),
        inputBlockOuter_(inputBlockOuter), vector_(llvm::FixedVectorType::get(k.f32Type(), unsigned(g.lanes))) {}

  void emitRow(llvm::Value *inImage, llvm::Value *outRow, llvm::Value *residualRow, llvm::Value *packedBlock,
               llvm::Value *ob, llvm::Value *oh);

private:
  bool columnInside(int64_t ow, int64_t kw) const {
    int64_t iw = ow * g_.strideW + kw * g_.dilW - g_.padL;
    return iw >= 0 && iw < g_.w;
  }
  bool tileInside(int64_t start, int64_t width) const {
    return columnInside(start, 0) && columnInside(start + width - 1, g_.kw - 1);
  }
  void emitTiles();
  void emitTile(llvm::Value *start, int64_t constantStart, int64_t width);
  void accumulateInputBlock(llvm::Value *icb, llvm::Value *start, int64_t constantStart, int64_t width);
  llvm::Value *outputIndex(llvm::Value *start, int64_t o, int64_t j);
  llvm::Value *initialValue(int64_t o, llvm::Value *index);
  llvm::Value *finish(llvm::Value *value, llvm::Value *index);
  void storePlanes(llvm::Value *value, llvm::Value *start, int64_t o, int64_t j);

  KernelBuilder &k_;
  llvm::IRBuilder<> &ir_;
  BlockedGeometry g_;
  ConvEpilogue epilogue_;
  int64_t biasOffset_;
  int64_t blocks_, columns_;
  bool inputBlockOuter_;
  llvm::FixedVectorType *vector_;
  llvm::Value *inImage_ = nullptr, *outRow_ = nullptr, *residualRow_ = nullptr, *packed_ = nullptr;
  llvm::Value *ob_ = nullptr, *ih0_ = nullptr, *khLo_ = nullptr, *khHi_ = nullptr;
  llvm::Value *sweep_ = nullptr;  ///< the input block of this sweep (inputBlockOuter)
  std::vector<llvm::Value *> accumulators_;
};

void BlockedRowEmitter::emitRow(llvm::Value *inImage, llvm::Value *outRow, llvm::Value *residualRow,
                                llvm::Value *packedBlock, llvm::Value *ob, llvm::Value *oh) {
  inImage_ = inImage, outRow_ = outRow, residualRow_ = residualRow, packed_ = packedBlock, ob_ = ob;
  // Input rows ih0 + kh*dil inside [0, H): kh in [khLo, khHi).
  ih0_ = k_.add(k_.mul(oh, g_.strideH), -g_.padT);
  khLo_ = k_.maxI(k_.i64(0), ir_.CreateSDiv(ir_.CreateSub(k_.i64(g_.dilH - 1), ih0_), k_.i64(g_.dilH)));
  khHi_ = k_.minI(k_.i64(g_.kh), ir_.CreateSDiv(ir_.CreateSub(k_.i64(g_.h + g_.dilH - 1), ih0_), k_.i64(g_.dilH)));
  accumulators_.clear();
  for (int64_t i = 0; i < blocks_ * columns_; ++i) accumulators_.push_back(k_.stackSlot(vector_));
  if (!inputBlockOuter_) return emitTiles();
  k_.loop(0, g_.icBlocks, [&](llvm::Value *icb) {
    sweep_ = icb;
    emitTiles();
  });
}

void BlockedRowEmitter::emitTiles() {
  std::vector<int64_t> starts;
  for (int64_t start = 0; start < g_.ow; start += columns_) starts.push_back(start);
  auto width = [&](size_t i) { return std::min(columns_, g_.ow - starts[i]); };
  // Full-width inside tiles (consecutive) run in one loop; the rest are emitted alone.
  size_t first = 0;
  while (first < starts.size() && !(width(first) == columns_ && tileInside(starts[first], columns_))) ++first;
  size_t end = first;
  while (end < starts.size() && width(end) == columns_ && tileInside(starts[end], columns_)) ++end;
  for (size_t i = 0; i < first; ++i) emitTile(k_.i64(starts[i]), starts[i], width(i));
  if (end > first)
    k_.loop(k_.i64(starts[first]), k_.i64(starts[end - 1] + 1),
            [&](llvm::Value *start) { emitTile(start, -1, columns_); }, columns_);
  for (size_t i = end; i < starts.size(); ++i) emitTile(k_.i64(starts[i]), starts[i], width(i));
}

llvm::Value *BlockedRowEmitter::outputIndex(llvm::Value *start, int64_t o, int64_t j) {
  llvm::Value *blockOffset = k_.mul(ir_.CreateAdd(ob_, k_.i64(o)), g_.oh * g_.ow * g_.lanes);
  return ir_.CreateAdd(blockOffset, k_.mul(k_.add(start, j), g_.lanes));
}

/// Bias, or 0; in a first sweep a before-activation residual is added here too, so it is
/// read before the element's first (partial) store, which keeps an in-place residual intact.
llvm::Value *BlockedRowEmitter::initialValue(int64_t o, llvm::Value *index) {
  llvm::Value *init = llvm::Constant::getNullValue(vector_);
  if (epilogue_.bias) {
    llvm::Value *biasIndex = k_.mul(ir_.CreateAdd(ob_, k_.i64(o)), g_.lanes);
    llvm::Value *bias = biasOffset_ >= 0 ? k_.blobPointer(biasOffset_) : k_.base(epilogue_.bias);
    init = ir_.CreateAlignedLoad(vector_, k_.element(bias, biasIndex), llvm::Align(4));
  }
  if (inputBlockOuter_ && epilogue_.residual && epilogue_.residualBeforeActivation)
    init = ir_.CreateFAdd(init, ir_.CreateAlignedLoad(vector_, k_.element(residualRow_, index), llvm::Align(4)));
  return init;
}

/// The epilogue of a finished sum (minus a residual initialValue() already added).
llvm::Value *BlockedRowEmitter::finish(llvm::Value *value, llvm::Value *index) {
  llvm::Value *zero = llvm::Constant::getNullValue(vector_);
  auto residual = [&] { return ir_.CreateAlignedLoad(vector_, k_.element(residualRow_, index), llvm::Align(4)); };
  if (epilogue_.residual && epilogue_.residualBeforeActivation && !inputBlockOuter_)
    value = ir_.CreateFAdd(value, residual());
  if (epilogue_.relu) value = ir_.CreateSelect(ir_.CreateFCmpOLT(value, zero), zero, value);
  if (epilogue_.residual && !epilogue_.residualBeforeActivation) value = ir_.CreateFAdd(value, residual());
  return value;
}

/// A tile of `width` columns from `start`; `constantStart` >= 0 marks an edge tile whose
/// taps in the padding are skipped at compile time.
void BlockedRowEmitter::emitTile(llvm::Value *start, int64_t constantStart, int64_t width) {
  llvm::Value *isFirst = nullptr, *isLast = nullptr;
  if (inputBlockOuter_) {
    isFirst = ir_.CreateICmpEQ(sweep_, k_.i64(0));
    isLast = ir_.CreateICmpEQ(sweep_, k_.i64(g_.icBlocks - 1));
  }
  auto initialise = [&](bool fromOutput) {
    for (int64_t o = 0; o < blocks_; ++o)
      for (int64_t j = 0; j < width; ++j) {
        llvm::Value *index = outputIndex(start, o, j);
        llvm::Value *init = fromOutput ? ir_.CreateAlignedLoad(vector_, k_.element(outRow_, index), llvm::Align(4))
                                       : initialValue(o, index);
        ir_.CreateStore(init, accumulators_[size_t(o * columns_ + j)]);
      }
  };
  // Later sweeps continue the partial sums stored in the output row.
  if (inputBlockOuter_) k_.ifThenElse(isFirst, [&] { initialise(false); }, [&] { initialise(true); });
  else initialise(false);
  if (inputBlockOuter_) accumulateInputBlock(sweep_, start, constantStart, width);
  else k_.loop(0, g_.icBlocks, [&](llvm::Value *icb) { accumulateInputBlock(icb, start, constantStart, width); });
  for (int64_t o = 0; o < blocks_; ++o)
    for (int64_t j = 0; j < width; ++j) {
      llvm::Value *index = outputIndex(start, o, j);
      llvm::Value *value = ir_.CreateLoad(vector_, accumulators_[size_t(o * columns_ + j)]);
      if (isLast) value = ir_.CreateSelect(isLast, finish(value, index), value);
      else value = finish(value, index);
      if (g_.outBlocked) ir_.CreateAlignedStore(value, k_.element(outRow_, index), llvm::Align(4));
      else storePlanes(value, start, o, j);
    }
}

/// An nchw output: lane l of the vector is channel (ob + o) c + l, one plane each; lanes past
/// the last channel are padding.
void BlockedRowEmitter::storePlanes(llvm::Value *value, llvm::Value *start, int64_t o, int64_t j) {
  llvm::Value *column = k_.add(start, j);
  for (int64_t l = 0; l < g_.lanes; ++l) {
    llvm::Value *channel = k_.add(k_.mul(ir_.CreateAdd(ob_, k_.i64(o)), g_.lanes), l);
    auto store = [&] {
      llvm::Value *index = ir_.CreateAdd(k_.mul(channel, g_.oh * g_.ow), column);
      ir_.CreateStore(ir_.CreateExtractElement(value, uint64_t(l)), k_.element(outRow_, index));
    };
    if (g_.oc % g_.lanes == 0) store();
    else k_.ifThen(ir_.CreateICmpSLT(channel, k_.i64(g_.oc)), store);
  }
}

void BlockedRowEmitter::accumulateInputBlock(llvm::Value *icb, llvm::Value *start, int64_t constantStart,
                                             int64_t width) {
  int64_t c = g_.lanes, ci = g_.inLanes, pixel = g_.pixelStride();
  int64_t blockStride = g_.blockWeights();  // packed floats per (ob, icb)
  // Both layouts: the block's first channel starts icb * ci * H * W floats into the image.
  llvm::Value *inPlane = k_.element(inImage_, k_.mul(icb, g_.h * g_.w * ci));
  // An nchw input whose channels are not whole blocks: the last block has fewer.
  llvm::Value *blockLanes = k_.i64(ci);
  if (g_.ic % ci) blockLanes = k_.minI(blockLanes, ir_.CreateSub(k_.i64(g_.ic), k_.mul(icb, ci)));
  k_.loop(khLo_, khHi_, [&](llvm::Value *kh) {
    llvm::Value *ih = ir_.CreateAdd(ih0_, k_.mul(kh, g_.dilH));
    llvm::Value *inRow = k_.element(inPlane, k_.mul(ih, g_.w * pixel));
    llvm::Value *wRow = k_.element(packed_, ir_.CreateAdd(k_.mul(icb, blockStride), k_.mul(kh, g_.kw * ci * c)));
    // Column of tap (j, kw) in floats from inRow: ((start + j)*stride + kw*dil - pad) * pixel.
    llvm::Value *column0 = k_.mul(k_.add(k_.mul(start, g_.strideW), -g_.padL), pixel);
    std::vector<std::vector<bool>> live(size_t(g_.kw), std::vector<bool>(size_t(width), true));
    if (constantStart >= 0)
      for (int64_t kw = 0; kw < g_.kw; ++kw)
        for (int64_t j = 0; j < width; ++j) live[size_t(kw)][size_t(j)] = columnInside(constantStart + j, kw);
    // Per tap kw, the input channel l of the block is a loop, not unrolled: the body (blocks x
    // columns FMAs) fits the decoded-uop cache, and the broadcasts of one body are distinct
    // addresses, so LLVM cannot share them across taps (which spills them for 3x3 kernels).
    for (int64_t kw = 0; kw < g_.kw; ++kw) {
      const std::vector<bool> &tapLive = live[size_t(kw)];
      if (std::none_of(tapLive.begin(), tapLive.end(), [](bool b) { return b; })) continue;
      k_.loop(k_.i64(0), blockLanes, [&](llvm::Value *l) {
        llvm::Value *wLane = k_.element(wRow, k_.mul(l, c));
        llvm::Value *inLane = k_.element(inRow, ir_.CreateAdd(column0, k_.mul(l, g_.laneStride())));
        std::vector<llvm::Value *> weights;
        for (int64_t o = 0; o < blocks_; ++o) {
          int64_t offset = o * g_.icBlocks * blockStride + kw * ci * c;
          weights.push_back(ir_.CreateAlignedLoad(vector_, k_.element(wLane, k_.i64(offset)), llvm::Align(4)));
        }
        for (int64_t j = 0; j < width; ++j) {
          if (!tapLive[size_t(j)]) continue;
          llvm::Value *x = k_.loadF32(inLane, k_.i64((j * g_.strideW + kw * g_.dilW) * pixel));
          llvm::Value *splat = ir_.CreateVectorSplat(unsigned(c), x);
          for (int64_t o = 0; o < blocks_; ++o) {
            llvm::Value *slot = accumulators_[size_t(o * columns_ + j)];
            llvm::Value *acc = ir_.CreateLoad(vector_, slot);
            acc = ir_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vector_}, {weights[size_t(o)], splat, acc});
            ir_.CreateStore(acc, slot);
          }
        }
      });
    }
  });
}

} // namespace

ConvEpilogue blockedEpilogue(const Node &node) {
  ConvEpilogue epilogue;
  if (node.op == OpId::conv2d) {
    if (node.inputs.size() > 2) epilogue.bias = node.inputs[2];
    return epilogue;
  }
  const std::string &residual = node.attrString("residual"), &activation = node.attrString("activation");
  if ((activation != "none" && activation != "relu") ||
      (residual != "none" && residual != "before_act" && residual != "after_act"))
    fail("codegen: node %{} (fused_conv): activation \"{}\" / residual \"{}\" has no blocked kernel", node.name(),
         activation, residual);
  epilogue.bias = fusedConvBias(node);
  epilogue.residual = fusedConvResidual(node);
  epilogue.residualBeforeActivation = residual == "before_act";
  epilogue.relu = activation == "relu";
  return epilogue;
}

namespace {

/// Sweep the row once per input block when one output group's weights would not stay in L1
/// (32 KiB budget) and there are several blocks. Partial sums then live in the output row, so
/// an after-activation residual must not share the output's buffer (it would be overwritten
/// before it is added).
bool sweepInputBlocks(const BlockedGeometry &g, const BlockedConvBlocking &b, const ConvEpilogue &epilogue,
                      const Node &node, const EmitContext &context) {
  int64_t weightBytes = g.icBlocks * g.blockWeights() * b.blocks * 4;
  if (g.icBlocks < 2 || weightBytes <= 32 * 1024 || !g.outBlocked) return false;
  if (epilogue.residual && !epilogue.residualBeforeActivation) {
    auto residual = context.buffers.locations.find(epilogue.residual);
    auto output = context.buffers.locations.find(node.result);
    if (residual == context.buffers.locations.end() || output == context.buffers.locations.end()) return false;
    if (residual->second.slot == output->second.slot && residual->second.byteOffset == output->second.byteOffset)
      return false;
  }
  return true;
}

} // namespace

BlockedConvBlocking blockedConvBlocking(int64_t ocBlocks, int64_t maxBlocks, const Schedule &defaults) {
  // Accumulators + the weight vectors + one broadcast must fit the register file: 32 vector
  // registers with AVX-512 and NEON (vector widths 16 and 4), 16 with AVX2 (width 8). A block
  // narrower than the target's vectors uses one (partly filled) register per vector all the same.
  int64_t registers = defaults.vectorWidth == 8 ? 16 : 32;
  int64_t blocks = std::min(std::min<int64_t>(registers == 32 ? 4 : 2, maxBlocks), ocBlocks);
  int64_t columns = (registers - blocks - 1) / blocks;
  return {blocks, std::clamp<int64_t>(columns, 1, 14)};
}

namespace {

KernelSpec emitBlockedDirectConv(const Node &node, const ConvEpilogue &epilogue, EmitContext &context) {
  BlockedGeometry g = blockedGeometry(node);
  if (!g.outBlocked && epilogue.residual)
    fail("codegen: node %{} ({}): the blocked conv writes an nchw result only without a residual", node.name(),
         node.info().name);
  int64_t biasOffset = -1;  // a bias of channels that are not whole blocks is padded
  if (epilogue.bias && g.oc % g.lanes) {
    std::vector<float> bias(size_t(g.ocBlocks * g.lanes), 0.0f);
    std::span<const float> data = weightData(node, 2).f32();
    std::copy(data.begin(), data.end(), bias.begin());
    biasOffset = context.buffers.blob->add(bias.data(), bias.size() * sizeof(float));
  }
  // 4 output vectors x 6 columns with 32 registers: 0.7-0.85x the time of 2 x 14 on R18's
  // strided, 1x1 and stem convs (fewer loads per FMA: (4 + 6) / 24 against (2 + 14) / 28).
  BlockedConvBlocking b = blockedConvBlocking(g.ocBlocks, 4, context.defaults);
  int64_t groups = (g.ocBlocks + b.blocks - 1) / b.blocks;
  int64_t tailBlocks = g.ocBlocks - (groups - 1) * b.blocks;
  KernelSpec spec{"conv_blocked", context.defaults, {}};
  spec.schedule.parallelCount = g.n * g.oh * groups;
  spec.schedule.channelBlock = b.blocks;
  spec.schedule.vectorBlock = b.columns;
  spec.schedule.vectorWidth = g.lanes;
  std::vector<float> packed = packBlockedWeights(weightData(node, 1), g);
  int64_t packedOffset = context.buffers.blob->add(packed.data(), packed.size() * sizeof(float));
  const Value *xValue = node.inputs[0], *yValue = node.result;
  int64_t c = g.lanes, perOutBlock = g.icBlocks * g.blockWeights();
  bool inputBlockOuter = sweepInputBlocks(g, b, epilogue, node, context);

  spec.body = [=](KernelBuilder &k, llvm::Value *index) {
    auto &ir = k.ir();
    llvm::Value *group = ir.CreateSRem(index, k.i64(groups));
    llvm::Value *row = ir.CreateSDiv(index, k.i64(groups));
    llvm::Value *oh = ir.CreateSRem(row, k.i64(g.oh));
    llvm::Value *n = ir.CreateSDiv(row, k.i64(g.oh));
    llvm::Value *ob = k.mul(group, b.blocks);
    llvm::Value *inImage = k.element(k.base(xValue), k.mul(n, g.ic * g.h * g.w));
    // Output offsets below are relative to (n, block or channel 0, oh, 0).
    int64_t outPixel = g.outBlocked ? c : 1;
    llvm::Value *rowOffset = ir.CreateAdd(k.mul(n, g.oc * g.oh * g.ow), k.mul(oh, g.ow * outPixel));
    llvm::Value *outRow = k.element(k.base(yValue), rowOffset);
    llvm::Value *residualRow = epilogue.residual ? k.element(k.base(epilogue.residual), rowOffset) : nullptr;
    llvm::Value *packedBlock = k.element(k.blobPointer(packedOffset), k.mul(ob, perOutBlock));
    auto emitBlocks = [&](int64_t blocks) {
      BlockedRowEmitter(k, g, epilogue, biasOffset, blocks, b.columns, inputBlockOuter)
          .emitRow(inImage, outRow, residualRow, packedBlock, ob, oh);
    };
    if (tailBlocks == b.blocks) return emitBlocks(b.blocks);
    k.ifThenElse(ir.CreateICmpEQ(group, k.i64(groups - 1)), [&] { emitBlocks(tailBlocks); },
                 [&] { emitBlocks(b.blocks); });
  };
  return spec;
}

} // namespace

std::vector<KernelSpec> emitBlockedConv(const Node &node, EmitContext &context) {
  const TensorType &x = node.inputs[0]->type, &y = node.result->type;
  if (node.attrInt("groups") != 1 || (!x.blocked() && !y.blocked()))
    fail("codegen: node %{} ({}): the blocked conv needs groups 1 and a blocked side, got {} -> {}",
         node.name(), node.info().name, toString(x), toString(y));
  ConvEpilogue epilogue = blockedEpilogue(node);
  if (blockedWinogradApplies(node)) return emitBlockedWinogradConv(node, epilogue, context);
  return {emitBlockedDirectConv(node, epilogue, context)};
}

} // namespace bisc
