// run_labels against the interpreter's arg-max, with the arg-max fused into a final resize
// (emit_labels.cpp) and with the separate labels kernel; and the row-band resize kernel.
#include "compiled_model.h"

#include "ir/interpreter/interpreter.h"
#include "ir/parser.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace bisc;
using namespace bisc::testing;

namespace {

/// How run_labels' labels differ from the arg-max (first maximum) of reference logits.
struct LabelMismatches {
  int64_t pixels = 0;
  int64_t nearTies = 0; ///< the label's logit is within float noise of the maximum
  int64_t wrong = 0;    ///< anything else
};

LabelMismatches compareLabels(const std::vector<uint8_t> &labels, const Tensor &logits) {
  const Shape &shape = logits.type().shape;
  int64_t classes = shape[1], plane = shape[2] * shape[3];
  auto values = logits.f32();
  float scale = 0;
  for (float v : values) scale = std::max(scale, std::fabs(v));
  LabelMismatches result;
  result.pixels = shape[0] * plane;
  REQUIRE(int64_t(labels.size()) == result.pixels);
  for (int64_t pixel = 0; pixel < result.pixels; ++pixel) {
    auto at = [&](int64_t c) { return values[size_t((pixel / plane * classes + c) * plane + pixel % plane)]; };
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (at(c) > at(best)) best = c;
    int64_t label = labels[size_t(pixel)];
    if (label == best) continue;
    bool nearTie = label < classes && std::fabs(at(label) - at(best)) <= 1e-5f * scale;
    ++(nearTie ? result.nearTies : result.wrong);
  }
  return result;
}

/// Compiles `text` with 1 and 2 threads; checks run_labels against the interpreter's logits
/// (up to float noise) and exactly against the arg-max of the library's own logits. Returns
/// the family of run_labels' last kernel.
std::string checkLabels(const std::string &name, const std::string &text) {
  auto graph = parseGraph(text, name + ".bir");
  fillWeightsForTest(*graph, 5);
  Tensor input = testInput(graph->inputs()[0]->type.shape, 6);
  Tensor expected = interpret(*graph, std::span<const Tensor>(&input, 1))[0];
  std::string family;
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    CompiledModel model(*graph, name + "_t" + std::to_string(threads), threads);
    std::vector<uint8_t> labels = model.runLabels(input);
    LabelMismatches vsInterpreter = compareLabels(labels, expected);
    CHECK(vsInterpreter.wrong == 0);
    CHECK(vsInterpreter.nearTies * 1000 <= vsInterpreter.pixels);
    // Same floats and the same first-maximum rule as the labels kernel over run()'s logits.
    LabelMismatches vsLogits = compareLabels(labels, model.run(input));
    CHECK(vsLogits.wrong + vsLogits.nearTies == 0);
    family = model.stats().labels.family;
  }
  return family;
}

} // namespace

TEST_CASE("codegen: run_labels fuses the arg-max into a final bilinear resize") {
  CHECK(checkLabels("labels_fused_bilinear", R"(graph @g(%x: f32[1,4,9,13]) {
    weight @w : f32[19,4,3,3]
    %c = conv2d(%x, @w) {pads=[1,1,1,1]}
    %y = resize(%c) {mode="bilinear", scale=[8.0,8.0]}
    return y = %y })") == "resize_labels");
  // Two images, align_corners, an output width that is no multiple of the vector width.
  CHECK(checkLabels("labels_fused_corners", R"(graph @g(%x: f32[2,3,5,7]) {
    weight @w : f32[6,3,1,1]
    %c = conv2d(%x, @w)
    %y = resize(%c) {mode="bilinear", align_corners=true, scale=[3.0,3.0]}
    return y = %y })") == "resize_labels");
  // 64 channels x 2 rows x 1100 floats: too much stack for a row cache per channel.
  CHECK(checkLabels("labels_fused_shared_cache", R"(graph @g(%x: f32[1,3,2,275]) {
    weight @w : f32[64,3,1,1]
    %c = conv2d(%x, @w)
    %y = resize(%c) {mode="bilinear", scale=[4.0,4.0]}
    return y = %y })") == "resize_labels");
}

TEST_CASE("codegen: run_labels fused into nearest resize keeps the first of tied classes") {
  // Channels c and c + 3 are equal everywhere: exact ties, which the first must win.
  CHECK(checkLabels("labels_fused_ties", R"(graph @g(%x: f32[1,3,6,10]) {
    weight @w : f32[3,3,1,1]
    %c = conv2d(%x, @w)
    %d = concat(%c, %c)
    %y = resize(%d) {scale=[4.0,4.0]}
    return y = %y })") == "resize_labels");
}

TEST_CASE("codegen: run_labels after a last node that is not a resize uses the labels kernel") {
  CHECK(checkLabels("labels_after_conv", R"(graph @g(%x: f32[1,3,12,20]) {
    weight @w : f32[7,3,3,3]
    %r = resize(%x) {mode="bilinear", scale=[2.0,2.0]}
    %y = conv2d(%r, @w) {pads=[1,1,1,1]}
    return y = %y })") == "labels");
}

TEST_CASE("codegen: resize in row bands, vectorised, at 1 and 2 threads") {
  // 32 x 8192 outputs: several bands per plane; 15 x 111: a scalar tail on every row.
  for (const char *text : {R"(graph @g(%x: f32[1,2,4,1024]) {
    %y = resize(%x) {mode="bilinear", scale=[8.0,8.0]}
    return y = %y })", R"(graph @g(%x: f32[1,3,5,37]) {
    %a = resize(%x) {mode="bilinear", scale=[3.0,3.0]}
    %b = resize(%x) {scale=[3.0,3.0]}
    %y = concat(%a, %b)
    return y = %y })"}) {
    for (const ThreadedRun &run : compileWithThreads("resize_bands", text, 8, 9)) {
      CAPTURE(run.threads);
      CHECK(run.error < 1e-6);
    }
  }
}
