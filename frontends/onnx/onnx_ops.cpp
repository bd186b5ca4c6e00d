//===- onnx_ops.cpp - ONNX tensor ops -> bisc ops --------------------------===//
//
// One handler per ONNX op that computes on the image: Conv, BatchNormalization, activations,
// Add / Mul / Concat, pools (absorbing a constant Pad in front), global means, Dropout, and
// the classifier tails (Softmax, LogSoftmax, ArgMax, CustomArgMax) that may read through a
// pending Transpose (opset < 13 exports wrap softmax over channels in two Transposes).
#include "frontends/onnx/onnx_importer.h"

#include "ir/error.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

namespace bisc::onnx_import {

namespace {

using Node = onnx::NodeProto;
using Ints = std::vector<int64_t>;

Ints twoInts(const Node &node, const std::string &name, Ints fallback) {
  Ints values = attrInts(node, name, fallback);
  if (values.size() != 2)
    fail("attribute '{}' has {} values; bisc supports 2-D (NCHW) windows only", name, values.size());
  return values;
}

/// ONNX pads [top, left, bottom, right], or the ones auto_pad implies at the import shape.
Ints windowPads(const Node &node, const Shape &in, const Ints &kernel, const Ints &stride,
                const Ints &dilation) {
  std::string autoPad = attrString(node, "auto_pad", "NOTSET");
  if (autoPad == "NOTSET") {
    Ints pads = attrInts(node, "pads", {0, 0, 0, 0});
    if (pads.size() != 4) fail("attribute 'pads' has {} values, 2-D windows need 4", pads.size());
    for (int64_t p : pads)
      if (p < 0) fail("negative pads [{}] are not supported", fmt::join(pads, ","));
    return pads;
  }
  if (autoPad == "VALID") return {0, 0, 0, 0};
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER") fail("auto_pad '{}' is not supported", autoPad);
  Ints pads(4);
  for (int axis = 0; axis < 2; ++axis) {
    int64_t size = in[size_t(2 + axis)], out = (size + stride[size_t(axis)] - 1) / stride[size_t(axis)];
    int64_t span = (kernel[size_t(axis)] - 1) * dilation[size_t(axis)] + 1;
    int64_t total = std::max<int64_t>((out - 1) * stride[size_t(axis)] + span - size, 0);
    int64_t small = total / 2, large = total - small;
    pads[size_t(axis)] = autoPad == "SAME_UPPER" ? small : large;
    pads[size_t(axis + 2)] = autoPad == "SAME_UPPER" ? large : small;
  }
  return pads;
}

/// The image operand of a window op: a runtime value, or the value under a pending Pad
/// (whose pads are added to `pads`) if `acceptFill` allows its fill value.
Value *windowInput(Importer &im, const Node &node, Ints &pads,
                   const std::function<std::string(const Padded &)> &acceptFill) {
  const Entry &e = im.entry(node, 0);
  const Padded *padded = std::get_if<Padded>(&e);
  if (!padded) return im.runtime(node, 0, "x");
  std::string problem = acceptFill(*padded);
  if (!problem.empty()) fail("{}", problem);
  for (size_t i = 0; i < 4; ++i) pads[i] += padded->pads[i];
  return padded->value;
}

Value *requireRank4(Value *value, const char *what) {
  if (value->type.shape.size() != 4)
    fail("{} must be a 4-D NCHW tensor, got {}", what, toString(value->type));
  return value;
}

void lowerConv(Importer &im, const Node &node) {
  Value *weight = im.runtime(node, 1, "weight");
  if (weight->type.shape.size() != 4)
    fail("only 2-D convolutions are supported (weight {})", toString(weight->type));
  Ints kernel{weight->type.shape[2], weight->type.shape[3]};
  if (findAttr(node, "kernel_shape") && twoInts(node, "kernel_shape", {}) != kernel)
    fail("kernel_shape [{}] disagrees with the weight {}", fmt::join(attrInts(node, "kernel_shape"), ","),
         toString(weight->type));
  Ints stride = twoInts(node, "strides", {1, 1}), dilation = twoInts(node, "dilations", {1, 1});
  Ints pads{0, 0, 0, 0};
  Value *x = windowInput(im, node, pads, [](const Padded &p) {
    return p.fill == 0 ? "" : fmt::format("a Pad with value {} feeds this Conv; only zero padding folds into a convolution", p.fill);
  });
  requireRank4(x, "input");
  Ints own = windowPads(node, x->type.shape, kernel, stride, dilation);
  for (size_t i = 0; i < 4; ++i) pads[i] += own[i];
  std::vector<Value *> inputs{x, weight};
  if (im.hasInput(node, 2)) inputs.push_back(im.runtime(node, 2, "bias"));
  im.emit(node, OpId::conv2d, inputs,
          {{"stride", stride}, {"pads", pads}, {"dilation", dilation}, {"groups", attrInt(node, "group", 1)}});
}

void lowerBatchNorm(Importer &im, const Node &node) {
  if (attrInt(node, "training_mode", 0) != 0) fail("training_mode=1 is not supported (export in eval mode)");
  if (im.opset() < 9 && attrInt(node, "spatial", 1) != 1) fail("spatial=0 is not supported");
  im.expectUnusedOutputsFrom(node, 1);
  static const char *names[] = {"x", "weight", "bias", "running_mean", "running_var"};
  std::vector<Value *> inputs;
  for (size_t i = 0; i < 5; ++i) inputs.push_back(im.runtime(node, i, names[i]));
  im.emit(node, OpId::batch_norm, inputs, {{"eps", double(attrFloat(node, "epsilon", 1e-5f))}});
}

template <OpId op>
void lowerUnary(Importer &im, const Node &node) {
  im.emit(node, op, {im.runtime(node, 0, "x")});
}

template <OpId op>
void lowerBinary(Importer &im, const Node &node) {
  if (im.isConstant(node, 0) && im.isConstant(node, 1)) return foldArithmetic(im, node);
  im.emit(node, op, {im.runtime(node, 0, "a"), im.runtime(node, 1, "b")});
}

void lowerConcat(Importer &im, const Node &node) {
  size_t count = im.inputCount(node);
  bool allConstant = true;
  for (size_t i = 0; i < count; ++i) allConstant &= im.isConstant(node, i);
  if (allConstant) return foldConcat(im, node);
  std::vector<Value *> inputs;
  for (size_t i = 0; i < count; ++i) inputs.push_back(im.runtime(node, i, fmt::format("input{}", i)));
  int64_t axis = attrInt(node, "axis", 1), rank = int64_t(inputs[0]->type.shape.size());
  if (axis < -rank || axis >= rank) fail("axis {} is out of range for rank {}", axis, rank);
  im.emit(node, OpId::concat, inputs, {{"axis", axis < 0 ? axis + rank : axis}});
}

void lowerMaxPool(Importer &im, const Node &node) {
  im.expectUnusedOutputsFrom(node, 1);
  if (attrInt(node, "storage_order", 0) != 0) fail("storage_order=1 is not supported");
  Ints kernel = twoInts(node, "kernel_shape", {}), stride = twoInts(node, "strides", {1, 1});
  Ints dilation = twoInts(node, "dilations", {1, 1});
  Ints pads{0, 0, 0, 0};
  Value *x = windowInput(im, node, pads, [](const Padded &p) {
    if (p.fill <= -std::numeric_limits<float>::max() || (p.fill == 0 && p.nonNegative)) return std::string();
    return fmt::format("a Pad with value {} feeds this MaxPool; it folds into the pool only with "
                       "value -inf, or 0 after a Relu",
                       p.fill);
  });
  requireRank4(x, "input");
  Ints own = windowPads(node, x->type.shape, kernel, stride, dilation);
  for (size_t i = 0; i < 4; ++i) pads[i] += own[i];
  im.emit(node, OpId::max_pool, {x},
          {{"kernel", kernel}, {"stride", stride}, {"pads", pads}, {"dilation", dilation},
           {"ceil_mode", attrInt(node, "ceil_mode", 0) != 0}});
}

void lowerAveragePool(Importer &im, const Node &node) {
  Ints kernel = twoInts(node, "kernel_shape", {}), stride = twoInts(node, "strides", {1, 1});
  bool countIncludePad = attrInt(node, "count_include_pad", 0) != 0;
  Ints pads{0, 0, 0, 0};
  bool padded = std::holds_alternative<Padded>(im.entry(node, 0));
  Value *x = windowInput(im, node, pads, [](const Padded &p) {
    return p.fill == 0 ? "" : fmt::format("a Pad with value {} feeds this AveragePool; only zero padding folds into a pool", p.fill);
  });
  requireRank4(x, "input");
  Ints own = windowPads(node, x->type.shape, kernel, stride, {1, 1});
  bool ownPads = std::any_of(own.begin(), own.end(), [](int64_t p) { return p != 0; });
  // An explicit zero Pad is counted by the divisor: the pool's own pads must count too.
  if (padded && ownPads && !countIncludePad)
    fail("a zero Pad feeds this AveragePool, which has its own pads with count_include_pad=0; "
         "bisc cannot count one padding and not the other");
  for (size_t i = 0; i < 4; ++i) pads[i] += own[i];
  im.emit(node, OpId::avg_pool, {x},
          {{"kernel", kernel}, {"stride", stride}, {"pads", pads},
           {"ceil_mode", attrInt(node, "ceil_mode", 0) != 0},
           {"count_include_pad", countIncludePad || padded}});
}

void lowerPad(Importer &im, const Node &node) {
  std::string mode = attrString(node, "mode", "constant");
  if (mode != "constant") fail("mode '{}' is not supported (constant only)", mode);
  Ints pads;
  double fill = 0;
  if (im.opset() < 11) {
    pads = attrInts(node, "pads");
    fill = attrFloat(node, "value", 0.0f);
  } else {
    pads = im.constant(node, 1).ints();
    if (im.hasInput(node, 2)) {
      const ConstTensor &value = im.constant(node, 2);
      if (value.values.size() != 1) fail("constant_value must be a scalar");
      fill = value.values[0];
    }
  }
  const Entry &e = im.entry(node, 0);
  Padded result;
  if (const auto *inner = std::get_if<Padded>(&e)) {
    if (inner->fill != fill) fail("two Pads with different values in a row are not supported");
    result = *inner;
  } else {
    result.value = requireRank4(im.runtime(node, 0, "x"), "input");
    result.fill = fill;
    bisc::Node *producer = result.value->producer;
    result.nonNegative = producer && producer->op == OpId::relu;
  }
  if (pads.size() != 8) fail("pads has {} values; a 4-D input needs 8", pads.size());
  if (pads[0] || pads[1] || pads[4] || pads[5]) fail("padding the batch or channel axis is not supported");
  for (int64_t p : pads)
    if (p < 0) fail("negative pads (cropping) are not supported");
  result.pads[0] += pads[2];
  result.pads[1] += pads[3];
  result.pads[2] += pads[6];
  result.pads[3] += pads[7];
  im.define(node, 0, result);
}

void lowerGlobalAveragePool(Importer &im, const Node &node) {
  im.emit(node, OpId::global_avg_pool, {requireRank4(im.runtime(node, 0, "x"), "input")});
}

void lowerReduceMean(Importer &im, const Node &node) {
  Value *x = im.runtime(node, 0, "x");
  Ints axes = attrInts(node, "axes");
  int64_t rank = int64_t(x->type.shape.size());
  for (int64_t &axis : axes) axis = axis < 0 ? axis + rank : axis;
  std::sort(axes.begin(), axes.end());
  if (rank != 4 || axes != Ints{2, 3} || attrInt(node, "keepdims", 1) != 1)
    fail("only the mean over H and W of a 4-D tensor with keepdims=1 is supported (got axes "
         "[{}] of {}, keepdims={})",
         fmt::join(attrInts(node, "axes"), ","), toString(x->type), attrInt(node, "keepdims", 1));
  im.emit(node, OpId::global_avg_pool, {x});
}

void lowerDropout(Importer &im, const Node &node) {
  im.expectUnusedOutputsFrom(node, 1);
  double ratio = attrFloat(node, "ratio", 0.5f);
  if (im.opset() >= 12) {
    ratio = im.hasInput(node, 1) ? im.constant(node, 1).values.at(0) : 0.5;
    if (im.hasInput(node, 2) && im.constant(node, 2).values.at(0) != 0)
      fail("training_mode=true is not supported (export in eval mode)");
  }
  im.emit(node, OpId::dropout, {im.runtime(node, 0, "x")}, {{"p", ratio}});
}

void lowerTranspose(Importer &im, const Node &node) {
  const Entry &e = im.entry(node, 0);
  Permuted view;
  if (const auto *p = std::get_if<Permuted>(&e)) view = *p;
  else {
    view.value = im.runtime(node, 0, "x");
    view.perm.resize(view.value->type.shape.size());
    std::iota(view.perm.begin(), view.perm.end(), 0);
  }
  Ints identity(view.perm.size()), reversed(view.perm.size());
  std::iota(identity.begin(), identity.end(), 0);
  std::iota(reversed.rbegin(), reversed.rend(), 0);
  Ints perm = attrInts(node, "perm", reversed), sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  if (sorted != identity)
    fail("perm [{}] is not a permutation of {} axes", fmt::join(perm, ","), identity.size());
  Ints composed;
  for (int64_t axis : perm) composed.push_back(view.perm[size_t(axis)]);
  if (composed == identity) return im.define(node, 0, Runtime{view.value});
  im.define(node, 0, Permuted{view.value, composed});
}

/// The operand of a softmax-like op: an IR value and the ONNX->IR axis permutation.
std::pair<Value *, Ints> viewOf(Importer &im, const Node &node) {
  if (const auto *p = std::get_if<Permuted>(&im.entry(node, 0))) return {p->value, p->perm};
  Value *x = im.runtime(node, 0, "x");
  Ints identity(x->type.shape.size());
  std::iota(identity.begin(), identity.end(), 0);
  return {x, identity};
}

void defineView(Importer &im, const Node &node, Value *value, const Ints &perm) {
  if (std::is_sorted(perm.begin(), perm.end())) im.define(node, 0, Runtime{value});
  else im.define(node, 0, Permuted{value, perm});
}

template <OpId op>
void lowerSoftmax(Importer &im, const Node &node) {
  auto [x, perm] = viewOf(im, node);
  int64_t rank = int64_t(perm.size());
  int64_t axis = attrInt(node, "axis", im.opset() < 13 ? 1 : -1);
  if (axis < -rank || axis >= rank) fail("axis {} is out of range for rank {}", axis, rank);
  if (axis < 0) axis += rank;
  // Before opset 13 the op normalises over all axes from `axis` on, flattened.
  if (im.opset() < 13)
    for (int64_t d = axis + 1; d < rank; ++d)
      if (x->type.shape[size_t(perm[size_t(d)])] != 1)
        fail("axis={} at opset {} normalises over the flattened axes {}..{}; bisc's softmax "
             "takes one axis (export at opset >= 13, or softmax over the last axis)",
             axis, im.opset(), axis, rank - 1);
  Value *result = im.emit(node, op, {x}, {{"axis", perm[size_t(axis)]}});
  defineView(im, node, result, perm);
}

void lowerArgMaxAlong(Importer &im, const Node &node, int64_t axis, bool keepdims) {
  auto [x, perm] = viewOf(im, node);
  int64_t rank = int64_t(perm.size());
  if (axis < -rank || axis >= rank) fail("axis {} is out of range for rank {}", axis, rank);
  if (axis < 0) axis += rank;
  int64_t irAxis = perm[size_t(axis)];
  Ints reduced;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis) reduced.push_back(perm[size_t(d)] - (perm[size_t(d)] > irAxis ? 1 : 0));
  // bisc's argmax drops the axis; a kept unit axis changes the shape, not the data order.
  if (keepdims && !(im.onlyGraphOutput(node, 0) && std::is_sorted(reduced.begin(), reduced.end())))
    fail("keepdims=1 is supported only when the result is a graph output (bisc's argmax drops "
         "the axis: the output is N x H x W, same data)");
  Value *result = im.emit(node, OpId::argmax, {x}, {{"axis", irAxis}});
  defineView(im, node, result, reduced);
}

void lowerArgMax(Importer &im, const Node &node) {
  if (attrInt(node, "select_last_index", 0) != 0) fail("select_last_index=1 is not supported");
  lowerArgMaxAlong(im, node, attrInt(node, "axis", 0), attrInt(node, "keepdims", 1) != 0);
}

/// One public BiSeNet export writes its prediction as CustomArgMax(dim=1): argmax, int32.
void lowerCustomArgMax(Importer &im, const Node &node) {
  lowerArgMaxAlong(im, node, attrInt(node, "dim", 1), false);
}

} // namespace

void registerTensorOps(std::map<std::string, OpHandler> &table) {
  table["Conv"] = lowerConv;
  table["BatchNormalization"] = lowerBatchNorm;
  table["Relu"] = lowerUnary<OpId::relu>;
  table["Sigmoid"] = lowerUnary<OpId::sigmoid>;
  table["Add"] = lowerBinary<OpId::add>;
  table["Mul"] = lowerBinary<OpId::mul>;
  table["Concat"] = lowerConcat;
  table["MaxPool"] = lowerMaxPool;
  table["AveragePool"] = lowerAveragePool;
  table["Pad"] = lowerPad;
  table["GlobalAveragePool"] = lowerGlobalAveragePool;
  table["ReduceMean"] = lowerReduceMean;
  table["Dropout"] = lowerDropout;
  table["Transpose"] = lowerTranspose;
  table["Softmax"] = lowerSoftmax<OpId::softmax>;
  table["LogSoftmax"] = lowerSoftmax<OpId::log_softmax>;
  table["ArgMax"] = lowerArgMax;
  table["CustomArgMax"] = lowerCustomArgMax;
}

} // namespace bisc::onnx_import
