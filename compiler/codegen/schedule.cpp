//===- schedule.cpp - How a kernel's loops are arranged ---------------------===//
#include "compiler/codegen/schedule.h"

#include <fmt/format.h>

namespace bisc {

std::string Schedule::describe() const {
  return fmt::format("parallel={} tile_rows={} vector={}", parallelCount, tileRows, vectorWidth);
}

} // namespace bisc
