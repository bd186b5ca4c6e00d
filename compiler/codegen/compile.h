//===- compile.h - From a scheduled graph to a native library --------------===//
#pragma once

#include "compiler/codegen/schedule.h"
#include "ir/graph.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bisc {

enum class LibraryKind { Shared, Static };
enum class EmitKind { Library, LLVM, Asm, Object };

/// How each kernel's Schedule is chosen (compiler/schedule/, docs/schedules.md).
struct ScheduleOptions {
  /// Pick each dense conv's blocking with the analytic cost model; false: the one
  /// target-wide default schedule for every kernel.
  bool costModel = true;
  /// A schedule file (bisc compile --schedule): its entries win over the cost model for the
  /// kernels whose signature they name.
  std::string file;
  /// Schedules given per node name (tests, the autotuner's candidates); they win over all.
  std::map<std::string, Schedule> byNode;
  /// Replaces the file and the cost model when set (the autotuner's kernel survey).
  std::function<std::optional<Schedule>(const Node &, const Schedule &defaults)> chooser;
};

struct CompileOptions {
  std::string name;         ///< prefix of every entry point; a C identifier
  std::string outputDir;
  std::string triple;       ///< empty: the host
  std::string cpu;          ///< empty: the host CPU (or "generic" when cross-compiling)
  LibraryKind library = LibraryKind::Shared;
  EmitKind emit = EmitKind::Library;
  bool weightsFile = false; ///< weights in <name>.weights beside the library, not embedded
  ScheduleOptions schedules;
};

struct KernelStat {
  std::string name, family; ///< the node it computes, its emitter family
  int64_t parallelCount = 0;
  int64_t macs = 0;         ///< the node's conv MACs, on its convolution kernel only
  std::string symbol;       ///< the kernel function's symbol
  std::string schedule;     ///< Schedule::describe() of the kernel as emitted
  /// Bytes the kernel's node reads and writes (activations and weights, each tensor once),
  /// for the profile's GB/s; 0 on the kernels of multi-kernel nodes, whose share is unknown.
  int64_t bytes = 0;
};

struct CompileStats {
  std::vector<KernelStat> kernels;
  /// run_labels' last kernel: "labels" over the logits, or the last node with the arg-max
  /// fused in ("resize_labels"), which then takes the last kernel's place.
  KernelStat labels;
  int64_t arenaBytes = 0, weightBytes = 0, codeBytes = 0;
  double buildSeconds = 0, optimizeSeconds = 0, emitSeconds = 0, linkSeconds = 0;
  std::vector<std::string> files; ///< what was written
  std::string triple, cpu;
};

/// Lowers `graph` (shapes inferred, weights with data) to LLVM IR, optimises it for the
/// target and writes what `options.emit` asks for into options.outputDir: lib<name>.so or
/// lib<name>.a plus <name>.h, or <name>.ll / <name>.s / <name>.o. Throws bisc::Error.
CompileStats compileGraph(const Graph &graph, const CompileOptions &options);

} // namespace bisc
