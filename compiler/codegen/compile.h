//===- compile.h - From a scheduled graph to a native library --------------===//
#pragma once

#include "ir/graph.h"

#include <string>
#include <vector>

namespace bisc {

enum class LibraryKind { Shared, Static };
enum class EmitKind { Library, LLVM, Asm, Object };

struct CompileOptions {
  std::string name;         ///< prefix of every entry point; a C identifier
  std::string outputDir;
  std::string triple;       ///< empty: the host
  std::string cpu;          ///< empty: the host CPU (or "generic" when cross-compiling)
  LibraryKind library = LibraryKind::Shared;
  EmitKind emit = EmitKind::Library;
  bool weightsFile = false; ///< weights in <name>.weights beside the library, not embedded
};

struct KernelStat {
  std::string name, family; ///< the node it computes, its emitter family
  int64_t parallelCount = 0;
  int64_t macs = 0;         ///< the node's conv MACs, on its convolution kernel only
  std::string symbol;       ///< the kernel function's symbol
};

struct CompileStats {
  std::vector<KernelStat> kernels;
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
