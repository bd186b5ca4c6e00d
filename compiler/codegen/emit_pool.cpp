//===- emit_pool.cpp - Max / average pooling and global average pooling ----===//
//
// One iteration is one (n, c) plane. Window taps outside the image read a clamped address
// and are then discarded with a select, so the loops stay branch-free: padding never wins
// a max, and an average divides by PyTorch's divisor (padding counted or not).
#include "compiler/codegen/emitters.h"

#include <cmath>

namespace bisc {

KernelSpec emitPool(const Node &node, EmitContext &context) {
  const Shape &in = node.inputs[0]->type.shape, &out = node.result->type.shape;
  auto kernel = node.attrInts("kernel"), stride = node.attrInts("stride"), pads = node.attrInts("pads");
  bool isMax = node.op == OpId::max_pool;
  std::vector<int64_t> dilation = isMax ? node.attrInts("dilation") : std::vector<int64_t>{1, 1};
  bool countPad = !isMax && node.attrBool("count_include_pad");
  KernelSpec spec{isMax ? "max_pool" : "avg_pool", context.defaults, {}};
  spec.schedule.parallelCount = out[0] * out[1];
  const Value *x = node.inputs[0], *y = node.result;
  int64_t H = in[2], W = in[3], OH = out[2], OW = out[3];

  spec.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto &ir = k.ir();
    llvm::Value *inPlane = k.element(k.base(x), k.mul(plane, H * W));
    llvm::Value *outPlane = k.element(k.base(y), k.mul(plane, OH * OW));
    k.loop(0, OH, [&](llvm::Value *oh) {
      llvm::Value *h0 = k.add(k.mul(oh, stride[0]), -pads[0]);
      k.loop(0, OW, [&](llvm::Value *ow) {
        llvm::Value *w0 = k.add(k.mul(ow, stride[1]), -pads[1]);
        llvm::Value *acc = k.f32(isMax ? -INFINITY : 0.0f);
        for (int64_t i = 0; i < kernel[0]; ++i) {
          llvm::Value *h = k.add(h0, i * dilation[0]);
          llvm::Value *hIn = ir.CreateAnd(ir.CreateICmpSGE(h, k.i64(0)), ir.CreateICmpSLT(h, k.i64(H)));
          llvm::Value *hc = k.minI(k.maxI(h, k.i64(0)), k.i64(H - 1));
          for (int64_t j = 0; j < kernel[1]; ++j) {
            llvm::Value *w = k.add(w0, j * dilation[1]);
            llvm::Value *inside = ir.CreateAnd(hIn, ir.CreateAnd(ir.CreateICmpSGE(w, k.i64(0)), ir.CreateICmpSLT(w, k.i64(W))));
            llvm::Value *wc = k.minI(k.maxI(w, k.i64(0)), k.i64(W - 1));
            llvm::Value *v = k.loadF32(inPlane, ir.CreateAdd(k.mul(hc, W), wc));
            if (isMax) {
              llvm::Value *larger = ir.CreateFCmpOGT(v, acc);
              acc = ir.CreateSelect(ir.CreateAnd(inside, larger), v, acc);
            } else {
              acc = ir.CreateFAdd(acc, ir.CreateSelect(inside, v, k.f32(0.0f)));
            }
          }
        }
        if (!isMax) {
          // PyTorch: the window is clipped to the padded image for the divisor with padding,
          // and to the image itself without it.
          llvm::Value *hEnd = k.minI(k.add(h0, kernel[0]), k.i64(H + pads[2]));
          llvm::Value *wEnd = k.minI(k.add(w0, kernel[1]), k.i64(W + pads[3]));
          llvm::Value *padded = ir.CreateMul(ir.CreateSub(hEnd, h0), ir.CreateSub(wEnd, w0));
          llvm::Value *hs = k.maxI(h0, k.i64(0)), *ws = k.maxI(w0, k.i64(0));
          llvm::Value *he = k.minI(hEnd, k.i64(H)), *we = k.minI(wEnd, k.i64(W));
          llvm::Value *inner = ir.CreateMul(ir.CreateSub(he, hs), ir.CreateSub(we, ws));
          llvm::Value *divisor = ir.CreateSIToFP(countPad ? padded : inner, k.f32Type());
          acc = ir.CreateFDiv(acc, divisor);
        }
        k.storeF32(acc, outPlane, ir.CreateAdd(k.mul(oh, OW), ow));
      });
    });
  };
  return spec;
}

KernelSpec emitGlobalAvgPool(const Node &node, EmitContext &context) {
  const Shape &in = node.inputs[0]->type.shape;
  KernelSpec spec{"global_avg_pool", context.defaults, {}};
  spec.schedule.parallelCount = in[0] * in[1];
  const Value *x = node.inputs[0], *y = node.result;
  int64_t size = in[2] * in[3];
  spec.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto &ir = k.ir();
    llvm::Value *inPlane = k.element(k.base(x), k.mul(plane, size));
    // Sum in a stack slot so the loop is a plain reduction LLVM can vectorise.
    llvm::Value *sum = k.stackSlot(k.f32Type());
    ir.CreateStore(k.f32(0.0f), sum);
    k.loop(0, size, [&](llvm::Value *i) {
      ir.CreateStore(ir.CreateFAdd(ir.CreateLoad(k.f32Type(), sum), k.loadF32(inPlane, i)), sum);
    });
    llvm::Value *mean = ir.CreateFDiv(ir.CreateLoad(k.f32Type(), sum), k.f32(float(size)));
    k.storeF32(mean, k.base(y), plane);
  };
  return spec;
}

} // namespace bisc
