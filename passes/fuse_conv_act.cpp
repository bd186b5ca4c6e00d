//===- fuse_conv_act.cpp - conv + bias + relu (+ residual add) -> fused_conv ===//
//
// What: visiting nodes in graph order,
//  * relu(conv(x))                 -> fused_conv{activation=relu}
//  * add(conv(x), r)               -> fused_conv{residual=before_act}, r of the add's shape
//  * relu(fused_conv{before_act})  -> fused_conv{activation=relu, residual=before_act}
//  * add(relu-fused_conv(x), r)    -> fused_conv{activation=relu, residual=after_act}
// so ResNet's conv-BN-add-relu and a CBR followed by an add both become one node. "conv" is
// a conv2d or a fused_conv that only convolves; it must have no other user. A residual
// needs a bias operand (ir/fused_ops.h), so a bias-less conv gets a zero bias.
// Preconditions: batch_norm folded (fold-bn) for the CBRs to be adjacent; otherwise the pass
// simply finds fewer matches.
#include "passes/passes.h"
#include "passes/rewrite.h"

namespace bisc {

namespace {

using namespace rewrite;

AttrList fusedAttrs(const Node &conv, const std::string &activation, const std::string &residual,
                    const std::vector<Node *> &matched) {
  AttrList attrs = convAttrs(conv);
  attrs.emplace_back("activation", activation);
  attrs.emplace_back("residual", residual);
  attrs.emplace_back("fused_from", fusedFrom(matched));
  return attrs;
}

/// relu(conv) or relu(fused_conv{before_act}).
bool fuseRelu(Graph &graph, Node &relu) {
  Node *conv = plainConv(relu.inputs[0]);
  if (!conv) {
    Node *fused = producer(relu.inputs[0], OpId::fused_conv);
    if (fused && fused->attrString("activation") == "none" &&
        fused->attrString("residual") == "before_act")
      conv = fused;
  }
  if (!conv || !hasOneUse(graph, conv->result)) return false;
  std::string residual = conv->op == OpId::fused_conv ? conv->attrString("residual") : "none";
  std::vector<Node *> matched{conv, &relu};
  replaceSubgraph(graph, &relu, matched, OpId::fused_conv, conv->inputs,
                  fusedAttrs(*conv, "relu", residual, matched));
  return true;
}

/// add(conv, r) / add(r, conv) with r exactly the conv's shape.
bool fuseResidual(Graph &graph, Node &add) {
  for (Value *operand : add.inputs) {
    Node *conv = plainConv(operand);
    std::string activation = "none";
    if (!conv) {
      auto convRelu = matchConvRelu(graph, operand);
      if (!convRelu || convRelu->relu) continue;
      conv = convRelu->conv;
      activation = "relu";
    }
    Value *residual = otherOperand(add, operand);
    if (residual == operand || !hasOneUse(graph, operand)) continue;
    if (residual->type != add.result->type || operand->type != add.result->type) continue;
    Value *bias = biasOrZero(graph, convBias(*conv), conv->name() + ".zero_bias",
                             conv->inputs[1]->type.shape[0]);
    std::vector<Node *> matched{conv, &add};
    replaceSubgraph(graph, &add, matched, OpId::fused_conv,
                    {conv->inputs[0], conv->inputs[1], bias, residual},
                    fusedAttrs(*conv, activation, activation == "relu" ? "after_act" : "before_act",
                               matched));
    return true;
  }
  return false;
}

class FuseConvAct : public Pass {
public:
  std::string name() const override { return "fuse-conv-act"; }
  bool run(Graph &graph) override {
    relus_ = residuals_ = 0;
    forEachNode(graph, [&](Node &node) {
      if (node.op == OpId::relu && fuseRelu(graph, node)) return ++relus_, true;
      if (node.op == OpId::add && fuseResidual(graph, node)) return ++residuals_, true;
      return false;
    });
    return relus_ + residuals_ > 0;
  }
  std::vector<std::pair<std::string, std::string>> statistics() const override {
    return {{"relu-fused", std::to_string(relus_)}, {"residual-fused", std::to_string(residuals_)}};
  }

private:
  int relus_ = 0, residuals_ = 0;
};

} // namespace

std::unique_ptr<Pass> createFuseConvActPass() { return std::make_unique<FuseConvAct>(); }

} // namespace bisc
