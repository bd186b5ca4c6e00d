//===- target.cpp - Target selection, optimisation and object emission -----===//
#include "compiler/codegen/target.h"

#include "ir/error.h"

#include <llvm/IR/LegacyPassManager.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/Triple.h>

namespace bisc {

namespace {

void initializeTargets() {
  static bool done = [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
    LLVMInitializeAArch64TargetInfo();
    LLVMInitializeAArch64Target();
    LLVMInitializeAArch64TargetMC();
    LLVMInitializeAArch64AsmPrinter();
    return true;
  }();
  (void)done;
}

std::string hostFeatures() {
  std::string features;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    features += (features.empty() ? "" : ",") + std::string(feature.getValue() ? "+" : "-") +
                feature.getKey().str();
  return features;
}

} // namespace

bool TargetSpec::isAArch64() const { return llvm::Triple(triple).isAArch64(); }

TargetSpec resolveTarget(const std::string &triple, const std::string &cpu) {
  initializeTargets();
  TargetSpec spec;
  std::string host = llvm::sys::getDefaultTargetTriple();
  spec.triple = llvm::Triple::normalize(triple.empty() ? host : triple);
  llvm::Triple parsed(spec.triple);
  if (!parsed.isX86() && !parsed.isAArch64())
    fail("unsupported --target '{}': bisc targets x86_64-linux-gnu and aarch64-linux-gnu", triple);
  if (parsed.getArch() == llvm::Triple::x86)
    fail("unsupported --target '{}': 32-bit x86 is not supported", triple);
  spec.isHost = parsed.getArch() == llvm::Triple(llvm::Triple::normalize(host)).getArch();
  spec.cpu = !cpu.empty() ? cpu : spec.isHost ? llvm::sys::getHostCPUName().str() : "generic";
  if (cpu.empty() && spec.isHost) spec.features = hostFeatures();
  // Check the CPU name now rather than let LLVM warn and fall back silently.
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(spec.triple, error);
  if (!target) fail("--target {}: {}", spec.triple, error);
  auto machine = std::unique_ptr<llvm::TargetMachine>(
      target->createTargetMachine(spec.triple, spec.cpu, spec.features, {}, std::nullopt));
  const llvm::MCSubtargetInfo *subtarget = machine->getMCSubtargetInfo();
  if (!subtarget->isCPUStringValid(spec.cpu)) fail("--mcpu '{}' is not a CPU of {}", spec.cpu, spec.triple);
  if (parsed.isAArch64()) spec.vectorWidth = 4;
  else if (subtarget->checkFeatures("+avx512f")) spec.vectorWidth = 16;
  else if (subtarget->checkFeatures("+avx2")) spec.vectorWidth = 8;
  else spec.vectorWidth = 4;
  return spec;
}

std::unique_ptr<llvm::TargetMachine> createTargetMachine(const TargetSpec &spec) {
  initializeTargets();
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(spec.triple, error);
  if (!target) fail("--target {}: {}", spec.triple, error);
  llvm::TargetOptions options;
  // Let a*b+c become one FMA: faster, and within the tolerance the tests hold.
  options.AllowFPOpFusion = llvm::FPOpFusion::Fast;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      spec.triple, spec.cpu, spec.features, options, llvm::Reloc::PIC_, llvm::CodeModel::Small,
      llvm::CodeGenOptLevel::Aggressive));
}

void optimizeModule(llvm::Module &module, llvm::TargetMachine &machine) {
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager cgscc;
  llvm::ModuleAnalysisManager modules;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassBuilder builder(&machine, tuning);
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(cgscc);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, cgscc, modules);
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(module, modules);
}

void emitFile(llvm::Module &module, llvm::TargetMachine &machine, const std::string &path, bool assembly) {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
  if (ec) fail("cannot write {}: {}", path, ec.message());
  llvm::legacy::PassManager passes;
  auto type = assembly ? llvm::CodeGenFileType::AssemblyFile : llvm::CodeGenFileType::ObjectFile;
  if (machine.addPassesToEmitFile(passes, out, nullptr, type))
    fail("LLVM cannot emit {} for {}", assembly ? "assembly" : "objects", machine.getTargetTriple().str());
  passes.run(module);
  out.flush();
}

} // namespace bisc
