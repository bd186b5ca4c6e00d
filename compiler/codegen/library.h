//===- library.h - Header generation and linking with the runtime -----------===//
#pragma once

#include "compiler/codegen/compile.h"
#include "compiler/codegen/target.h"
#include "ir/types.h"

#include <string>

namespace bisc {

/// The public C header of a generated library (from runtime/model.h.in).
std::string generateHeader(const std::string &name, const std::string &modelName, const TensorType &input,
                           const TensorType &logits);

/// Compiles the runtime for `target` with the system C compiler (cc, or the aarch64 cross
/// compiler) and links it with `objectPath` into lib<name>.so or lib<name>.a in `dir`.
/// Returns the library path.
std::string linkLibrary(const std::string &objectPath, const std::string &headerPath, const std::string &name,
                        const std::string &dir, LibraryKind kind, const TargetSpec &target);

} // namespace bisc
