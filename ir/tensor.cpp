//===- tensor.cpp - A tensor with its data ---------------------------------===//
#include "ir/tensor.h"

#include "ir/error.h"

namespace bisc {

Tensor::Tensor(TensorType type) : type_(std::move(type)) {
  // A tensor's data is always logical NCHW; a value's storage layout is codegen's business.
  type_.channelBlock = 0;
  size_t n = size_t(type_.elements());
  if (type_.dtype == DType::f32)
    data_ = std::vector<float>(n, 0.0f);
  else
    data_ = std::vector<int32_t>(n, 0);
}

Tensor::Tensor(Shape shape, std::vector<float> values)
    : type_{DType::f32, std::move(shape)}, data_(std::move(values)) {
  if (int64_t(std::get<std::vector<float>>(data_).size()) != type_.elements())
    fail("tensor of shape {} given {} values", shapeToString(type_.shape),
         std::get<std::vector<float>>(data_).size());
}

std::span<float> Tensor::f32() {
  if (auto *v = std::get_if<std::vector<float>>(&data_)) return *v;
  fail("tensor {} is not f32", toString(type_));
}
std::span<const float> Tensor::f32() const { return const_cast<Tensor *>(this)->f32(); }

std::span<int32_t> Tensor::i32() {
  if (auto *v = std::get_if<std::vector<int32_t>>(&data_)) return *v;
  fail("tensor {} is not i32", toString(type_));
}
std::span<const int32_t> Tensor::i32() const { return const_cast<Tensor *>(this)->i32(); }

} // namespace bisc
