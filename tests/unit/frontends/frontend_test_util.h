//===- frontend_test_util.h - Files on disk and error capture for frontend tests -===//
#pragma once

#include "ir/error.h"
#include "tests/support/text_checks.h"

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <unistd.h>

namespace bisc::test {

/// A fresh directory under the system temp dir, removed with its files when the test ends.
/// Named by process id and a counter, so tests running in parallel never share files.
class TempDir {
public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("bisc-frontend-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  /// Writes `bytes` to `name` in this directory and returns its path.
  std::string write(const std::string &name, const std::string &bytes) const {
    std::string path = file(name);
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    REQUIRE(out.good());
    return path;
  }
  std::string file(const std::string &name) const { return (path_ / name).string(); }

private:
  std::filesystem::path path_;
};

/// The message of the bisc::Error `body` throws; fails the test if it throws nothing or
/// anything else.
inline std::string errorOf(const std::function<void()> &body) {
  try {
    body();
  } catch (const Error &e) {
    return e.what();
  } catch (const std::exception &e) {
    FAIL("expected bisc::Error, got another exception: " << e.what());
  } catch (...) {
    FAIL("expected bisc::Error, got a non-standard exception");
  }
  FAIL("expected bisc::Error, nothing was thrown");
  return "";
}

} // namespace bisc::test
