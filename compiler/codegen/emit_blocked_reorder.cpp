//===- emit_blocked_reorder.cpp - NCHW <-> NCHW{c}c, and blocked dispatch --===//
//
// A reorder moves one (n, channel block, row) per parallel iteration: c NCHW rows of W
// values <-> W pixels of c channels. Columns go in chunks of c: c vector loads, a c x c
// transpose in registers (log2(c) rounds of interleaving shuffles), c vector stores; the last
// W % c columns (and any block that is not a power of two) are moved one float at a time.
#include "compiler/codegen/emit_blocked.h"

#include "ir/error.h"

#include <bit>

namespace bisc {

namespace {

/// rows[i][j] -> result[j][i] for c = rows.size() a power of two: after log2(c) rounds of
/// row k, k + c/2 -> (interleave low, interleave high), the rows are the columns.
std::vector<llvm::Value *> transpose(llvm::IRBuilder<> &ir, std::vector<llvm::Value *> rows) {
  int c = int(rows.size()), half = c / 2;
  std::vector<int> low, high;
  for (int i = 0; i < half; ++i) low.insert(low.end(), {i, i + c}), high.insert(high.end(), {i + half, i + half + c});
  for (int round = 1; round < c; round *= 2) {
    std::vector<llvm::Value *> next(size_t(c), nullptr);
    for (int k = 0; k < half; ++k) {
      next[size_t(2 * k)] = ir.CreateShuffleVector(rows[size_t(k)], rows[size_t(k + half)], low);
      next[size_t(2 * k + 1)] = ir.CreateShuffleVector(rows[size_t(k)], rows[size_t(k + half)], high);
    }
    rows = std::move(next);
  }
  return rows;
}

} // namespace

KernelSpec emitReorder(const Node &node, EmitContext &context) {
  const TensorType &from = node.inputs[0]->type, &to = node.result->type;
  if (from.blocked() == to.blocked() && from.channelBlock != to.channelBlock)
    fail("codegen: node %{} (reorder): {} -> {} has no kernel (one side must be nchw)", node.name(),
         toString(from), toString(to));
  int64_t c = std::max(from.channelBlock, to.channelBlock);
  bool toBlocked = to.blocked();
  const Shape &shape = to.shape;
  int64_t n = shape[0], blocks = shape[1] / std::max<int64_t>(c, 1), h = shape[2], w = shape[3];
  KernelSpec spec{"reorder", context.defaults, {}};
  spec.schedule.parallelCount = n * blocks * h;
  const Value *in = node.inputs[0], *out = node.result;
  if (c == 0) {  // nchw -> nchw: a copy, one row per iteration.
    spec.schedule.parallelCount = n * shape[1] * h;
    spec.body = [=](KernelBuilder &k, llvm::Value *row) {
      k.loop(0, w, [&](llvm::Value *x) {
        llvm::Value *index = k.ir().CreateAdd(k.mul(row, w), x);
        k.storeF32(k.loadF32(k.base(in), index), k.base(out), index);
      });
    };
    return spec;
  }
  bool vectorised = std::has_single_bit(uint64_t(c)) && c > 1;
  int64_t chunks = vectorised ? w / c : 0;

  spec.body = [=](KernelBuilder &k, llvm::Value *index) {
    auto &ir = k.ir();
    auto *vector = llvm::FixedVectorType::get(k.f32Type(), unsigned(c));
    // index = (n * blocks + cb) * h + y. Blocked row: [n][cb][y][0..w)[0..c); plain rows:
    // [n][cb*c + l][y][0..w), l < c, h*w apart.
    llvm::Value *y = ir.CreateSRem(index, k.i64(h));
    llvm::Value *image = ir.CreateSDiv(index, k.i64(h));  // n * blocks + cb
    llvm::Value *blockedRow = k.element(toBlocked ? k.base(out) : k.base(in), k.mul(index, w * c));
    llvm::Value *plainRow0 = k.element(toBlocked ? k.base(in) : k.base(out),
                                       ir.CreateAdd(k.mul(image, c * h * w), k.mul(y, w)));
    auto plainPointer = [&](int64_t l, llvm::Value *x) { return k.element(plainRow0, k.add(x, l * h * w)); };
    auto blockedPointer = [&](llvm::Value *x, int64_t l) { return k.element(blockedRow, k.add(k.mul(x, c), l)); };
    if (chunks > 0)
      k.loop(k.i64(0), k.i64(chunks * c), [&](llvm::Value *x0) {
        std::vector<llvm::Value *> rows;
        for (int64_t i = 0; i < c; ++i) {
          llvm::Value *source = toBlocked ? plainPointer(i, x0) : blockedPointer(k.add(x0, i), 0);
          rows.push_back(ir.CreateAlignedLoad(vector, source, llvm::Align(4)));
        }
        rows = transpose(ir, rows);
        for (int64_t i = 0; i < c; ++i) {
          llvm::Value *target = toBlocked ? blockedPointer(k.add(x0, i), 0) : plainPointer(i, x0);
          ir.CreateAlignedStore(rows[size_t(i)], target, llvm::Align(4));
        }
      }, c);
    k.loop(k.i64(chunks * c), k.i64(w), [&](llvm::Value *x) {
      for (int64_t l = 0; l < c; ++l) {
        llvm::Value *plain = plainPointer(l, x), *blocked = blockedPointer(x, l);
        llvm::Value *source = toBlocked ? plain : blocked, *target = toBlocked ? blocked : plain;
        ir.CreateStore(ir.CreateLoad(k.f32Type(), source), target);
      }
    });
  };
  return spec;
}

bool usesBlockedLayout(const Node &node) {
  if (node.result->type.blocked()) return true;
  for (const Value *input : node.inputs)
    if (input->type.blocked()) return true;
  return false;
}

KernelSpec emitBlockedKernel(const Node &node, EmitContext &context) {
  switch (node.op) {
  case OpId::reorder: return emitReorder(node, context);
  case OpId::conv2d:
  case OpId::fused_conv:
    if (node.attrInt("groups") == 1)
      fail("codegen: node %{} (dense conv) may run as several kernels in the blocked layout; emit it with "
           "emitNodeKernels (a bisc bug)", node.name());
    return emitBlockedDepthwiseConv(node, context);
  case OpId::max_pool:
  case OpId::avg_pool: return emitBlockedPool(node, context);
  case OpId::global_avg_pool: return emitBlockedGlobalAvgPool(node, context);
  case OpId::concat: return emitBlockedConcat(node, context);
  case OpId::resize:
  case OpId::resize_add:
  case OpId::resize_mul: return emitBlockedResize(node, context);
  case OpId::resize_concat: return emitBlockedResizeConcat(node, context);
  case OpId::bga:
    fail("codegen: node %{} (bga) runs as several kernels in the blocked layout; emit it with emitNodeKernels "
         "(a bisc bug)", node.name());
  case OpId::add:
  case OpId::mul:
    if (node.inputs[0]->type.shape != node.inputs[1]->type.shape) return emitBlockedChannelBroadcast(node, context);
    [[fallthrough]];
  case OpId::relu:
  case OpId::sigmoid:
  case OpId::dropout:
    // One layout for every operand and no broadcast (ir/layout_rules.cpp): flat is exact.
    for (const Value *input : node.inputs)
      if (input->type != node.result->type)
        fail("codegen: node %{} ({}): blocked elementwise operands must match the result {}, got {}",
             node.name(), node.info().name, toString(node.result->type), toString(input->type));
    return emitElementwise(node, context);
  default: break;
  }
  fail("codegen: node %{} ({}) has no kernel for the blocked layout {}; reorder it to nchw first", node.name(),
       node.info().name, toString(node.result->type));
}

} // namespace bisc
