//===- target.h - Target selection, optimisation and object emission -------===//
#pragma once

#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <memory>
#include <string>

namespace bisc {

struct TargetSpec {
  std::string triple;   ///< normalised, e.g. x86_64-unknown-linux-gnu
  std::string cpu;      ///< e.g. znver3, skylake-avx512, generic
  std::string features; ///< "+avx2,+fma,..." (host features when compiling for the host)
  int vectorWidth = 4;  ///< f32 lanes of the widest usable vector register
  bool isHost = false;
  bool isAArch64() const;
};

/// `triple` empty means the host; `cpu` empty means the host CPU (generic when cross).
TargetSpec resolveTarget(const std::string &triple, const std::string &cpu);

std::unique_ptr<llvm::TargetMachine> createTargetMachine(const TargetSpec &target);

/// Runs LLVM's O3 pipeline (vectorisers included) for the target.
void optimizeModule(llvm::Module &module, llvm::TargetMachine &machine);

/// Writes the module as an object file or assembly.
void emitFile(llvm::Module &module, llvm::TargetMachine &machine, const std::string &path, bool assembly);

} // namespace bisc
