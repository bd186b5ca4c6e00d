//===- random_weights.cpp - Deterministic, well-conditioned random weights -===//
//
// Random weights must keep fp32 rounding far below the 1e-4 test tolerance: Kaiming-normal
// convs, non-trivial BN affine parameters, and BN running statistics calibrated on data rather
// than left at 0/1, so every BN sees a roughly normalised input. docs/random-weights.md
// describes the recipe.
#include "frontends/common/random_weights.h"
#include "frontends/common/model_io.h"

#include "ir/error.h"
#include "ir/interpreter/interpreter.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <unordered_map>

namespace bisc {

//===- Rng -------------------------------------------------------------------===//

namespace {

uint64_t fnv1a(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ull;
  return hash;
}

} // namespace

Rng::Rng(uint64_t seed, std::string_view name) : state_(Rng(seed).next() ^ fnv1a(name)) {}

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double Rng::uniform(double lo, double hi) {
  return lo + (hi - lo) * double(next() >> 11) * 0x1.0p-53;
}

double Rng::normal() {
  double u1 = double((next() >> 11) + 1) * 0x1.0p-53;  // (0, 1]: log stays finite
  double u2 = double(next() >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

Tensor syntheticImages(const Shape &shape, uint64_t seed) {
  Tensor images(TensorType{DType::f32, shape});
  Rng rng(seed, "calibration images");
  std::span<float> data = images.f32();
  size_t plane = size_t(shape[2] * shape[3]);
  for (int64_t n = 0; n < shape[0]; ++n) {
    double contrast = std::exp2(rng.uniform(-2.0, 2.0));
    for (int64_t c = 0; c < shape[1]; ++c) {
      double brightness = rng.normal();
      float *pixels = data.data() + size_t(n * shape[1] + c) * plane;
      for (size_t i = 0; i < plane; ++i) pixels[i] = float(brightness + contrast * rng.normal());
    }
  }
  return images;
}

Shape calibrationShape(const Shape &inputShape) { return {4, inputShape[1], 64, 128}; }

//===- Weight roles and initial values ----------------------------------------===//

namespace {

enum class Role { None, ConvWeight, ConvBias, BnWeight, ResidualBnWeight, BnBias, BnMean, BnVar, Other };

/// Longest path (in nodes) from a graph input to each result; inputs and weights are 0.
std::unordered_map<const Value *, int64_t> nodeDepths(const Graph &graph) {
  std::unordered_map<const Value *, int64_t> depth;
  for (const auto &node : graph.nodes()) {  // nodes are in topological order
    int64_t deepest = 0;
    for (const Value *input : node->inputs) {
      auto it = depth.find(input);
      if (it != depth.end()) deepest = std::max(deepest, it->second);
    }
    depth[node->result] = deepest + 1;
  }
  return depth;
}

/// A batch_norm that ends a residual branch: an add sums its result with a shallower operand
/// (the block's input, or a projection shortcut such as ResNet's downsample conv + BN). Its
/// gamma is kept small so deep residual stacks do not amplify rounding (reference-data.md).
/// The projection's own BN keeps an ordinary gamma: a small one would leave the stream after
/// each stage's first block made mostly of BN betas, a near-constant offset that the next
/// convs cancel in f32.
bool endsResidualBranch(const Graph &graph, const Node &node,
                        const std::unordered_map<const Value *, int64_t> &depth) {
  auto depthOf = [&](const Value *v) {
    auto it = depth.find(v);
    return it == depth.end() ? int64_t(0) : it->second;
  };
  for (const Node *user : graph.users(node.result)) {
    if (user->op != OpId::add) continue;
    for (const Value *other : user->inputs)
      if (other != node.result && depthOf(other) < depthOf(node.result)) return true;
  }
  return false;
}

Role roleOfUse(const Graph &graph, const Node &node, size_t operand,
               const std::unordered_map<const Value *, int64_t> &depth) {
  if (node.op == OpId::batch_norm && operand == 1 && endsResidualBranch(graph, node, depth))
    return Role::ResidualBnWeight;
  if (node.op == OpId::conv2d && operand == 1) return Role::ConvWeight;
  if (node.op == OpId::conv2d && operand == 2) return Role::ConvBias;
  if (node.op == OpId::batch_norm && operand >= 1 && operand <= 4)
    return std::array{Role::BnWeight, Role::BnBias, Role::BnMean, Role::BnVar}[operand - 1];
  return Role::Other;
}

/// How each weight is used; a weight used in two different ways, in any other way, or not
/// at all gets Role::Other.
std::unordered_map<const Value *, Role> weightRoles(const Graph &graph) {
  std::unordered_map<const Value *, Role> roles;
  std::unordered_map<const Value *, int64_t> depth = nodeDepths(graph);
  for (const Value *weight : graph.weights()) roles[weight] = Role::None;
  for (const auto &node : graph.nodes())
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      auto it = roles.find(node->inputs[i]);
      if (it == roles.end()) continue;
      Role role = roleOfUse(graph, *node, i, depth);
      it->second = it->second == Role::None || it->second == role ? role : Role::Other;
    }
  return roles;
}

Tensor initialValue(const Value &weight, Role role, uint64_t seed) {
  Tensor tensor(weight.type);
  if (weight.type.dtype != DType::f32) return tensor;
  Rng rng(seed, weight.name);
  const Shape &shape = weight.type.shape;
  double fanIn = shape.size() > 1 ? double(numElements(Shape(shape.begin() + 1, shape.end()))) : 1.0;
  double kaimingStd = std::sqrt(2.0 / fanIn);
  for (float &x : tensor.f32()) {
    switch (role) {
    case Role::ConvWeight: x = float(kaimingStd * rng.normal()); break;
    case Role::BnWeight: x = float(rng.uniform(0.5, 1.5)); break;
    case Role::ResidualBnWeight: x = float(rng.uniform(0.05, 0.15)); break;
    case Role::BnMean: x = 0.0f; break;  // calibrated below
    case Role::BnVar: x = 1.0f; break;
    default: x = float(rng.uniform(-0.2, 0.2)); break;  // biases, BN beta, anything else
    }
  }
  return tensor;
}

//===- BN calibration -----------------------------------------------------------===//

/// Per-channel (axis 1) mean and biased variance over all other axes, in double.
void channelStatistics(const Tensor &x, Tensor &mean, Tensor &var) {
  const Shape &shape = x.shape();
  int64_t channels = shape.size() > 1 ? shape[1] : 1;
  int64_t inner = shape.size() > 2 ? numElements(Shape(shape.begin() + 2, shape.end())) : 1;
  int64_t outer = shape.empty() ? 1 : shape[0];
  std::span<const float> data = x.f32();
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0, sumSquares = 0;
    for (int64_t n = 0; n < outer; ++n)
      for (int64_t i = 0; i < inner; ++i) {
        double v = data[size_t((n * channels + c) * inner + i)];
        sum += v;
        sumSquares += v * v;
      }
    double count = double(outer * inner), mu = sum / count;
    mean.f32()[size_t(c)] = float(mu);
    var.f32()[size_t(c)] = float(std::max(sumSquares / count - mu * mu, 0.0));
  }
}

/// Sets the graph's input to the first calibration shape its nodes accept; returns false
/// (shape unchanged) if none does.
bool setCalibrationShape(Graph &graph, const Shape &original) {
  for (const Shape &shape : {calibrationShape(original), Shape{4, original[1], original[2], original[3]}}) {
    try {
      setInputShape(graph, shape);
      return true;
    } catch (const Error &) {
    }
  }
  setInputShape(graph, original);
  return false;
}

/// Runs the interpreter once; before each batch_norm runs, its running statistics are set
/// to the batch statistics of its input. The interpreter hands us the weight tensors
/// themselves, which we own and update in place, so the BN then normalises with them and
/// later BNs see calibrated earlier ones.
void calibrateBatchNorms(Graph &graph, uint64_t seed,
                         const std::unordered_map<const Value *, Tensor *> &mutableWeights) {
  Tensor images = syntheticImages(graph.inputs()[0]->type.shape, seed);
  InterpretOptions options;
  options.trainingOutputs = true;
  options.beforeNode = [&](const Node &node, std::span<const Tensor *const> operands) {
    if (node.op != OpId::batch_norm) return;
    auto mean = mutableWeights.find(node.inputs[3]), var = mutableWeights.find(node.inputs[4]);
    if (mean != mutableWeights.end() && var != mutableWeights.end())
      channelStatistics(*operands[0], *mean->second, *var->second);
  };
  interpret(graph, std::span<const Tensor>(&images, 1), options);
}

bool canCalibrate(const Graph &graph) {
  if (graph.inputs().size() != 1) return false;
  const TensorType &type = graph.inputs()[0]->type;
  if (type.dtype != DType::f32 || type.shape.size() != 4) return false;
  for (const auto &node : graph.nodes())
    if (node->op == OpId::batch_norm) return true;
  return false;
}

} // namespace

void fillRandomWeights(Graph &graph, uint64_t seed) {
  std::unordered_map<const Value *, Role> roles = weightRoles(graph);
  std::unordered_map<const Value *, Tensor *> mutableWeights;
  for (Value *weight : graph.weights()) {
    auto tensor = std::make_shared<Tensor>(initialValue(*weight, roles[weight], seed));
    mutableWeights[weight] = tensor.get();
    weight->data = std::move(tensor);
  }
  if (!canCalibrate(graph)) return;
  Shape original = graph.inputs()[0]->type.shape;
  setCalibrationShape(graph, original);
  try {
    calibrateBatchNorms(graph, seed, mutableWeights);
  } catch (...) {
    setInputShape(graph, original);
    throw;
  }
  setInputShape(graph, original);
}

} // namespace bisc
