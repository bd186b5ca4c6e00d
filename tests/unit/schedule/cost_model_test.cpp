// The analytic cost model on fixed machine models (so the choices do not depend on the
// machine running the test): register limits, the default always a candidate, and the
// choices for representative BiSeNet convs as golden text.
#include "compiler/schedule/cost_model.h"

#include "ir/parser.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

using namespace bisc;

namespace {

// What the model picks on a fixed AVX-512 (32 registers) and AVX2 (16) core with 48 KiB L1
// and 2 MiB L2; a change here is a change of the model, to be measured (docs/schedules.md).
const std::string GOLDEN_CHOICES =
    "16 lanes, 19-class head 1x1, 32-wide rows: parallel=48 tile_rows=1 vector=16 block=7x2\n"
    "16 lanes, head 1x1 at 1/8: parallel=64 tile_rows=1 vector=16 block=19x1\n"
    "16 lanes, stem 3x3 stride 2: parallel=768 tile_rows=1 vector=16 block=22x1\n"
    "16 lanes, 7x7 stride 2 stem: parallel=768 tile_rows=1 vector=16 block=22x1\n"
    "16 lanes, 3x3 stride 2 at 1/16: parallel=74 tile_rows=8 vector=16 block=14x2\n"
    "16 lanes, 3x3 at 1/32, narrow rows: parallel=592 tile_rows=1 vector=16 block=14x2 order=channel_blocks_outer\n"
    "16 lanes, 1x1 stride 2 shortcut: parallel=320 tile_rows=1 vector=16 block=26x1\n"
    "8 lanes, 19-class head 1x1, 32-wide rows: parallel=64 tile_rows=1 vector=8 block=5x2\n"
    "8 lanes, head 1x1 at 1/8: parallel=256 tile_rows=1 vector=8 block=5x2\n"
    "8 lanes, stem 3x3 stride 2: parallel=1280 tile_rows=1 vector=8 block=13x1\n"
    "8 lanes, 7x7 stride 2 stem: parallel=2816 tile_rows=1 vector=8 block=6x2\n"
    "8 lanes, 3x3 stride 2 at 1/16: parallel=80 tile_rows=8 vector=8 block=13x1\n"
    "8 lanes, 3x3 at 1/32, narrow rows: parallel=1376 tile_rows=1 vector=8 block=6x2 order=channel_blocks_outer\n"
    "8 lanes, 1x1 stride 2 shortcut: parallel=640 tile_rows=1 vector=8 block=13x1\n";

MachineModel machine(int64_t lanes, int64_t registers) {
  MachineModel m;
  m.cpu = "testcpu";
  m.vectorWidth = lanes;
  m.registers = registers;
  m.l1Bytes = 48 * 1024;
  m.l2Bytes = 2 * 1024 * 1024;
  return m;
}

ConvKernel conv(const std::string &input, const std::string &weight, const std::string &attrs) {
  std::string text = fmt::format(R"(graph @g(%x: f32[{}]) {{
    weight @w : f32[{}]
    %y = conv2d(%x, @w) {{{}}}
    return y = %y }})", input, weight, attrs);
  auto graph = parseGraph(text, "cost.bir");
  return convKernel(*graph->find("y")->producer);
}

struct NamedConv {
  const char *what;
  ConvKernel conv;
};

std::vector<NamedConv> bisenetConvs() {
  return {
      {"19-class head 1x1, 32-wide rows", conv("1,128,16,32", "19,128,1,1", "groups=1")},
      {"head 1x1 at 1/8", conv("1,1024,64,128", "19,1024,1,1", "groups=1")},
      {"stem 3x3 stride 2", conv("1,3,512,1024", "64,3,3,3", "stride=[2,2], pads=[1,1,1,1]")},
      {"7x7 stride 2 stem", conv("1,3,512,1024", "64,3,7,7", "stride=[2,2], pads=[3,3,3,3]")},
      {"3x3 stride 2 at 1/16", conv("1,256,32,64", "512,256,3,3", "stride=[2,2], pads=[1,1,1,1]")},
      {"3x3 at 1/32, narrow rows", conv("1,512,16,32", "512,512,3,3", "pads=[1,1,1,1]")},
      {"1x1 stride 2 shortcut", conv("1,64,128,256", "128,64,1,1", "stride=[2,2]")},
  };
}

} // namespace

TEST_CASE("schedule cost model: candidates fit the registers and start with the default") {
  for (MachineModel m : {machine(16, 32), machine(8, 16), machine(4, 32)}) {
    Schedule defaults = Schedule::forVectorWidth(m.vectorWidth, m.registers >= 32);
    for (const NamedConv &named : bisenetConvs()) {
      INFO(named.what << " with " << m.vectorWidth << " lanes");
      std::vector<Schedule> candidates = enumerateSchedules(named.conv, m, defaults);
      REQUIRE(!candidates.empty());
      CHECK(candidates.front() == effectiveSchedule(named.conv, defaults));
      for (const Schedule &s : candidates) {
        if (s == candidates.front()) continue;
        CHECK(registersNeeded(named.conv, s.channelBlock, s.vectorBlock) <= m.registers);
        CHECK(!checkSchedule(named.conv, s, m));
        CHECK(s.vectorBlock * s.vectorWidth <= std::max(named.conv.ow, s.vectorWidth));
      }
      Schedule chosen = chooseSchedule(named.conv, m, defaults);
      CHECK(estimateCycles(named.conv, chosen, m) <= estimateCycles(named.conv, candidates.front(), m));
    }
  }
}

TEST_CASE("schedule cost model: narrow rows and the 19-class head use the registers the default leaves idle") {
  MachineModel m = machine(16, 32);
  Schedule defaults = Schedule::forVectorWidth(16, true);
  ConvKernel head = bisenetConvs()[0].conv;
  Schedule fallback = effectiveSchedule(head, defaults);
  Schedule chosen = chooseSchedule(head, m, defaults);
  CHECK(fallback.channelBlock * fallback.vectorBlock == 12);
  CHECK(chosen.channelBlock * chosen.vectorBlock > 12);
  // Channel blocks that cover 19 with little waste in the last block.
  int64_t blocks = (19 + chosen.channelBlock - 1) / chosen.channelBlock;
  CHECK(blocks * chosen.channelBlock - 19 < chosen.channelBlock / 2 + 1);
}

TEST_CASE("schedule cost model: choices for BiSeNet convs (golden)") {
  std::string text;
  for (MachineModel m : {machine(16, 32), machine(8, 16)}) {
    Schedule defaults = Schedule::forVectorWidth(m.vectorWidth, m.registers >= 32);
    for (const NamedConv &named : bisenetConvs())
      text += fmt::format("{} lanes, {}: {}\n", m.vectorWidth, named.what, chooseSchedule(named.conv, m, defaults).describe());
  }
  MESSAGE(text);
  CHECK(text == GOLDEN_CHOICES);
}

TEST_CASE("schedule machine model: cache sizes from a sysfs cache directory") {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(BISC_BINARY_DIR) / "test-out" / "schedule" / "cache";
  fs::remove_all(dir);
  auto level = [&](const char *index, const char *lvl, const char *type, const char *size) {
    fs::create_directories(dir / index);
    std::ofstream(dir / index / "level") << lvl << "\n";
    std::ofstream(dir / index / "type") << type << "\n";
    std::ofstream(dir / index / "size") << size << "\n";
  };
  level("index0", "1", "Data", "48K");
  level("index1", "1", "Instruction", "32K");
  level("index2", "2", "Unified", "2048K");
  level("index3", "3", "Unified", "300M");
  MachineModel m;
  readCacheSizes(dir.string(), m);
  CHECK(m.l1Bytes == 48 * 1024);
  CHECK(m.l2Bytes == 2048 * 1024);
}
