//===- emit_blocked_spatial.cpp - Depthwise conv, pooling, concat in NCHW{c}c ---===//
//
// In [N][C/c][H][W][c] the c channels of one pixel are one vector, and a depthwise conv or a
// pool never mixes channels, so each output pixel is a vector reduction over its window's
// taps. One row emitter serves the three window ops (depthwise conv, max pool, avg pool):
//
//   parallel over (n, input channel block, output row oh):
//     for each tile of `columns` output columns:
//       acc[j][r] = initial(r)                        bias vector / -inf / 0
//       for kh whose input row is inside the image, kw (unrolled), j < columns (unrolled):
//         x = x[ih][(ow0 + j)*stride + kw*dil - pad][0..c)
//         for r < fanOut (unrolled):
//           acc[j][r] = combine(acc[j][r], inputFor(x, r), tap(kh, kw, r))
//       out_r[oh][ow0 + j][0..c) = finish(acc[j][r])  epilogue / avg divisor
//
// fanOut is 1 but for a grouped conv with channel multiplier m (groups == input channels,
// m * C outputs; BiSeNetV2's Gather-and-Expansion layers): output channel o reads input
// channel o / m, so output block b reads lanes (b*c + l) / m, all of input block b / m. The m
// output blocks of an input block are the m unrolled r's of one iteration: each loaded input
// vector serves all of them, through a shufflevector whose lane pattern (r*c + l) / m is a
// compile-time constant because r is.
//
// No lane is ever handled alone. The tiles of interior columns (every tap inside the image)
// run in a loop with no bounds checks; the few edge columns are emitted at their compile-time
// positions with the taps in the padding left out. A tile's columns are independent
// accumulator chains, so the loads and FMAs of several pixels overlap.
//
// global_avg_pool sums the pixel vectors of a plane; a channel concat of blocked inputs is the
// NCHW concat's copy (emitBlockedConcat says why); add / mul by a per-channel [N,C,1,1] vector
// (the gates) combines every pixel vector of a plane with that block's vector.
#include "compiler/codegen/emit_blocked.h"

#include "ir/error.h"

#include <llvm/IR/Intrinsics.h>

#include <cmath>

namespace bisc {

namespace {

/// A sliding window over [N][C/c][H][W][c] producing [N][C/c][OH][OW][c].
struct Window {
  int64_t channelBlocks;  ///< C / c
  int64_t h, w, oh, ow, kh, kw;
  int64_t strideH, strideW, padT, padL, padB, padR, dilH, dilW;
  int64_t lanes;  ///< c

  /// Whether tap column kw of output column `column` reads inside the image.
  bool tapInside(int64_t column, int64_t kw) const {
    int64_t iw = column * strideW + kw * dilW - padL;
    return iw >= 0 && iw < w;
  }
  bool allTapsInside(int64_t column) const { return tapInside(column, 0) && tapInside(column, kw - 1); }
};

Window windowOf(const Node &node, const std::vector<int64_t> &kernel, const std::vector<int64_t> &dilation) {
  const Shape &x = node.inputs[0]->type.shape, &y = node.result->type.shape;
  int64_t c = node.result->type.channelBlock;
  auto stride = node.attrInts("stride"), pads = node.attrInts("pads");
  return {x[1] / c, x[2],    x[3],    y[2],    y[3],    kernel[0],   kernel[1],   stride[0], stride[1],
          pads[0],  pads[1], pads[2], pads[3], dilation[0], dilation[1], c};
}

/// What a window op does with its taps; WindowRowEmitter walks them.
class WindowMath {
public:
  virtual ~WindowMath() = default;
  /// Output channel blocks per input channel block: a grouped conv's channel multiplier.
  virtual int64_t fanOut() const { return 1; }
  /// Before the tiles of one output row of input channel block `block`, whose window starts
  /// at input row `ih0`; outRows[r] is the row index (n * C_out/c + block*fanOut + r)*OH + oh
  /// of output r.
  virtual void beginRow(const std::vector<llvm::Value *> &outRows, llvm::Value *block, llvm::Value *ih0) {}
  virtual llvm::Value *initial(int64_t out) = 0;
  /// What tap (kh, kw) of output r shares among a tile's columns (the weights), or null.
  virtual llvm::Value *tapValue(llvm::Value *kh, int64_t kw, int64_t out) { return nullptr; }
  /// The input vector x as output r reads it.
  virtual llvm::Value *inputFor(llvm::Value *x, int64_t out) { return x; }
  virtual llvm::Value *combine(llvm::Value *acc, llvm::Value *x, llvm::Value *tap) = 0;
  /// Output r's vector at float `index` of its row, for output column `column` (-1: an
  /// interior column of the loop).
  virtual llvm::Value *finish(llvm::Value *acc, llvm::Value *index, int64_t column, int64_t out) { return acc; }
};

class WindowRowEmitter {
public:
  WindowRowEmitter(KernelBuilder &k, const Window &g, WindowMath &math, int64_t columns)
      : k_(k), ir_(k.ir()), g_(g), math_(math), columns_(columns), fanOut_(math.fanOut()),
        vector_(llvm::FixedVectorType::get(k.f32Type(), unsigned(g.lanes))) {}

  /// Output row `row` = (n * C/c + block) * OH + oh of `out` (fanOut rows for a grouped
  /// conv), read from `in`.
  void emitRow(llvm::Value *row, llvm::Value *in, llvm::Value *out);

private:
  void emitConstantTiles(int64_t begin, int64_t end);
  void emitTile(llvm::Value *start, int64_t constantStart, int64_t width);

  KernelBuilder &k_;
  llvm::IRBuilder<> &ir_;
  const Window &g_;
  WindowMath &math_;
  int64_t columns_, fanOut_;
  llvm::FixedVectorType *vector_;
  llvm::Value *inPlane_ = nullptr, *ih0_ = nullptr, *khLo_ = nullptr, *khHi_ = nullptr;
  std::vector<llvm::Value *> outRows_;
  std::vector<llvm::Value *> accumulators_;  ///< column j, output r at j * fanOut + r
};

void WindowRowEmitter::emitRow(llvm::Value *row, llvm::Value *in, llvm::Value *out) {
  int64_t c = g_.lanes;
  llvm::Value *oh = ir_.CreateSRem(row, k_.i64(g_.oh));
  llvm::Value *plane = ir_.CreateSDiv(row, k_.i64(g_.oh));  // n * C/c + block
  inPlane_ = k_.element(in, k_.mul(plane, g_.h * g_.w * c));
  // Output r's plane is n * C_out/c + block*fanOut + r = plane * fanOut + r.
  std::vector<llvm::Value *> outRowIndices;
  outRows_.clear();
  for (int64_t r = 0; r < fanOut_; ++r) {
    llvm::Value *index = fanOut_ == 1 ? row : ir_.CreateAdd(k_.mul(k_.add(k_.mul(plane, fanOut_), r), g_.oh), oh);
    outRowIndices.push_back(index);
    outRows_.push_back(k_.element(out, k_.mul(index, g_.ow * c)));
  }
  // Kernel rows kh whose input row ih0 + kh*dil is inside [0, H): kh in [khLo, khHi).
  ih0_ = k_.add(k_.mul(oh, g_.strideH), -g_.padT);
  khLo_ = k_.maxI(k_.i64(0), ir_.CreateSDiv(ir_.CreateSub(k_.i64(g_.dilH - 1), ih0_), k_.i64(g_.dilH)));
  khHi_ = k_.minI(k_.i64(g_.kh), ir_.CreateSDiv(ir_.CreateSub(k_.i64(g_.h + g_.dilH - 1), ih0_), k_.i64(g_.dilH)));
  math_.beginRow(outRowIndices, ir_.CreateSRem(plane, k_.i64(g_.channelBlocks)), ih0_);
  accumulators_.clear();
  for (int64_t j = 0; j < columns_ * fanOut_; ++j) accumulators_.push_back(k_.stackSlot(vector_));
  // Interior columns form one range [lo, hi) (a tap's input column grows with the output's).
  int64_t lo = 0;
  while (lo < g_.ow && !g_.allTapsInside(lo)) ++lo;
  int64_t hi = lo;
  while (hi < g_.ow && g_.allTapsInside(hi)) ++hi;
  int64_t loopEnd = lo + (hi - lo) / columns_ * columns_;
  emitConstantTiles(0, lo);
  if (loopEnd > lo)
    k_.loop(k_.i64(lo), k_.i64(loopEnd), [&](llvm::Value *start) { emitTile(start, -1, columns_); }, columns_);
  emitConstantTiles(loopEnd, g_.ow);
}

void WindowRowEmitter::emitConstantTiles(int64_t begin, int64_t end) {
  for (int64_t start = begin; start < end; start += columns_)
    emitTile(k_.i64(start), start, std::min(columns_, end - start));
}

/// A tile of `width` columns from `start`; `constantStart` >= 0 marks a tile emitted at its
/// compile-time position, whose taps outside the image are skipped.
void WindowRowEmitter::emitTile(llvm::Value *start, int64_t constantStart, int64_t width) {
  int64_t c = g_.lanes;
  bool constant = constantStart >= 0;
  auto accumulator = [&](int64_t j, int64_t r) { return accumulators_[size_t(j * fanOut_ + r)]; };
  for (int64_t j = 0; j < width; ++j)
    for (int64_t r = 0; r < fanOut_; ++r) ir_.CreateStore(math_.initial(r), accumulator(j, r));
  // Input float offset of tap kw of column j: ((start + j)*stride + kw*dil - pad) * c; in the
  // loop start is interior, so the offset of its first tap is >= 0.
  llvm::Value *column0 = constant ? nullptr : k_.mul(k_.add(k_.mul(start, g_.strideW), -g_.padL), c);
  auto tapOffset = [&](int64_t j, int64_t kw) {
    if (constant) return k_.i64(((constantStart + j) * g_.strideW + kw * g_.dilW - g_.padL) * c);
    return k_.add(column0, (j * g_.strideW + kw * g_.dilW) * c);
  };
  k_.loop(khLo_, khHi_, [&](llvm::Value *kh) {
    llvm::Value *ih = ir_.CreateAdd(ih0_, k_.mul(kh, g_.dilH));
    llvm::Value *inRow = k_.element(inPlane_, k_.mul(ih, g_.w * c));
    for (int64_t kw = 0; kw < g_.kw; ++kw) {
      std::vector<llvm::Value *> taps;  // loaded at the first column reading tap kw
      for (int64_t j = 0; j < width; ++j) {
        if (constant && !g_.tapInside(constantStart + j, kw)) continue;
        for (int64_t r = int64_t(taps.size()); r < fanOut_; ++r) taps.push_back(math_.tapValue(kh, kw, r));
        llvm::Value *x = k_.loadLanes(inRow, tapOffset(j, kw), c);
        for (int64_t r = 0; r < fanOut_; ++r) {
          llvm::Value *slot = accumulator(j, r);
          llvm::Value *acc = ir_.CreateLoad(vector_, slot);
          ir_.CreateStore(math_.combine(acc, math_.inputFor(x, r), taps[size_t(r)]), slot);
        }
      }
    }
  });
  for (int64_t j = 0; j < width; ++j) {
    llvm::Value *index = constant ? k_.i64((constantStart + j) * c) : k_.mul(k_.add(start, j), c);
    for (int64_t r = 0; r < fanOut_; ++r) {
      llvm::Value *acc = ir_.CreateLoad(vector_, accumulator(j, r));
      k_.storeLanes(math_.finish(acc, index, constant ? constantStart + j : -1, r), outRows_[size_t(r)], index);
    }
  }
}

/// Columns per tile: half the vector registers hold accumulators, `fanOut` per column (the
/// rest hold the tap's weights, the loaded and permuted inputs and addresses); 16 registers
/// with AVX2 (width 8), 32 with AVX-512 and NEON. A block wider than the target's vectors
/// takes several registers per vector.
int64_t tileColumns(int64_t lanes, int64_t fanOut, const Schedule &defaults) {
  int64_t registers = defaults.vectorWidth == 8 ? 16 : 32;
  int64_t perVector = std::max<int64_t>(1, lanes / std::max<int64_t>(1, defaults.vectorWidth));
  return std::clamp<int64_t>(registers / perVector / 2 / fanOut, fanOut == 1 ? 2 : 1, 8);
}

/// acc = bias + sum of w[tap] * x over the taps; then the fused_conv epilogue. With channel
/// multiplier m, output r of input block `block` is output block block*m + r, whose lane l
/// reads input lane (r*c + l) / m.
class DepthwiseMath : public WindowMath {
public:
  DepthwiseMath(KernelBuilder &k, const Window &g, const ConvEpilogue &epilogue, int64_t packedOffset,
                int64_t multiplier)
      : k_(k), ir_(k.ir()), g_(g), epilogue_(epilogue), packedOffset_(packedOffset), multiplier_(multiplier),
        vector_(llvm::FixedVectorType::get(k.f32Type(), unsigned(g.lanes))) {}

  int64_t fanOut() const override { return multiplier_; }
  void beginRow(const std::vector<llvm::Value *> &outRows, llvm::Value *block, llvm::Value *) override {
    int64_t c = g_.lanes;
    llvm::Value *firstOut = k_.mul(block, multiplier_);  // output block of r = 0
    weights_ = k_.element(k_.blobPointer(packedOffset_), k_.mul(firstOut, g_.kh * g_.kw * c));
    biases_.clear();
    residualRows_.clear();
    for (int64_t r = 0; r < multiplier_; ++r) {
      biases_.push_back(epilogue_.bias ? k_.loadLanes(k_.base(epilogue_.bias), k_.mul(k_.add(firstOut, r), c), c)
                                       : llvm::Constant::getNullValue(vector_));
      if (epilogue_.residual)
        residualRows_.push_back(k_.element(k_.base(epilogue_.residual), k_.mul(outRows[size_t(r)], g_.ow * c)));
    }
  }
  llvm::Value *initial(int64_t out) override { return biases_[size_t(out)]; }
  llvm::Value *tapValue(llvm::Value *kh, int64_t kw, int64_t out) override {
    int64_t tapFloats = g_.kw * g_.lanes;
    return k_.loadLanes(weights_, k_.add(k_.mul(kh, tapFloats), (out * g_.kh * g_.kw + kw) * g_.lanes), g_.lanes);
  }
  llvm::Value *inputFor(llvm::Value *x, int64_t out) override {
    if (multiplier_ == 1) return x;
    std::vector<int> lanes;
    for (int64_t l = 0; l < g_.lanes; ++l) lanes.push_back(int((out * g_.lanes + l) / multiplier_));
    return ir_.CreateShuffleVector(x, lanes);
  }
  llvm::Value *combine(llvm::Value *acc, llvm::Value *x, llvm::Value *weight) override {
    return ir_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vector_}, {weight, x, acc});
  }
  llvm::Value *finish(llvm::Value *value, llvm::Value *index, int64_t, int64_t out) override {
    auto residual = [&] { return k_.loadLanes(residualRows_[size_t(out)], index, g_.lanes); };
    if (epilogue_.residual && epilogue_.residualBeforeActivation) value = ir_.CreateFAdd(value, residual());
    if (epilogue_.relu) {
      llvm::Value *zero = llvm::Constant::getNullValue(vector_);
      value = ir_.CreateSelect(ir_.CreateFCmpOLT(value, zero), zero, value);
    }
    if (epilogue_.residual && !epilogue_.residualBeforeActivation) value = ir_.CreateFAdd(value, residual());
    return value;
  }

private:
  KernelBuilder &k_;
  llvm::IRBuilder<> &ir_;
  const Window &g_;
  ConvEpilogue epilogue_;
  int64_t packedOffset_, multiplier_;
  llvm::FixedVectorType *vector_;
  llvm::Value *weights_ = nullptr;
  std::vector<llvm::Value *> biases_, residualRows_;
};

/// Weights [C_out][1][KH][KW] -> [C_out/c][KH][KW][c]: the c output channels of one tap form
/// one vector.
std::vector<float> packDepthwiseWeights(const Tensor &weight, const Window &g) {
  std::span<const float> w = weight.f32();
  int64_t c = g.lanes, taps = g.kh * g.kw, outBlocks = int64_t(w.size()) / (taps * c);
  std::vector<float> packed(w.size());
  size_t next = 0;
  for (int64_t block = 0; block < outBlocks; ++block)
    for (int64_t tap = 0; tap < taps; ++tap)
      for (int64_t l = 0; l < c; ++l) packed[next++] = w[size_t((block * c + l) * taps + tap)];
  return packed;
}

/// The NCHW kernel's max (emit_pool.cpp): padding never wins (it is skipped), ties keep the
/// first tap, and x > acc ? x : acc is one vmaxps / fmax per tap. Like that kernel, a NaN tap
/// is not propagated (the interpreter's is): checking every tap for NaN made this kernel
/// 25-35% slower, compute-bound instead of memory-bound.
class MaxPoolMath : public WindowMath {
public:
  MaxPoolMath(KernelBuilder &k, int64_t lanes) : k_(k), ir_(k.ir()), lanes_(lanes) {}
  llvm::Value *initial(int64_t) override { return k_.splat(k_.f32(-INFINITY), lanes_); }
  llvm::Value *combine(llvm::Value *acc, llvm::Value *x, llvm::Value *) override {
    return ir_.CreateSelect(ir_.CreateFCmpOGT(x, acc), x, acc);
  }

private:
  KernelBuilder &k_;
  llvm::IRBuilder<> &ir_;
  int64_t lanes_;
};

/// Sum of the taps inside the image over PyTorch's divisor: the window clipped to the padded
/// image (count_include_pad) or to the image. The divisor is rows x columns: the rows' count
/// is computed once per output row, the columns' count is a compile-time constant per edge
/// column and the kernel width for interior ones.
class AvgPoolMath : public WindowMath {
public:
  AvgPoolMath(KernelBuilder &k, const Window &g, bool countPad) : k_(k), ir_(k.ir()), g_(g), countPad_(countPad) {}

  void beginRow(const std::vector<llvm::Value *> &, llvm::Value *, llvm::Value *ih0) override {
    llvm::Value *end = k_.minI(k_.add(ih0, g_.kh), k_.i64(g_.h + g_.padB));
    llvm::Value *rows = countPad_ ? ir_.CreateSub(end, ih0)
                                  : ir_.CreateSub(k_.minI(end, k_.i64(g_.h)), k_.maxI(ih0, k_.i64(0)));
    // A window without taps sums to 0, and 0 / max(count, 1) is the interpreter's 0.
    rows_ = ir_.CreateSIToFP(k_.maxI(rows, k_.i64(1)), k_.f32Type());
  }
  llvm::Value *initial(int64_t) override { return k_.splat(k_.f32(0.0f), g_.lanes); }
  llvm::Value *combine(llvm::Value *acc, llvm::Value *x, llvm::Value *) override { return ir_.CreateFAdd(acc, x); }
  llvm::Value *finish(llvm::Value *sum, llvm::Value *, int64_t column, int64_t) override {
    llvm::Value *divisor = ir_.CreateFMul(rows_, k_.f32(float(columnCount(column))));
    return ir_.CreateFDiv(sum, k_.splat(divisor, g_.lanes));
  }

private:
  int64_t columnCount(int64_t column) const {
    if (column < 0) return g_.kw;
    int64_t w0 = column * g_.strideW - g_.padL, end = std::min(w0 + g_.kw, g_.w + g_.padR);
    int64_t count = countPad_ ? end - w0 : std::min(end, g_.w) - std::max<int64_t>(w0, 0);
    return std::max<int64_t>(count, 1);
  }

  KernelBuilder &k_;
  llvm::IRBuilder<> &ir_;
  const Window &g_;
  bool countPad_;
  llvm::Value *rows_ = nullptr;
};

void expectSameBlockedLayout(const Node &node) {
  const TensorType &x = node.inputs[0]->type, &y = node.result->type;
  if (!x.blocked() || x.channelBlock != y.channelBlock)
    fail("codegen: node %{} ({}): the blocked kernel needs input and output in one blocked layout, got {} -> {}",
         node.name(), node.info().name, toString(x), toString(y));
}

/// A window kernel: one output row (`fanOut` rows for a grouped conv) per parallel iteration.
KernelSpec windowKernel(const std::string &family, const Node &node, const Window &g, EmitContext &context,
                        int64_t fanOut,
                        std::function<std::unique_ptr<WindowMath>(KernelBuilder &, const Window &)> makeMath) {
  KernelSpec spec{family, context.defaults, {}};
  const Shape &y = node.result->type.shape;
  spec.schedule.parallelCount = y[0] * g.channelBlocks * g.oh;
  spec.schedule.vectorWidth = g.lanes;
  int64_t columns = tileColumns(g.lanes, fanOut, context.defaults);
  spec.schedule.vectorBlock = columns;
  const Value *x = node.inputs[0], *out = node.result;
  spec.body = [=](KernelBuilder &k, llvm::Value *row) {
    std::unique_ptr<WindowMath> math = makeMath(k, g);
    WindowRowEmitter(k, g, *math, columns).emitRow(row, k.base(x), k.base(out));
  };
  return spec;
}

} // namespace

KernelSpec emitBlockedDepthwiseConv(const Node &node, EmitContext &context) {
  expectSameBlockedLayout(node);
  const Shape &x = node.inputs[0]->type.shape, &y = node.result->type.shape;
  if (node.attrInt("groups") != x[1] || y[1] % x[1] != 0)
    fail("codegen: node %{} ({}): the blocked grouped conv needs groups == input channels and output channels a "
         "multiple of them, got groups {}, {} -> {} channels", node.name(), node.info().name, node.attrInt("groups"),
         x[1], y[1]);
  int64_t multiplier = y[1] / x[1];
  const Shape &w = node.inputs[1]->type.shape;
  Window g = windowOf(node, {w[2], w[3]}, node.attrInts("dilation"));
  ConvEpilogue epilogue = blockedEpilogue(node);
  std::vector<float> packed = packDepthwiseWeights(weightData(node, 1), g);
  int64_t packedOffset = context.buffers.blob->add(packed.data(), packed.size() * sizeof(float));
  std::string family = multiplier == 1 ? "conv_blocked_depthwise" : "conv_blocked_grouped";
  return windowKernel(family, node, g, context, multiplier, [=](KernelBuilder &k, const Window &window) {
    return std::make_unique<DepthwiseMath>(k, window, epilogue, packedOffset, multiplier);
  });
}

KernelSpec emitBlockedPool(const Node &node, EmitContext &context) {
  expectSameBlockedLayout(node);
  bool isMax = node.op == OpId::max_pool;
  Window g = windowOf(node, node.attrInts("kernel"), isMax ? node.attrInts("dilation") : std::vector<int64_t>{1, 1});
  if (isMax)
    return windowKernel("max_pool_blocked", node, g, context, 1, [](KernelBuilder &k, const Window &window) {
      return std::make_unique<MaxPoolMath>(k, window.lanes);
    });
  bool countPad = node.attrBool("count_include_pad");
  return windowKernel("avg_pool_blocked", node, g, context, 1, [=](KernelBuilder &k, const Window &window) {
    return std::make_unique<AvgPoolMath>(k, window, countPad);
  });
}

KernelSpec emitBlockedGlobalAvgPool(const Node &node, EmitContext &context) {
  expectSameBlockedLayout(node);
  const Shape &in = node.inputs[0]->type.shape;
  int64_t c = node.result->type.channelBlock, pixels = in[2] * in[3];
  KernelSpec spec{"global_avg_pool_blocked", context.defaults, {}};
  spec.schedule.parallelCount = in[0] * in[1] / c;
  spec.schedule.vectorWidth = c;
  const Value *x = node.inputs[0], *y = node.result;
  // Each lane sums its channel in pixel order, as the NCHW kernel does, so both layouts give
  // the same bits; the output [N][C/c][1][1][c] is plane p's vector at p * c.
  spec.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto &ir = k.ir();
    auto *vector = llvm::FixedVectorType::get(k.f32Type(), unsigned(c));
    llvm::Value *inPlane = k.element(k.base(x), k.mul(plane, pixels * c));
    llvm::Value *sum = k.stackSlot(vector);
    ir.CreateStore(llvm::Constant::getNullValue(vector), sum);
    k.loop(0, pixels, [&](llvm::Value *p) {
      ir.CreateStore(ir.CreateFAdd(ir.CreateLoad(vector, sum), k.loadLanes(inPlane, k.mul(p, c), c)), sum);
    });
    llvm::Value *mean = ir.CreateFDiv(ir.CreateLoad(vector, sum), k.splat(k.f32(float(pixels)), c));
    k.storeLanes(mean, k.base(y), k.mul(plane, c));
  };
  return spec;
}

KernelSpec emitBlockedConcat(const Node &node, EmitContext &context) {
  int64_t c = node.result->type.channelBlock;
  for (const Value *input : node.inputs)
    if (input->type.channelBlock != c || input->type.shape[1] % c != 0)
      fail("codegen: node %{} (concat): blocked inputs need layout {} and channels a multiple of {}, got %{} {}",
           node.name(), layoutName(c), c, input->name, toString(input->type));
  // Image n of an input with Ci channels (a multiple of c) is one run of Ci*H*W floats in
  // NCHW{c}c, as in NCHW, and it belongs at channel `first` (a multiple of c) of the output
  // image, which in NCHW{c}c starts first*H*W floats in, as in NCHW. So the NCHW concat's
  // flat copies (H*W floats per (n, channel) of the input, to the same flat offsets) move
  // whole blocked runs to the right places: it is exact for blocked values as it is.
  KernelSpec spec = emitConcat(node, context);
  spec.family = "concat_blocked";
  return spec;
}

KernelSpec emitBlockedChannelBroadcast(const Node &node, EmitContext &context) {
  const TensorType &y = node.result->type;
  size_t full = node.inputs[0]->type.shape == y.shape ? 0 : 1;
  const Value *x = node.inputs[full], *channels = node.inputs[1 - full];
  const Shape &v = channels->type.shape;
  if (x->type != y || v.size() != 4 || (v[0] != 1 && v[0] != y.shape[0]) || v[1] != y.shape[1] || v[2] != 1 ||
      v[3] != 1)
    fail("codegen: node %{} ({}): a blocked broadcast needs a {} operand and a per-channel [N,C,1,1] one, got {} "
         "and {}", node.name(), node.info().name, toString(y), toString(node.inputs[0]->type),
         toString(node.inputs[1]->type));
  int64_t c = y.channelBlock, blocks = y.shape[1] / c, pixels = y.shape[2] * y.shape[3];
  KernelSpec spec{"broadcast_blocked", context.defaults, {}};
  spec.schedule.parallelCount = y.shape[0] * blocks;
  spec.schedule.vectorWidth = c;
  bool perImage = v[0] != 1, isAdd = node.op == OpId::add;
  const Value *out = node.result;
  // A [N,C,1,1] vector has the same bytes in NCHW and NCHW{c}c: block b of image n is at
  // (n * C/c + b) * c either way (a weight operand keeps NCHW, an activation is blocked).
  spec.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto &ir = k.ir();
    llvm::Value *vectorIndex = k.mul(perImage ? plane : ir.CreateSRem(plane, k.i64(blocks)), c);
    llvm::Value *scale = k.loadLanes(k.base(channels), vectorIndex, c);
    llvm::Value *in = k.element(k.base(x), k.mul(plane, pixels * c));
    llvm::Value *outPlane = k.element(k.base(out), k.mul(plane, pixels * c));
    k.loop(0, pixels, [&](llvm::Value *p) {
      llvm::Value *pixel = k.loadLanes(in, k.mul(p, c), c);
      llvm::Value *a = full == 0 ? pixel : scale, *b = full == 0 ? scale : pixel;
      k.storeLanes(isAdd ? ir.CreateFAdd(a, b) : ir.CreateFMul(a, b), outPlane, k.mul(p, c));
    });
  };
  return spec;
}

} // namespace bisc
