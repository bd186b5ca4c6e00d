//===- emitters.cpp - Dispatch from op to kernel family ---------------------===//
#include "compiler/codegen/emitters.h"

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

KernelSpec emitKernel(const Node &node, EmitContext &context) {
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
  default: break;
  }
  fail("codegen: no kernel emitter for op {} (node %{})", node.info().name, node.name());
}

} // namespace bisc
