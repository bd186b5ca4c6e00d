// safetensors reading and writing, attaching weights to a graph, and every malformed file:
// each error names the file, the tensor if there is one, and what was expected.
#include "frontend_test_util.h"

#include "frontends/common/model_io.h"
#include "ir/parser.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace bisc;
using namespace bisc::test;

namespace {

/// 8-byte little-endian header length, the header text, then `data`.
std::string safetensorsBytes(const std::string &header, const std::string &data = "",
                             uint64_t headerLength = UINT64_MAX) {
  uint64_t length = headerLength == UINT64_MAX ? header.size() : headerLength;
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((length >> (8 * i)) & 0xff);
  return bytes + header + data;
}

template <typename T> std::string rawBytes(std::initializer_list<T> values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  std::memcpy(bytes.data(), std::data(values), bytes.size());
  return bytes;
}

/// Writes the file and returns the error readSafetensors gives on it.
std::string readError(const std::string &bytes) {
  TempDir dir;
  std::string path = dir.write("w.safetensors", bytes);
  return errorOf([&] { readSafetensors(path); });
}

/// A header with one F32 tensor "t" of `shape` at `offsets`.
std::string oneTensor(const std::string &dtype, const std::string &shape, const std::string &offsets) {
  return R"({"t": {"dtype": ")" + dtype + R"(", "shape": )" + shape + R"(, "data_offsets": )" +
         offsets + "}}";
}

std::unique_ptr<Graph> twoWeightGraph() {
  return parseGraph(R"(graph @g(%x: f32[1,2,4,4]) {
    weight @conv.weight : f32[3,2,1,1]
    weight @conv.bias : f32[3]
    %y = conv2d(%x, @conv.weight, @conv.bias)
    return y = %y
  })", "g.bir");
}

} // namespace

TEST_CASE("safetensors: write then read gives the same tensors") {
  TempDir dir;
  std::map<std::string, Tensor> tensors;
  tensors.emplace("a.weight", Tensor({2, 3}, {1, -2, 3.5f, 0, 1e-8f, -7}));
  tensors.emplace("b", Tensor({1}, {42}));
  Tensor labels(TensorType{DType::i32, {3}});
  labels.i32()[0] = -1, labels.i32()[1] = 0, labels.i32()[2] = 1 << 30;
  tensors.emplace("labels", labels);
  writeSafetensors(dir.file("w.safetensors"), tensors);
  std::map<std::string, Tensor> back = readSafetensors(dir.file("w.safetensors"));
  REQUIRE(back.size() == 3);
  for (const auto &[name, tensor] : tensors) {
    INFO(name);
    REQUIRE(back.count(name));
    REQUIRE((back.at(name).type() == tensor.type()));
    if (tensor.dtype() == DType::f32)
      CHECK(std::equal(tensor.f32().begin(), tensor.f32().end(), back.at(name).f32().begin()));
    else
      CHECK(std::equal(tensor.i32().begin(), tensor.i32().end(), back.at(name).i32().begin()));
  }
}

TEST_CASE("safetensors: F16 and BF16 are widened to f32 exactly") {
  // F16 bit patterns: 1, -2, 1/3 rounded, max normal, min subnormal, max subnormal,
  // min normal, -0, +inf, -inf. Expected values from
  // numpy.array(bits, dtype=uint16).view(numpy.float16).astype(numpy.float32).
  std::string f16 = rawBytes<uint16_t>({0x3C00, 0xC000, 0x3555, 0x7BFF, 0x0001, 0x03FF, 0x0400,
                                        0x8000, 0x7C00, 0xFC00});
  // BF16 is the top half of an f32: 0x3F80 = 1, 0xC040 = -3, 0x3EAB = 0x3EAB0000 = 0.333984375.
  std::string bf16 = rawBytes<uint16_t>({0x3F80, 0xC040, 0x3EAB});
  std::string header = R"({"__metadata__": {"format": "pt"},
    "h": {"dtype": "F16", "shape": [2, 5], "data_offsets": [0, 20]},
    "b": {"dtype": "BF16", "shape": [3], "data_offsets": [20, 26]}})";
  TempDir dir;
  std::string path = dir.write("w.safetensors", safetensorsBytes(header, f16 + bf16));
  std::map<std::string, Tensor> tensors = readSafetensors(path);
  REQUIRE(tensors.size() == 2);  // __metadata__ is not a tensor
  const Tensor &h = tensors.at("h");
  REQUIRE((h.type() == TensorType{DType::f32, {2, 5}}));
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> expected = {1.0f, -2.0f, 0.333251953125f, 65504.0f, 5.960464477539063e-08f,
                                 6.097555160522461e-05f, 6.103515625e-05f, -0.0f, inf, -inf};
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    CHECK(h.f32()[i] == expected[i]);
  }
  CHECK(std::signbit(h.f32()[7]));
  const Tensor &b = tensors.at("b");
  REQUIRE((b.type() == TensorType{DType::f32, {3}}));
  CHECK(b.f32()[0] == 1.0f);
  CHECK(b.f32()[1] == -3.0f);
  CHECK(b.f32()[2] == 0.333984375f);
}

TEST_CASE("safetensors: F16 NaN stays NaN") {
  std::string header = oneTensor("F16", "[1]", "[0, 2]");
  TempDir dir;
  std::string path = dir.write("w.safetensors", safetensorsBytes(header, rawBytes<uint16_t>({0x7E00})));
  CHECK(std::isnan(readSafetensors(path).at("t").f32()[0]));
}

TEST_CASE("safetensors: truncated files") {
  CHECK(mentions(readError(""), {"w.safetensors", "file too short (0 bytes)", "8-byte"}));
  CHECK(mentions(readError(std::string("\x10\x00\x00", 3)), {"w.safetensors", "file too short (3 bytes)"}));
  // The header says 64 bytes but the file ends after 10.
  CHECK(mentions(readError(safetensorsBytes("{\"t\": {}}x", "", 64)),
                 {"w.safetensors", "header length 64 runs beyond the end of the file (18 bytes)"}));
  // A well-formed header whose tensor data was cut off.
  std::string header = oneTensor("F32", "[2, 2]", "[0, 16]");
  CHECK(mentions(readError(safetensorsBytes(header, rawBytes<float>({1, 2}))),
                 {"w.safetensors", "tensor 't'", "data_offsets [0,16] lie outside the data section (8 bytes)"}));
}

TEST_CASE("safetensors: oversized header length") {
  CHECK(mentions(readError(safetensorsBytes("{}", "", uint64_t(1) << 40)),
                 {"w.safetensors", "header length 1099511627776 is absurdly large"}));
  CHECK(mentions(readError(safetensorsBytes("{}", "", UINT64_MAX - 1)),
                 {"w.safetensors", "absurdly large"}));
}

TEST_CASE("safetensors: malformed headers") {
  CHECK(mentions(readError(safetensorsBytes("{\"t\": ")), {"w.safetensors (header)", "malformed JSON"}));
  CHECK(mentions(readError(safetensorsBytes("[]")), {"w.safetensors (header)", "must be an object"}));
  CHECK(mentions(readError(safetensorsBytes(R"({"t": 5})")), {"w.safetensors", "tensor 't'", "must be an object"}));
  CHECK(mentions(readError(safetensorsBytes(R"({"t": {"shape": [1], "data_offsets": [0, 4]}})", "abcd")),
                 {"w.safetensors", "tensor 't'", "missing field 'dtype'"}));
  CHECK(mentions(readError(safetensorsBytes(oneTensor("F32", "[1]", "[0]"), "abcd")),
                 {"tensor 't'", "data_offsets must be [begin, end], got 1 values"}));
  CHECK(mentions(readError(safetensorsBytes(oneTensor("F32", "[1]", "[4, 0]"), "abcd")),
                 {"tensor 't'", "data_offsets [4,0] lie outside"}));
  CHECK(mentions(readError(safetensorsBytes(oneTensor("F32", "[-1]", "[0, 4]"), "abcd")),
                 {"tensor 't'", "shape must be a list of non-negative integers"}));
  std::string deep = "{\"t\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  CHECK(mentions(readError(safetensorsBytes(deep)), {"w.safetensors (header)", "nested deeper than 64 levels"}));
  std::string twice = R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                          "t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})";
  CHECK(mentions(readError(safetensorsBytes(twice, "abcd")), {"w.safetensors (header)", "duplicate key 't'"}));
}

TEST_CASE("safetensors: offsets beyond the file or not matching the shape") {
  std::string data = rawBytes<float>({1, 2, 3, 4});
  CHECK(mentions(readError(safetensorsBytes(oneTensor("F32", "[4]", "[8, 24]"), data)),
                 {"w.safetensors", "tensor 't'", "data_offsets [8,24] lie outside the data section (16 bytes)"}));
  CHECK(mentions(readError(safetensorsBytes(oneTensor("F32", "[4]", "[0, 12]"), data)),
                 {"tensor 't'", "hold 12 bytes but F32 [4] needs 16"}));
  // A shape whose byte count overflows 64 bits is a mismatch, not a huge allocation.
  CHECK(mentions(readError(safetensorsBytes(
                     oneTensor("F32", "[4294967296, 4294967296, 4]", "[0, 16]"), data)),
                 {"tensor 't'", "hold 16 bytes"}));
}

TEST_CASE("safetensors: unsupported dtypes name the tensor") {
  std::string data = rawBytes<double>({1.0});
  CHECK(mentions(readError(safetensorsBytes(oneTensor("F64", "[1]", "[0, 8]"), data)),
                 {"w.safetensors", "tensor 't'", "unsupported dtype 'F64'", "F32, F16, BF16 and I32"}));
  CHECK(mentions(readError(safetensorsBytes(oneTensor("U8", "[8]", "[0, 8]"), data)),
                 {"tensor 't'", "unsupported dtype 'U8'"}));
}

TEST_CASE("safetensors: attachWeights gives every weight its data") {
  TempDir dir;
  std::map<std::string, Tensor> tensors;
  tensors.emplace("conv.weight", Tensor({3, 2, 1, 1}, {1, 2, 3, 4, 5, 6}));
  tensors.emplace("conv.bias", Tensor({3}, {0.5f, -0.5f, 0}));
  tensors.emplace("unused", Tensor({1}, {9}));  // tensors the graph does not use are ignored
  writeSafetensors(dir.file("w.safetensors"), tensors);
  std::unique_ptr<Graph> graph = twoWeightGraph();
  attachWeights(*graph, dir.file("w.safetensors"));
  REQUIRE(graph->find("conv.weight")->data);
  CHECK(graph->find("conv.weight")->data->f32()[5] == 6.0f);
  CHECK(graph->find("conv.bias")->data->f32()[1] == -0.5f);
}

TEST_CASE("safetensors: attachWeights reports missing weights, wrong shapes and wrong dtypes") {
  TempDir dir;
  std::map<std::string, Tensor> tensors;
  tensors.emplace("conv.weight", Tensor({3, 2, 1, 1}, {1, 2, 3, 4, 5, 6}));
  writeSafetensors(dir.file("missing.safetensors"), tensors);
  std::unique_ptr<Graph> graph = twoWeightGraph();
  CHECK(mentions(errorOf([&] { attachWeights(*graph, dir.file("missing.safetensors")); }),
                 {"missing.safetensors", "1 weight(s) of graph 'g' missing from the file", "'conv.bias' (f32[3])"}));

  tensors.emplace("conv.bias", Tensor({3, 1}, {0, 0, 0}));
  writeSafetensors(dir.file("shape.safetensors"), tensors);
  CHECK(mentions(errorOf([&] { attachWeights(*graph, dir.file("shape.safetensors")); }),
                 {"shape.safetensors", "weight 'conv.bias'", "the graph declares f32[3] but the file holds f32[3,1]"}));

  tensors.erase("conv.bias");
  tensors.emplace("conv.bias", Tensor(TensorType{DType::i32, {3}}));
  writeSafetensors(dir.file("dtype.safetensors"), tensors);
  CHECK(mentions(errorOf([&] { attachWeights(*graph, dir.file("dtype.safetensors")); }),
                 {"dtype.safetensors", "weight 'conv.bias'", "declares f32[3] but the file holds i32[3]"}));
}
