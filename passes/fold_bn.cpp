//===- fold_bn.cpp - Fold inference batch_norm into a neighbouring conv ---===//
//
// What: at inference a batch_norm is the per-channel affine map y = s*x + t with
// s = gamma / sqrt(var + eps) and t = beta - mean*s. Two placements fold away:
//  * after a conv (conv result used only by the BN):   conv(x; W*s[o], (b - mean)*s + beta)
//  * before a conv without padding (BN used only as the conv's input; V2's Context
//    Embedding BN on the pooled vector): conv(s*x + t) = conv(x; W*s[c], b + sum W*t[c]),
//    c the input channel a weight element reads. Padding would break it: the pad zeros
//    are not mapped by the BN.
// The conv keeps its name and gets new weights `@<bn>.folded_weight` / `.folded_bias`
// (so the dump still shows which BN went where); the old weights are erased when unused.
// Folding is done in double and rounded once.
// Preconditions: BN parameters and conv weights are graph weights. When any of them has no
// data (a JSON loaded without weights), the graph is still transformed and the folded
// weights are declared without data: the structure is right, numerics need weights.
#include "passes/passes.h"
#include "passes/rewrite.h"

#include <cmath>
#include <optional>

namespace bisc {

namespace {

using namespace rewrite;

/// y = scale*x + shift per channel, or nullopt if a parameter has no data.
struct Affine {
  std::vector<double> scale, shift;
};

std::optional<Affine> bnAffine(const Node &bn) {
  for (size_t i = 1; i < 5; ++i)
    if (!bn.inputs[i]->data) return std::nullopt;
  auto gamma = bn.inputs[1]->data->f32(), beta = bn.inputs[2]->data->f32();
  auto mean = bn.inputs[3]->data->f32(), var = bn.inputs[4]->data->f32();
  double eps = bn.attrFloat("eps");
  Affine a;
  for (size_t c = 0; c < gamma.size(); ++c) {
    a.scale.push_back(double(gamma[c]) / std::sqrt(double(var[c]) + eps));
    a.shift.push_back(double(beta[c]) - double(mean[c]) * a.scale.back());
  }
  return a;
}

bool allWeights(const Node &node, size_t from) {
  for (size_t i = from; i < node.inputs.size(); ++i)
    if (node.inputs[i]->kind != ValueKind::Weight) return false;
  return true;
}

bool hasData(const Node &conv) {
  for (size_t i = 1; i < conv.inputs.size(); ++i)
    if (!conv.inputs[i]->data) return false;
  return true;
}

/// Folded weight and bias tensors; `before` selects the BN-before-conv form.
std::pair<std::shared_ptr<Tensor>, std::shared_ptr<Tensor>> foldData(const Node &conv,
                                                                     const Affine &bn,
                                                                     bool before) {
  const Tensor &w = *conv.inputs[1]->data;
  const Shape &shape = w.shape();
  int64_t outC = shape[0], perOut = shape[1] * shape[2] * shape[3], kernel = shape[2] * shape[3];
  int64_t outPerGroup = outC / conv.attrInt("groups");
  auto weight = std::make_shared<Tensor>(w.type());
  auto bias = std::make_shared<Tensor>(TensorType{DType::f32, {outC}});
  auto src = w.f32();
  auto dst = weight->f32();
  for (int64_t o = 0; o < outC; ++o) {
    double b = conv.inputs.size() == 3 ? double(conv.inputs[2]->data->f32()[size_t(o)]) : 0.0;
    if (!before) b = b * bn.scale[size_t(o)] + bn.shift[size_t(o)];
    for (int64_t k = 0; k < perOut; ++k) {
      size_t at = size_t(o * perOut + k);
      size_t c = size_t((o / outPerGroup) * shape[1] + k / kernel);  // input channel read
      double s = before ? bn.scale[c] : bn.scale[size_t(o)];
      dst[at] = float(double(src[at]) * s);
      if (before) b += double(src[at]) * bn.shift[c];
    }
    bias->f32()[size_t(o)] = float(b);
  }
  return {weight, bias};
}

/// Gives `conv` the folded weight and bias (with data when everything has data).
void refold(Graph &graph, Node &conv, const Node &bn, bool before) {
  std::optional<Affine> affine = bnAffine(bn);
  std::shared_ptr<Tensor> weight, bias;
  if (affine && hasData(conv)) std::tie(weight, bias) = foldData(conv, *affine, before);
  int64_t outC = conv.inputs[1]->type.shape[0];
  Value *w = newWeight(graph, bn.name() + ".folded_weight", conv.inputs[1]->type, weight);
  Value *b = newWeight(graph, bn.name() + ".folded_bias", {DType::f32, {outC}}, bias);
  conv.inputs.resize(3);
  conv.inputs[1] = w;
  conv.inputs[2] = b;
}

bool foldIntoProducer(Graph &graph, Node &bn) {
  Node *conv = producer(bn.inputs[0], OpId::conv2d);
  if (!conv || !hasOneUse(graph, conv->result) || !allWeights(*conv, 1)) return false;
  refold(graph, *conv, bn, false);
  graph.replaceAllUses(bn.result, conv->result);
  graph.eraseNode(&bn);
  return true;
}

bool foldIntoConsumer(Graph &graph, Node &bn) {
  std::vector<Node *> users = graph.users(bn.result);
  if (users.size() != 1 || !hasOneUse(graph, bn.result)) return false;
  Node *conv = users[0];
  if (conv->op != OpId::conv2d || conv->inputs[0] != bn.result || !allWeights(*conv, 1))
    return false;
  if (conv->attrInts("pads") != std::vector<int64_t>{0, 0, 0, 0}) return false;
  refold(graph, *conv, bn, true);
  conv->inputs[0] = bn.inputs[0];
  graph.eraseNode(&bn);
  return true;
}

class FoldBn : public Pass {
public:
  std::string name() const override { return "fold-bn"; }
  bool run(Graph &graph) override {
    intoConv_ = beforeConv_ = 0;
    forEachNode(graph, [&](Node &node) {
      if (node.op != OpId::batch_norm || !allWeights(node, 1)) return false;
      if (foldIntoProducer(graph, node)) return ++intoConv_, true;
      if (foldIntoConsumer(graph, node)) return ++beforeConv_, true;
      return false;
    });
    if (intoConv_ + beforeConv_ == 0) return false;
    graph.eraseUnusedWeights();
    return true;
  }
  std::vector<std::pair<std::string, std::string>> statistics() const override {
    return {{"folded-into-conv", std::to_string(intoConv_)},
            {"folded-before-conv", std::to_string(beforeConv_)}};
  }

private:
  int intoConv_ = 0, beforeConv_ = 0;
};

} // namespace

std::unique_ptr<Pass> createFoldBnPass() { return std::make_unique<FoldBn>(); }

} // namespace bisc
