// NumPy .npy reading and writing. Files are built byte by byte as numpy.save writes them
// (magic, version, little-endian header length, a Python dict literal padded with spaces and
// '\n', then C-order data); every malformed header is an error naming the file.
#include "frontend_test_util.h"

#include "frontends/common/model_io.h"

#include <cstring>

using namespace bisc;
using namespace bisc::test;

namespace {

/// A version `major`.0 .npy file with header dict `dict` and raw `data`.
std::string npyBytes(const std::string &dict, const std::string &data, int major = 1) {
  std::string header = dict;
  size_t lengthBytes = major == 1 ? 2 : 4;
  header.append(63 - (8 + lengthBytes + header.size()) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY", 6) + char(major) + char(0);
  for (size_t i = 0; i < lengthBytes; ++i) bytes += char((header.size() >> (8 * i)) & 0xff);
  return bytes + header + data;
}

template <typename T> std::string rawBytes(std::initializer_list<T> values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  std::memcpy(bytes.data(), std::data(values), bytes.size());
  return bytes;
}

std::string dict(const std::string &descr, const std::string &shape, const std::string &fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

std::string readError(const std::string &bytes) {
  TempDir dir;
  std::string path = dir.write("x.npy", bytes);
  return errorOf([&] { readNpy(path); });
}

Tensor readBytes(const std::string &bytes) {
  TempDir dir;
  return readNpy(dir.write("x.npy", bytes));
}

} // namespace

TEST_CASE("npy: f32 and i32 round-trip through writeNpy and readNpy") {
  TempDir dir;
  Tensor x({1, 2, 1, 3}, {1.5f, -2, 0, 3e-7f, 1e30f, -0.0f});
  writeNpy(dir.file("x.npy"), x);
  Tensor back = readNpy(dir.file("x.npy"));
  REQUIRE((back.type() == x.type()));
  CHECK(std::equal(x.f32().begin(), x.f32().end(), back.f32().begin()));

  Tensor labels(TensorType{DType::i32, {4}});
  labels.i32()[0] = -5, labels.i32()[3] = 1 << 30;
  writeNpy(dir.file("labels.npy"), labels);
  Tensor labelsBack = readNpy(dir.file("labels.npy"));
  REQUIRE((labelsBack.type() == labels.type()));
  CHECK(std::equal(labels.i32().begin(), labels.i32().end(), labelsBack.i32().begin()));
}

TEST_CASE("npy: the files numpy writes, including versions 2 and 3, f8 and i8") {
  Tensor f4 = readBytes(npyBytes(dict("<f4", "(2, 2)"), rawBytes<float>({1, 2, 3, 4})));
  REQUIRE((f4.type() == TensorType{DType::f32, {2, 2}}));
  CHECK(f4.f32()[3] == 4.0f);
  Tensor f8 = readBytes(npyBytes(dict("<f8", "(3,)"), rawBytes<double>({0.25, -1, 1e300}), 2));
  REQUIRE((f8.type() == TensorType{DType::f32, {3}}));
  CHECK(f8.f32()[0] == 0.25f);
  CHECK(std::isinf(f8.f32()[2]));  // out of f32 range, as numpy's astype(float32)
  Tensor i8 = readBytes(npyBytes(dict("<i8", "(2,)"), rawBytes<int64_t>({-3, 2147483647}), 3));
  REQUIRE((i8.type() == TensorType{DType::i32, {2}}));
  CHECK(i8.i32()[0] == -3);
  CHECK(i8.i32()[1] == 2147483647);
}

TEST_CASE("npy: malformed files name the file and what was expected") {
  std::string data = rawBytes<float>({1, 2, 3, 4});
  CHECK(mentions(readError("PK\x03\x04 not numpy"), {"x.npy", "not a .npy file (bad magic)"}));
  CHECK(mentions(readError(std::string("\x93NUMPY", 6)), {"x.npy", "not a .npy file"}));
  std::string version = npyBytes(dict("<f4", "(4,)"), data);
  version[6] = 9;
  CHECK(mentions(readError(version), {"x.npy", "unsupported .npy version 9.0"}));
  // The header length field claims more bytes than the file holds.
  std::string truncated = npyBytes(dict("<f4", "(4,)"), data).substr(0, 40);
  CHECK(mentions(readError(truncated), {"x.npy", "header length 118 runs beyond the end of the file"}));
}

TEST_CASE("npy: malformed headers") {
  std::string data = rawBytes<float>({1, 2, 3, 4});
  CHECK(mentions(readError(npyBytes("{'fortran_order': False, 'shape': (4,), }", data)),
                 {"x.npy", "header has no 'descr' field"}));
  CHECK(mentions(readError(npyBytes("{'descr': <f4, 'fortran_order': False, 'shape': (4,), }", data)),
                 {"x.npy", "'descr' must be a quoted string"}));
  CHECK(mentions(readError(npyBytes(dict("<f4", "(4,)", "maybe"), data)),
                 {"x.npy", "'fortran_order' must be True or False"}));
  CHECK(mentions(readError(npyBytes(dict("<f4", "[4]"), data)), {"x.npy", "'shape' must be a tuple"}));
  CHECK(mentions(readError(npyBytes(dict("<f4", "(2, two)"), data)), {"x.npy", "'shape' must be a tuple of non-negative integers"}));
  CHECK(mentions(readError(npyBytes(dict("<f4", "(-4,)"), data)), {"x.npy", "'shape' must be a tuple of non-negative integers"}));
  CHECK(mentions(readError(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4, ", data)),
                 {"x.npy", "'shape' must be a tuple of non-negative integers"}));
}

TEST_CASE("npy: unsupported dtypes, Fortran order and wrong data sizes") {
  std::string data = rawBytes<float>({1, 2, 3, 4});
  CHECK(mentions(readError(npyBytes(dict("<f2", "(8,)"), data)), {"x.npy", "dtype '<f2' is not supported", "'<f4'"}));
  CHECK(mentions(readError(npyBytes(dict(">f4", "(4,)"), data)), {"x.npy", "dtype '>f4' is not supported"}));
  CHECK(mentions(readError(npyBytes(dict("<f4", "(2, 2)", "True"), data)), {"x.npy", "fortran_order arrays are not supported"}));
  CHECK(mentions(readError(npyBytes(dict("<f4", "(5,)"), data)), {"x.npy", "data holds 16 bytes but <f4 [5] needs 20"}));
  CHECK(mentions(readError(npyBytes(dict("<f4", "(3,)"), data)), {"x.npy", "data holds 16 bytes but <f4 [3] needs 12"}));
  CHECK(mentions(readError(npyBytes(dict("<i8", "(1,)"), rawBytes<int64_t>({int64_t(1) << 40}))),
                 {"x.npy", "does not fit in i32"}));
}
