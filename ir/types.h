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

/// The type of a tensor value: element type, logical shape (NCHW for 4-d activations) and
/// storage layout. The shape is always the logical NCHW one; `channelBlock` only says how the
/// elements are stored: 0 is plain NCHW, c > 0 is NCHW{c}c (channels in blocks of c, the c
/// channels of one pixel adjacent: [N][C/c][H][W][c]). Same element count either way.
struct TensorType {
  DType dtype = DType::f32;
  Shape shape;
  int64_t channelBlock = 0;

  bool blocked() const { return channelBlock > 0; }
  int64_t elements() const { return numElements(shape); }
  int64_t bytes() const { return elements() * int64_t(dtypeBytes(dtype)); }
  bool operator==(const TensorType &) const = default;
};

/// "f32[1,3,512,1024]", or "f32[1,16,64,64] nchw16c" for a blocked layout.
std::string toString(const TensorType &type);
/// "nchw" or "nchw16c".
std::string layoutName(int64_t channelBlock);
/// "nchw" -> 0, "nchw16c" -> 16; nullopt if malformed (c must be >= 1).
std::optional<int64_t> parseLayout(std::string_view text);
std::string shapeToString(const Shape &shape);

} // namespace bisc
