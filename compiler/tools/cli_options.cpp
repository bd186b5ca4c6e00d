//===- cli_options.cpp - Command-line parsing shared by bisc and bisc-opt -===//
#include "compiler/tools/cli_options.h"

#include "frontends/common/model_io.h"

#include "ir/error.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdio>

namespace bisc::cli {

Args::Args(int argc, char **argv, int first, const OptionSpec &spec) {
  bool optionsDone = false;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (optionsDone || arg.size() < 2 || arg[0] != '-') {
      positionals_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      optionsDone = true;
      continue;
    }
    size_t eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    if (spec.valued.count(name)) {
      if (eq != std::string::npos) values_[name] = arg.substr(eq + 1);
      else if (i + 1 < argc) values_[name] = argv[++i];
      else throw UsageError(fmt::format("option '{}' needs a value", name));
    } else if (spec.flags.count(name) || name == "--help" || name == "-h") {
      if (eq != std::string::npos) throw UsageError(fmt::format("option '{}' takes no value", name));
      values_[name == "-h" ? "--help" : name] = "";
    } else {
      throw UsageError(fmt::format("unknown option '{}'", name));
    }
  }
}

std::optional<std::string> Args::value(const std::string &name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::onePositional(const std::string &what) const {
  if (positionals_.empty()) throw UsageError(fmt::format("missing {}", what));
  if (positionals_.size() > 1)
    throw UsageError(fmt::format("expected one {}, got '{}' and '{}'", what, positionals_[0], positionals_[1]));
  return positionals_[0];
}

std::string Args::required(const std::string &name) const {
  std::optional<std::string> text = value(name);
  if (!text) throw UsageError(fmt::format("missing required option {}", name));
  return *text;
}

std::optional<Shape> Args::shape(const std::string &name) const {
  std::optional<std::string> text = value(name);
  if (!text) return std::nullopt;
  std::optional<Shape> shape = parseShapeArg(*text);
  if (!shape) throw UsageError(fmt::format("{} '{}': expected positive sizes like 1x3x512x1024", name, *text));
  return shape;
}

std::optional<uint64_t> Args::unsignedValue(const std::string &name) const {
  std::optional<std::string> text = value(name);
  if (!text) return std::nullopt;
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), number);
  if (ec != std::errc() || end != text->data() + text->size())
    throw UsageError(fmt::format("{} '{}': expected a non-negative integer", name, *text));
  return number;
}

void attachModelWeights(Graph &graph, const Args &args) {
  std::optional<std::string> weights = args.value("--weights");
  std::optional<uint64_t> seed = args.unsignedValue("--random-weights");
  if (!weights && !seed && weightsLoaded(graph)) return;
  if (weights.has_value() == seed.has_value())
    throw UsageError("give exactly one of --weights W.safetensors and --random-weights SEED");
  if (weights) attachWeights(graph, *weights);
  else fillRandomWeights(graph, *seed);
}

void applyInputShape(Graph &graph, const Shape &shape, const std::string &file) {
  try {
    setInputShape(graph, shape);
  } catch (const Error &e) {
    fail("{}: with input shape {}: {}", file, shapeToString(shape), e.what());
  }
}

int withUsage(const std::string &usage, const std::function<int()> &body) {
  try {
    return body();
  } catch (const UsageError &e) {
    if (!e.usage().empty()) throw;
    throw UsageError(e.what(), usage);
  }
}

int runTool(const std::string &tool, const std::string &usage, const std::function<int()> &body) {
  try {
    return body();
  } catch (const UsageError &e) {
    const std::string &line = e.usage().empty() ? usage : e.usage();
    std::fprintf(stderr, "%s: error: %s\n%s\n", tool.c_str(), e.what(), line.c_str());
    return 2;
  } catch (const Error &e) {
    std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), e.what());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "%s: error: internal error: %s\n", tool.c_str(), e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: error: internal error (unknown exception)\n", tool.c_str());
  }
  return 1;
}

} // namespace bisc::cli
