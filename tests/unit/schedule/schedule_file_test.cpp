// Schedule files: the text round trip, and malformed files rejected with messages that name
// the file, the entry and what was expected.
#include "compiler/schedule/schedule_file.h"

#include "ir/error.h"

#include <doctest/doctest.h>

#include <string>

using namespace bisc;

namespace {

MachineModel avx512Machine() {
  MachineModel machine;
  machine.cpu = "testcpu";
  machine.vectorWidth = 16;
  machine.registers = 32;
  return machine;
}

ScheduleTable sampleTable() {
  ScheduleTable table;
  Schedule a = Schedule::forVectorWidth(16, true);
  a.channelBlock = 13, a.vectorBlock = 2, a.tileRows = 4, a.channelBlocksOuter = true;
  table["dense_conv x=1x64x32x64 w=128x64x3x3 stride=2x2 pads=1x1x1x1 dilation=1x1 cpu=testcpu"] = {a, 0.25, 0.5, 2};
  Schedule b = Schedule::forVectorWidth(16, true);
  b.channelBlock = 5, b.vectorBlock = 4, b.tileRows = 1;
  table["dense_conv x=1x128x8x16 w=19x128x1x1 stride=1x1 pads=0x0x0x0 dilation=1x1 cpu=testcpu"] = {b, 0.01, 0, 0};
  // An entry for another CPU is kept even though its block would not fit this target.
  Schedule c = Schedule::forVectorWidth(8, false);
  c.channelBlock = 20, c.vectorBlock = 1;
  table["dense_conv x=1x8x8x8 w=8x8x1x1 stride=1x1 pads=0x0x0x0 dilation=1x1 cpu=othercpu"] = {c, 0, 0, 0};
  return table;
}

/// The message of the error parsing `text` raises.
std::string parseError(const std::string &text) {
  try {
    parseScheduleText(text, "bad.json", avx512Machine());
  } catch (const Error &error) {
    return error.what();
  }
  FAIL("no error for: " << text);
  return "";
}

std::string withEntry(const std::string &entry) {
  return R"({"format": "bisc-schedules", "version": 1, "entries": [)" + entry + "]}";
}

const char *kGoodEntry = R"({"kernel": "dense_conv x=1x8x8x64 w=8x8x3x3 stride=1x1 pads=1x1x1x1 dilation=1x1 cpu=testcpu",
  "vector_width": 16, "channel_block": 6, "vector_block": 4, "tile_rows": 1, "loop_order": "rows_outer"})";

std::string replaced(std::string text, const std::string &from, const std::string &to) {
  size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("schedule file: write then read gives the same table, and the same text again") {
  ScheduleTable table = sampleTable();
  std::string text = scheduleFileText(table);
  ScheduleTable read = parseScheduleText(text, "round.json", avx512Machine());
  REQUIRE(read.size() == table.size());
  for (const auto &[kernel, tuned] : table) {
    REQUIRE(read.count(kernel) == 1);
    CHECK(read[kernel].schedule.channelBlock == tuned.schedule.channelBlock);
    CHECK(read[kernel].schedule.vectorBlock == tuned.schedule.vectorBlock);
    CHECK(read[kernel].schedule.tileRows == tuned.schedule.tileRows);
    CHECK(read[kernel].schedule.vectorWidth == tuned.schedule.vectorWidth);
    CHECK(read[kernel].schedule.channelBlocksOuter == tuned.schedule.channelBlocksOuter);
    CHECK(read[kernel].measuredMs == tuned.measuredMs);
    CHECK(read[kernel].defaultMs == tuned.defaultMs);
    CHECK(read[kernel].threads == tuned.threads);
  }
  CHECK(scheduleFileText(read) == text);
  CHECK(text.find(R"("loop_order": "channel_blocks_outer")") != std::string::npos);
}

TEST_CASE("schedule file: malformed files are rejected naming the file and the entry") {
  CHECK(parseScheduleText(withEntry(kGoodEntry), "ok.json", avx512Machine()).size() == 1);
  CHECK(parseError("{not json") == "schedule file bad.json: not valid JSON");
  CHECK(parseError(R"({"format": "other", "version": 1, "entries": []})").find("\"format\": \"bisc-schedules\"") !=
        std::string::npos);
  CHECK(parseError(R"({"format": "bisc-schedules", "version": 2, "entries": []})") ==
        "schedule file bad.json: unsupported version 2 (expected 1)");
  CHECK(parseError(R"({"format": "bisc-schedules", "version": 1})") ==
        "schedule file bad.json: expected an \"entries\" array");
  CHECK(parseError(withEntry("[1]")) == "schedule file bad.json: entry 0: expected an object, got [1]");
  CHECK(parseError(withEntry(R"({"vector_width": 16})")) == "schedule file bad.json: entry 0: missing field 'kernel'");

  std::string where = "schedule file bad.json: entry 0 ('dense_conv x=1x8x8x64 w=8x8x3x3 stride=1x1 pads=1x1x1x1 "
                      "dilation=1x1 cpu=testcpu'): ";
  CHECK(parseError(withEntry(replaced(kGoodEntry, R"("tile_rows": 1)", R"("tile_rows": "1")"))) ==
        where + "field 'tile_rows' must be a positive integer, got \"1\"");
  CHECK(parseError(withEntry(replaced(kGoodEntry, R"("channel_block": 6)", R"("channel_block": 0)"))) ==
        where + "field 'channel_block' must be a positive integer, got 0");
  CHECK(parseError(withEntry(replaced(kGoodEntry, R"(, "tile_rows": 1)", ""))) == where + "missing field 'tile_rows'");
  CHECK(parseError(withEntry(replaced(kGoodEntry, "rows_outer", "sideways"))) ==
        where + "loop_order 'sideways' must be rows_outer or channel_blocks_outer");
  CHECK(parseError(withEntry(replaced(kGoodEntry, R"("tile_rows")", R"("tile_row")"))) ==
        where + "unknown field 'tile_row'");
  CHECK(parseError(withEntry(replaced(kGoodEntry, R"("vector_width": 16)", R"("vector_width": 8)"))) ==
        where + "vector_width 8 is not the 16 f32 lanes of cpu testcpu");
  CHECK(parseError(withEntry(replaced(kGoodEntry, R"("channel_block": 6)", R"("channel_block": 7)"))) ==
        where + "block 7x4 needs 33 vector registers, cpu testcpu has 32");
  CHECK(parseError(withEntry(std::string(kGoodEntry) + "," + kGoodEntry)).ends_with("a second entry for the same kernel"));
  CHECK(parseError(withEntry(replaced(kGoodEntry, "dense_conv x", "conv x"))).find("kernel must be a signature") !=
        std::string::npos);
}

TEST_CASE("schedule file: a missing file is an error naming it") {
  CHECK_THROWS_WITH_AS(readScheduleFile("/nonexistent/dir/s.json", avx512Machine()),
                       "cannot read schedule file /nonexistent/dir/s.json", Error);
}
