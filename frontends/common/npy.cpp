//===- npy.cpp - NumPy .npy arrays: test inputs and outputs ---------------===//
//
// Format: "\x93NUMPY", major, minor, header length (u16 for 1.x, u32 for 2.x/3.x), a Python
// dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 64, 128), } padded
// with spaces and '\n', then the raw data in C order.
#include "frontends/common/json_util.h"
#include "frontends/common/model_io.h"

#include "ir/error.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>

namespace bisc {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

/// Just enough of a Python-literal reader for the three keys NumPy writes.
class NpyHeader {
public:
  NpyHeader(std::string_view text, const std::string &path) : text_(text), path_(path) {}

  std::string descr() { return quoted(after("'descr'")); }

  bool fortranOrder() {
    std::string_view rest = after("'fortran_order'");
    if (rest.starts_with("False")) return false;
    if (rest.starts_with("True")) return true;
    fail("{}: header field 'fortran_order' must be True or False", path_);
  }

  Shape shape() {
    std::string_view rest = after("'shape'");
    if (!rest.starts_with("(")) badShape();
    Shape shape;
    rest.remove_prefix(1);
    while (true) {
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == ',')) rest.remove_prefix(1);
      if (rest.starts_with(")")) return shape;
      int64_t dim = 0;
      auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), dim);
      if (ec != std::errc() || dim < 0) badShape();
      shape.push_back(dim);
      rest.remove_prefix(size_t(end - rest.data()));
    }
  }

private:
  [[noreturn]] void badShape() {
    fail("{}: header field 'shape' must be a tuple of non-negative integers like (1, 3, 64, 128)",
         path_);
  }

  /// The text after "key:" and spaces.
  std::string_view after(std::string_view key) {
    size_t at = text_.find(key);
    if (at == std::string_view::npos) fail("{}: header has no {} field", path_, key);
    std::string_view rest = text_.substr(at + key.size());
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == ':')) rest.remove_prefix(1);
    return rest;
  }

  std::string quoted(std::string_view rest) {
    size_t end = rest.size() > 1 ? rest.find(rest.front(), 1) : std::string_view::npos;
    if (rest.empty() || (rest.front() != '\'' && rest.front() != '"') || end == std::string_view::npos)
      fail("{}: header field 'descr' must be a quoted string", path_);
    return std::string(rest.substr(1, end - 1));
  }

  std::string_view text_;
  const std::string &path_;
};

/// Reads the header; returns its text and leaves `dataOffset` at the first data byte.
std::string_view headerText(std::string_view file, const std::string &path, size_t &dataOffset) {
  if (file.size() < 10 || !file.starts_with(kMagic)) fail("{}: not a .npy file (bad magic)", path);
  uint8_t major = uint8_t(file[6]), minor = uint8_t(file[7]);
  if (major < 1 || major > 3) fail("{}: unsupported .npy version {}.{}", path, major, minor);
  size_t lengthBytes = major == 1 ? 2 : 4, length = 0;
  if (file.size() < 8 + lengthBytes) fail("{}: file too short for a .npy header", path);
  for (size_t i = 0; i < lengthBytes; ++i) length |= size_t(uint8_t(file[8 + i])) << (8 * i);
  dataOffset = 8 + lengthBytes + length;
  if (dataOffset > file.size()) fail("{}: header length {} runs beyond the end of the file", path, length);
  return file.substr(8 + lengthBytes, length);
}

template <typename From, typename To> void copyConverted(const char *bytes, std::span<To> out) {
  for (size_t i = 0; i < out.size(); ++i) {
    From value;
    std::memcpy(&value, bytes + i * sizeof(From), sizeof(From));
    out[i] = To(value);
  }
}

Tensor convert(const std::string &descr, const Shape &shape, const char *bytes, const std::string &path) {
  bool isFloat = descr[1] == 'f';
  Tensor tensor(TensorType{isFloat ? DType::f32 : DType::i32, shape});
  if (descr == "<f4") copyConverted<float>(bytes, tensor.f32());
  else if (descr == "<f8") copyConverted<double>(bytes, tensor.f32());
  else if (descr == "<i4") copyConverted<int32_t>(bytes, tensor.i32());
  else {
    std::span<int32_t> out = tensor.i32();
    for (size_t i = 0; i < out.size(); ++i) {
      int64_t value;
      std::memcpy(&value, bytes + i * 8, 8);
      if (value < std::numeric_limits<int32_t>::min() || value > std::numeric_limits<int32_t>::max())
        fail("{}: int64 element {} = {} does not fit in i32", path, i, value);
      out[i] = int32_t(value);
    }
  }
  return tensor;
}

} // namespace

Tensor readNpy(const std::string &path) {
  std::string file = json_util::readFile(path);
  size_t dataOffset = 0;
  NpyHeader header(headerText(file, path, dataOffset), path);
  std::string descr = header.descr();
  if (descr != "<f4" && descr != "<f8" && descr != "<i4" && descr != "<i8")
    fail("{}: dtype '{}' is not supported (bisc reads '<f4', '<f8', '<i4', '<i8')", path, descr);
  if (header.fortranOrder())
    fail("{}: fortran_order arrays are not supported; save a C-order array "
         "(numpy.ascontiguousarray)", path);
  Shape shape = header.shape();
  uint64_t needed = uint64_t(descr[2] - '0');
  for (int64_t d : shape)
    if (__builtin_mul_overflow(needed, uint64_t(d), &needed)) needed = UINT64_MAX;
  uint64_t available = file.size() - dataOffset;
  if (available != needed)
    fail("{}: data holds {} bytes but {} {} needs {}", path, available, descr, shapeToString(shape), needed);
  return convert(descr, shape, file.data() + dataOffset, path);
}

void writeNpy(const std::string &path, const Tensor &tensor) {
  std::string shape;
  for (int64_t d : tensor.shape()) shape += fmt::format("{}, ", d);
  if (tensor.shape().size() > 1) shape.resize(shape.size() - 2);
  else if (tensor.shape().size() == 1) shape.pop_back();
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}",
                                   tensor.dtype() == DType::i32 ? "<i4" : "<f4", shape);
  // NumPy pads so the data starts at a multiple of 64 and ends the header with '\n'.
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) fail("{}: cannot open for writing", path);
  uint16_t length = uint16_t(header.size());
  out.write(kMagic.data(), 6);
  out.put(1).put(0);
  out.write(reinterpret_cast<const char *>(&length), 2);
  out.write(header.data(), std::streamsize(header.size()));
  const void *data = tensor.dtype() == DType::i32 ? static_cast<const void *>(tensor.i32().data())
                                                  : static_cast<const void *>(tensor.f32().data());
  out.write(static_cast<const char *>(data), std::streamsize(tensor.type().bytes()));
  if (!out) fail("{}: write failed", path);
}

} // namespace bisc
