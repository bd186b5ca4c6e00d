// bisc compile's tuning flags. --autotune / --schedule / --no-cost-model: tuning writes a
// schedule file that a later compile reuses with the same choices and no timing; bad files and
// flags fail with messages naming the file and entry (exit 1) or the usage (exit 2), never a
// signal. blocked-layout without a block takes the target's vector lanes.
#include "process.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

using namespace bisc::test;

namespace {

const std::string kBisc = BISC_BIN;
const std::string kMini = std::string(BISC_SOURCE_DIR) + "/tests/data/mini_bisenet.json";

ProcessResult runBisc(const std::vector<std::string> &args, const TempDir &dir) {
  ProcessResult result = runProcess(kBisc, args, dir.path());
  INFO("stderr: " << result.err);
  REQUIRE_MESSAGE(result.exited, "killed by signal " << result.signal);
  return result;
}

std::vector<std::string> compileArgs(const TempDir &dir, const std::string &name, std::vector<std::string> more) {
  std::vector<std::string> args{"compile", kMini, "--random-weights", "3", "--name", name, "-o", dir.file(name)};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

/// The error of a run that must fail with exit status 1.
std::string failure(const ProcessResult &result) {
  CHECK(result.exitCode == 1);
  CHECK(result.out.empty());
  CHECK(result.err.starts_with("bisc: error: "));
  return result.err;
}

} // namespace

TEST_CASE("cli bisc compile --autotune writes a schedule file that --schedule reuses") {
  TempDir dir;
  std::string file = dir.file("mini.schedules.json");
  ProcessResult tuned = runBisc(compileArgs(dir, "tuned", {"--autotune", "--autotune-budget", "4", "--schedule", file}), dir);
  INFO("stderr: " << tuned.err);
  REQUIRE(tuned.exitCode == 0);
  CHECK(tuned.out.find("autotune: ") != std::string::npos);
  CHECK(tuned.out.find("wrote " + file) != std::string::npos);
  CHECK(std::filesystem::exists(dir.file("tuned/libtuned.so")));
  nlohmann::json written = nlohmann::json::parse(readText(file));
  CHECK(written["format"] == "bisc-schedules");
  REQUIRE(written["entries"].size() > 0);
  for (const auto &entry : written["entries"]) CHECK(entry["measured_ms"].get<double>() > 0);

  // Tuning again with the file times nothing and leaves it as it was.
  ProcessResult again = runBisc(compileArgs(dir, "again", {"--autotune", "--schedule", file}), dir);
  REQUIRE(again.exitCode == 0);
  CHECK(again.out.find(std::to_string(written["entries"].size()) + " reused from the file, 0 tuned") !=
        std::string::npos);
  CHECK(nlohmann::json::parse(readText(file)) == written);

  ProcessResult reused = runBisc(compileArgs(dir, "reused", {"--schedule", file, "--stats"}), dir);
  REQUIRE(reused.exitCode == 0);
  CHECK(reused.err.empty());
  CHECK(std::filesystem::exists(dir.file("reused/libreused.so")));
}

TEST_CASE("cli bisc compile --autotune without --schedule writes DIR/NAME.schedules.json") {
  TempDir dir;
  ProcessResult tuned = runBisc(compileArgs(dir, "m", {"--autotune", "--autotune-budget", "0"}), dir);
  REQUIRE(tuned.exitCode == 0);
  CHECK(std::filesystem::exists(dir.file("m/m.schedules.json")));
}

TEST_CASE("cli bisc compile --schedule with a bad file names the file and the entry") {
  TempDir dir;
  std::string file = dir.file("bad.json");
  writeText(file, "{\"format\": \"bisc-schedules\", \"version\": 1, \"entries\": [");
  std::string err = failure(runBisc(compileArgs(dir, "m", {"--schedule", file}), dir));
  CHECK(err.find("schedule file " + file + ": not valid JSON") != std::string::npos);

  writeText(file, R"({"format": "bisc-schedules", "version": 1, "entries": [{"kernel": "dense_conv x=1 cpu=x",
    "vector_width": 16, "channel_block": -3, "vector_block": 1, "tile_rows": 1, "loop_order": "rows_outer"}]})");
  err = failure(runBisc(compileArgs(dir, "m", {"--schedule", file}), dir));
  CHECK(err.find("schedule file " + file + ": entry 0 ('dense_conv x=1 cpu=x'): field 'channel_block' must be a "
                 "positive integer, got -3") != std::string::npos);

  err = failure(runBisc(compileArgs(dir, "m", {"--schedule", dir.file("missing.json")}), dir));
  CHECK(err.find("cannot read schedule file " + dir.file("missing.json")) != std::string::npos);
}

TEST_CASE("cli bisc compile schedule flags: usage errors and --help") {
  TempDir dir;
  for (const std::vector<std::string> &more : {std::vector<std::string>{"--autotune", "--autotune-budget", "soon"},
                                               std::vector<std::string>{"--autotune-budget", "5"},
                                               std::vector<std::string>{"--autotune", "--autotune-threads", "0"},
                                               std::vector<std::string>{"--autotune", "--target", "aarch64-linux-gnu"}}) {
    ProcessResult result = runBisc(compileArgs(dir, "m", more), dir);
    CHECK(result.exitCode == 2);
    CHECK(result.err.find("usage: bisc compile") != std::string::npos);
  }
  ProcessResult help = runBisc({"compile", "--help"}, dir);
  CHECK(help.exitCode == 0);
  for (const char *flag : {"--schedule FILE", "--autotune", "--autotune-budget", "--no-cost-model", "--autotune-threads", "docs/schedules.md"})
    CHECK(help.out.find(flag) != std::string::npos);
}

TEST_CASE("cli bisc compile gives blocked-layout the target's vector lanes unless told") {
  TempDir dir;
  auto layouts = [&](const std::string &target, const std::string &cpu, const std::string &pass) {
    ProcessResult result = runBisc(compileArgs(dir, "blocked", {"--target", target, "--mcpu", cpu, "--emit", "llvm",
                                                                "--passes=default," + pass,
                                                                "--print-ir-after=blocked-layout"}), dir);
    REQUIRE(result.exitCode == 0);
    return result.out;
  };
  std::string neon = layouts("aarch64-linux-gnu", "cortex-a72", "blocked-layout");
  CHECK(neon.find("nchw4c") != std::string::npos);
  CHECK(neon.find("nchw8c") == std::string::npos);
  std::string avx2 = layouts("x86_64-linux-gnu", "haswell", "blocked-layout{convs=pointwise+strided+other}");
  CHECK(avx2.find("nchw8c") != std::string::npos);
  CHECK(avx2.find("nchw16c") == std::string::npos);
  std::string told = layouts("x86_64-linux-gnu", "haswell", "blocked-layout{block=4}");
  CHECK(told.find("nchw4c") != std::string::npos);
  CHECK(told.find("nchw8c") == std::string::npos);
}
