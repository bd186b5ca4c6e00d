//===- onnx_fold.cpp - Size computations folded at import ------------------===//
//
// Exporters compute resize sizes with small integer graphs: Shape -> Gather / Slice ->
// Unsqueeze -> Concat -> Cast, sometimes with arithmetic. bisc knows every IR shape at import,
// so these fold to constants. A folded size remembers which IR value and axis it was read
// from (DimOrigin), so a Resize to "the size of that tensor" can keep that link in the IR.
// These ops on tensors computed at run time are not supported (bisc has no reshape or
// gather), and say so.
#include "frontends/onnx/onnx_importer.h"

#include "ir/error.h"

#include <cmath>
#include <functional>

namespace bisc::onnx_import {

namespace {

using Node = onnx::NodeProto;

void defineConst(Importer &im, const Node &node, ConstTensor value) {
  im.define(node, 0, Constant{nullptr, std::make_shared<const ConstTensor>(std::move(value))});
}

int64_t normAxis(int64_t axis, int64_t rank, const char *what) {
  if (axis < -rank || axis >= rank) fail("{} {} is out of range for rank {}", what, axis, rank);
  return axis < 0 ? axis + rank : axis;
}

void expectRank1(const ConstTensor &t, const char *what) {
  if (t.dims.size() != 1) fail("{} must be a 1-D constant here, got rank {}", what, t.dims.size());
}

ConstTensor scalarOrList(std::vector<double> values, bool isFloat, bool scalar) {
  ConstTensor t;
  t.isFloat = isFloat;
  if (!scalar) t.dims = {int64_t(values.size())};
  t.values = std::move(values);
  return t;
}

void lowerConstant(Importer &im, const Node &node) {
  if (const auto *attr = findAttr(node, "value")) {
    defineConst(im, node, decodeConst(attr->t(), ""));
  } else if (const auto *f = findAttr(node, "value_float")) {
    defineConst(im, node, scalarOrList({f->f()}, true, true));
  } else if (const auto *fs = findAttr(node, "value_floats")) {
    defineConst(im, node, scalarOrList({fs->floats().begin(), fs->floats().end()}, true, false));
  } else if (const auto *i = findAttr(node, "value_int")) {
    defineConst(im, node, scalarOrList({double(i->i())}, false, true));
  } else if (const auto *is = findAttr(node, "value_ints")) {
    defineConst(im, node, scalarOrList({is->ints().begin(), is->ints().end()}, false, false));
  } else {
    fail("only dense 'value', 'value_float(s)' and 'value_int(s)' constants are supported");
  }
}

void lowerIdentity(Importer &im, const Node &node) { im.define(node, 0, im.entry(node, 0)); }

void lowerShape(Importer &im, const Node &node) {
  const Entry &e = im.entry(node, 0);
  ConstTensor shape;
  if (const auto *r = std::get_if<Runtime>(&e)) {
    for (size_t d = 0; d < r->value->type.shape.size(); ++d) {
      shape.values.push_back(double(r->value->type.shape[d]));
      shape.origins.push_back(DimOrigin{r->value, int64_t(d)});
    }
  } else if (const auto *p = std::get_if<Permuted>(&e)) {
    for (int64_t axis : p->perm) {
      shape.values.push_back(double(p->value->type.shape[size_t(axis)]));
      shape.origins.push_back(DimOrigin{p->value, axis});
    }
  } else if (const auto *pad = std::get_if<Padded>(&e)) {
    Shape dims = pad->value->type.shape;
    dims[2] += pad->pads[0] + pad->pads[2];
    dims[3] += pad->pads[1] + pad->pads[3];
    for (int64_t d : dims) shape.values.push_back(double(d));
  } else {
    for (int64_t d : im.constant(node, 0).dims) shape.values.push_back(double(d));
  }
  int64_t rank = int64_t(shape.values.size());
  int64_t start = attrInt(node, "start", 0), end = attrInt(node, "end", rank);
  auto clampAxis = [rank](int64_t a) { return std::clamp(a < 0 ? a + rank : a, int64_t(0), rank); };
  start = clampAxis(start);
  end = std::max(start, clampAxis(end));
  shape.values = {shape.values.begin() + start, shape.values.begin() + end};
  if (!shape.origins.empty()) shape.origins = {shape.origins.begin() + start, shape.origins.begin() + end};
  shape.dims = {end - start};
  defineConst(im, node, std::move(shape));
}

void lowerGather(Importer &im, const Node &node) {
  const ConstTensor &data = im.constant(node, 0);
  const ConstTensor &indices = im.constant(node, 1);
  int64_t rank = int64_t(data.dims.size());
  if (rank == 0) fail("cannot gather from a scalar");
  int64_t axis = normAxis(attrInt(node, "axis", 0), rank, "axis");
  int64_t outer = 1, inner = 1, size = data.dims[size_t(axis)];
  for (int64_t d = 0; d < axis; ++d) outer *= data.dims[size_t(d)];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= data.dims[size_t(d)];
  ConstTensor out;
  out.isFloat = data.isFloat;
  out.dims.assign(data.dims.begin(), data.dims.begin() + axis);
  out.dims.insert(out.dims.end(), indices.dims.begin(), indices.dims.end());
  out.dims.insert(out.dims.end(), data.dims.begin() + axis + 1, data.dims.end());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t index : indices.ints()) {
      if (index < -size || index >= size) fail("index {} is out of range for size {}", index, size);
      if (index < 0) index += size;
      for (int64_t i = 0; i < inner; ++i) {
        size_t from = size_t((o * size + index) * inner + i);
        out.values.push_back(data.values[from]);
        out.origins.push_back(data.origin(from));
      }
    }
  defineConst(im, node, std::move(out));
}

void lowerSlice(Importer &im, const Node &node) {
  const ConstTensor &data = im.constant(node, 0);
  expectRank1(data, "data");
  std::vector<int64_t> starts, ends, axes, steps;
  if (im.opset() < 10) {
    starts = attrInts(node, "starts");
    ends = attrInts(node, "ends");
    axes = attrInts(node, "axes", {0});
  } else {
    starts = im.constant(node, 1).ints();
    ends = im.constant(node, 2).ints();
    axes = im.hasInput(node, 3) ? im.constant(node, 3).ints() : std::vector<int64_t>{0};
    if (im.hasInput(node, 4)) steps = im.constant(node, 4).ints();
  }
  if (starts.size() != 1 || ends.size() != 1 || axes.size() != 1 || steps.size() > 1)
    fail("only a slice along one axis of a 1-D constant is supported");
  normAxis(axes[0], 1, "axis");
  int64_t size = data.dims[0], step = steps.empty() ? 1 : steps[0];
  if (step == 0) fail("step must not be 0");
  auto clampIndex = [size, step](int64_t i) {
    if (i < 0) i += size;
    return step > 0 ? std::clamp(i, int64_t(0), size) : std::clamp(i, int64_t(-1), size - 1);
  };
  int64_t begin = clampIndex(starts[0]), end = clampIndex(ends[0]);
  ConstTensor out;
  out.isFloat = data.isFloat;
  for (int64_t i = begin; step > 0 ? i < end : i > end; i += step) {
    out.values.push_back(data.values[size_t(i)]);
    out.origins.push_back(data.origin(size_t(i)));
  }
  out.dims = {int64_t(out.values.size())};
  defineConst(im, node, std::move(out));
}

/// Unsqueeze and Squeeze keep the elements in order; only the dims change.
std::vector<int64_t> axesOf(Importer &im, const Node &node) {
  if (im.opset() >= 13) return im.hasInput(node, 1) ? im.constant(node, 1).ints() : std::vector<int64_t>{};
  return attrInts(node, "axes");
}

void lowerUnsqueeze(Importer &im, const Node &node) {
  ConstTensor out = im.constant(node, 0);
  std::vector<int64_t> axes = axesOf(im, node);
  int64_t rank = int64_t(out.dims.size() + axes.size());
  std::vector<bool> inserted(size_t(rank), false);
  for (int64_t axis : axes) inserted[size_t(normAxis(axis, rank, "axis"))] = true;
  Shape dims;
  size_t next = 0;
  for (int64_t d = 0; d < rank; ++d) dims.push_back(inserted[size_t(d)] ? 1 : out.dims[next++]);
  out.dims = dims;
  defineConst(im, node, std::move(out));
}

void lowerSqueeze(Importer &im, const Node &node) {
  ConstTensor out = im.constant(node, 0);
  std::vector<int64_t> axes = axesOf(im, node);
  int64_t rank = int64_t(out.dims.size());
  std::vector<bool> removed(size_t(rank), axes.empty());
  for (int64_t axis : axes) removed[size_t(normAxis(axis, rank, "axis"))] = true;
  Shape dims;
  for (int64_t d = 0; d < rank; ++d)
    if (!removed[size_t(d)] || out.dims[size_t(d)] != 1) dims.push_back(out.dims[size_t(d)]);
  out.dims = dims;
  defineConst(im, node, std::move(out));
}

void lowerCast(Importer &im, const Node &node) {
  int64_t to = attrInt(node, "to", 0);
  bool toFloat = to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE ||
                 to == onnx::TensorProto::FLOAT16;
  if (!im.isConstant(node, 0)) {
    if (toFloat && std::holds_alternative<Runtime>(im.entry(node, 0)) &&
        std::get<Runtime>(im.entry(node, 0)).value->type.dtype == DType::f32)
      return im.define(node, 0, im.entry(node, 0));  // float -> float: nothing to do
    fail("only casts of constants (sizes) or float -> float are supported");
  }
  ConstTensor out = im.constant(node, 0);
  if (!toFloat)
    for (double &v : out.values) v = std::trunc(v);
  out.isFloat = toFloat;
  defineConst(im, node, std::move(out));
}

void lowerReshape(Importer &im, const Node &node) {
  ConstTensor out = im.constant(node, 0);
  std::vector<int64_t> shape = im.constant(node, 1).ints();
  int64_t known = 1, inferred = -1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0 && d < out.dims.size()) shape[d] = out.dims[d];
    if (shape[d] == -1) inferred = int64_t(d);
    else known *= shape[d];
  }
  int64_t count = int64_t(out.values.size());
  if (inferred >= 0 && known > 0) shape[size_t(inferred)] = count / known;
  if (numElements(shape) != count) fail("cannot reshape {} elements to [{}]", count, fmt::join(shape, ","));
  out.dims = shape;
  defineConst(im, node, std::move(out));
}

/// Element-wise with NumPy broadcasting, on constants.
ConstTensor broadcastFold(const ConstTensor &a, const ConstTensor &b,
                          const std::function<double(double, double)> &op) {
  size_t rank = std::max(a.dims.size(), b.dims.size());
  auto padded = [rank](const Shape &s) {
    Shape p(rank - s.size(), 1);
    p.insert(p.end(), s.begin(), s.end());
    return p;
  };
  Shape da = padded(a.dims), db = padded(b.dims), out(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (da[d] != db[d] && da[d] != 1 && db[d] != 1)
      fail("constant shapes {} and {} do not broadcast", shapeToString(a.dims), shapeToString(b.dims));
    out[d] = da[d] == 1 ? db[d] : da[d];
  }
  ConstTensor result;
  result.isFloat = a.isFloat || b.isFloat;
  result.dims = out;
  int64_t count = numElements(out);
  for (int64_t flat = 0; flat < count; ++flat) {
    int64_t rest = flat, ia = 0, ib = 0, strideA = 1, strideB = 1;
    for (size_t d = rank; d-- > 0;) {
      int64_t coord = rest % out[d];
      rest /= out[d];
      ia += (da[d] == 1 ? 0 : coord) * strideA;
      ib += (db[d] == 1 ? 0 : coord) * strideB;
      strideA *= da[d];
      strideB *= db[d];
    }
    double value = op(a.values[size_t(ia)], b.values[size_t(ib)]);
    result.values.push_back(result.isFloat ? double(float(value)) : std::trunc(value));
  }
  return result;
}

void lowerArithmetic(Importer &im, const Node &node) {
  static const std::map<std::string, std::function<double(double, double)>> ops = {
      {"Add", std::plus<double>()},       {"Sub", std::minus<double>()},
      {"Mul", std::multiplies<double>()}, {"Div", std::divides<double>()}};
  if (!im.isConstant(node, 0) || !im.isConstant(node, 1))
    fail("{} is supported only on constants (size computations) here", node.op_type());
  const ConstTensor &a = im.constant(node, 0), &b = im.constant(node, 1);
  if (node.op_type() == "Div" && !a.isFloat && !b.isFloat)
    for (double v : b.values)
      if (v == 0) fail("integer division by zero");
  defineConst(im, node, broadcastFold(a, b, ops.at(node.op_type())));
}

void lowerRounding(Importer &im, const Node &node) {
  ConstTensor out = im.constant(node, 0);
  for (double &v : out.values) v = node.op_type() == "Floor" ? std::floor(v) : std::ceil(v);
  defineConst(im, node, std::move(out));
}

} // namespace

/// Runtime Add / Mul go through onnx_ops.cpp, which calls this for constant operands.
void foldArithmetic(Importer &im, const onnx::NodeProto &node) { lowerArithmetic(im, node); }

void foldConcat(Importer &im, const onnx::NodeProto &node) {
  ConstTensor out;
  for (size_t i = 0; i < im.inputCount(node); ++i) {
    const ConstTensor &part = im.constant(node, i);
    expectRank1(part, "each input");
    out.isFloat |= part.isFloat;
    for (size_t k = 0; k < part.values.size(); ++k) {
      out.values.push_back(part.values[k]);
      out.origins.push_back(part.origin(k));
    }
  }
  out.dims = {int64_t(out.values.size())};
  defineConst(im, node, std::move(out));
}

void registerFoldOps(std::map<std::string, OpHandler> &table) {
  table["Constant"] = lowerConstant;
  table["Identity"] = lowerIdentity;
  table["Shape"] = lowerShape;
  table["Gather"] = lowerGather;
  table["Slice"] = lowerSlice;
  table["Unsqueeze"] = lowerUnsqueeze;
  table["Squeeze"] = lowerSqueeze;
  table["Cast"] = lowerCast;
  table["Reshape"] = lowerReshape;
  table["Sub"] = lowerArithmetic;
  table["Div"] = lowerArithmetic;
  table["Floor"] = lowerRounding;
  table["Ceil"] = lowerRounding;
}

} // namespace bisc::onnx_import
