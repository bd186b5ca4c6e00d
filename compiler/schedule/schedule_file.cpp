//===- schedule_file.cpp - Tuned schedules saved for later compiles ---------===//
#include "compiler/schedule/schedule_file.h"

#include "ir/error.h"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <fstream>
#include <set>
#include <sstream>

namespace bisc {

namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr const char *kFormat = "bisc-schedules";
constexpr int kVersion = 1;

/// The CPU a signature was tuned for (its "cpu=" field), or "".
std::string signatureCpu(const std::string &kernel) {
  size_t at = kernel.rfind(" cpu=");
  return at == std::string::npos ? "" : kernel.substr(at + 5);
}

class EntryReader {
public:
  EntryReader(const Json &entry, std::string where) : entry_(entry), where_(std::move(where)) {}

  int64_t positive(const char *field) const {
    const Json &value = get(field);
    if (!value.is_number_integer() || value.get<int64_t>() < 1)
      fail("{}: field '{}' must be a positive integer, got {}", where_, field, value.dump());
    return value.get<int64_t>();
  }
  double milliseconds(const char *field) const {
    if (!entry_.contains(field)) return 0;
    const Json &value = entry_.at(field);
    if (!value.is_number() || value.get<double>() < 0)
      fail("{}: field '{}' must be a non-negative number, got {}", where_, field, value.dump());
    return value.get<double>();
  }
  std::string text(const char *field) const {
    const Json &value = get(field);
    if (!value.is_string()) fail("{}: field '{}' must be a string, got {}", where_, field, value.dump());
    return value.get<std::string>();
  }

private:
  const Json &get(const char *field) const {
    if (!entry_.contains(field)) fail("{}: missing field '{}'", where_, field);
    return entry_.at(field);
  }
  const Json &entry_;
  std::string where_;
};

const std::set<std::string> kFields = {"kernel",     "vector_width", "channel_block", "vector_block", "tile_rows",
                                       "loop_order", "dense_kernel", "measured_ms",   "default_ms", "threads"};

TunedSchedule readEntry(const Json &entry, const std::string &where, const MachineModel &machine) {
  for (const auto &[key, value] : entry.items())
    if (!kFields.count(key)) fail("{}: unknown field '{}'", where, key);
  EntryReader read(entry, where);
  TunedSchedule tuned;
  Schedule &s = tuned.schedule;
  s.vectorWidth = read.positive("vector_width");
  s.channelBlock = read.positive("channel_block");
  s.vectorBlock = read.positive("vector_block");
  s.tileRows = read.positive("tile_rows");
  std::string order = read.text("loop_order");
  if (order != "rows_outer" && order != "channel_blocks_outer")
    fail("{}: loop_order '{}' must be rows_outer or channel_blocks_outer", where, order);
  s.channelBlocksOuter = order == "channel_blocks_outer";
  std::string kernel = entry.contains("dense_kernel") ? read.text("dense_kernel") : "auto";
  if (kernel != "auto" && kernel != "microkernel")
    fail("{}: dense_kernel '{}' must be auto or microkernel", where, kernel);
  s.denseKernel = kernel == "microkernel" ? DenseKernel::Microkernel : DenseKernel::Auto;
  tuned.measuredMs = read.milliseconds("measured_ms");
  tuned.defaultMs = read.milliseconds("default_ms");
  tuned.threads = entry.contains("threads") ? int(read.positive("threads")) : 0;
  return tuned;
}

/// The target checks that need no conv: lanes, and registers for the block as written
/// (a narrow row may use less, but the file should not ask for what the target lacks).
void checkForTarget(const Schedule &s, const std::string &where, const MachineModel &machine) {
  if (s.vectorWidth != machine.vectorWidth)
    fail("{}: vector_width {} is not the {} f32 lanes of cpu {}", where, s.vectorWidth, machine.vectorWidth,
         machine.cpu);
  int64_t needed = s.channelBlock * s.vectorBlock + s.vectorBlock + 1;
  if (needed > machine.registers)
    fail("{}: block {}x{} needs {} vector registers, cpu {} has {}", where, s.channelBlock, s.vectorBlock, needed,
         machine.cpu, machine.registers);
}

} // namespace

ScheduleTable parseScheduleText(const std::string &text, const std::string &path, const MachineModel &machine) {
  Json root = Json::parse(text, nullptr, false);
  if (root.is_discarded()) fail("schedule file {}: not valid JSON", path);
  if (!root.is_object() || !root.contains("format") || root["format"] != kFormat)
    fail("schedule file {}: expected an object with \"format\": \"{}\"", path, kFormat);
  if (!root.contains("version") || root["version"] != kVersion)
    fail("schedule file {}: unsupported version {} (expected {})", path,
         root.contains("version") ? root["version"].dump() : "(missing)", kVersion);
  if (!root.contains("entries") || !root["entries"].is_array())
    fail("schedule file {}: expected an \"entries\" array", path);
  ScheduleTable table;
  size_t index = 0;
  for (const Json &entry : root["entries"]) {
    std::string where = fmt::format("schedule file {}: entry {}", path, index++);
    if (!entry.is_object()) fail("{}: expected an object, got {}", where, entry.dump());
    std::string kernel = EntryReader(entry, where).text("kernel");
    where += fmt::format(" ('{}')", kernel);
    if (!kernel.starts_with("dense_conv ") || signatureCpu(kernel).empty())
      fail("{}: kernel must be a signature like \"dense_conv x=... cpu=CPU\"", where);
    TunedSchedule tuned = readEntry(entry, where, machine);
    if (signatureCpu(kernel) == machine.cpu) checkForTarget(tuned.schedule, where, machine);
    if (!table.emplace(kernel, tuned).second) fail("{}: a second entry for the same kernel", where);
  }
  return table;
}

ScheduleTable readScheduleFile(const std::string &path, const MachineModel &machine) {
  std::ifstream in(path);
  if (!in) fail("cannot read schedule file {}", path);
  std::stringstream text;
  text << in.rdbuf();
  return parseScheduleText(text.str(), path, machine);
}

std::string scheduleFileText(const ScheduleTable &table) {
  OrderedJson entries = OrderedJson::array();
  for (const auto &[kernel, tuned] : table) {
    const Schedule &s = tuned.schedule;
    OrderedJson entry = {{"kernel", kernel},
                  {"vector_width", s.vectorWidth},
                  {"channel_block", s.channelBlock},
                  {"vector_block", s.vectorBlock},
                  {"tile_rows", s.tileRows},
                  {"loop_order", s.channelBlocksOuter ? "channel_blocks_outer" : "rows_outer"},
                  {"dense_kernel", s.denseKernel == DenseKernel::Microkernel ? "microkernel" : "auto"}};
    if (tuned.measuredMs > 0) entry["measured_ms"] = tuned.measuredMs;
    if (tuned.defaultMs > 0) entry["default_ms"] = tuned.defaultMs;
    if (tuned.threads > 0) entry["threads"] = tuned.threads;
    entries.push_back(entry);
  }
  OrderedJson root = {{"format", kFormat}, {"version", kVersion}, {"entries", entries}};
  return root.dump(2) + "\n";
}

void writeScheduleFile(const std::string &path, const ScheduleTable &table) {
  std::ofstream out(path);
  out << scheduleFileText(table);
  if (!out) fail("cannot write schedule file {}", path);
}

} // namespace bisc
