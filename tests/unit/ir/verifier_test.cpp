// The verifier reports every problem with the node's name and the reason.
#include "ir/error.h"
#include "ir/parser.h"
#include "ir/verifier.h"

#include <doctest/doctest.h>

using namespace bisc;

namespace {

std::string parseError(const std::string &body, const std::string &input = "f32[1,4,8,8]") {
  try {
    parseGraph("graph @g(%x: " + input + ") {\n" + body + "\n}");
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string &text, const std::string &part) {
  if (text.find(part) != std::string::npos) return true;
  MESSAGE("missing '" << part << "' in: " << text);
  return false;
}

} // namespace

TEST_CASE("verifier: shape mismatches name the node") {
  CHECK(contains(parseError("%p = max_pool(%x) {kernel=[2,2], stride=[2,2]}\n"
                            "%c = concat(%x, %p)\nreturn y = %c"),
                 "node %c (concat): input 1 is f32[1,4,4,4] but input 0 is f32[1,4,8,8]"));
  CHECK(contains(parseError("%p = max_pool(%x) {kernel=[2,2], stride=[2,2]}\n"
                            "%a = add(%x, %p)\nreturn y = %a"),
                 "node %a (add): shapes [1,4,8,8] and [1,4,4,4] do not broadcast"));
  CHECK(contains(parseError("weight @w : f32[8,3,3,3]\n%c = conv2d(%x, @w)\nreturn y = %c"),
                 "node %c (conv2d): input has 4 channels but weight [8,3,3,3] with groups=1 expects 3"));
  CHECK(contains(parseError("weight @w : f32[8,4,3,3]\nweight @b : f32[4]\n"
                            "%c = conv2d(%x, @w, @b)\nreturn y = %c"),
                 "bias must be f32[8]"));
}

TEST_CASE("verifier: arity, required attributes, types and ranges") {
  CHECK(contains(parseError("%r = relu(%x, %x)\nreturn y = %r"),
                 "node %r (relu): takes 1 operands, got 2"));
  CHECK(contains(parseError("%p = max_pool(%x) {stride=[2,2]}\nreturn y = %p"),
                 "node %p (max_pool): missing required attribute kernel"));
  CHECK(contains(parseError("%p = max_pool(%x) {kernel=[3,3], stride=[0,2]}\nreturn y = %p"),
                 "attribute stride must be >= 1"));
  CHECK(contains(parseError("%p = max_pool(%x) {kernel=[3,3], stride=[2,2], pads=[2,2,2,2]}\n"
                            "return y = %p"),
                 "pads [2,2,2,2] exceed half the kernel [3,3]"));
  CHECK(contains(parseError("%r = resize(%x)\nreturn y = %r"),
                 "needs exactly one of a 'like' input or a scale attribute"));
  CHECK(contains(parseError("%r = resize(%x) {mode=\"cubic\", scale=[2.0,2.0]}\nreturn y = %r"),
                 "attribute mode must be \"nearest\" or \"bilinear\""));
  CHECK(contains(parseError("%d = dropout(%x) {p=1.5}\nreturn y = %d"), "attribute p must be in [0, 1)"));
  CHECK(contains(parseError("%s = softmax(%x) {axis=4}\nreturn y = %s"), "axis 4 is out of range"));
}

TEST_CASE("verifier: every problem is reported, dependents are not re-reported") {
  std::string text = parseError("%a = relu(%x, %x)\n%b = sigmoid(%a)\n"
                                "%c = max_pool(%x) {stride=[1,1]}\nreturn y = %b, z = %c");
  CHECK(contains(text, "node %a (relu)"));
  CHECK(contains(text, "node %c (max_pool)"));
  CHECK(text.find("node %b") == std::string::npos);
}

TEST_CASE("verifier: dangling values and cycles") {
  Graph graph("g");
  Value *x = graph.addInput("x", {DType::f32, {1, 2, 4, 4}});
  Node *a = graph.addNode(OpId::relu, "a", {x});
  Node *b = graph.addNode(OpId::sigmoid, "b", {a->result});
  a->inputs[0] = b->result; // a now reads its own consumer: a cycle
  graph.addOutput("y", b->result);
  auto problems = verify(graph);
  REQUIRE(problems.size() == 1);
  CHECK(contains(problems[0], "node %a (relu): operand x (%b) is not defined before this node"));
}

TEST_CASE("shape inference: re-derived for another input shape") {
  auto graph = parseGraph(R"(graph @g(%x: f32[1,3,64,128]) {
    weight @w : f32[8,3,3,3]
    %c = conv2d(%x, @w) {stride=[2,2], pads=[1,1,1,1]}
    %u = resize(%c) {mode="bilinear", scale=[2.0,2.0]}
    return y = %u
  })");
  setInputShape(*graph, {2, 3, 97, 131});
  CHECK(toString(graph->find("c")->type) == "f32[2,8,49,66]");
  CHECK(toString(graph->find("u")->type) == "f32[2,8,98,132]");
  CHECK_THROWS_AS(setInputShape(*graph, {1, 3, 64}), Error);
}
