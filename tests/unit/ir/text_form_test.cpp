// Text form: printer and parser round-trip, and parse errors name the line.
#include "ir/error.h"
#include "ir/parser.h"
#include "ir/printer.h"

#include <doctest/doctest.h>

using namespace bisc;

namespace {

const char *kSmallGraph = R"(graph @small(%input: f32[1,3,8,16]) {
  weight @conv.weight : f32[4,3,3,3]
  weight @conv.bias : f32[4]
  weight @bn.weight : f32[4]
  weight @bn.bias : f32[4]
  weight @bn.running_mean : f32[4]
  weight @bn.running_var : f32[4]
  %conv = conv2d(%input, @conv.weight, @conv.bias) {stride=[2,2], pads=[1,1,1,1]} : f32[1,4,4,8]
  %bn = batch_norm(%conv, @bn.weight, @bn.bias, @bn.running_mean, @bn.running_var) : f32[1,4,4,8]
  %relu = relu(%bn) : f32[1,4,4,8]
  %pool = max_pool(%relu) {kernel=[3,3], stride=[2,2], pads=[1,1,1,1]} : f32[1,4,2,4]
  %gap = global_avg_pool(%pool) : f32[1,4,1,1]
  %gate = sigmoid(%gap) : f32[1,4,1,1]
  %mul = mul(%pool, %gate) : f32[1,4,2,4]
  %up = resize(%mul, %relu) {mode="bilinear", align_corners=true} : f32[1,4,4,8]
  %cat = concat(%up, %relu) : f32[1,8,4,8]
  %up2 = resize(%cat) {scale=[2.0,2.0]} : f32[1,8,8,16]
  %labels = argmax(%up2) : i32[1,8,16]
  return logits = %up2, labels = %labels, aux = %gap [training_only]
}
)";

} // namespace

TEST_CASE("text form: print(parse(text)) reproduces the text") {
  auto graph = parseGraph(kSmallGraph, "small.bir");
  CHECK(printGraph(*graph) == kSmallGraph);
  auto again = parseGraph(printGraph(*graph));
  CHECK(printGraph(*again) == kSmallGraph);
}

TEST_CASE("text form: arena offsets round-trip") {
  const char *text = R"(graph @g(%x: f32[1,2,4,4]) {
  %a = relu(%x) : f32[1,2,4,4] at 0
  %b = sigmoid(%a) : f32[1,2,4,4] at 128
  return y = %b
}
)";
  auto graph = parseGraph(text);
  CHECK(graph->find("b")->arenaOffset == 128);
  CHECK(printGraph(*graph) == text);
}

TEST_CASE("text form: result types may be omitted and are inferred") {
  auto graph = parseGraph(R"(graph @g(%x: f32[2,3,5,7]) {
    %p = avg_pool(%x) {kernel=[3,3], stride=[2,2], pads=[1,1,1,1], ceil_mode=true}
    return out = %p
  })");
  CHECK(toString(graph->find("p")->type) == "f32[2,3,3,4]");
}

TEST_CASE("text form: errors name the source, line and reason") {
  auto errorOf = [](const char *text) -> std::string {
    try {
      parseGraph(text, "bad.bir");
    } catch (const Error &e) {
      return e.what();
    }
    return "";
  };
  CHECK(errorOf("graph @g(%x: f32[1,3,4,4]) {\n  %y = conv3d(%x)\n  return y = %y\n}")
            .starts_with("bad.bir:2:"));
  CHECK(errorOf("graph @g(%x: f32[1,3,4,4]) {\n  %y = conv3d(%x)\n  return y = %y\n}")
            .find("unknown op 'conv3d'") != std::string::npos);
  CHECK(errorOf("graph @g(%x: f32[1,3,4,4]) {\n  %y = relu(%z)\n  return y = %y\n}")
            .find("undefined value %z") != std::string::npos);
  CHECK(errorOf("graph @g(%x: f32[1,3,4,4]) {\n  %y = relu(%x) : f32[1,3,4,5]\n  return y = %y\n}")
            .find("annotated f32[1,3,4,5] but its op rule gives f32[1,3,4,4]") != std::string::npos);
  CHECK(errorOf("graph @g(%x: f32[1,3,4,4]) {\n  %y = relu(%x) {eps=1.0}\n  return y = %y\n}")
            .find("op relu has no attribute 'eps'") != std::string::npos);
  CHECK(errorOf("graph @g(%x: f32[1,3,4,4]) {\n  %x = relu(%x)\n  return y = %x\n}")
            .find("duplicate name 'x'") != std::string::npos);
  CHECK(errorOf("graph @g(%x: f32[1,3,4,4]) {\n  %y = relu(%x)\n}")
            .find("expected 'weight', a node") != std::string::npos);
}
