//===- machine_model.h - What the cost model knows about a target -----------===//
//
// The few numbers the conv cost model and the schedule checks need: f32 lanes, vector
// registers, and the per-core L1d / L2 sizes. For the host they come from
// /sys/devices/system/cpu/cpu0/cache; for other targets from per-target defaults.
#pragma once

#include "compiler/codegen/target.h"

#include <cstdint>
#include <string>

namespace bisc {

struct MachineModel {
  std::string cpu;           ///< the target CPU, part of every kernel signature
  int64_t vectorWidth = 8;   ///< f32 lanes
  int64_t registers = 16;    ///< vector registers
  int64_t l1Bytes = 32 * 1024, l2Bytes = 1024 * 1024;  ///< per core, data
};

MachineModel machineModel(const TargetSpec &target);

/// Per-core L1d and L2 sizes read from a sysfs cache directory (cpu0/cache); fields it does
/// not find keep the values in `model`. Exposed for tests.
void readCacheSizes(const std::string &cacheDir, MachineModel &model);

} // namespace bisc
