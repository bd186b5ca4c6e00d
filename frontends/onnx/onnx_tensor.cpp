//===- onnx_tensor.cpp - TensorProto -> constants and f32 weights ----------===//
//
// Initializers and Constant values arrive in one of three places: the typed repeated fields
// (float_data, int64_data, ...), raw little-endian bytes, or an external file next to the
// model. All are read into doubles first (exact for every supported type), then shaped.
#include "frontends/onnx/onnx_importer.h"

#include "ir/error.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace bisc::onnx_import {

namespace {

using onnx::TensorProto;

size_t elementBytes(int type) {
  switch (type) {
  case TensorProto::FLOAT: return 4;
  case TensorProto::DOUBLE: return 8;
  case TensorProto::FLOAT16: return 2;
  case TensorProto::INT64: return 8;
  case TensorProto::INT32: return 4;
  case TensorProto::INT8:
  case TensorProto::UINT8:
  case TensorProto::BOOL: return 1;
  default: return 0;
  }
}

std::string typeName(int type) {
  return TensorProto::DataType_IsValid(type) ? TensorProto::DataType_Name(TensorProto::DataType(type))
                                              : fmt::format("type {}", type);
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  if (exponent == 0) return (sign ? -1.0f : 1.0f) * std::ldexp(float(mantissa), -24);
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

/// One element of little-endian raw data.
double rawElement(const char *p, int type) {
  auto load = [p]<typename T>(T) {
    T value;
    std::memcpy(&value, p, sizeof(T));
    return value;
  };
  switch (type) {
  case TensorProto::FLOAT: return load(float{});
  case TensorProto::DOUBLE: return load(double{});
  case TensorProto::FLOAT16: return halfToFloat(load(uint16_t{}));
  case TensorProto::INT64: return double(load(int64_t{}));
  case TensorProto::INT32: return load(int32_t{});
  case TensorProto::INT8: return load(int8_t{});
  case TensorProto::UINT8: return load(uint8_t{});
  case TensorProto::BOOL: return load(uint8_t{}) != 0;
  }
  return 0;
}

/// The bytes of an external-data tensor: `location`, `offset`, `length` keys.
std::string readExternal(const TensorProto &proto, const std::string &baseDir) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &entry : proto.external_data()) {
    if (entry.key() == "location") location = entry.value();
    else if (entry.key() == "offset") offset = std::stoll(entry.value());
    else if (entry.key() == "length") length = std::stoll(entry.value());
  }
  if (location.empty()) fail("external data without a 'location'");
  std::filesystem::path path = std::filesystem::path(baseDir) / location;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open its external data file '{}'", path.string());
  in.seekg(0, std::ios::end);
  int64_t size = in.tellg();
  if (length < 0) length = size - offset;
  if (offset < 0 || offset + length > size)
    fail("external data '{}' has {} bytes; offset {} + length {} does not fit", path.string(), size,
         offset, length);
  std::string bytes(size_t(length), '\0');
  in.seekg(offset);
  in.read(bytes.data(), length);
  return bytes;
}

/// Every element as a double, whichever field holds it.
std::vector<double> readValues(const TensorProto &proto, int64_t count, const std::string &baseDir) {
  int type = proto.data_type();
  size_t bytes = elementBytes(type);
  if (bytes == 0) fail("data type {} is not supported (float, double, float16, int64, int32, int8, uint8, bool are)", typeName(type));
  std::vector<double> values;
  values.reserve(size_t(count));
  bool external = proto.data_location() == TensorProto::EXTERNAL;
  if (external || proto.has_raw_data()) {
    std::string raw = external ? readExternal(proto, baseDir) : proto.raw_data();
    if (raw.size() != size_t(count) * bytes)
      fail("holds {} bytes of data, its shape needs {} ({} elements of {})", raw.size(),
           size_t(count) * bytes, count, typeName(type));
    for (int64_t i = 0; i < count; ++i) values.push_back(rawElement(raw.data() + size_t(i) * bytes, type));
    return values;
  }
  auto take = [&](const auto &field) {
    for (auto v : field) values.push_back(double(v));
  };
  switch (type) {
  case TensorProto::FLOAT: take(proto.float_data()); break;
  case TensorProto::DOUBLE: take(proto.double_data()); break;
  case TensorProto::INT64: take(proto.int64_data()); break;
  case TensorProto::FLOAT16:
    for (int32_t v : proto.int32_data()) values.push_back(halfToFloat(uint16_t(v)));
    break;
  default: take(proto.int32_data()); break;  // int32, int8, uint8, bool
  }
  if (int64_t(values.size()) != count)
    fail("holds {} values, its shape {} needs {}", values.size(),
         fmt::format("[{}]", fmt::join(proto.dims(), ",")), count);
  return values;
}

Shape dimsOf(const TensorProto &proto) {
  Shape dims(proto.dims().begin(), proto.dims().end());
  for (int64_t d : dims)
    if (d < 0) fail("has a negative dimension in [{}]", fmt::join(dims, ","));
  return dims;
}

bool isFloatType(int type) {
  return type == TensorProto::FLOAT || type == TensorProto::DOUBLE || type == TensorProto::FLOAT16;
}

} // namespace

std::vector<int64_t> ConstTensor::ints() const {
  std::vector<int64_t> result;
  result.reserve(values.size());
  for (double v : values) result.push_back(int64_t(v));
  return result;
}

ConstTensor decodeConst(const TensorProto &proto, const std::string &baseDir) {
  ConstTensor tensor;
  tensor.dims = dimsOf(proto);
  tensor.isFloat = isFloatType(proto.data_type());
  tensor.values = readValues(proto, numElements(tensor.dims), baseDir);
  return tensor;
}

Tensor decodeWeight(const TensorProto &proto, const std::string &baseDir) {
  if (!isFloatType(proto.data_type()))
    fail("is {}, but it is read as a weight (float expected)", typeName(proto.data_type()));
  Shape dims = dimsOf(proto);
  std::vector<double> values = readValues(proto, numElements(dims), baseDir);
  return Tensor(dims, std::vector<float>(values.begin(), values.end()));
}

} // namespace bisc::onnx_import
