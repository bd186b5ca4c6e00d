// Winograd F(4x4, 3x3) against the reference interpreter: heights and widths that are not
// multiples of the 4x4 tile, zero and asymmetric padding, channel counts off the register
// block, several input-channel chunks and channel blocks, batch 2, the fused epilogues and
// an output sharing its buffer with the residual; each with 1 and 2 threads, and each
// checked to have run through the Winograd kernel.
#include "compiled_model.h"

#include "compiler/codegen/emit_winograd.h"
#include "ir/interpreter/interpreter.h"
#include "ir/parser.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace bisc;
using namespace bisc::testing;

namespace {

constexpr double kTolerance = 1e-4; // x max |reference|

/// Compiles `text` for 1 and 2 threads; checks both against the interpreter and that the
/// conv ran as Winograd.
void checkWinograd(const std::string &name, const std::string &text) {
  for (const ThreadedRun &run : compileWithThreads(name, text, 7, 8)) {
    INFO(name, " with ", run.threads, " threads: max |diff| / max |ref| = ", run.error);
    CHECK(run.error <= kTolerance);
    CHECK(std::count(run.families.begin(), run.families.end(), "winograd_f4x4") > 0);
  }
}

} // namespace

TEST_CASE("codegen: winograd conv2d, odd sizes and padding") {
  // 9 rows (a partial tile row), 67 and 130 columns (a shifted last group), 19 and 17 output
  // channels (a partial register block).
  checkWinograd("wg_pad1", convGraph("1,16,9,67", "19,16,3,3", "pads=[1,1,1,1]"));
  checkWinograd("wg_batch2", convGraph("2,17,7,130", "17,17,3,3", "pads=[1,1,1,1]"));
  // pads [top, left, bottom, right]: 9 x 70 output from a 10 x 70 input.
  checkWinograd("wg_asym", convGraph("1,16,10,70", "16,16,3,3", "pads=[0,2,1,0]"));
  checkWinograd("wg_nopad", convGraph("1,16,6,66", "24,16,3,3", "pads=[0,0,0,0]"));
  // Three groups per row: the middle one reads no padding (the unmasked input and output paths).
  checkWinograd("wg_interior", convGraph("1,16,10,260", "16,16,3,3", "pads=[1,1,1,1]"));
}

TEST_CASE("codegen: winograd applies to dense 3x3 stride-1 convs with wide rows only") {
  Schedule defaults = Schedule::forVectorWidth(8, false);
  auto applies = [&](const std::string &x, const std::string &weight, const std::string &attrs) {
    auto graph = parseGraph(convGraph(x, weight, attrs), "wg_applies.bir");
    return winogradApplies(*graph->nodes().front(), defaults);
  };
  CHECK(applies("1,16,8,32", "16,16,3,3", "pads=[1,1,1,1]"));
  CHECK_FALSE(applies("1,16,8,31", "16,16,3,3", "pads=[0,0,0,0]"));                // 29 < 4 x 8 columns
  CHECK_FALSE(applies("1,16,8,64", "16,16,3,3", "stride=[2,2], pads=[1,1,1,1]"));
  CHECK_FALSE(applies("1,16,8,64", "16,16,3,3", "dilation=[2,2], pads=[2,2,2,2]"));
  CHECK_FALSE(applies("1,16,8,64", "16,16,5,5", "pads=[2,2,2,2]"));
  CHECK_FALSE(applies("1,16,8,64", "16,8,3,3", "groups=2, pads=[1,1,1,1]"));
  CHECK_FALSE(applies("1,8,8,64", "16,8,3,3", "pads=[1,1,1,1]"));                  // too few channels
}

TEST_CASE("codegen: winograd conv2d, several input-channel chunks and channel blocks") {
  // Enough channels that the stack budget splits both the input channels and the output
  // channel blocks on every vector width.
  // With AVX-512: the first keeps V of every input channel and runs both channel blocks in
  // one iteration; the second's V does not fit, so it is built in chunks per channel block.
  checkWinograd("wg_chunks", convGraph("1,300,5,64", "100,300,3,3", "pads=[1,1,1,1]"));
  checkWinograd("wg_chunks_big", convGraph("1,500,5,64", "100,500,3,3", "pads=[1,1,1,1]"));
}

TEST_CASE("codegen: winograd fused_conv epilogues") {
  checkWinograd("wg_relu", R"(graph @g(%x: f32[1,16,7,69]) {
    weight @w : f32[20,16,3,3]
    weight @b : f32[20]
    %y = fused_conv(%x, @w, @b) {pads=[1,1,1,1], activation="relu"}
    return y = %y })");
  checkWinograd("wg_before", R"(graph @g(%x: f32[2,16,6,65]) {
    weight @w0 : f32[16,16,1,1]
    weight @w : f32[16,16,3,3]
    weight @b : f32[16]
    %r = conv2d(%x, @w0)
    %y = fused_conv(%x, @w, @b, %r) {pads=[1,1,1,1], activation="relu", residual="before_act"}
    return y = %y })");
  checkWinograd("wg_after", R"(graph @g(%x: f32[1,16,5,130]) {
    weight @w : f32[16,16,3,3]
    weight @b : f32[16]
    %r = relu(%x)
    %y = fused_conv(%x, @w, @b, %r) {pads=[1,1,1,1], activation="relu", residual="after_act"}
    return y = %y })");
}

TEST_CASE("codegen: winograd finishes each column once when the output is the residual") {
  // OW = 70: the last group is shifted left over its predecessor's columns. %y shares %r's
  // buffer (arena offset 26880 = one tensor), so a column stored twice would add the
  // residual twice.
  checkWinograd("wg_inplace", R"(graph @g(%x: f32[1,16,6,70]) {
    weight @w1 : f32[16,16,3,3]
    weight @b1 : f32[16]
    weight @w2 : f32[16,16,3,3]
    weight @b2 : f32[16]
    weight @w3 : f32[16,16,1,1]
    %a = conv2d(%x, @w1, @b1) {pads=[1,1,1,1]} : f32[1,16,6,70] at 0
    %r = conv2d(%x, @w3, @b1) : f32[1,16,6,70] at 26880
    %y = fused_conv(%a, @w2, @b2, %r) {pads=[1,1,1,1], activation="relu", residual="after_act"} : f32[1,16,6,70] at 26880
    %z = relu(%y)
    return z = %z })");
}
