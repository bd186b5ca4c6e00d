//===- shape_rules.h - Result type of every op, from its operand types ----===//
//
// One rule per row of ops.def. A rule reads the operand types and attributes of a
// structurally valid node (arity and attribute types already checked) and returns the result
// type, or throws bisc::Error saying what does not fit; inferShapes() adds the node's name.
#pragma once

#include "ir/graph.h"

namespace bisc {

using ShapeRule = TensorType (*)(const Node &);

// The rule of each op, defined in shape_rules.cpp or, for fused ops, next to the op's
// other hand-written parts.
#define BISC_OP(id, ...) TensorType infer_##id(const Node &node);
#include "ir/ops.def"

// Checks shared by the rules; each throws bisc::Error naming the operand or attribute.
const TensorType &operand(const Node &node, size_t i);
void expectRank(const Node &node, size_t i, size_t rank);
void expectF32(const Node &node, size_t i);
/// An Ints attribute of exactly `size` elements, each >= `min`.
const std::vector<int64_t> &intsAttr(const Node &node, const char *name, size_t size,
                                     int64_t min);
/// Operand i must be an f32 vector of `channels` elements (BN parameters, biases).
void expectChannelVector(const Node &node, size_t i, int64_t channels);

/// The rule of `op`, dispatched through the op table.
ShapeRule shapeRule(OpId op);

/// Output size of a convolution or pooling window along one axis, with PyTorch's rounding
/// (floor, or ceil where the last window still starts inside the input or left padding).
int64_t windowOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padBegin,
                         int64_t padEnd, int64_t dilation, bool ceilMode);

/// Axis in [0, rank) from a possibly negative axis; throws if out of range.
int64_t normalizeAxis(int64_t axis, size_t rank);

} // namespace bisc
