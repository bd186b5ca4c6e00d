//===- emit_conv.cpp - Convolutions: dense, grouped, depthwise, 1x1 -------===//
//
// One iteration computes one output channel plane (n, oc), a tile of `tileRows` rows at a
// time, accumulated in a stack buffer so the accumulating rows stay in L1:
//
//   for each row tile:
//     acc[tile] = bias
//     for ic in the group, kh, oh in tile, kw:          (kh, kw unrolled at compile time)
//       acc[oh, ow] += w[oc, ic, kh, kw] * in[ic, oh*s + kh*d - p, ow*s + kw*d - p]
//          for ow in the range whose input column is inside the image
//     out[tile] = epilogue(acc[tile])
//
// The valid oh/ow ranges of each (kh, kw) are compile-time constants, so the inner loop has
// no bounds checks and LLVM vectorises it over ow.
//
// Depthwise planes (one input channel per group: DW and channel-multiplier convs) have too
// few taps per output for the accumulator buffer to pay: each output is summed in a register
// over its taps, finished by the epilogue and stored once, row by row:
//
//   for oh: for ow in the columns whose taps are all inside the image (vectorised over ow):
//     out[oh, ow] = epilogue(bias + sum over the rows kh valid for oh, kw of w[kh, kw] * in[..])
//   plus the few border rows and columns, each with its compile-time set of valid taps.
#include "compiler/codegen/conv_microkernel.h"
#include "compiler/codegen/conv_plane.h"

namespace bisc {

namespace {

/// First and one-past-last output index whose input index o*stride + k*dil - pad is in [0, in).
std::pair<int64_t, int64_t> validRange(int64_t in, int64_t out, int64_t stride, int64_t offset) {
  // o*stride + offset >= 0  and  o*stride + offset <= in - 1
  int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t hiIncl = in - 1 - offset < 0 ? -1 : (in - 1 - offset) / stride;
  return {std::min(lo, out), std::clamp<int64_t>(hiIncl + 1, 0, out)};
}

/// acc[oh - tile, ow] += w[kh, kw] * in[ih, iw] over the taps of one input channel plane
/// (`inPlane` null: an input of 1 inside the image).
void accumulateChannel(KernelBuilder &k, const ConvShape &s, llvm::Value *acc, llvm::Value *tile,
                       llvm::Value *tileEnd, llvm::Value *inPlane, llvm::Value *wRow) {
  auto &ir = k.ir();
  for (int64_t kh = 0; kh < s.kh; ++kh) {
    auto [ohLo, ohHi] = validRange(s.h, s.oh, s.strideH, kh * s.dilH - s.padT);
    if (ohLo >= ohHi) continue;
    llvm::Value *lo = k.maxI(tile, k.i64(ohLo)), *hi = k.minI(tileEnd, k.i64(ohHi));
    k.loop(lo, hi, [&](llvm::Value *oh) {
      llvm::Value *accRow = k.element(acc, k.mul(ir.CreateSub(oh, tile), s.ow));
      llvm::Value *ih = k.add(k.mul(oh, s.strideH), kh * s.dilH - s.padT);
      llvm::Value *inRow = inPlane ? k.element(inPlane, k.mul(ih, s.w)) : nullptr;
      for (int64_t kw = 0; kw < s.kw; ++kw) {
        int64_t offset = kw * s.dilW - s.padL;
        auto [owLo, owHi] = validRange(s.w, s.ow, s.strideW, offset);
        if (owLo >= owHi) continue;
        llvm::Value *wv = k.loadF32(wRow, k.i64(kh * s.kw + kw));
        k.loop(owLo, owHi, [&](llvm::Value *ow) {
          llvm::Value *term = wv;
          if (inRow) term = ir.CreateFMul(wv, k.loadF32(inRow, k.add(k.mul(ow, s.strideW), offset)));
          k.storeF32(ir.CreateFAdd(k.loadF32(accRow, ow), term), accRow, ow);
        });
      }
    });
  }
}

/// Output indices [lo, hi) whose taps 0..taps-1 (offsets k*dil - pad) are all inside [0, in).
std::pair<int64_t, int64_t> interiorRange(int64_t in, int64_t out, int64_t stride, int64_t taps, int64_t dil,
                                          int64_t pad) {
  int64_t lo = 0, hi = out;
  for (int64_t t = 0; t < taps; ++t) {
    auto [tapLo, tapHi] = validRange(in, out, stride, t * dil - pad);
    lo = std::max(lo, tapLo);
    hi = std::min(hi, tapHi);
  }
  return {lo, std::max(lo, hi)};
}

/// Taps t whose input index o*stride + t*dil - pad is inside [0, in) for output index o.
std::vector<int64_t> validTaps(int64_t o, int64_t in, int64_t stride, int64_t taps, int64_t dil, int64_t pad) {
  std::vector<int64_t> valid;
  for (int64_t t = 0; t < taps; ++t) {
    int64_t i = o * stride + t * dil - pad;
    if (i >= 0 && i < in) valid.push_back(t);
  }
  return valid;
}

/// Border rows or columns are emitted one by one; more than this and the plane takes the
/// accumulator-buffer path instead.
constexpr int64_t kMaxBorder = 8;

bool depthwiseApplies(const ConvPlane &conv, llvm::Value *unitTaps) {
  const ConvShape &s = conv.shape;
  if (unitTaps || conv.input.size() != 1 || s.groups == 1 || s.ic != s.groups) return false;
  auto [ohLo, ohHi] = interiorRange(s.h, s.oh, s.strideH, s.kh, s.dilH, s.padT);
  auto [owLo, owHi] = interiorRange(s.w, s.ow, s.strideW, s.kw, s.dilW, s.padL);
  return ohLo + (s.oh - ohHi) <= kMaxBorder && owLo + (s.ow - owHi) <= kMaxBorder;
}

/// Emits the depthwise plane (see the file comment).
class DepthwisePlane {
public:
  DepthwisePlane(KernelBuilder &k, const ConvPlane &conv, llvm::Value *plane)
      : k_(k), conv_(conv), s_(conv.shape), plane_(plane) {
    auto &ir = k.ir();
    llvm::Value *n = ir.CreateSDiv(plane, k.i64(s_.oc));
    llvm::Value *oc = ir.CreateSRem(plane, k.i64(s_.oc));
    llvm::Value *ic = ir.CreateSDiv(oc, k.i64(s_.oc / s_.groups));
    inPlane_ = k.element(k.base(conv.input[0].value), k.mul(ir.CreateAdd(k.mul(n, s_.ic), ic), s_.h * s_.w));
    outPlane_ = k.element(k.base(conv.out), k.mul(plane, s_.oh * s_.ow));
    bias_ = conv.bias ? k.loadF32(k.base(conv.bias), oc) : k.f32(0.0f);
    llvm::Value *wPlane = k.element(k.base(conv.weight), k.mul(oc, s_.kh * s_.kw));
    for (int64_t t = 0; t < s_.kh * s_.kw; ++t) weights_.push_back(k.loadF32(wPlane, k.i64(t)));
  }

  void emit() {
    auto [ohLo, ohHi] = interiorRange(s_.h, s_.oh, s_.strideH, s_.kh, s_.dilH, s_.padT);
    std::vector<int64_t> allRows(size_t(s_.kh));
    for (int64_t kh = 0; kh < s_.kh; ++kh) allRows[size_t(kh)] = kh;
    for (int64_t oh = 0; oh < ohLo; ++oh) emitRow(k_.i64(oh), rowTaps(oh));
    k_.loop(k_.i64(ohLo), k_.i64(ohHi), [&](llvm::Value *oh) { emitRow(oh, allRows); });
    for (int64_t oh = ohHi; oh < s_.oh; ++oh) emitRow(k_.i64(oh), rowTaps(oh));
  }

private:
  std::vector<int64_t> rowTaps(int64_t oh) const {
    return validTaps(oh, s_.h, s_.strideH, s_.kh, s_.dilH, s_.padT);
  }

  /// Output row `oh`, reading the kernel rows `rows` (those inside the image).
  void emitRow(llvm::Value *oh, const std::vector<int64_t> &rows) {
    std::vector<llvm::Value *> inRows;
    for (int64_t kh : rows) {
      llvm::Value *ih = k_.add(k_.mul(oh, s_.strideH), kh * s_.dilH - s_.padT);
      inRows.push_back(k_.element(inPlane_, k_.mul(ih, s_.w)));
    }
    auto [owLo, owHi] = interiorRange(s_.w, s_.ow, s_.strideW, s_.kw, s_.dilW, s_.padL);
    std::vector<int64_t> allColumns(size_t(s_.kw));
    for (int64_t kw = 0; kw < s_.kw; ++kw) allColumns[size_t(kw)] = kw;
    auto column = [&](llvm::Value *ow, const std::vector<int64_t> &columns) {
      emitOutput(oh, ow, rows, inRows, columns);
    };
    for (int64_t ow = 0; ow < owLo; ++ow) column(k_.i64(ow), validTaps(ow, s_.w, s_.strideW, s_.kw, s_.dilW, s_.padL));
    k_.loop(k_.i64(owLo), k_.i64(owHi), [&](llvm::Value *ow) { column(ow, allColumns); });
    for (int64_t ow = owHi; ow < s_.ow; ++ow)
      column(k_.i64(ow), validTaps(ow, s_.w, s_.strideW, s_.kw, s_.dilW, s_.padL));
  }

  /// out[oh, ow] = epilogue(bias + taps), the taps summed in (kh, kw) order.
  void emitOutput(llvm::Value *oh, llvm::Value *ow, const std::vector<int64_t> &rows,
                  const std::vector<llvm::Value *> &inRows, const std::vector<int64_t> &columns) {
    auto &ir = k_.ir();
    llvm::Value *v = bias_;
    llvm::Value *iw0 = k_.mul(ow, s_.strideW);
    for (size_t r = 0; r < rows.size(); ++r)
      for (int64_t kw : columns) {
        llvm::Value *x = k_.loadF32(inRows[r], k_.add(iw0, kw * s_.dilW - s_.padL));
        v = ir.CreateFAdd(v, ir.CreateFMul(weights_[size_t(rows[r] * s_.kw + kw)], x));
      }
    llvm::Value *pixel = ir.CreateAdd(k_.mul(oh, s_.ow), ow);
    if (conv_.epilogue) v = conv_.epilogue(k_, v, plane_, pixel);
    k_.storeF32(v, outPlane_, pixel);
  }

  KernelBuilder &k_;
  const ConvPlane &conv_;
  const ConvShape &s_;
  llvm::Value *plane_, *inPlane_ = nullptr, *outPlane_ = nullptr, *bias_ = nullptr;
  std::vector<llvm::Value *> weights_;
};

} // namespace

ConvShape convShape(const Node &node, size_t weightOperand) {
  const Shape &x = node.inputs[0]->type.shape, &w = node.inputs[weightOperand]->type.shape;
  const Shape &y = node.result->type.shape;
  auto stride = node.attrInts("stride"), pads = node.attrInts("pads"), dil = node.attrInts("dilation");
  return {x[0], x[1], x[2], x[3], y[1], y[2], y[3], w[2], w[3], node.attrInt("groups"),
          stride[0], stride[1], pads[0], pads[1], dil[0], dil[1]};
}

ConvShape pointwiseShape(const Shape &x, int64_t inChannels, int64_t outChannels) {
  return {x[0], inChannels, x[2], x[3], outChannels, x[2], x[3], 1, 1, 1, 1, 1, 0, 0, 1, 1};
}

Schedule convSchedule(const ConvShape &s, const Schedule &defaults) {
  Schedule schedule = defaults;
  schedule.parallelCount = s.n * s.oc;
  // A tile of about 16 KB of accumulators.
  schedule.tileRows = std::max<int64_t>(1, std::min<int64_t>(s.oh, 4096 / std::max<int64_t>(s.ow, 1)));
  return schedule;
}

void emitConvPlane(KernelBuilder &k, const ConvPlane &conv, const Schedule &schedule, llvm::Value *plane,
                   llvm::Value *unitTaps) {
  if (depthwiseApplies(conv, unitTaps)) {
    DepthwisePlane(k, conv, plane).emit();
    return;
  }
  const ConvShape &s = conv.shape;
  auto &ir = k.ir();
  int64_t tileRows = schedule.tileRows;
  int64_t icPerGroup = s.ic / s.groups, ocPerGroup = s.oc / s.groups;
  llvm::Value *n = ir.CreateSDiv(plane, k.i64(s.oc));
  llvm::Value *oc = ir.CreateSRem(plane, k.i64(s.oc));
  llvm::Value *group = ir.CreateSDiv(oc, k.i64(ocPerGroup));
  llvm::Value *outPlane = k.element(k.base(conv.out), k.mul(plane, s.oh * s.ow));
  llvm::Value *biasValue = conv.bias ? k.loadF32(k.base(conv.bias), oc) : k.f32(0.0f);
  llvm::Value *wBase = k.element(k.base(conv.weight), k.mul(oc, icPerGroup * s.kh * s.kw));
  llvm::Value *acc = k.stackSlot(llvm::ArrayType::get(k.f32Type(), uint64_t(tileRows * s.ow)));

  k.loop(k.i64(0), k.i64(s.oh), [&](llvm::Value *tile) {
    llvm::Value *tileEnd = k.minI(k.add(tile, tileRows), k.i64(s.oh));
    llvm::Value *tileSize = k.mul(ir.CreateSub(tileEnd, tile), s.ow);
    k.loop(k.i64(0), tileSize, [&](llvm::Value *i) { k.storeF32(biasValue, acc, i); });
    if (unitTaps) accumulateChannel(k, s, acc, tile, tileEnd, nullptr, unitTaps);
    int64_t firstChannel = 0;
    for (const ConvInputPart &part : conv.input) {
      // groups == 1 walks every channel of every part; grouped convs have one part.
      llvm::Value *inBatch = k.element(k.base(part.value), k.mul(n, part.channels * s.h * s.w));
      llvm::Value *groupFirst = s.groups == 1 ? k.i64(0) : k.mul(group, icPerGroup);
      int64_t channels = s.groups == 1 ? part.channels : icPerGroup;
      k.loop(0, channels, [&](llvm::Value *icl) {
        llvm::Value *inPlane = k.element(inBatch, k.mul(ir.CreateAdd(groupFirst, icl), s.h * s.w));
        llvm::Value *wRow = k.element(wBase, k.mul(k.add(icl, firstChannel), s.kh * s.kw));
        accumulateChannel(k, s, acc, tile, tileEnd, inPlane, wRow);
      });
      firstChannel += part.channels;
    }
    llvm::Value *tileOut = k.element(outPlane, k.mul(tile, s.ow));
    llvm::Value *tileFirstPixel = k.mul(tile, s.ow);
    k.loop(k.i64(0), tileSize, [&](llvm::Value *i) {
      llvm::Value *v = k.loadF32(acc, i);
      if (conv.epilogue) v = conv.epilogue(k, v, plane, ir.CreateAdd(tileFirstPixel, i));
      k.storeF32(v, tileOut, i);
    });
  }, tileRows);
}

void addUnitTaps(KernelBuilder &k, const ConvShape &shape, llvm::Value *outPlane, llvm::Value *taps) {
  accumulateChannel(k, shape, outPlane, k.i64(0), k.i64(shape.oh), nullptr, taps);
}

KernelSpec emitConv(const Node &node, EmitContext &context) {
  const Value *bias = node.inputs.size() > 2 ? node.inputs[2] : nullptr;
  if (std::optional<KernelSpec> dense = emitDenseConv(node, {.bias = bias}, context)) return *dense;
  ConvPlane conv;
  conv.shape = convShape(node);
  conv.input = {{node.inputs[0], conv.shape.ic}};
  conv.weight = node.inputs[1];
  conv.bias = bias;
  conv.out = node.result;
  KernelSpec spec{"conv", convSchedule(conv.shape, context.defaults), {}};
  spec.body = [conv, schedule = spec.schedule](KernelBuilder &k, llvm::Value *plane) {
    emitConvPlane(k, conv, schedule, plane);
  };
  return spec;
}

} // namespace bisc
