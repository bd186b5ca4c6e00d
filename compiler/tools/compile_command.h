//===- compile_command.h - `bisc compile`: a model to a native library ----===//
#pragma once

namespace bisc {

/// The usage lines of `bisc compile`.
extern const char *const kCompileUsage;

/// `bisc compile MODEL ...` (argv[1] is "compile"). Returns the exit code; throws
/// cli::UsageError for a bad command line and bisc::Error for bad input.
int compileCommand(int argc, char **argv);

} // namespace bisc
