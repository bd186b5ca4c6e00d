//===- load_model.cpp - Picks the model reader by file extension ---------===//
#include "frontends/common/json_util.h"
#include "frontends/common/model_io.h"

#include "ir/error.h"
#include "ir/parser.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace bisc {

std::unique_ptr<Graph> loadModel(const std::string &path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".json") return loadJsonGraph(path);
  if (ext == ".bir") return parseGraph(json_util::readFile(path), path);
  fail("{}: unsupported model file extension '{}' (supported: .json for a bisc JSON graph, "
       ".bir for the bisc IR text form)",
       path, ext.empty() ? "(none)" : ext);
}

} // namespace bisc
