//===- module_builder.cpp - A graph as one LLVM module ----------------------===//
//
// 1. Pick the output (the first inference output: NCHW f32 logits) and the nodes it needs.
// 2. Place every tensor: the image and logits in caller memory, weights in the blob, the
//    rest in the arena (at the offsets plan-memory chose, or one buffer each if unplanned).
// 3. Emit one function per kernel and the entry points; 4. the info globals.
#include "compiler/codegen/module_builder.h"

#include "compiler/codegen/emitters.h"
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

/// void <name>_graph_<what>(ptr frame, ptr pool): one parallel_for per kernel, in order.
void emitEntry(llvm::Module &module, const std::string &symbol, llvm::Function *parallelFor,
               const std::vector<std::pair<llvm::Function *, int64_t>> &kernels) {
  llvm::LLVMContext &ctx = module.getContext();
  auto *ptr = llvm::PointerType::getUnqual(ctx);
  auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, ptr}, false);
  auto *entry = llvm::Function::Create(type, llvm::Function::ExternalLinkage, symbol, module);
  entry->setVisibility(llvm::GlobalValue::HiddenVisibility);
  llvm::IRBuilder<> ir(llvm::BasicBlock::Create(ctx, "entry", entry));
  for (auto [kernel, count] : kernels)
    ir.CreateCall(parallelFor, {entry->getArg(1), kernel, entry->getArg(0), ir.getInt64(uint64_t(count))});
  ir.CreateRetVoid();
}

llvm::GlobalVariable *constantGlobal(llvm::Module &module, const std::string &symbol, llvm::Constant *value) {
  auto *global = new llvm::GlobalVariable(module, value->getType(), true, llvm::GlobalValue::ExternalLinkage,
                                          value, symbol);
  global->setVisibility(llvm::GlobalValue::HiddenVisibility);
  return global;
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

int64_t convMacs(const Node &node) {
  if (node.op != OpId::conv2d && node.op != OpId::fused_conv) return 0;
  const Shape &w = node.inputs[1]->type.shape;
  return node.result->type.elements() * w[1] * w[2] * w[3];
}

} // namespace

BuiltModule buildModule(const Graph &graph, llvm::LLVMContext &context, const std::string &name,
                        const TargetSpec &target, bool embedWeights) {
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

  auto *parallelFor = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(context),
                              {llvm::PointerType::getUnqual(context), llvm::PointerType::getUnqual(context),
                               llvm::PointerType::getUnqual(context), llvm::Type::getInt64Ty(context)},
                              false),
      llvm::Function::ExternalLinkage, name + "_rt_parallel_for", module);
  EmitContext emit{buffers, Schedule{}};
  emit.defaults = Schedule::forVectorWidth(target.vectorWidth, target.isAArch64() || target.vectorWidth >= 16);
  emit.scratchOffset = align64(activations); // scratch of multi-phase nodes, before the logits
  std::vector<std::pair<llvm::Function *, int64_t>> runKernels;
  for (const Node *node : nodes) {
    int64_t macs = convMacs(*node); // counted once, on a node's first kernel
    for (const KernelSpec &spec : emitNodeKernels(*node, emit)) {
      std::string symbol = fmt::format("{}_k{}_{}", name, runKernels.size(), node->info().name);
      runKernels.emplace_back(emitKernelFunction(module, symbol, spec, buffers, target), spec.schedule.parallelCount);
      built.kernels.push_back({node->name(), spec.family, spec.schedule.parallelCount, std::exchange(macs, 0)});
    }
  }
  KernelSpec labels = emitLabels(built.output, emit);
  llvm::Function *labelsKernel = emitKernelFunction(module, name + "_k_labels", labels, buffers, target);
  emitEntry(module, name + "_graph_run", parallelFor, runKernels);
  emitEntry(module, name + "_graph_labels", parallelFor, {{labelsKernel, labels.schedule.parallelCount}});

  built.weights = blob.bytes();
  int64_t logitsOffset = align64(activations) + align64(emit.scratchBytes);
  built.arenaBytes = logitsOffset + align64(built.output.bytes());
  emitInfo(module, name, built, logitsOffset, embedWeights);
  std::string problems;
  llvm::raw_string_ostream stream(problems);
  if (llvm::verifyModule(module, &stream)) fail("codegen produced invalid LLVM IR (a bisc bug): {}", problems);
  return built;
}

} // namespace bisc
