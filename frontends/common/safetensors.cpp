//===- safetensors.cpp - Reads and writes safetensors weight files -------===//
//
// Layout: 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data section that
// follows the header), then the raw little-endian data. "__metadata__" is skipped.
#include "frontends/common/half.h"
#include "frontends/common/json_util.h"
#include "frontends/common/model_io.h"

#include "ir/error.h"

#include <fmt/format.h>

#include <bit>
#include <cstring>
#include <fstream>

namespace bisc {

static_assert(std::endian::native == std::endian::little, "bisc reads little-endian data in place");

namespace {

using json_util::Json;

/// Headers of real files are a few hundred KB; anything beyond this is not a safetensors file
/// and must not make us allocate gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DTypeInfo {
  std::string_view name;
  size_t itemSize;
};
constexpr DTypeInfo kReadable[] = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I32", 4}};

const DTypeInfo *lookupDType(std::string_view name) {
  for (const DTypeInfo &info : kReadable)
    if (info.name == name) return &info;
  return nullptr;
}

/// Widens the raw bytes of one tensor to an f32 (or i32) Tensor.
Tensor convert(std::string_view dtype, const Shape &shape, const char *bytes) {
  Tensor tensor(TensorType{dtype == "I32" ? DType::i32 : DType::f32, shape});
  size_t n = size_t(tensor.elements());
  if (dtype == "I32") {
    std::memcpy(tensor.i32().data(), bytes, n * 4);
  } else if (dtype == "F32") {
    std::memcpy(tensor.f32().data(), bytes, n * 4);
  } else {
    std::span<float> out = tensor.f32();
    for (size_t i = 0; i < n; ++i) {
      uint16_t raw;
      std::memcpy(&raw, bytes + 2 * i, 2);
      out[i] = dtype == "F16" ? halfToFloat(raw) : bfloat16ToFloat(raw);
    }
  }
  return tensor;
}

Tensor readEntry(const Json &entry, std::string_view data, const std::string &where) {
  json_util::expectObject(entry, where);
  std::string dtype = json_util::stringField(entry, "dtype", where);
  const DTypeInfo *info = lookupDType(dtype);
  if (!info) fail("{}: unsupported dtype '{}' (bisc reads F32, F16, BF16 and I32)", where, dtype);
  Shape shape = json_util::intList(json_util::field(entry, "shape", where), where, "shape");
  std::vector<int64_t> offsets =
      json_util::intList(json_util::field(entry, "data_offsets", where), where, "data_offsets");
  if (offsets.size() != 2) fail("{}: data_offsets must be [begin, end], got {} values", where, offsets.size());
  uint64_t begin = uint64_t(offsets[0]), end = uint64_t(offsets[1]);
  if (begin > end || end > data.size())
    fail("{}: data_offsets [{},{}] lie outside the data section ({} bytes)", where, begin, end, data.size());
  uint64_t needed = info->itemSize;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(needed, uint64_t(d), &needed)) needed = UINT64_MAX;
  if (end - begin != needed)
    fail("{}: data_offsets [{},{}] hold {} bytes but {} {} needs {}", where, begin, end, end - begin,
         dtype, shapeToString(shape), needed);
  return convert(dtype, shape, data.data() + begin);
}

} // namespace

std::map<std::string, Tensor> readSafetensors(const std::string &path) {
  std::string file = json_util::readFile(path);
  if (file.size() < 8)
    fail("{}: file too short ({} bytes) to hold the 8-byte safetensors header length", path, file.size());
  uint64_t headerBytes;
  std::memcpy(&headerBytes, file.data(), 8);
  if (headerBytes > kMaxHeaderBytes)
    fail("{}: header length {} is absurdly large (limit {} bytes); not a safetensors file?", path,
         headerBytes, kMaxHeaderBytes);
  if (8 + headerBytes > file.size())
    fail("{}: header length {} runs beyond the end of the file ({} bytes)", path, headerBytes, file.size());
  Json header = json_util::parse(std::string_view(file).substr(8, headerBytes), path + " (header)");
  json_util::expectObject(header, path + " (header)");
  std::string_view data = std::string_view(file).substr(8 + headerBytes);
  std::map<std::string, Tensor> tensors;
  for (const auto &[name, entry] : header.items())
    if (name != "__metadata__")
      tensors.emplace(name, readEntry(entry, data, fmt::format("{}: tensor '{}'", path, name)));
  return tensors;
}

void writeSafetensors(const std::string &path, const std::map<std::string, Tensor> &tensors) {
  Json header = Json::object();
  uint64_t offset = 0;
  for (const auto &[name, tensor] : tensors) {
    uint64_t bytes = uint64_t(tensor.type().bytes());
    header[name] = {{"dtype", tensor.dtype() == DType::i32 ? "I32" : "F32"},
                    {"shape", tensor.shape()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned, as safetensors does
  std::ofstream out(path, std::ios::binary);
  if (!out) fail("{}: cannot open for writing", path);
  uint64_t length = text.size();
  out.write(reinterpret_cast<const char *>(&length), 8);
  out.write(text.data(), std::streamsize(text.size()));
  for (const auto &[name, tensor] : tensors) {
    const void *bytes = tensor.dtype() == DType::i32 ? static_cast<const void *>(tensor.i32().data())
                                                     : static_cast<const void *>(tensor.f32().data());
    out.write(static_cast<const char *>(bytes), std::streamsize(tensor.type().bytes()));
  }
  if (!out) fail("{}: write failed", path);
}

void attachWeights(Graph &graph, const std::string &safetensorsPath) {
  std::map<std::string, Tensor> tensors = readSafetensors(safetensorsPath);
  std::vector<std::string> missing;
  for (Value *weight : graph.weights()) {
    auto it = tensors.find(weight->name);
    if (it == tensors.end()) {
      missing.push_back(fmt::format("'{}' ({})", weight->name, toString(weight->type)));
      continue;
    }
    if (it->second.type() != weight->type)
      fail("{}: weight '{}': the graph declares {} but the file holds {}", safetensorsPath,
           weight->name, toString(weight->type), toString(it->second.type()));
    weight->data = std::make_shared<const Tensor>(std::move(it->second));
  }
  if (missing.empty()) return;
  std::string list;
  for (size_t i = 0; i < missing.size() && i < 10; ++i) list += (i ? ", " : "") + missing[i];
  if (missing.size() > 10) list += fmt::format(", and {} more", missing.size() - 10);
  fail("{}: {} weight(s) of graph '{}' missing from the file: {}", safetensorsPath, missing.size(),
       graph.name(), list);
}

} // namespace bisc
