//===- pass_manager.cpp - Runs a textual pipeline with instrumentation ----===//
//
// run() is a flat loop: print-before, run the pass (errors get its name), verify, record
// time and statistics, print-after (all / named / changed text), check numerics against the
// outputs of the input graph, stop-after. The report (timing, statistics) comes last.
#include "passes/pass_manager.h"

#include "passes/numerics.h"
#include "passes/passes.h"

#include "ir/error.h"
#include "ir/printer.h"
#include "ir/verifier.h"

#include <fmt/format.h>

#include <optional>
#include <ostream>

namespace bisc {

PassManager::PassManager(PassOptions options) : options_(std::move(options)) {}

void PassManager::addPipeline(std::string_view text) {
  for (const std::string &entry : parsePipeline(text)) {
    auto defaults = options_.passDefaults.find(entry.substr(0, entry.find('{')));
    passes_.push_back(createPass(entry, defaults == options_.passDefaults.end() ? "" : defaults->second));
  }
}

void PassManager::addPass(std::unique_ptr<Pass> pass) { passes_.push_back(std::move(pass)); }

std::string PassManager::pipelineText() const {
  std::string text;
  for (const auto &pass : passes_) text += (text.empty() ? "" : ",") + pass->name();
  return text;
}

void PassManager::printIr(const Graph &graph, std::ostream &out, const std::string &when) const {
  out << "// -----// IR " << when << " //----- //\n" << printGraph(graph);
}

namespace {

/// The printed graph plus the address of every weight's data: equal fingerprints mean equal
/// interpreter outputs (weight data is immutable, so a pass must swap a tensor to change it).
std::string numericsFingerprint(const Graph &graph) {
  std::string text = printGraph(graph);
  for (const Value *weight : graph.weights())
    text += fmt::format("{}={}\n", weight->name, static_cast<const void *>(weight->data.get()));
  return text;
}

/// Runs the pass, turning its errors and a verifier failure into errors naming it.
bool runChecked(Pass &pass, Graph &graph, bool verifyAfter) {
  bool changed = false;
  try {
    changed = pass.run(graph);
  } catch (const Error &e) {
    fail("pass '{}' failed: {}", pass.name(), e.what());
  }
  if (!verifyAfter) return changed;
  try {
    verifyOrThrow(graph);
  } catch (const Error &e) {
    fail("pass '{}' produced invalid IR:\n{}", pass.name(), e.what());
  }
  return changed;
}

} // namespace

bool PassManager::run(Graph &graph, std::ostream &out) {
  records_.clear();
  bool stopFound = options_.stopAfter.empty();
  for (const auto &pass : passes_) stopFound |= pass->name() == options_.stopAfter;
  if (!stopFound)
    fail("--stop-after={}: the pipeline '{}' has no such pass", options_.stopAfter, pipelineText());
  try {
    verifyOrThrow(graph);
  } catch (const Error &e) {
    fail("the input graph is invalid:\n{}", e.what());
  }
  std::vector<Tensor> inputs;
  std::optional<NamedOutputs> reference;
  if (options_.checkNumerics) {
    inputs = deterministicInputs(graph);
    reference = runForCheck(graph, inputs);
  }
  std::string fingerprint = reference ? numericsFingerprint(graph) : "";
  double relative = 0;
  std::string text = options_.printAfterChange ? printGraph(graph) : "";
  bool anyChange = false;
  for (const auto &pass : passes_) {
    std::string name = pass->name();
    if (options_.printBeforeAll || options_.printBefore.count(name))
      printIr(graph, out, "before " + name);
    auto start = std::chrono::steady_clock::now();
    bool changed = runChecked(*pass, graph, options_.verifyEach);
    std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    records_.push_back({name, changed, took.count(), pass->statistics()});
    anyChange |= changed;

    bool printed = false;
    if (options_.printAfterAll || options_.printAfter.count(name)) {
      printIr(graph, out, "after " + name);
      printed = true;
    }
    if (options_.printAfterChange) {
      std::string now = printGraph(graph);
      if (now != text && !printed) printIr(graph, out, "after " + name + " (changed)");
      text = std::move(now);
    }
    if (reference) {
      // An untouched graph (same text, same weight tensors) gives the same outputs again.
      std::string now = numericsFingerprint(graph);
      if (now != fingerprint) {
        fingerprint = std::move(now);
        if (auto problem = compareOutputs(*reference, runForCheck(graph, inputs),
                                          options_.tolerance, &relative))
          fail("check-numerics: pass '{}' changed the outputs: {}", name, *problem);
      }
      out << fmt::format("// check-numerics: {} ok (max |diff| / max|ref| = {:.3g})\n", name,
                         relative);
    }
    if (name == options_.stopAfter) {
      out << "// stopped after " << name << "\n";
      break;
    }
  }
  report(out);
  return anyChange;
}

void PassManager::report(std::ostream &out) const {
  if (options_.timePasses) {
    double total = 0;
    out << "// ===- Pass execution timing report -===//\n//   wall ms  changed  pass\n";
    for (const PassRecord &r : records_) {
      out << fmt::format("//  {:8.3f}  {:<7}  {}\n", r.milliseconds, r.changed ? "yes" : "no",
                         r.name);
      total += r.milliseconds;
    }
    out << fmt::format("//  {:8.3f}           total\n", total);
  }
  if (options_.timePasses || options_.passStatistics)
    for (const PassRecord &r : records_)
      for (const auto &[key, value] : r.statistics)
        out << fmt::format("// {}: {} = {}\n", r.name, key, value);
}

bool runPasses(Graph &graph, const PassOptions &options, std::ostream &out) {
  PassManager manager(options);
  manager.addPipeline(options.pipeline);
  return manager.run(graph, out);
}

} // namespace bisc
