//===- types.h - Element types, shapes and tensor types of the IR ---------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bisc {

enum class DType { f32, i32 };

std::string_view dtypeName(DType dtype);
std::optional<DType> parseDType(std::string_view text);
size_t dtypeBytes(DType dtype);

using Shape = std::vector<int64_t>;

/// Number of elements of a shape (1 for a scalar).
int64_t numElements(const Shape &shape);

/// "1x3x512x1024" -> {1,3,512,1024}; nullopt if malformed.
std::optional<Shape> parseShapeArg(std::string_view text);

/// The type of a tensor value: element type and shape (NCHW for 4-d activations).
struct TensorType {
  DType dtype = DType::f32;
  Shape shape;

  int64_t elements() const { return numElements(shape); }
  int64_t bytes() const { return elements() * int64_t(dtypeBytes(dtype)); }
  bool operator==(const TensorType &) const = default;
};

/// "f32[1,3,512,1024]"
std::string toString(const TensorType &type);
std::string shapeToString(const Shape &shape);

} // namespace bisc
