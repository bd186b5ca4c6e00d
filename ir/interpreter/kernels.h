//===- kernels.h - The interpreter's per-op kernels and their helpers -----===//
//
// Internal to ir/interpreter/: one eval_<id> per row of ops.def, defined in the file of its
// kernel family (conv.cpp, pool.cpp, ...), and gathered into the dispatch table by
// interpreter.cpp.
#pragma once

#include "ir/interpreter/interpreter.h"

#include <cstdint>

namespace bisc::interp {

using Operands = std::span<const Tensor *const>;

#define BISC_OP(id, ...) void eval_##id(const Node &node, Operands operands, Tensor &result);
#include "ir/ops.def"

/// The four dimensions of an NCHW tensor, named.
struct Dims4 {
  int64_t n, c, h, w;
  explicit Dims4(const Shape &shape) : n(shape[0]), c(shape[1]), h(shape[2]), w(shape[3]) {}
  int64_t plane() const { return h * w; }
};

/// The product of shape[begin, end): the element count of a sub-box of dimensions.
inline int64_t dimProduct(const Shape &shape, size_t begin, size_t end) {
  int64_t product = 1;
  for (size_t i = begin; i < end; ++i) product *= shape[i];
  return product;
}

} // namespace bisc::interp
