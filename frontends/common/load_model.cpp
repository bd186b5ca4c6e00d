//===- load_model.cpp - Picks the model reader by file extension ---------===//
#include "frontends/common/json_util.h"
#include "frontends/common/model_io.h"

#include "ir/error.h"
#ifdef BISC_HAVE_ONNX
#include "frontends/onnx/onnx_import.h"
#endif
#include "ir/parser.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace bisc {

bool weightsLoaded(const Graph &graph) {
  return std::all_of(graph.weights().begin(), graph.weights().end(), [](const Value *w) { return w->data != nullptr; });
}

std::unique_ptr<Graph> loadModel(const std::string &path, const std::optional<Shape> &inputShape) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".json") return loadJsonGraph(path);
  if (ext == ".bir") return parseGraph(json_util::readFile(path), path);
#ifdef BISC_HAVE_ONNX
  if (ext == ".onnx") return loadOnnxModel(path, inputShape);
#else
  if (ext == ".onnx") fail("{}: this bisc was built without ONNX support (install libonnx-dev)", path);
#endif
  fail("{}: unsupported model file extension '{}' (supported: .json for a bisc JSON graph, "
       ".bir for the bisc IR text form, .onnx for ONNX)",
       path, ext.empty() ? "(none)" : ext);
}

} // namespace bisc
