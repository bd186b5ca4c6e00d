//===- pass_manager.h - Runs a textual pipeline with instrumentation ------===//
//
// The PassManager is where passes are debugged: it verifies the graph before the first
// and after every pass (a pass that breaks the IR is named), prints the IR before/after
// chosen passes, all passes or only those that changed the text, stops after a named pass,
// times each pass, and in check-numerics mode runs the reference interpreter on a fixed
// input before the pipeline and after every pass, naming the first pass whose outputs move
// by more than 1e-4 x max|reference|. Everything is printed to the caller's stream.
//
// Both drivers (bisc-opt, bisc compile) build PassOptions with parsePassFlag() and call
// runPasses().
#pragma once

#include "passes/pass.h"

#include <chrono>
#include <iosfwd>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace bisc {

struct PassOptions {
  std::string pipeline = "default";
  std::set<std::string> printBefore, printAfter;  ///< pass names
  bool printBeforeAll = false;
  bool printAfterAll = false;
  bool printAfterChange = false;  ///< print after a pass only if the printed text changed
  std::string stopAfter;          ///< pass name; empty: run the whole pipeline
  bool checkNumerics = false;
  bool timePasses = false;
  bool passStatistics = false;
  bool verifyEach = true;
  /// Relative tolerance of check-numerics: max|diff| <= tolerance * max|reference|.
  double tolerance = 1e-4;
  /// Options a pass gets before its pipeline entry's own, by pass name (bisc compile gives
  /// blocked-layout the target's vector lanes this way; "blocked-layout{block=4}" still wins).
  std::map<std::string, std::string> passDefaults;
};

/// Consumes one argv-style flag if it is a pass flag: --passes=, --print-ir-before=,
/// --print-ir-after= (comma lists), --print-ir-before-all, --print-ir-after-all,
/// --print-ir-after-change, --stop-after=, --check-numerics, --time-passes,
/// --pass-statistics, --no-verify-each. Returns false for other flags; throws bisc::Error
/// on a pass flag with a bad value (an unknown pass name lists the known ones).
bool parsePassFlag(std::string_view arg, PassOptions &options);
/// Applies parsePassFlag to each argument; returns the ones it did not consume, in order.
std::vector<std::string> parsePassFlags(const std::vector<std::string> &args,
                                        PassOptions &options);
/// Lines for a driver's --help.
std::string passFlagsHelp();

/// "fold-bn, fuse-conv-act" -> names, with `default` expanded. Throws bisc::Error for an
/// unknown name, listing the known ones.
std::vector<std::string> parsePipeline(std::string_view text);

struct PassRecord {
  std::string name;
  bool changed = false;
  double milliseconds = 0;
  std::vector<std::pair<std::string, std::string>> statistics;
};

class PassManager {
public:
  explicit PassManager(PassOptions options = {});
  /// Builds the pipeline from options.pipeline.
  void addPipeline(std::string_view text);
  /// Appends a pass (tests register deliberately wrong ones this way).
  void addPass(std::unique_ptr<Pass> pass);
  /// The pipeline as text; parsePipeline(pipelineText()) gives the same passes.
  std::string pipelineText() const;

  /// Runs the pipeline on `graph`. Throws bisc::Error if the input or a pass's output fails
  /// verification, a pass throws, or check-numerics finds a pass that moved the outputs;
  /// the message names the pass. Returns true if any pass changed the graph.
  bool run(Graph &graph, std::ostream &out);

  const std::vector<PassRecord> &records() const { return records_; }

private:
  void printIr(const Graph &graph, std::ostream &out, const std::string &when) const;
  void report(std::ostream &out) const;

  PassOptions options_;
  std::vector<std::unique_ptr<Pass>> passes_;
  std::vector<PassRecord> records_;
};

/// Parses options.pipeline, runs it on `graph`, prints to `out`.
bool runPasses(Graph &graph, const PassOptions &options, std::ostream &out);

} // namespace bisc
