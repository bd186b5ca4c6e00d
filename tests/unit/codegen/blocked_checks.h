// Shared by the tests of the blocked NCHW{c}c kernels: a threaded run against the reference
// interpreter that also counts the kernel families (so nothing passes through an nchw
// fallback), and a graph that wraps a blocked body between reorders.
#pragma once

#include "compiled_model.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>

namespace bisc::testing {

/// Compiles `text` with 1 and 2 threads; checks it against the interpreter and the count of
/// every family in `families`.
inline void checkKernels(const std::string &name, const std::string &text,
                         const std::map<std::string, int> &families, uint32_t weightSeed = 11,
                         uint32_t inputSeed = 5) {
  for (const ThreadedRun &run : compileWithThreads(name, text, weightSeed, inputSeed)) {
    INFO(name << " threads=" << run.threads << " error=" << run.error);
    CHECK(run.error < 1e-5);
    for (const auto &[family, count] : families)
      CHECK_MESSAGE(std::count(run.families.begin(), run.families.end(), family) == count, family);
  }
}

/// x -> `weights` -> reorder to nchw{c}c (%xb) -> `body` (which defines %y, blocked) -> reorder
/// to nchw.
inline std::string blockedGraph(int c, const std::string &input, const std::string &weights,
                                const std::string &body) {
  return fmt::format(R"(graph @g(%x: f32[{}]) {{
    {}
    %xb = reorder(%x) {{layout="nchw{}c"}}
    {}
    %out = reorder(%y) {{layout="nchw"}}
    return y = %out }})", input, weights, c, body);
}

inline std::string blockedGraph(int c, const std::string &input, const std::string &body) {
  return blockedGraph(c, input, "", body);
}

} // namespace bisc::testing
