//===- emitters.cpp - Dispatch from op to kernel family ---------------------===//
#include "compiler/codegen/emitters.h"

#include "compiler/codegen/emit_blocked.h"

#include "ir/error.h"

namespace bisc {

const Tensor &weightData(const Node &node, size_t operand) {
  const Value *value = node.inputs.at(operand);
  if (value->kind != ValueKind::Weight)
    fail("codegen: node %{} ({}): operand {} must be a weight, got %{}", node.name(),
         node.info().name, node.info().operandName(operand), value->name);
  if (!value->data)
    fail("codegen: weight @{} has no data (compile with --weights or --random-weights)", value->name);
  return *value->data;
}

const Schedule &EmitContext::scheduleFor(const Node &node) {
  auto found = nodeSchedules.find(node.name());
  if (found != nodeSchedules.end()) return found->second;
  std::optional<Schedule> chosen = chooseSchedule ? chooseSchedule(node, defaults) : std::nullopt;
  if (!chosen) return defaults;
  return nodeSchedules.emplace(node.name(), *chosen).first->second;
}

int64_t EmitContext::reserveScratch(int64_t bytes) {
  if (scratchOffset < 0) fail("codegen: no scratch area was placed in the arena (a bisc bug)");
  int64_t offset = scratchOffset + scratchUsed;
  scratchUsed += (bytes + 63) / 64 * 64;
  scratchBytes = std::max(scratchBytes, scratchUsed);
  return offset;
}

Value *EmitContext::scratchTensor(const std::string &name, const TensorType &type) {
  auto value = std::make_unique<Value>();
  value->name = name;
  value->type = type;
  buffers.locations[value.get()] = {Slot::Arena, reserveScratch(type.bytes())};
  scratchTensors.push_back(std::move(value));
  return scratchTensors.back().get();
}

std::vector<KernelSpec> emitNodeKernels(const Node &node, EmitContext &context) {
  context.scratchUsed = 0;
  switch (node.op) {
  case OpId::arm: return usesBlockedLayout(node) ? emitBlockedArm(node, context) : emitArm(node, context);
  case OpId::ffm: return usesBlockedLayout(node) ? emitBlockedFfm(node, context) : emitFfm(node, context);
  case OpId::context_embedding:
    return usesBlockedLayout(node) ? emitBlockedContextEmbedding(node, context) : emitContextEmbedding(node, context);
  case OpId::bga:
    if (usesBlockedLayout(node)) return emitBlockedBga(node, context);
    return {emitKernel(node, context)};
  case OpId::conv2d:
  case OpId::fused_conv:
    if (usesBlockedLayout(node) && node.attrInt("groups") == 1) return emitBlockedConv(node, context);
    return {emitKernel(node, context)};
  default: return {emitKernel(node, context)};
  }
}

KernelSpec emitKernel(const Node &node, EmitContext &context) {
  // Blocked-layout values (blocked-layout pass) have their own kernels, before the NCHW ones.
  if (usesBlockedLayout(node)) return emitBlockedKernel(node, context);
  switch (node.op) {
  case OpId::conv2d: return emitConv(node, context);
  case OpId::batch_norm:
  case OpId::relu:
  case OpId::sigmoid:
  case OpId::dropout:
  case OpId::add:
  case OpId::mul: return emitElementwise(node, context);
  case OpId::max_pool:
  case OpId::avg_pool: return emitPool(node, context);
  case OpId::global_avg_pool: return emitGlobalAvgPool(node, context);
  case OpId::resize: return emitResize(node, context);
  case OpId::concat: return emitConcat(node, context);
  case OpId::argmax: return emitArgmax(node, context);
  case OpId::softmax:
  case OpId::log_softmax: return emitSoftmax(node, context);
  case OpId::fused_conv: return emitFusedConv(node, context);
  case OpId::resize_add:
  case OpId::resize_mul: return emitResizeBinary(node, context);
  case OpId::resize_concat: return emitResizeConcat(node, context);
  case OpId::bga: return emitBga(node, context);
  case OpId::arm:
  case OpId::ffm:
  case OpId::context_embedding:
    fail("codegen: node %{} ({}) runs as several kernels; emit it with emitNodeKernels (a bisc bug)",
         node.name(), node.info().name);
  default: break;
  }
  fail("codegen: no kernel emitter for op {} (node %{})", node.info().name, node.name());
}

} // namespace bisc
