//===- module_builder.cpp - A graph as one LLVM module ----------------------===//
//
// 1. Pick the output (the first inference output: NCHW f32 logits) and the nodes it needs.
// 2. Place every tensor: the image and logits in caller memory, weights in the blob, the
//    rest in the arena (at the offsets plan-memory chose, or one buffer each if unplanned).
// 3. Emit one function per kernel and the entry points; 4. the info globals, and the kernel
//    tables (symbol, node, family, MACs) that the runtime's BISC_PROFILE table prints.
#include "compiler/codegen/module_builder.h"

#include "compiler/codegen/emitters.h"
#include "compiler/schedule/schedule_policy.h"
#include "ir/error.h"

#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <set>
#include <utility>

namespace bisc {

namespace {

int64_t align64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

const GraphOutput &primaryOutput(const Graph &graph) {
  for (const GraphOutput &out : graph.outputs()) {
    if (out.trainingOnly) continue;
    const TensorType &type = out.value->type;
    if (out.value->kind != ValueKind::Result || type.dtype != DType::f32 || type.shape.size() != 4)
      fail("codegen: output '{}' must be f32 N x C x H x W logits computed by a node, got {}", out.name, toString(type));
    return out;
  }
  fail("codegen: graph @{} has no inference output", graph.name());
}

/// Nodes the value depends on, in graph order.
std::vector<const Node *> neededNodes(const Graph &graph, const Value *output) {
  std::set<const Value *> needed{output};
  std::vector<const Node *> nodes;
  for (auto it = graph.nodes().rbegin(); it != graph.nodes().rend(); ++it) {
    if (!needed.count((*it)->result)) continue;
    nodes.push_back(it->get());
    needed.insert((*it)->inputs.begin(), (*it)->inputs.end());
  }
  return {nodes.rbegin(), nodes.rend()};
}

/// Returns the arena bytes the activations need.
int64_t placeTensors(const Graph &graph, const std::vector<const Node *> &nodes, const Value *output,
                     BufferMap &buffers) {
  if (graph.inputs().size() != 1 || graph.inputs()[0]->type.shape.size() != 4)
    fail("codegen: graph @{} must have one N x C x H x W input", graph.name());
  buffers.locations[graph.inputs()[0]] = {Slot::Input, 0};
  buffers.locations[output] = {Slot::Output, 0};
  bool planned = true;
  for (const Node *node : nodes) planned &= node->result == output || node->result->arenaOffset >= 0;
  int64_t arena = 0;
  for (const Node *node : nodes) {
    for (const Value *input : node->inputs)
      if (input->kind == ValueKind::Weight && !buffers.locations.count(input)) {
        if (!input->data) fail("codegen: weight @{} has no data (compile with --weights or --random-weights)", input->name);
        int64_t offset = buffers.blob->add(input->data->f32().data(), size_t(input->data->type().bytes()));
        buffers.locations[input] = {Slot::Weights, offset};
      }
    if (node->result == output) continue;
    int64_t offset = planned ? node->result->arenaOffset : arena;
    buffers.locations[node->result] = {Slot::Arena, offset};
    arena = std::max(arena, align64(offset + node->result->type.bytes()));
  }
  return arena;
}

llvm::FunctionType *kernelType(llvm::LLVMContext &ctx) {
  auto *ptr = llvm::PointerType::getUnqual(ctx);
  auto *i64 = llvm::Type::getInt64Ty(ctx);
  return llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, i64, i64}, false);
}

void setTargetAttributes(llvm::Function *function, const TargetSpec &target) {
  function->addFnAttr("target-cpu", target.cpu);
  if (!target.features.empty()) function->addFnAttr("target-features", target.features);
  function->addFnAttr(llvm::Attribute::NoUnwind);
}

llvm::Function *emitKernelFunction(llvm::Module &module, const std::string &name, const KernelSpec &spec,
                                   const BufferMap &buffers, const TargetSpec &target) {
  auto *function = llvm::Function::Create(kernelType(module.getContext()), llvm::Function::InternalLinkage,
                                          name, module);
  setTargetAttributes(function, target);
  KernelBuilder builder(function, buffers);
  builder.loop(builder.begin(), builder.end(), [&](llvm::Value *index) { spec.body(builder, index); });
  builder.ir().CreateRetVoid();
  return function;
}

/// A kernel an entry point runs: its function, iteration count and graph_kernel_* row.
struct EntryKernel {
  llvm::Function *function;
  int64_t count, index;
};

/// void <name>_graph_<what>(ptr frame, ptr pool): one parallel_for per kernel, in order.
void emitEntry(llvm::Module &module, const std::string &symbol, llvm::Function *parallelFor,
               const std::vector<EntryKernel> &kernels) {
  llvm::LLVMContext &ctx = module.getContext();
  auto *ptr = llvm::PointerType::getUnqual(ctx);
  auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, ptr}, false);
  auto *entry = llvm::Function::Create(type, llvm::Function::ExternalLinkage, symbol, module);
  entry->setVisibility(llvm::GlobalValue::HiddenVisibility);
  llvm::IRBuilder<> ir(llvm::BasicBlock::Create(ctx, "entry", entry));
  for (const EntryKernel &kernel : kernels)
    ir.CreateCall(parallelFor, {entry->getArg(1), kernel.function, entry->getArg(0),
                                ir.getInt64(uint64_t(kernel.count)), ir.getInt64(uint64_t(kernel.index))});
  ir.CreateRetVoid();
}

llvm::GlobalVariable *constantGlobal(llvm::Module &module, const std::string &symbol, llvm::Constant *value) {
  auto *global = new llvm::GlobalVariable(module, value->getType(), true, llvm::GlobalValue::ExternalLinkage,
                                          value, symbol);
  global->setVisibility(llvm::GlobalValue::HiddenVisibility);
  return global;
}

/// `<symbol>`: a constant array of pointers to the C strings `texts`.
void stringTable(llvm::Module &module, const std::string &symbol, const std::vector<std::string> &texts) {
  llvm::LLVMContext &ctx = module.getContext();
  auto *ptr = llvm::PointerType::getUnqual(ctx);
  std::vector<llvm::Constant *> pointers;
  for (const std::string &text : texts) {
    llvm::Constant *chars = llvm::ConstantDataArray::getString(ctx, text);
    auto *string = new llvm::GlobalVariable(module, chars->getType(), true, llvm::GlobalValue::PrivateLinkage, chars,
                                            symbol + ".str");
    string->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    pointers.push_back(string);
  }
  constantGlobal(module, symbol, llvm::ConstantArray::get(llvm::ArrayType::get(ptr, pointers.size()), pointers));
}

/// The kernel tables the runtime's profile prints: the run kernels, then the labels kernel,
/// which replaces the last run kernel in run_labels when `labelsReplaceLast`.
void emitKernelTables(llvm::Module &module, const std::string &name, const std::vector<KernelStat> &runKernels,
                      const KernelStat &labels, bool labelsReplaceLast) {
  std::vector<KernelStat> rows = runKernels;
  rows.push_back(labels);
  std::vector<std::string> symbols, nodes, families;
  std::vector<uint64_t> macs, bytes;
  for (const KernelStat &row : rows) {
    symbols.push_back(row.symbol);
    nodes.push_back(row.name);
    families.push_back(row.family);
    macs.push_back(uint64_t(row.macs));
    bytes.push_back(uint64_t(row.bytes));
  }
  llvm::LLVMContext &ctx = module.getContext();
  constantGlobal(module, name + "_graph_kernel_count",
                 llvm::ConstantInt::get(llvm::Type::getInt64Ty(ctx), uint64_t(runKernels.size())));
  stringTable(module, name + "_graph_kernel_symbols", symbols);
  stringTable(module, name + "_graph_kernel_nodes", nodes);
  stringTable(module, name + "_graph_kernel_families", families);
  constantGlobal(module, name + "_graph_kernel_macs", llvm::ConstantDataArray::get(ctx, macs));
  constantGlobal(module, name + "_graph_kernel_bytes", llvm::ConstantDataArray::get(ctx, bytes));
  constantGlobal(module, name + "_graph_labels_replace_last",
                 llvm::ConstantInt::get(llvm::Type::getInt64Ty(ctx), labelsReplaceLast ? 1 : 0));
}

uint64_t fnv1a(const std::string &bytes) {
  uint64_t hash = 1469598103934665603u;
  for (unsigned char c : bytes) hash = (hash ^ c) * 1099511628211u;
  return hash;
}

void emitInfo(llvm::Module &module, const std::string &name, const BuiltModule &built, int64_t logitsOffset,
              bool embedWeights) {
  llvm::LLVMContext &ctx = module.getContext();
  auto *i64 = llvm::Type::getInt64Ty(ctx);
  auto i64Const = [&](int64_t v) { return llvm::ConstantInt::get(i64, uint64_t(v)); };
  auto shapeConst = [&](const Shape &s) {
    std::vector<uint64_t> dims(s.begin(), s.end());
    return llvm::ConstantDataArray::get(ctx, dims);
  };
  constantGlobal(module, name + "_graph_arena_bytes", i64Const(built.arenaBytes));
  constantGlobal(module, name + "_graph_logits_offset", i64Const(logitsOffset));
  constantGlobal(module, name + "_graph_weights_bytes", i64Const(int64_t(built.weights.size())));
  constantGlobal(module, name + "_graph_weights_checksum", i64Const(int64_t(fnv1a(built.weights))));
  constantGlobal(module, name + "_graph_input_shape", shapeConst(built.input.shape));
  constantGlobal(module, name + "_graph_output_shape", shapeConst(built.output.shape));
  llvm::Constant *blobPointer = llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx));
  if (embedWeights) {
    llvm::Constant *data = llvm::ConstantDataArray::getRaw(built.weights, built.weights.size(), llvm::Type::getInt8Ty(ctx));
    auto *blob = new llvm::GlobalVariable(module, data->getType(), true, llvm::GlobalValue::InternalLinkage, data,
                                          name + "_weights");
    blob->setAlignment(llvm::Align(64));
    blobPointer = blob;
  }
  constantGlobal(module, name + "_graph_embedded_weights", blobPointer);
}

/// Multiply-accumulates of the node's main convolution (the gates' 1-pixel convs aside).
int64_t convMacs(const Node &node) {
  size_t weight = 0;
  switch (node.op) {
  case OpId::conv2d:
  case OpId::fused_conv: weight = 1; break;
  case OpId::ffm: weight = 2; break;
  case OpId::context_embedding: weight = 3; break;
  default: return 0;
  }
  const Shape &w = node.inputs[weight]->type.shape;
  return node.result->type.elements() * w[1] * w[2] * w[3];
}

/// Bytes a node reads and writes: each distinct operand (activation or weight) and its result.
int64_t nodeBytes(const Node &node) {
  std::set<const Value *> seen{node.result};
  int64_t bytes = node.result->type.bytes();
  for (const Value *input : node.inputs)
    if (seen.insert(input).second) bytes += input->type.bytes();
  return bytes;
}

/// The kernel of a node's MACs (for GFLOP/s in the profile): its first convolution kernel,
/// by family, or its first kernel.
size_t macsKernel(const std::vector<KernelSpec> &specs) {
  for (size_t i = 0; i < specs.size(); ++i) {
    const std::string &family = specs[i].family;
    if (family.starts_with("conv") || family.starts_with("winograd") || family == "fused_conv") return i;
  }
  return 0;
}

} // namespace

BuiltModule buildModule(const Graph &graph, llvm::LLVMContext &context, const std::string &name,
                        const TargetSpec &target, bool embedWeights, const ScheduleOptions &schedules) {
  BuiltModule built;
  built.module = std::make_unique<llvm::Module>(name, context);
  llvm::Module &module = *built.module;
  const GraphOutput &output = primaryOutput(graph);
  std::vector<const Node *> nodes = neededNodes(graph, output.value);
  WeightsBlob blob;
  BufferMap buffers{{}, &blob};
  int64_t activations = placeTensors(graph, nodes, output.value, buffers);
  built.input = graph.inputs()[0]->type;
  built.output = output.value->type;

  // rt_parallel_for(pool, kernel, frame, count, kernel_index): see bisc_runtime.h.
  auto *ptr = llvm::PointerType::getUnqual(context);
  auto *i64 = llvm::Type::getInt64Ty(context);
  auto *parallelFor = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(context), {ptr, ptr, ptr, i64, i64}, false),
      llvm::Function::ExternalLinkage, name + "_rt_parallel_for", module);
  EmitContext emit{buffers, Schedule{}};
  emit.defaults = Schedule::forVectorWidth(target.vectorWidth, target.isAArch64() || target.vectorWidth >= 16);
  emit.nodeSchedules = schedules.byNode;
  emit.chooseSchedule = scheduleChooser(schedules, target);
  emit.scratchOffset = align64(activations); // scratch of multi-phase nodes, before the logits
  std::vector<EntryKernel> runKernels;
  for (const Node *node : nodes) {
    std::vector<KernelSpec> specs = emitNodeKernels(*node, emit);
    size_t withMacs = macsKernel(specs);
    for (size_t i = 0; i < specs.size(); ++i) {
      const KernelSpec &spec = specs[i];
      std::string symbol = fmt::format("{}_k{}_{}", name, runKernels.size(), node->info().name);
      runKernels.push_back({emitKernelFunction(module, symbol, spec, buffers, target), spec.schedule.parallelCount,
                            int64_t(runKernels.size())});
      int64_t macs = i == withMacs ? convMacs(*node) : 0;
      built.kernels.push_back({node->name(), spec.family, spec.schedule.parallelCount, macs, symbol,
                               spec.schedule.describe()});
      built.kernels.back().bytes = specs.size() == 1 ? nodeBytes(*node) : 0;
    }
  }
  // run_labels: the run kernels and the labels kernel over the logits, or, when the last
  // node is a single-kernel resize, the others and that resize with the arg-max fused in.
  const Node &last = *nodes.back();
  int64_t labelsBytes = built.output.shape[0] * built.output.shape[2] * built.output.shape[3];
  bool fuseLabels = fusesLabels(last) && built.kernels.back().name == last.name() &&
                    (built.kernels.size() < 2 || built.kernels[built.kernels.size() - 2].name != last.name());
  KernelSpec labels = fuseLabels ? emitResizeLabels(last, emit) : emitLabels(built.output, emit);
  labelsBytes += fuseLabels ? last.inputs[0]->type.bytes() : built.output.bytes();
  llvm::Function *labelsKernel = emitKernelFunction(module, name + "_k_labels", labels, buffers, target);
  std::vector<EntryKernel> labelsKernels(runKernels.begin(), runKernels.end() - (fuseLabels ? 1 : 0));
  labelsKernels.push_back({labelsKernel, labels.schedule.parallelCount, int64_t(runKernels.size())});
  emitEntry(module, name + "_graph_run", parallelFor, runKernels);
  emitEntry(module, name + "_graph_labels", parallelFor, labelsKernels);
  KernelStat labelsStat{output.name, labels.family, labels.schedule.parallelCount, 0, labelsKernel->getName().str(),
                        labels.schedule.describe()};
  labelsStat.bytes = labelsBytes;
  built.labels = labelsStat;
  emitKernelTables(module, name, built.kernels, labelsStat, fuseLabels);

  built.weights = blob.bytes();
  int64_t logitsOffset = align64(activations) + align64(emit.scratchBytes);
  // The logits scratch of run_labels, unless the fused last kernel never writes them.
  built.arenaBytes = logitsOffset + (fuseLabels ? 0 : align64(built.output.bytes()));
  emitInfo(module, name, built, logitsOffset, embedWeights);
  std::string problems;
  llvm::raw_string_ostream stream(problems);
  if (llvm::verifyModule(module, &stream)) fail("codegen produced invalid LLVM IR (a bisc bug): {}", problems);
  return built;
}

} // namespace bisc
