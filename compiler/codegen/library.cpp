//===- library.cpp - Header generation and linking with the runtime ---------===//
//
// The runtime's C sources are embedded in bisc at build time (runtime_sources.cpp), so a
// compile needs only a C compiler, never the bisc source tree.
#include "compiler/codegen/library.h"

#include "compiler/codegen/runtime_sources.h"
#include "ir/error.h"

#include <fmt/format.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

namespace bisc {

namespace {

void replaceAll(std::string &text, const std::string &from, const std::string &to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

void writeText(const std::filesystem::path &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) fail("cannot write {}", path.string());
}

/// Runs a program without a shell; throws with the command line if it fails.
void run(const std::vector<std::string> &argv) {
  std::vector<char *> args;
  for (const std::string &arg : argv) args.push_back(const_cast<char *>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) fail("cannot start {}", argv[0]);
  if (pid == 0) {
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string line;
    for (const std::string &arg : argv) line += (line.empty() ? "" : " ") + arg;
    fail("command failed (exit {}): {}{}", WIFEXITED(status) ? WEXITSTATUS(status) : -1, line,
         WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (is the compiler installed?)" : "");
  }
}

std::string toolFor(const TargetSpec &target, const std::string &tool) {
  if (!target.isHost) return target.isAArch64() ? "aarch64-linux-gnu-" + tool : "x86_64-linux-gnu-" + tool;
  if (tool == "gcc") {
    const char *cc = std::getenv("CC");
    return cc && *cc ? cc : "cc";
  }
  return tool;
}

} // namespace

std::string generateHeader(const std::string &name, const std::string &modelName, const TensorType &input,
                           const TensorType &logits) {
  std::string text = kModelHeaderTemplate;
  std::string upper = name;
  for (char &c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
  replaceAll(text, "{{name}}", name);
  replaceAll(text, "{{NAME}}", upper);
  replaceAll(text, "{{model}}", modelName);
  const char *inKeys[] = {"{{in_n}}", "{{in_c}}", "{{in_h}}", "{{in_w}}"};
  for (int i = 0; i < 4; ++i) replaceAll(text, inKeys[i], std::to_string(input.shape[size_t(i)]));
  replaceAll(text, "{{classes}}", std::to_string(logits.shape[1]));
  replaceAll(text, "{{out_h}}", std::to_string(logits.shape[2]));
  replaceAll(text, "{{out_w}}", std::to_string(logits.shape[3]));
  return text;
}

std::string linkLibrary(const std::string &objectPath, const std::string &headerPath, const std::string &name,
                        const std::string &dir, LibraryKind kind, const TargetSpec &target) {
  namespace fs = std::filesystem;
  fs::path work = fs::path(dir) / (".bisc-" + name);
  fs::create_directories(work);
  writeText(work / "bisc_runtime.h", kRuntimeHeader);
  writeText(work / "thread_pool.c", kThreadPoolSource);
  writeText(work / "model_api.c", kModelApiSource);
  std::vector<std::string> objects{objectPath};
  for (const char *source : {"thread_pool", "model_api"}) {
    std::string object = (work / (std::string(source) + ".o")).string();
    run({toolFor(target, "gcc"), "-c", "-O2", "-fPIC", "-fvisibility=hidden", "-std=c11",
         "-D_POSIX_C_SOURCE=200809L", "-DBISC_NAME=" + name, "-DBISC_HEADER=\"" + headerPath + "\"",
         "-I" + work.string(), (work / (std::string(source) + ".c")).string(), "-o", object});
    objects.push_back(object);
  }
  std::string library = (fs::path(dir) / ("lib" + name + (kind == LibraryKind::Shared ? ".so" : ".a"))).string();
  fs::remove(library);
  std::vector<std::string> command;
  if (kind == LibraryKind::Shared)
    command = {toolFor(target, "gcc"), "-shared", "-Wl,-soname,lib" + name + ".so", "-o", library};
  else
    command = {toolFor(target, "ar"), "rcs", library};
  command.insert(command.end(), objects.begin(), objects.end());
  if (kind == LibraryKind::Shared) command.insert(command.end(), {"-lpthread", "-lm"});
  run(command);
  fs::remove_all(work);
  return library;
}

} // namespace bisc
