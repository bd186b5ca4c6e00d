//===- module_builder.h - A graph as one LLVM module ------------------------===//
#pragma once

#include "compiler/codegen/compile.h"
#include "compiler/codegen/target.h"
#include "ir/graph.h"

#include <llvm/IR/Module.h>

#include <memory>

namespace bisc {

struct BuiltModule {
  std::unique_ptr<llvm::Module> module;
  std::string weights;         ///< the blob: graph weights plus compile-time tables
  int64_t arenaBytes = 0;      ///< activations plus the logits scratch of run_labels (if it writes them)
  TensorType input, output;    ///< NCHW image and logits
  std::vector<KernelStat> kernels;
  KernelStat labels; ///< run_labels' last kernel (CompileStats::labels)
};

/// Lowers the nodes that the graph's first inference output needs: one LLVM function per
/// kernel, `<name>_graph_run` calling them through the runtime's parallel_for,
/// `<name>_graph_labels`, and the info globals the runtime reads (bisc_runtime.h).
/// `schedules` says how each kernel's Schedule is chosen.
BuiltModule buildModule(const Graph &graph, llvm::LLVMContext &context, const std::string &name,
                        const TargetSpec &target, bool embedWeights, const ScheduleOptions &schedules = {});

} // namespace bisc
