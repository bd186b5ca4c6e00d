//===- stopwatch.h - Wall time of consecutive phases -----------------------===//
//
// `bisc compile --stats` reports the time of each phase (load, passes, lower, optimise,
// emit, link); both the driver and compileGraph() time theirs with lap().
#pragma once

#include <chrono>

namespace bisc {

class Stopwatch {
public:
  /// Seconds since construction or the previous lap().
  double lap() {
    auto now = std::chrono::steady_clock::now();
    double seconds = std::chrono::duration<double>(now - start_).count();
    start_ = now;
    return seconds;
  }

private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

} // namespace bisc
