//===- emit_elementwise.cpp - BN, activations and broadcast add / mul ------===//
//
// One iteration is one (n, c) plane of the rank-4 result. Each operand is addressed with
// its own strides over (n, c, h, w), zero along broadcast dimensions, so (N,C,H,W) * (N,C,1,1)
// reads one scalar per plane and the inner loop over w stays contiguous.
#include "compiler/codegen/emitters.h"

#include "ir/error.h"

#include <cmath>

namespace bisc {

namespace {

/// Strides (in elements) of `operand` when read at the indices of a result of shape `out`.
std::array<int64_t, 4> broadcastStrides(const Shape &operand, const Shape &out) {
  std::array<int64_t, 4> strides{};
  int64_t stride = 1;
  for (int d = 3; d >= 0; --d) {
    size_t offset = 4 - operand.size();
    int64_t dim = d >= int(offset) ? operand[size_t(d) - offset] : 1;
    strides[size_t(d)] = dim == 1 && out[size_t(d)] != 1 ? 0 : stride;
    stride *= dim;
  }
  return strides;
}

/// Per-channel scale and shift of an inference batch norm, folded at compile time.
std::pair<int64_t, int64_t> foldBatchNorm(const Node &node, WeightsBlob &blob) {
  auto gamma = weightData(node, 1).f32(), beta = weightData(node, 2).f32();
  auto mean = weightData(node, 3).f32(), var = weightData(node, 4).f32();
  double eps = node.attrFloat("eps");
  std::vector<float> scale(gamma.size()), shift(gamma.size());
  for (size_t c = 0; c < gamma.size(); ++c) {
    scale[c] = float(gamma[c] / std::sqrt(double(var[c]) + eps));
    shift[c] = beta[c] - mean[c] * scale[c];
  }
  int64_t scaleOffset = blob.add(scale.data(), scale.size() * 4);
  int64_t shiftOffset = blob.add(shift.data(), shift.size() * 4);
  return {scaleOffset, shiftOffset};
}

} // namespace

KernelSpec emitElementwise(const Node &node, EmitContext &context) {
  const Shape &out = node.result->type.shape;
  if (out.size() != 4) fail("codegen: node %{} ({}): only rank-4 tensors are supported", node.name(), node.info().name);
  KernelSpec spec{"elementwise", context.defaults, {}};
  spec.schedule.parallelCount = out[0] * out[1];
  size_t operandCount = node.op == OpId::add || node.op == OpId::mul ? 2 : 1;
  std::vector<std::array<int64_t, 4>> strides;
  for (size_t i = 0; i < operandCount; ++i)
    strides.push_back(broadcastStrides(node.inputs[i]->type.shape, out));
  std::pair<int64_t, int64_t> bn{-1, -1};
  if (node.op == OpId::batch_norm) bn = foldBatchNorm(node, *context.buffers.blob);
  OpId op = node.op;

  spec.body = [=, &node](KernelBuilder &k, llvm::Value *plane) {
    auto &ir = k.ir();
    llvm::Value *n = ir.CreateSDiv(plane, k.i64(out[1]));
    llvm::Value *c = ir.CreateSRem(plane, k.i64(out[1]));
    std::vector<llvm::Value *> bases;
    for (size_t i = 0; i < strides.size(); ++i) {
      llvm::Value *offset = ir.CreateAdd(k.mul(n, strides[i][0]), k.mul(c, strides[i][1]));
      bases.push_back(k.element(k.base(node.inputs[i]), offset));
    }
    llvm::Value *scale = nullptr, *shift = nullptr;
    if (op == OpId::batch_norm) {
      scale = k.loadF32(k.blobPointer(bn.first), c);
      shift = k.loadF32(k.blobPointer(bn.second), c);
    }
    llvm::Value *outPlane = k.element(k.base(node.result), k.mul(plane, out[2] * out[3]));
    k.loop(0, out[2], [&](llvm::Value *h) {
      k.loop(0, out[3], [&](llvm::Value *w) {
        std::vector<llvm::Value *> v;
        for (size_t i = 0; i < strides.size(); ++i)
          v.push_back(k.loadF32(bases[i], ir.CreateAdd(k.mul(h, strides[i][2]), k.mul(w, strides[i][3]))));
        llvm::Value *result = nullptr;
        switch (op) {
        case OpId::batch_norm: result = ir.CreateFAdd(ir.CreateFMul(v[0], scale), shift); break;
        case OpId::relu: result = k.relu(v[0]); break;
        case OpId::sigmoid: result = k.sigmoid(v[0]); break;
        case OpId::add: result = ir.CreateFAdd(v[0], v[1]); break;
        case OpId::mul: result = ir.CreateFMul(v[0], v[1]); break;
        default: result = v[0]; break; // dropout: identity at inference
        }
        k.storeF32(result, outPlane, ir.CreateAdd(k.mul(h, out[3]), w));
      });
    });
  };
  return spec;
}

} // namespace bisc
