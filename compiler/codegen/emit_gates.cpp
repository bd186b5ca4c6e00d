//===- emit_gates.cpp - ARM, FFM, Context Embedding and BGA gates ---------===//
//
// The gating blocks of BiSeNet as kernels that write only their result (formulas in
// ir/fused_ops.h). ARM, FFM and CE gate every output plane with a value that depends on all
// channels (a global pool followed by a 1x1 conv), so they run in phases -- separate
// parallel loops, in order -- passing [N, C] vectors through the node's scratch memory:
//
//   arm:   pool x -> pooled                 | gate = sigmoid(W pooled + b); out = x * gate
//   ffm:   f = relu(conv1x1(sp ++ cp)) into out, pooled = mean(f)
//          [| hidden = act(W1 pooled + b1)]   (with att_weight2)
//          | h = W1 pooled + b1 (act) or W2 hidden + b2; out = f * sigmoid(h) + f, in place
//   ce:    pool x -> pooled | g = relu(Wg pooled + bg) | out = relu(conv(x + g))
//
// CE never forms x + g: conv(x + g) = conv(x) + sum over the taps inside the image of
// (sum_ic w[oc, ic, tap] * g[ic]), so each output plane adds KH*KW per-tap constants as an
// extra "all ones" input channel: inside the direct conv, or after the dense conv kernel
// (emitDenseConv: Winograd, packed tiles or the microkernel) in a last pass that also applies
// the relu. FFM's conv reads sp and cp where they are in the direct conv; for the dense
// kernels (rows a vector wide or more) the concat is copied into scratch first, one copy of
// the input buying a register-blocked conv. The math on the [N, C] vectors is in
// gate_math.h, shared with the blocked-layout gates (emit_blocked_gates.cpp).
//
// BGA has no cross-channel dependency: one (n, c) plane per iteration computes
// left2 * sigmoid(right2) at the small size into scratch and then, per output pixel,
// left1 * sigmoid(resize(right1)) + resize(that) (with nearest resize, sigmoid(right1) is
// taken at the small size too, since sigmoid commutes with picking a pixel).
#include "compiler/codegen/conv_microkernel.h"
#include "compiler/codegen/conv_plane.h"
#include "compiler/codegen/gate_math.h"
#include "compiler/codegen/resize_taps.h"
#include "ir/error.h"

namespace bisc {

namespace {

/// Phase: scratch[n * C + c] = mean of plane (n, c) of `x`.
KernelSpec poolPhase(const std::string &family, const Value *x, int64_t scratch, const Schedule &defaults) {
  const Shape &s = x->type.shape;
  KernelSpec spec{family, defaults, {}};
  spec.schedule.parallelCount = s[0] * s[1];
  int64_t planeSize = s[2] * s[3], lanes = spec.schedule.vectorWidth;
  spec.body = [=](KernelBuilder &k, llvm::Value *plane) {
    llvm::Value *in = k.element(k.base(x), k.mul(plane, planeSize));
    llvm::Value *mean = k.ir().CreateFDiv(k.sum(in, planeSize, lanes), k.f32(float(planeSize)));
    k.storeF32(mean, k.arenaPointer(scratch), plane);
  };
  return spec;
}

} // namespace

llvm::Value *pointwiseRow(KernelBuilder &k, const Value *w, const Value *b, llvm::Value *row, int64_t vector,
                          llvm::Value *n, int64_t cols, int64_t lanes) {
  llvm::Value *weights = k.element(k.base(w), k.mul(row, cols));
  llvm::Value *in = k.element(k.arenaPointer(vector), k.mul(n, cols));
  return k.ir().CreateFAdd(k.dot(weights, in, cols, lanes), k.loadF32(k.base(b), row));
}

std::pair<llvm::Value *, llvm::Value *> splitPlane(KernelBuilder &k, llvm::Value *plane, int64_t channels) {
  return {k.ir().CreateSDiv(plane, k.i64(channels)), k.ir().CreateSRem(plane, k.i64(channels))};
}

Node detachedConv(Value *x, Value *weight, Value *bias, Value *result, const Node *like, bool relu) {
  Node conv;
  conv.op = relu ? OpId::fused_conv : OpId::conv2d;
  conv.inputs = {x, weight, bias};
  conv.result = result;
  conv.attrs = opInfo(conv.op).defaults;
  if (like)
    for (const char *name : {"stride", "pads", "dilation", "groups"}) conv.setAttr(name, like->attr(name));
  if (relu) conv.setAttr("activation", std::string("relu"));
  return conv;
}

void expectActivation(const Node &node, const char *attr) {
  const std::string &value = node.attrString(attr);
  if (value != "none" && value != "relu")
    fail("codegen: node %{} ({}): {} \"{}\" has no kernel (expected none or relu)", node.name(), node.info().name,
         attr, value);
}

FfmAttention::FfmAttention(const Node &node, int64_t pooled, EmitContext &context)
    : att1_(node.inputs[4]), bias1_(node.inputs[5]), relu_(node.attrString("att_activation") == "relu"),
      images_(node.result->type.shape[0]), channels_(node.result->type.shape[1]),
      mid_(node.inputs[4]->type.shape[0]), pooled_(pooled), lanes_(context.defaults.vectorWidth) {
  expectActivation(node, "att_activation");
  if (node.inputs.size() == 8) {
    att2_ = node.inputs[6], bias2_ = node.inputs[7];
    hidden_ = context.reserveScratch(images_ * mid_ * 4);
  }
}

std::optional<KernelSpec> FfmAttention::hiddenPhase(const Schedule &defaults) const {
  if (!att2_) return std::nullopt;
  KernelSpec attention{"ffm_attention", defaults, {}};
  attention.schedule.parallelCount = images_ * mid_;
  attention.body = [*this](KernelBuilder &k, llvm::Value *index) {
    auto [n, m] = splitPlane(k, index, mid_);
    llvm::Value *h = pointwiseRow(k, att1_, bias1_, m, pooled_, n, channels_, lanes_);
    k.storeF32(relu_ ? k.relu(h) : h, k.arenaPointer(hidden_), index);
  };
  return attention;
}

llvm::Value *FfmAttention::logit(KernelBuilder &k, llvm::Value *n, llvm::Value *channel) const {
  if (att2_) return pointwiseRow(k, att2_, bias2_, channel, hidden_, n, mid_, lanes_);
  llvm::Value *h = pointwiseRow(k, att1_, bias1_, channel, pooled_, n, channels_, lanes_);
  return relu_ ? k.relu(h) : h;
}

std::vector<KernelSpec> emitArm(const Node &node, EmitContext &context) {
  const Value *x = node.inputs[0], *w = node.inputs[1], *b = node.inputs[2], *y = node.result;
  const Shape &s = x->type.shape;
  int64_t C = s[1], planeSize = s[2] * s[3], lanes = context.defaults.vectorWidth;
  int64_t pooled = context.reserveScratch(s[0] * C * 4);

  KernelSpec gate{"arm_gate", context.defaults, {}};
  gate.schedule.parallelCount = s[0] * C;
  gate.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto [n, c] = splitPlane(k, plane, C);
    llvm::Value *g = k.sigmoid(pointwiseRow(k, w, b, c, pooled, n, C, lanes));
    llvm::Value *in = k.element(k.base(x), k.mul(plane, planeSize));
    llvm::Value *out = k.element(k.base(y), k.mul(plane, planeSize));
    k.loop(0, planeSize, [&](llvm::Value *i) { k.storeF32(k.ir().CreateFMul(k.loadF32(in, i), g), out, i); });
  };
  return {poolPhase("arm_pool", x, pooled, context.defaults), gate};
}

namespace {

/// f = relu(conv1x1(sp ++ cp) + b) into the output, and its channel means into `pooled`.
/// Rows a vector wide or more: sp ++ cp is copied into scratch for the dense conv kernels
/// (several times faster than the direct conv, for one copy of the input), then
/// a pool phase. Narrower rows: the direct conv reads sp and cp where they are and pools
/// each plane as it finishes it.
std::vector<KernelSpec> ffmFeaturePhases(const Node &node, int64_t pooled, EmitContext &context) {
  const Value *sp = node.inputs[0], *cp = node.inputs[1], *y = node.result;
  const Shape &out = y->type.shape;
  int64_t spChannels = sp->type.shape[1], cpChannels = cp->type.shape[1], channels = spChannels + cpChannels;
  int64_t planeSize = out[2] * out[3], lanes = context.defaults.vectorWidth;

  Value probe; // the concat's type, to ask the dense kernels before placing it
  probe.type = {DType::f32, {out[0], channels, out[2], out[3]}};
  Node plain = detachedConv(&probe, node.inputs[2], node.inputs[3], node.result);
  if (convMicrokernelApplies(plain, context.defaults)) {
    Value *concat = context.scratchTensor(node.name() + ".concat", probe.type);
    plain.inputs[0] = concat;
    KernelSpec copy{"ffm_concat", context.defaults, {}};
    copy.schedule.parallelCount = out[0] * channels;
    copy.body = [=](KernelBuilder &k, llvm::Value *plane) {
      auto [n, c] = splitPlane(k, plane, channels);
      llvm::Value *to = k.element(k.base(concat), k.mul(plane, planeSize));
      auto copyFrom = [&](const Value *part, int64_t partChannels, int64_t first) {
        llvm::Value *partPlane = k.ir().CreateAdd(k.mul(n, partChannels), k.add(c, -first));
        llvm::Value *from = k.element(k.base(part), k.mul(partPlane, planeSize));
        k.loop(0, planeSize, [&](llvm::Value *i) { k.storeF32(k.loadF32(from, i), to, i); });
      };
      k.ifThenElse(k.ir().CreateICmpSLT(c, k.i64(spChannels)), [&] { copyFrom(sp, spChannels, 0); },
                   [&] { copyFrom(cp, cpChannels, spChannels); });
    };
    ConvEpilogue epilogue;
    epilogue.bias = node.inputs[3];
    epilogue.relu = true;
    return {copy, *emitDenseConv(plain, epilogue, context), poolPhase("ffm_pool", y, pooled, context.defaults)};
  }

  ConvPlane conv;
  conv.shape = pointwiseShape(sp->type.shape, channels, out[1]);
  conv.input = {{sp, spChannels}, {cp, cpChannels}};
  conv.weight = node.inputs[2];
  conv.bias = node.inputs[3];
  conv.out = y;
  conv.epilogue = [](KernelBuilder &k, llvm::Value *v, llvm::Value *, llvm::Value *) { return k.relu(v); };
  KernelSpec fuse{"ffm_conv", convSchedule(conv.shape, context.defaults), {}};
  fuse.body = [=, schedule = fuse.schedule](KernelBuilder &k, llvm::Value *plane) {
    emitConvPlane(k, conv, schedule, plane);
    llvm::Value *f = k.element(k.base(y), k.mul(plane, planeSize));
    llvm::Value *mean = k.ir().CreateFDiv(k.sum(f, planeSize, lanes), k.f32(float(planeSize)));
    k.storeF32(mean, k.arenaPointer(pooled), plane);
  };
  return {fuse};
}

} // namespace

std::vector<KernelSpec> emitFfm(const Node &node, EmitContext &context) {
  const Value *y = node.result;
  const Shape &out = y->type.shape;
  int64_t C = out[1], planeSize = out[2] * out[3];
  int64_t pooled = context.reserveScratch(out[0] * C * 4);
  FfmAttention attention(node, pooled, context);

  std::vector<KernelSpec> phases = ffmFeaturePhases(node, pooled, context);
  if (auto hidden = attention.hiddenPhase(context.defaults)) phases.push_back(*hidden);

  KernelSpec gate{"ffm_gate", context.defaults, {}};
  gate.schedule.parallelCount = out[0] * C;
  gate.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto &ir = k.ir();
    auto [n, c] = splitPlane(k, plane, C);
    llvm::Value *g = k.sigmoid(attention.logit(k, n, c));
    llvm::Value *f = k.element(k.base(y), k.mul(plane, planeSize));
    k.loop(0, planeSize, [&](llvm::Value *i) {
      llvm::Value *v = k.loadF32(f, i);
      k.storeF32(ir.CreateFAdd(ir.CreateFMul(v, g), v), f, i);
    });
  };
  phases.push_back(gate);
  return phases;
}

namespace {

/// A stack array of the KH*KW per-tap constants of output plane (n, oc):
/// unit[tap] = sum over the group's input channels ic of w[oc, ic, tap] * g[n, ic].
llvm::Value *unitTaps(KernelBuilder &k, const ConvShape &cs, const Value *weight, int64_t gate, llvm::Value *plane) {
  auto &ir = k.ir();
  int64_t taps = cs.kh * cs.kw, icPerGroup = cs.ic / cs.groups, ocPerGroup = cs.oc / cs.groups;
  auto [n, oc] = splitPlane(k, plane, cs.oc);
  llvm::Value *firstChannel = k.mul(ir.CreateSDiv(oc, k.i64(ocPerGroup)), icPerGroup);
  llvm::Value *g = k.element(k.arenaPointer(gate), ir.CreateAdd(k.mul(n, cs.ic), firstChannel));
  llvm::Value *w = k.element(k.base(weight), k.mul(oc, icPerGroup * taps));
  llvm::Value *unit = k.stackSlot(llvm::ArrayType::get(k.f32Type(), uint64_t(taps)));
  for (int64_t tap = 0; tap < taps; ++tap) k.storeF32(k.f32(0.0f), unit, k.i64(tap));
  k.loop(0, icPerGroup, [&](llvm::Value *icl) {
    llvm::Value *gv = k.loadF32(g, icl);
    llvm::Value *wRow = k.element(w, k.mul(icl, taps));
    for (int64_t tap = 0; tap < taps; ++tap) {
      llvm::Value *term = ir.CreateFMul(k.loadF32(wRow, k.i64(tap)), gv);
      k.storeF32(ir.CreateFAdd(k.loadF32(unit, k.i64(tap)), term), unit, k.i64(tap));
    }
  });
  return unit;
}

} // namespace

std::vector<KernelSpec> emitContextEmbedding(const Node &node, EmitContext &context) {
  const Value *x = node.inputs[0], *gapWeight = node.inputs[1], *gapBias = node.inputs[2];
  const Value *weight = node.inputs[3], *y = node.result;
  const Shape &s = x->type.shape;
  int64_t N = s[0], C = s[1], lanes = context.defaults.vectorWidth;
  int64_t pooled = context.reserveScratch(N * C * 4);
  int64_t gate = context.reserveScratch(N * C * 4);

  KernelSpec gatePhase{"ce_gate", context.defaults, {}};
  gatePhase.schedule.parallelCount = N * C;
  gatePhase.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto [n, c] = splitPlane(k, plane, C);
    k.storeF32(k.relu(pointwiseRow(k, gapWeight, gapBias, c, pooled, n, C, lanes)), k.arenaPointer(gate), plane);
  };
  std::vector<KernelSpec> phases{poolPhase("ce_pool", x, pooled, context.defaults), gatePhase};

  ConvShape cs = convShape(node, 3);
  Node plain = detachedConv(node.inputs[0], node.inputs[3], node.inputs[4], node.result, &node);
  if (convMicrokernelApplies(plain, context.defaults)) {
    // conv(x) + bias on a dense kernel, then the g terms and the relu plane by plane.
    ConvEpilogue epilogue;
    epilogue.bias = node.inputs[4];
    phases.push_back(*emitDenseConv(plain, epilogue, context));
    KernelSpec finish{"ce_taps", context.defaults, {}};
    finish.schedule.parallelCount = cs.n * cs.oc;
    int64_t planeSize = cs.oh * cs.ow;
    finish.body = [=](KernelBuilder &k, llvm::Value *plane) {
      llvm::Value *out = k.element(k.base(y), k.mul(plane, planeSize));
      addUnitTaps(k, cs, out, unitTaps(k, cs, weight, gate, plane));
      k.loop(0, planeSize, [&](llvm::Value *i) { k.storeF32(k.relu(k.loadF32(out, i)), out, i); });
    };
    phases.push_back(finish);
    return phases;
  }

  ConvPlane conv;
  conv.shape = cs;
  conv.input = {{x, C}};
  conv.weight = weight;
  conv.bias = node.inputs[4];
  conv.out = y;
  conv.epilogue = [](KernelBuilder &k, llvm::Value *v, llvm::Value *, llvm::Value *) { return k.relu(v); };
  KernelSpec convPhase{"ce_conv", convSchedule(cs, context.defaults), {}};
  convPhase.body = [=, schedule = convPhase.schedule](KernelBuilder &k, llvm::Value *plane) {
    emitConvPlane(k, conv, schedule, plane, unitTaps(k, cs, weight, gate, plane));
  };
  phases.push_back(convPhase);
  return phases;
}

KernelSpec emitBga(const Node &node, EmitContext &context) {
  const Value *left1 = node.inputs[0], *left2 = node.inputs[1], *right1 = node.inputs[2],
              *right2 = node.inputs[3], *y = node.result;
  const Shape &out = y->type.shape, &small = left2->type.shape, &r1 = right1->type.shape;
  WeightsBlob &blob = *context.buffers.blob;
  ResizeTaps rightTaps = resizeTaps(node, r1, out, blob);
  ResizeTaps smallTaps = resizeTaps(node, small, out, blob);
  bool nearest = !rightTaps.bilinear;
  int64_t planes = out[0] * out[1], planeSize = out[2] * out[3];
  int64_t smallSize = small[2] * small[3], r1Size = r1[2] * r1[3];
  // Per plane: left2 * sigmoid(right2) and (nearest) sigmoid(right1), at their small sizes.
  int64_t gatedSmall = context.reserveScratch(planes * smallSize * 4);
  int64_t gateRight = nearest ? context.reserveScratch(planes * r1Size * 4) : -1;
  KernelSpec spec{"bga", context.defaults, {}};
  spec.schedule.parallelCount = planes;

  spec.body = [=](KernelBuilder &k, llvm::Value *plane) {
    auto &ir = k.ir();
    auto planeOf = [&](llvm::Value *base, int64_t size) { return k.element(base, k.mul(plane, size)); };
    llvm::Value *b = planeOf(k.arenaPointer(gatedSmall), smallSize);
    llvm::Value *l2 = planeOf(k.base(left2), smallSize), *r2 = planeOf(k.base(right2), smallSize);
    k.loop(0, smallSize, [&](llvm::Value *i) {
      k.storeF32(ir.CreateFMul(k.loadF32(l2, i), k.sigmoid(k.loadF32(r2, i))), b, i);
    });
    llvm::Value *right = planeOf(k.base(right1), r1Size);
    if (nearest) {
      llvm::Value *gated = planeOf(k.arenaPointer(gateRight), r1Size);
      k.loop(0, r1Size, [&](llvm::Value *i) { k.storeF32(k.sigmoid(k.loadF32(right, i)), gated, i); });
      right = gated;
    }
    llvm::Value *l1 = planeOf(k.base(left1), planeSize), *o = planeOf(k.base(y), planeSize);
    ResizeSampler rightSampler(k, rightTaps), smallSampler(k, smallTaps);
    k.loop(0, out[2], [&](llvm::Value *oh) {
      rightSampler.beginRow(oh);
      smallSampler.beginRow(oh);
      llvm::Value *l1Row = k.element(l1, k.mul(oh, out[3])), *outRow = k.element(o, k.mul(oh, out[3]));
      k.loop(0, out[3], [&](llvm::Value *ow) {
        llvm::Value *r = rightSampler.sample(right, ow);
        llvm::Value *a = ir.CreateFMul(k.loadF32(l1Row, ow), nearest ? r : k.sigmoid(r));
        k.storeF32(ir.CreateFAdd(a, smallSampler.sample(b, ow)), outRow, ow);
      });
    });
  };
  return spec;
}

} // namespace bisc
