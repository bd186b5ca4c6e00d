//===- compile.cpp - From a scheduled graph to a native library -------------===//
//
//   resolve target -> build module -> optimise (O3) -> emit object -> header -> link
#include "compiler/codegen/compile.h"

#include "compiler/codegen/library.h"
#include "compiler/codegen/module_builder.h"
#include "compiler/codegen/stopwatch.h"
#include "ir/error.h"

#include <llvm/Support/raw_ostream.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>

namespace bisc {

namespace {

void checkName(const std::string &name) {
  bool ok = !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char c : name) ok &= std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  if (!ok) fail("--name '{}' must be a C identifier (letters, digits, _)", name);
}

void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out) fail("cannot write {}", path);
}

} // namespace

CompileStats compileGraph(const Graph &graph, const CompileOptions &options) {
  namespace fs = std::filesystem;
  checkName(options.name);
  std::error_code error;
  fs::create_directories(options.outputDir, error);
  if (error || !fs::is_directory(options.outputDir))
    fail("cannot create the output directory '{}': {}", options.outputDir,
         error ? error.message() : "a file of that name exists");
  fs::path dir(options.outputDir);
  CompileStats stats;
  TargetSpec target = resolveTarget(options.triple, options.cpu);
  stats.triple = target.triple;
  stats.cpu = target.cpu;
  Stopwatch clock;

  llvm::LLVMContext context;
  BuiltModule built = buildModule(graph, context, options.name, target, !options.weightsFile, options.schedules);
  auto machine = createTargetMachine(target);
  built.module->setTargetTriple(target.triple);
  built.module->setDataLayout(machine->createDataLayout());
  stats.kernels = built.kernels;
  stats.labels = built.labels;
  stats.arenaBytes = built.arenaBytes;
  stats.weightBytes = int64_t(built.weights.size());
  stats.buildSeconds = clock.lap();
  optimizeModule(*built.module, *machine);
  stats.optimizeSeconds = clock.lap();

  auto output = [&](const std::string &file) {
    stats.files.push_back((dir / file).string());
    return (dir / file).string();
  };
  if (options.weightsFile) writeBytes(output(options.name + ".weights"), built.weights);
  switch (options.emit) {
  case EmitKind::LLVM: {
    std::string text;
    llvm::raw_string_ostream stream(text);
    built.module->print(stream, nullptr);
    writeBytes(output(options.name + ".ll"), text);
    stats.emitSeconds = clock.lap();
    return stats;
  }
  case EmitKind::Asm:
  case EmitKind::Object: {
    bool assembly = options.emit == EmitKind::Asm;
    emitFile(*built.module, *machine, output(options.name + (assembly ? ".s" : ".o")), assembly);
    stats.emitSeconds = clock.lap();
    return stats;
  }
  case EmitKind::Library: break;
  }
  std::string object = (dir / (options.name + ".kernels.o")).string();
  emitFile(*built.module, *machine, object, false);
  stats.codeBytes = int64_t(fs::file_size(object)) - (options.weightsFile ? 0 : stats.weightBytes);
  stats.emitSeconds = clock.lap();
  std::string header = output(options.name + ".h");
  writeBytes(header, generateHeader(options.name, graph.name(), built.input, built.output));
  stats.files.push_back(linkLibrary(object, fs::absolute(header).string(), options.name, options.outputDir,
                                    options.library, target));
  fs::remove(object);
  stats.linkSeconds = clock.lap();
  return stats;
}

} // namespace bisc
