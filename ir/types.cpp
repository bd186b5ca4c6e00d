//===- types.cpp - Element types, shapes and tensor types -----------------===//
#include "ir/types.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>

namespace bisc {

std::string_view dtypeName(DType dtype) {
  switch (dtype) {
  case DType::f32: return "f32";
  case DType::i32: return "i32";
  }
  return "?";
}

std::optional<DType> parseDType(std::string_view text) {
  if (text == "f32") return DType::f32;
  if (text == "i32") return DType::i32;
  return std::nullopt;
}

size_t dtypeBytes(DType) { return 4; }

int64_t numElements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::optional<Shape> parseShapeArg(std::string_view text) {
  Shape shape;
  while (!text.empty()) {
    size_t cut = text.find('x');
    std::string_view part = text.substr(0, cut);
    int64_t dim = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), dim);
    if (ec != std::errc() || end != part.data() + part.size() || dim <= 0) return std::nullopt;
    shape.push_back(dim);
    if (cut == std::string_view::npos) break;
    text.remove_prefix(cut + 1);
    if (text.empty()) return std::nullopt;
  }
  if (shape.empty()) return std::nullopt;
  return shape;
}

std::string shapeToString(const Shape &shape) { return fmt::format("[{}]", fmt::join(shape, ",")); }

std::string toString(const TensorType &type) {
  std::string text = fmt::format("{}{}", dtypeName(type.dtype), shapeToString(type.shape));
  if (type.blocked()) text += " " + layoutName(type.channelBlock);
  return text;
}

std::string layoutName(int64_t channelBlock) {
  return channelBlock > 0 ? fmt::format("nchw{}c", channelBlock) : "nchw";
}

std::optional<int64_t> parseLayout(std::string_view text) {
  if (text == "nchw") return int64_t(0);
  if (!text.starts_with("nchw") || !text.ends_with("c") || text.size() < 6) return std::nullopt;
  std::string_view digits = text.substr(4, text.size() - 5);
  int64_t block = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), block);
  if (ec != std::errc() || end != digits.data() + digits.size() || block < 1) return std::nullopt;
  return block;
}

} // namespace bisc
