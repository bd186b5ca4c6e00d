//===- pass.h - A pass: a name and bool run(Graph&) -----------------------===//
//
// A pass rewrites a graph in place and reports whether it changed anything. It holds no
// global state; a broken precondition is reported by throwing bisc::Error, which the
// PassManager prefixes with the pass name. Passes are created by the factories listed in
// passes.def (see passes.h) and run in a textual pipeline by the PassManager.
#pragma once

#include "ir/graph.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bisc {

class Pass {
public:
  virtual ~Pass() = default;
  /// The pipeline name ("fold-bn").
  virtual std::string name() const = 0;
  /// Rewrites `graph`; true if it changed anything.
  virtual bool run(Graph &graph) = 0;
  /// Counters of the last run, e.g. {"folded", "12"}; printed with --pass-statistics and
  /// --time-passes.
  virtual std::vector<std::pair<std::string, std::string>> statistics() const { return {}; }
  /// Applies the options of a pipeline entry "name{key=value,...}" (the text between the
  /// braces). Passes without options reject any; see parseOptionList().
  virtual void setOptions(std::string_view text);
};

/// "a=1, b=x" -> {{"a","1"},{"b","x"}}; throws bisc::Error on an entry without '='.
std::vector<std::pair<std::string, std::string>> parseOptionList(std::string_view text);

using PassFactory = std::unique_ptr<Pass> (*)();

} // namespace bisc
