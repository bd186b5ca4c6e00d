//===- machine_model.cpp - What the cost model knows about a target ---------===//
#include "compiler/schedule/machine_model.h"

#include <filesystem>
#include <fstream>

namespace bisc {

namespace {

std::string firstLine(const std::filesystem::path &file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

/// "48K", "2048K", "1M" -> bytes; 0 if unreadable.
int64_t parseSize(const std::string &text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return 0;
  int64_t value = std::stoll(text.substr(0, digits));
  char unit = digits < text.size() ? text[digits] : ' ';
  if (unit == 'K') return value * 1024;
  if (unit == 'M') return value * 1024 * 1024;
  return value;
}

} // namespace

void readCacheSizes(const std::string &cacheDir, MachineModel &model) {
  namespace fs = std::filesystem;
  std::error_code error;
  for (const fs::directory_entry &entry : fs::directory_iterator(cacheDir, error)) {
    if (!entry.path().filename().string().starts_with("index")) continue;
    std::string level = firstLine(entry.path() / "level"), type = firstLine(entry.path() / "type");
    int64_t bytes = parseSize(firstLine(entry.path() / "size"));
    if (bytes <= 0) continue;
    if (level == "1" && type == "Data") model.l1Bytes = bytes;
    if (level == "2" && (type == "Unified" || type == "Data")) model.l2Bytes = bytes;
  }
}

MachineModel machineModel(const TargetSpec &target) {
  MachineModel model;
  model.cpu = target.cpu;
  model.vectorWidth = target.vectorWidth;
  bool manyRegisters = target.isAArch64() || target.vectorWidth >= 16;
  model.registers = manyRegisters ? 32 : 16;
  // Defaults for other targets: a typical core of the class (Neoverse/Cortex-A7x, or x86).
  model.l1Bytes = target.isAArch64() ? 64 * 1024 : 32 * 1024;
  model.l2Bytes = target.isAArch64() ? 1024 * 1024 : (target.vectorWidth >= 16 ? 1024 * 1024 : 512 * 1024);
  if (target.isHost) readCacheSizes("/sys/devices/system/cpu/cpu0/cache", model);
  return model;
}

} // namespace bisc
