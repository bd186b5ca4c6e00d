//===- emit_blocked_gates.cpp - ARM, FFM and Context Embedding in NCHW{c}c ---===//
//
// The multi-phase gates of emit_gates.cpp when their activations and result share one
// blocked layout nchw{c}c. The phases, and the [N, C] vectors they pass through scratch, are
// the NCHW kernels': such a vector has the same bytes in both layouts and the math on it is
// shared (gate_math.h), so both layouts compute the same gates. What changes is the work on
// the planes, one parallel iteration per (n, channel block), one vector per pixel:
//
//   pool:   pooled[n, block*c + l] = plane mean, summed in the NCHW pool phase's order
//           (pixel p into partial sum p % lanes, the partial sums in order, then the tail)
//           with `lanes` vector accumulators, so the means are the NCHW kernel's bits.
//   apply:  the block's c gate values (the shared scalar math, once per plane) as one
//           vector, then out[p] = combine(x[p], gate) for every pixel vector p.
//
//   arm:  pool x | apply: out = x * sigmoid(W pooled + b)
//   ffm:  copy sp ++ cp to scratch | f = relu(conv1x1) (emitBlockedConv) into out | pool f
//         [| hidden = act(W1 pooled + b1)] | apply in place: out = f * sigmoid(h) + f
//   ce:   pool x | apply: xg = x + relu(Wg pooled + bg) into scratch | out = relu(conv(xg))
//
// FFM copies its concat (in NCHW{c}c both inputs' blocks in sequence: one vector copy per
// pixel) instead of giving the blocked conv a second input pointer: the copy is one pass
// over an input that the 1x1 conv then reads with C_out MACs per element (256 in
// BiSeNetV1's FFM), and the conv emitter stays single-input. CE forms x + g instead of the
// NCHW kernel's per-tap constants: the blocked conv (or its Winograd form) then runs as it
// is, and its zero padding is exactly conv(x + g)'s; x + g is a 1/32-scale tensor in BiSeNetV2.
#include "compiler/codegen/emit_blocked.h"
#include "compiler/codegen/gate_math.h"

#include "ir/error.h"

namespace bisc {

namespace {

/// Throws naming `node` unless every activation operand and the result are in one blocked
/// layout with whole channel blocks.
void expectOneBlockedLayout(const Node &node) {
  const TensorType &y = node.result->type;
  auto fits = [&](const TensorType &type) {
    return type.blocked() && type.channelBlock == y.channelBlock && type.shape.size() == 4 &&
           type.shape[1] % type.channelBlock == 0;
  };
  for (const Value *input : node.inputs)
    if (input->kind != ValueKind::Weight && !fits(input->type))
      fail("codegen: node %{} ({}): the blocked gate needs its activations and result in one blocked layout, got "
           "%{} {} -> {}", node.name(), node.info().name, input->name, toString(input->type), toString(y));
  if (!fits(y))
    fail("codegen: node %{} ({}): the blocked gate's result {} is not in whole channel blocks", node.name(),
         node.info().name, toString(y));
}

/// Phase: pooled[n * C + channel] = mean of that channel's plane of the blocked `x`; one
/// iteration per (n, channel block). The sum order is KernelBuilder::sum()'s with the NCHW
/// pool phase's `lanes`, lane by lane.
KernelSpec blockedPoolPhase(const std::string &family, const Value *x, int64_t pooled, const Schedule &defaults) {
  const Shape &s = x->type.shape;
  int64_t c = x->type.channelBlock, pixels = s[2] * s[3];
  int64_t lanes = std::max<int64_t>(1, defaults.vectorWidth), body = pixels / lanes * lanes;
  KernelSpec spec{family, defaults, {}};
  spec.schedule.parallelCount = s[0] * s[1] / c;
  spec.schedule.vectorWidth = c;
  spec.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto &ir = k.ir();
    auto *vector = llvm::FixedVectorType::get(k.f32Type(), unsigned(c));
    llvm::Value *in = k.element(k.base(x), k.mul(plane, pixels * c));
    llvm::Value *total = llvm::Constant::getNullValue(vector);
    if (body > 0) {
      std::vector<llvm::Value *> partial;
      for (int64_t j = 0; j < lanes; ++j) {
        partial.push_back(k.stackSlot(vector));
        ir.CreateStore(total, partial.back());
      }
      k.loop(k.i64(0), k.i64(body), [&](llvm::Value *p) {
        for (int64_t j = 0; j < lanes; ++j) {
          llvm::Value *pixel = k.loadLanes(in, k.mul(k.add(p, j), c), c);
          ir.CreateStore(ir.CreateFAdd(ir.CreateLoad(vector, partial[size_t(j)]), pixel), partial[size_t(j)]);
        }
      }, lanes);
      for (llvm::Value *sum : partial) total = ir.CreateFAdd(total, ir.CreateLoad(vector, sum));
    }
    if (body < pixels) {
      llvm::Value *tail = k.stackSlot(vector);
      ir.CreateStore(total, tail);
      k.loop(k.i64(body), k.i64(pixels), [&](llvm::Value *p) {
        ir.CreateStore(ir.CreateFAdd(ir.CreateLoad(vector, tail), k.loadLanes(in, k.mul(p, c), c)), tail);
      });
      total = ir.CreateLoad(vector, tail);
    }
    llvm::Value *mean = ir.CreateFDiv(total, k.splat(k.f32(float(pixels)), c));
    k.storeLanes(mean, k.arenaPointer(pooled), k.mul(plane, c));
  };
  return spec;
}

/// The gate value of (n, channel): a scalar from the shared gate math.
using GateOf = std::function<llvm::Value *(KernelBuilder &, llvm::Value *n, llvm::Value *channel)>;
/// The output vector of a pixel vector and its block's gate vector.
using Combine = std::function<llvm::Value *(KernelBuilder &, llvm::Value *pixel, llvm::Value *gate)>;

/// Phase: per (n, channel block), the block's gate vector, then out[p] = combine(x[p], gate)
/// for every pixel (`out` may be `x`: each pixel is read before it is written).
KernelSpec blockedApplyPhase(const std::string &family, const Value *x, const Value *out, GateOf gateOf,
                             Combine combine, const Schedule &defaults) {
  const Shape &s = x->type.shape;
  int64_t c = x->type.channelBlock, blocks = s[1] / c, pixels = s[2] * s[3];
  KernelSpec spec{family, defaults, {}};
  spec.schedule.parallelCount = s[0] * blocks;
  spec.schedule.vectorWidth = c;
  spec.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto [n, block] = splitPlane(k, plane, blocks);
    llvm::Value *gates = k.stackSlot(llvm::FixedVectorType::get(k.f32Type(), unsigned(c)));
    k.loop(0, c, [&](llvm::Value *l) { k.storeF32(gateOf(k, n, k.ir().CreateAdd(k.mul(block, c), l)), gates, l); });
    llvm::Value *gate = k.loadLanes(gates, k.i64(0), c);
    llvm::Value *in = k.element(k.base(x), k.mul(plane, pixels * c));
    llvm::Value *to = k.element(k.base(out), k.mul(plane, pixels * c));
    k.loop(0, pixels, [&](llvm::Value *p) {
      llvm::Value *index = k.mul(p, c);
      k.storeLanes(combine(k, k.loadLanes(in, index, c), gate), to, index);
    });
  };
  return spec;
}

/// Phase: concat = sp ++ cp along the channels of blocked values, one (n, concat block) per
/// iteration: that block is one run of H*W*c floats of sp's or cp's image n.
KernelSpec blockedConcatPhase(const Value *sp, const Value *cp, const Value *concat, const Schedule &defaults) {
  const Shape &s = concat->type.shape;
  int64_t c = concat->type.channelBlock, pixels = s[2] * s[3];
  int64_t spBlocks = sp->type.shape[1] / c, cpBlocks = cp->type.shape[1] / c, blocks = spBlocks + cpBlocks;
  KernelSpec spec{"ffm_concat_blocked", defaults, {}};
  spec.schedule.parallelCount = s[0] * blocks;
  spec.schedule.vectorWidth = c;
  spec.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto &ir = k.ir();
    auto [n, block] = splitPlane(k, plane, blocks);
    llvm::Value *spPlane = ir.CreateAdd(k.mul(n, spBlocks), block);
    llvm::Value *cpPlane = ir.CreateAdd(k.mul(n, cpBlocks), k.add(block, -spBlocks));
    llvm::Value *fromSp = k.element(k.base(sp), k.mul(spPlane, pixels * c));
    llvm::Value *fromCp = k.element(k.base(cp), k.mul(cpPlane, pixels * c));
    llvm::Value *from = ir.CreateSelect(ir.CreateICmpSLT(block, k.i64(spBlocks)), fromSp, fromCp);
    llvm::Value *to = k.element(k.base(concat), k.mul(plane, pixels * c));
    k.loop(0, pixels, [&](llvm::Value *p) {
      llvm::Value *index = k.mul(p, c);
      k.storeLanes(k.loadLanes(from, index, c), to, index);
    });
  };
  return spec;
}

} // namespace

std::vector<KernelSpec> emitBlockedArm(const Node &node, EmitContext &context) {
  expectOneBlockedLayout(node);
  const Value *x = node.inputs[0], *w = node.inputs[1], *b = node.inputs[2];
  int64_t C = x->type.shape[1], lanes = context.defaults.vectorWidth;
  int64_t pooled = context.reserveScratch(x->type.shape[0] * C * 4);
  GateOf gate = [=](KernelBuilder &k, llvm::Value *n, llvm::Value *channel) {
    return k.sigmoid(pointwiseRow(k, w, b, channel, pooled, n, C, lanes));
  };
  Combine scale = [](KernelBuilder &k, llvm::Value *pixel, llvm::Value *g) { return k.ir().CreateFMul(pixel, g); };
  return {blockedPoolPhase("arm_pool_blocked", x, pooled, context.defaults),
          blockedApplyPhase("arm_gate_blocked", x, node.result, gate, scale, context.defaults)};
}

std::vector<KernelSpec> emitBlockedFfm(const Node &node, EmitContext &context) {
  expectOneBlockedLayout(node);
  Value *sp = node.inputs[0], *cp = node.inputs[1], *y = node.result;
  const Shape &out = y->type.shape;
  int64_t pooled = context.reserveScratch(out[0] * out[1] * 4);
  FfmAttention attention(node, pooled, context);

  TensorType concatType = y->type;
  concatType.shape[1] = sp->type.shape[1] + cp->type.shape[1];
  Value *concat = context.scratchTensor(node.name() + ".concat", concatType);
  Node conv = detachedConv(concat, node.inputs[2], node.inputs[3], y, nullptr, /*relu=*/true);
  std::vector<KernelSpec> phases{blockedConcatPhase(sp, cp, concat, context.defaults)};
  for (KernelSpec &spec : emitBlockedConv(conv, context)) phases.push_back(std::move(spec));
  phases.push_back(blockedPoolPhase("ffm_pool_blocked", y, pooled, context.defaults));
  if (auto hidden = attention.hiddenPhase(context.defaults)) phases.push_back(*hidden);

  GateOf gate = [=](KernelBuilder &k, llvm::Value *n, llvm::Value *channel) {
    return k.sigmoid(attention.logit(k, n, channel));
  };
  Combine refine = [](KernelBuilder &k, llvm::Value *f, llvm::Value *g) {
    return k.ir().CreateFAdd(k.ir().CreateFMul(f, g), f);  // the NCHW kernel's f * g + f, unfused
  };
  phases.push_back(blockedApplyPhase("ffm_gate_blocked", y, y, gate, refine, context.defaults));
  return phases;
}

std::vector<KernelSpec> emitBlockedContextEmbedding(const Node &node, EmitContext &context) {
  expectOneBlockedLayout(node);
  Value *x = node.inputs[0];
  const Value *gapWeight = node.inputs[1], *gapBias = node.inputs[2];
  if (node.attrInt("groups") != 1)
    fail("codegen: node %{} (context_embedding): the blocked kernel needs groups 1, got {}", node.name(),
         node.attrInt("groups"));
  int64_t C = x->type.shape[1], lanes = context.defaults.vectorWidth;
  int64_t pooled = context.reserveScratch(x->type.shape[0] * C * 4);
  Value *shifted = context.scratchTensor(node.name() + ".x_plus_g", x->type);
  GateOf gate = [=](KernelBuilder &k, llvm::Value *n, llvm::Value *channel) {
    return k.relu(pointwiseRow(k, gapWeight, gapBias, channel, pooled, n, C, lanes));
  };
  Combine add = [](KernelBuilder &k, llvm::Value *pixel, llvm::Value *g) { return k.ir().CreateFAdd(pixel, g); };
  Node conv = detachedConv(shifted, node.inputs[3], node.inputs[4], node.result, &node, /*relu=*/true);
  std::vector<KernelSpec> phases{blockedPoolPhase("ce_pool_blocked", x, pooled, context.defaults),
                                 blockedApplyPhase("ce_add_blocked", x, shifted, gate, add, context.defaults)};
  for (KernelSpec &spec : emitBlockedConv(conv, context)) phases.push_back(std::move(spec));
  return phases;
}

} // namespace bisc
