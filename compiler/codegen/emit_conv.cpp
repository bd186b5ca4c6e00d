//===- emit_conv.cpp - Convolutions: dense, grouped, depthwise, 1x1 -------===//
//
// One iteration computes one output channel plane (n, oc), a tile of `tileRows` rows at a
// time so the accumulating rows stay in L1:
//
//   for each row tile:
//     out[tile] = bias
//     for ic in the group, kh, oh in tile, kw:          (kh, kw unrolled at compile time)
//       out[oh, ow] += w[oc, ic, kh, kw] * in[ic, oh*s + kh*d - p, ow*s + kw*d - p]
//          for ow in the range whose input column is inside the image
//
// The valid oh/ow ranges of each (kh, kw) are compile-time constants, so the inner loop has
// no bounds checks and LLVM vectorises it over ow.
#include "compiler/codegen/emitters.h"

namespace bisc {

namespace {

struct ConvShape {
  int64_t n, ic, h, w, oc, oh, ow, kh, kw, groups;
  int64_t strideH, strideW, padT, padL, dilH, dilW;
};

ConvShape convShape(const Node &node) {
  const Shape &x = node.inputs[0]->type.shape, &w = node.inputs[1]->type.shape;
  const Shape &y = node.result->type.shape;
  auto stride = node.attrInts("stride"), pads = node.attrInts("pads"), dil = node.attrInts("dilation");
  return {x[0], x[1], x[2], x[3], y[1], y[2], y[3], w[2], w[3], node.attrInt("groups"),
          stride[0], stride[1], pads[0], pads[1], dil[0], dil[1]};
}

/// First and one-past-last output index whose input index o*stride + k*dil - pad is in [0, in).
std::pair<int64_t, int64_t> validRange(int64_t in, int64_t out, int64_t stride, int64_t offset) {
  // o*stride + offset >= 0  and  o*stride + offset <= in - 1
  int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t hiIncl = in - 1 - offset < 0 ? -1 : (in - 1 - offset) / stride;
  return {std::min(lo, out), std::clamp<int64_t>(hiIncl + 1, 0, out)};
}

} // namespace

KernelSpec emitConv(const Node &node, EmitContext &context) {
  ConvShape s = convShape(node);
  KernelSpec spec{"conv", context.defaults, {}};
  spec.schedule.parallelCount = s.n * s.oc;
  spec.schedule.tileRows = std::max<int64_t>(1, std::min<int64_t>(s.oh, 4096 / std::max<int64_t>(s.ow, 1)));
  const Value *x = node.inputs[0], *weight = node.inputs[1];
  const Value *bias = node.inputs.size() > 2 ? node.inputs[2] : nullptr;
  const Value *y = node.result;
  int64_t tileRows = spec.schedule.tileRows;
  int64_t icPerGroup = s.ic / s.groups, ocPerGroup = s.oc / s.groups;

  spec.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto &ir = k.ir();
    llvm::Value *n = ir.CreateSDiv(plane, k.i64(s.oc));
    llvm::Value *oc = ir.CreateSRem(plane, k.i64(s.oc));
    llvm::Value *group = ir.CreateSDiv(oc, k.i64(ocPerGroup));
    llvm::Value *outPlane = k.element(k.base(y), k.mul(plane, s.oh * s.ow));
    llvm::Value *biasValue = bias ? k.loadF32(k.base(bias), oc) : k.f32(0.0f);
    llvm::Value *inBatch = k.element(k.base(x), k.mul(n, s.ic * s.h * s.w));
    llvm::Value *wBase = k.element(k.base(weight), k.mul(oc, icPerGroup * s.kh * s.kw));

    k.loop(k.i64(0), k.i64(s.oh), [&](llvm::Value *tile) {
      llvm::Value *tileEnd = k.minI(k.add(tile, tileRows), k.i64(s.oh));
      k.loop(tile, tileEnd, [&](llvm::Value *oh) {
        llvm::Value *row = k.element(outPlane, k.mul(oh, s.ow));
        k.loop(0, s.ow, [&](llvm::Value *ow) { k.storeF32(biasValue, row, ow); });
      });
      k.loop(0, icPerGroup, [&](llvm::Value *icl) {
        llvm::Value *ic = ir.CreateAdd(k.mul(group, icPerGroup), icl);
        llvm::Value *inPlane = k.element(inBatch, k.mul(ic, s.h * s.w));
        llvm::Value *wRow = k.element(wBase, k.mul(icl, s.kh * s.kw));
        for (int64_t kh = 0; kh < s.kh; ++kh) {
          auto [ohLo, ohHi] = validRange(s.h, s.oh, s.strideH, kh * s.dilH - s.padT);
          if (ohLo >= ohHi) continue;
          llvm::Value *lo = k.maxI(tile, k.i64(ohLo)), *hi = k.minI(tileEnd, k.i64(ohHi));
          k.loop(lo, hi, [&](llvm::Value *oh) {
            llvm::Value *outRow = k.element(outPlane, k.mul(oh, s.ow));
            llvm::Value *ih = k.add(k.mul(oh, s.strideH), kh * s.dilH - s.padT);
            llvm::Value *inRow = k.element(inPlane, k.mul(ih, s.w));
            for (int64_t kw = 0; kw < s.kw; ++kw) {
              int64_t offset = kw * s.dilW - s.padL;
              auto [owLo, owHi] = validRange(s.w, s.ow, s.strideW, offset);
              if (owLo >= owHi) continue;
              llvm::Value *wv = k.loadF32(wRow, k.i64(kh * s.kw + kw));
              k.loop(owLo, owHi, [&](llvm::Value *ow) {
                llvm::Value *in = k.loadF32(inRow, k.add(k.mul(ow, s.strideW), offset));
                llvm::Value *acc = k.loadF32(outRow, ow);
                k.storeF32(ir.CreateFAdd(acc, ir.CreateFMul(wv, in)), outRow, ow);
              });
            }
          });
        }
      });
    });
  };
  return spec;
}

} // namespace bisc
