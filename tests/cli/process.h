//===- process.h - Running a tool as a child process for the CLI tests ----===//
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace bisc::test {

/// How a child process ended and what it wrote.
struct ProcessResult {
  bool exited = false;    ///< ended by exit(), not by a signal
  int exitCode = -1;      ///< valid when exited
  int signal = 0;         ///< the terminating signal when !exited
  std::string out, err;   ///< everything written to stdout and stderr
};

/// Runs `program` with `args` (argv[1..]) and waits for it (fork, execv, waitpid).
/// stdout and stderr are captured through files in `scratch`.
ProcessResult runProcess(const std::string &program, const std::vector<std::string> &args,
                         const std::filesystem::path &scratch);

/// A fresh directory under the system temp dir, removed when the test ends.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  const std::filesystem::path &path() const { return path_; }
  std::string file(const std::string &name) const { return (path_ / name).string(); }

private:
  std::filesystem::path path_;
};

std::string readText(const std::string &path);
void writeText(const std::string &path, const std::string &text);

} // namespace bisc::test
