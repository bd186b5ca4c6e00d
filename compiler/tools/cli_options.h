//===- cli_options.h - Command-line parsing shared by bisc and bisc-opt --===//
//
// Deliberately small: options are declared as valued (--name VALUE or --name=VALUE) or flags,
// may appear before or after positionals, and anything else is a usage error (exit 2). New
// options (--passes=..., --print-ir-after=...) are one more name in a tool's declaration.
#pragma once

#include "ir/error.h"
#include "ir/graph.h"

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace bisc::cli {

/// A malformed command line: reported with the usage line, exit code 2.
class UsageError : public std::runtime_error {
public:
  explicit UsageError(const std::string &message, std::string usage = "")
      : std::runtime_error(message), usage_(std::move(usage)) {}
  /// The usage line of the (sub)command, if the thrower knew it.
  const std::string &usage() const { return usage_; }

private:
  std::string usage_;
};

/// Runs `body`; a UsageError from it is re-thrown with `usage` attached, so subcommands
/// report their own usage line.
int withUsage(const std::string &usage, const std::function<int()> &body);

/// Runs `parse` and reports a bisc::Error from it as a usage error (exit 2): for parsers that
/// live in library code, such as the pass flags (--passes=no-such-pass).
template <class Parse> auto asUsageError(Parse &&parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const Error &error) {
    throw UsageError(error.what());
  }
}

struct OptionSpec {
  std::set<std::string> valued;  ///< names with a value, including the dashes: "--weights", "-o"
  std::set<std::string> flags;   ///< switches: "--print-ir", "--json"
};

class Args {
public:
  /// Parses argv[first..]; "--help"/"-h" is always accepted as a flag.
  Args(int argc, char **argv, int first, const OptionSpec &spec);

  bool has(const std::string &name) const { return values_.count(name) > 0; }
  std::optional<std::string> value(const std::string &name) const;
  const std::vector<std::string> &positionals() const { return positionals_; }

  /// The single positional argument called `what` in messages.
  std::string onePositional(const std::string &what) const;
  /// A required valued option.
  std::string required(const std::string &name) const;
  /// --input-shape NxCxHxW, if given.
  std::optional<Shape> shape(const std::string &name) const;
  /// A decimal unsigned 64-bit option value, if given.
  std::optional<uint64_t> unsignedValue(const std::string &name) const;

private:
  std::map<std::string, std::string> values_;  ///< flags map to ""
  std::vector<std::string> positionals_;
};

/// Gives the model its weights from --weights W.safetensors or --random-weights SEED (exactly
/// one; neither if the model file carried them, as ONNX does). Random weights are filled at
/// the model's own shape, so a seed gives the same weights whatever input shape is used later.
void attachModelWeights(Graph &graph, const Args &args);

/// setInputShape() whose errors name the model file and the requested shape.
void applyInputShape(Graph &graph, const Shape &shape, const std::string &file);

/// Runs a tool's body and turns failures into messages and exit codes: bisc::Error and other
/// exceptions print "<tool>: error: ..." and return 1; UsageError also prints `usage` and
/// returns 2. Nothing escapes, so the tools never abort.
int runTool(const std::string &tool, const std::string &usage, const std::function<int()> &body);

} // namespace bisc::cli
