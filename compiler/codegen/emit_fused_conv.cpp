//===- emit_fused_conv.cpp - conv + bias + activation + residual ----------===//
//
// fused_conv (see ir/fused_ops.h) is a conv whose epilogue finishes each accumulated value
// before it is stored, so neither the conv result nor the pre-activation sum is written:
//
//   v = acc (bias included); before_act: v += residual; relu: v = max(v, 0);
//   after_act: v += residual; out = v
//
// Wide-row 3x3 stride-1 dense convs go to Winograd F(4x4, 3x3) (emit_winograd.cpp) and other
// dense convs the register-blocked microkernel handles go there, with the same epilogue;
// the rest (grouped, depthwise, narrow rows, other strides) use the direct conv planes of
// emit_conv.cpp. Either way the residual is read at exactly the element being stored, so
// the result may share its buffer with the residual operand.
#include "compiler/codegen/conv_microkernel.h"
#include "compiler/codegen/conv_plane.h"
#include "ir/error.h"
#include "ir/fused_ops.h"

namespace bisc {

namespace {

ConvEpilogue fusedConvEpilogue(const Node &node) {
  const std::string &residual = node.attrString("residual"), &activation = node.attrString("activation");
  if (activation != "none" && activation != "relu")
    fail("codegen: node %{} (fused_conv): activation \"{}\" has no kernel (expected none or relu)", node.name(),
         activation);
  if (residual != "none" && residual != "before_act" && residual != "after_act")
    fail("codegen: node %{} (fused_conv): residual \"{}\" has no kernel (expected none, before_act or after_act)",
         node.name(), residual);
  ConvEpilogue epilogue;
  epilogue.bias = fusedConvBias(node);
  epilogue.residual = fusedConvResidual(node);
  epilogue.residualBeforeActivation = residual == "before_act";
  epilogue.relu = activation == "relu";
  return epilogue;
}

} // namespace

KernelSpec emitFusedConv(const Node &node, EmitContext &context) {
  ConvEpilogue epilogue = fusedConvEpilogue(node);
  if (std::optional<KernelSpec> dense = emitDenseConv(node, epilogue, context)) return *dense;

  ConvPlane conv;
  conv.shape = convShape(node);
  conv.input = {{node.inputs[0], conv.shape.ic}};
  conv.weight = node.inputs[1];
  conv.bias = epilogue.bias;
  conv.out = node.result;
  int64_t planeSize = conv.shape.oh * conv.shape.ow;
  conv.epilogue = [epilogue, planeSize](KernelBuilder &k, llvm::Value *v, llvm::Value *plane, llvm::Value *pixel) {
    auto &ir = k.ir();
    auto addResidual = [&](llvm::Value *x) {
      llvm::Value *index = ir.CreateAdd(k.mul(plane, planeSize), pixel);
      return ir.CreateFAdd(x, k.loadF32(k.base(epilogue.residual), index));
    };
    if (epilogue.residual && epilogue.residualBeforeActivation) v = addResidual(v);
    if (epilogue.relu) v = k.relu(v);
    if (epilogue.residual && !epilogue.residualBeforeActivation) v = addResidual(v);
    return v;
  };
  KernelSpec spec{"fused_conv", convSchedule(conv.shape, context.defaults), {}};
  spec.body = [conv, schedule = spec.schedule](KernelBuilder &k, llvm::Value *plane) {
    emitConvPlane(k, conv, schedule, plane);
  };
  return spec;
}

} // namespace bisc
