//===- tensor.h - A tensor with its data, for weights and the interpreter -===//
#pragma once

#include "ir/types.h"

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

namespace bisc {

/// Dense row-major (NCHW) tensor owning its elements.
class Tensor {
public:
  Tensor() = default;
  /// Zero-filled tensor of `type` (its layout dropped: the elements are logical NCHW).
  explicit Tensor(TensorType type);
  Tensor(Shape shape, std::vector<float> values);

  const TensorType &type() const { return type_; }
  const Shape &shape() const { return type_.shape; }
  DType dtype() const { return type_.dtype; }
  int64_t elements() const { return type_.elements(); }

  /// Element access; throws bisc::Error if the dtype differs.
  std::span<float> f32();
  std::span<const float> f32() const;
  std::span<int32_t> i32();
  std::span<const int32_t> i32() const;

private:
  TensorType type_;
  std::variant<std::vector<float>, std::vector<int32_t>> data_;
};

} // namespace bisc
