// --random-weights (docs/random-weights.md): only the last BN of a residual branch gets the
// small gamma; the BN of a projection shortcut, which the same add sums, keeps an ordinary one.
#include "frontends/common/model_io.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace bisc;

namespace {

bool endsWith(const std::string &text, const std::string &suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Smallest and largest value of a weight.
std::pair<float, float> range(const Value &weight) {
  auto values = weight.data->f32();
  auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  return {*lo, *hi};
}

} // namespace

TEST_CASE("random weights: small gamma on residual branches, not on projection shortcuts") {
  auto graph = loadModel(std::string(BISC_SOURCE_DIR) + "/models/bisenetv1_resnet18.json");
  setInputShape(*graph, Shape{1, 3, 64, 128});
  fillRandomWeights(*graph, 1);
  int residual = 0, projection = 0;
  for (const Value *weight : graph->weights()) {
    const std::string &name = weight->name;
    if (name.find("cp.resnet.layer") == std::string::npos) continue;
    if (endsWith(name, ".bn2.weight")) {  // last BN of a BasicBlock's branch
      auto [lo, hi] = range(*weight);
      CHECK_MESSAGE((lo >= 0.05f && hi < 0.15f), name);
      ++residual;
    } else if (endsWith(name, ".downsample.1.weight")) {
      auto [lo, hi] = range(*weight);
      CHECK_MESSAGE((lo >= 0.5f && hi < 1.5f), name);
      ++projection;
    }
  }
  CHECK(residual == 8);
  CHECK(projection == 3);
}
