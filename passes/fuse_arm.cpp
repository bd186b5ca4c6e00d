//===- fuse_arm.cpp - Attention Refinement Module gate -> arm -------------===//
//
// What: x * sigmoid(conv1x1(gap(x)))  ->  arm(x, weight, bias)   (ir/fused_ops.h), matched
// by structure (passes/channel_gate.h): one 1x1 conv with no activation, BN already folded
// into it. The 3x3 conv-BN-ReLU in front of the gate stays a fused_conv: the gate needs all
// of x (its global mean) before it can scale any of it. A bias-less conv gets a zero bias.
// Preconditions: fold-bn (the attention BN must be folded into the 1x1 conv).
#include "passes/channel_gate.h"
#include "passes/passes.h"
#include "passes/rewrite.h"

namespace bisc {

namespace {

using namespace rewrite;

bool fuseArm(Graph &graph, Node &mul) {
  auto gate = matchChannelGate(graph, mul);
  if (!gate || gate->relu || gate->weight2 || mul.op != OpId::mul) return false;
  int64_t channels = gate->x->type.shape[1];
  Value *bias = biasOrZero(graph, gate->bias1, mul.name() + ".zero_bias", channels);
  replaceSubgraph(graph, &mul, gate->nodes, OpId::arm, {gate->x, gate->weight1, bias},
                  {{"fused_from", fusedFrom(gate->nodes)}});
  return true;
}

} // namespace

std::unique_ptr<Pass> createFuseArmPass() { return makeFusionPass("fuse-arm", {OpId::mul}, fuseArm); }

} // namespace bisc
