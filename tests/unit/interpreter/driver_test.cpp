// interpret() itself: input and weight checks, training-only outputs, and the hooks.
// Values are hand computed.
#include "interp_test_util.h"

#include "ir/error.h"

using namespace bisc;
using namespace bisc::test;

namespace {

const char *kTwoHeads = R"(graph @g(%x: f32[1,1,1,3]) {
  weight @b : f32[1]
  %r = relu(%x)
  %a = add(%r, @b)
  %s = sigmoid(%x)
  return main = %a, aux = %s [training_only]
})";

std::string errorOf(const std::function<void()> &body) {
  try {
    body();
  } catch (const Error &e) {
    return e.what();
  }
  FAIL("expected bisc::Error");
  return "";
}

} // namespace

TEST_CASE("interpreter driver: runs in order and returns every output") {
  std::vector<Tensor> inputs;
  inputs.push_back(Tensor({1, 1, 1, 3}, {-1, 0, 2}));
  std::vector<Tensor> outputs = run(kTwoHeads, std::move(inputs), {{"b", Tensor({1}, {0.5f})}});
  REQUIRE(outputs.size() == 2);
  // relu(x) + 0.5 and sigmoid(x): sigmoid(0) = 0.5.
  checkValues(outputs[0], {1, 1, 1, 3}, {0.5f, 0.5f, 2.5f});
  REQUIRE(outputs[1].elements() == 3);
  CHECK(outputs[1].f32()[1] == 0.5f);
}

TEST_CASE("interpreter driver: training-only outputs can be skipped") {
  std::vector<Tensor> inputs;
  inputs.push_back(Tensor({1, 1, 1, 3}, {-1, 0, 2}));
  InterpretOptions options;
  options.trainingOutputs = false;
  std::vector<std::string> ran;
  options.afterNode = [&](const Node &node, const Tensor &) { ran.push_back(node.name()); };
  std::vector<Tensor> outputs = run(kTwoHeads, std::move(inputs), {{"b", Tensor({1}, {0.5f})}}, options);
  REQUIRE(outputs.size() == 2);
  checkValues(outputs[0], {1, 1, 1, 3}, {0.5f, 0.5f, 2.5f});
  CHECK(outputs[1].f32().empty());  // an empty tensor stands for the skipped output
  CHECK(ran == std::vector<std::string>{"r", "a"});  // the sigmoid head never ran
}

TEST_CASE("interpreter driver: wrong inputs and missing weights are errors naming them") {
  std::vector<Tensor> wrongShape;
  wrongShape.push_back(Tensor({1, 1, 1, 4}, {0, 0, 0, 0}));
  CHECK(errorOf([&] { run(kTwoHeads, std::move(wrongShape), {{"b", Tensor({1}, {0.5f})}}); }) ==
        "input 'x' must be f32[1,1,1,3], got f32[1,1,1,4]");
  CHECK(errorOf([&] { run(kTwoHeads, {}, {{"b", Tensor({1}, {0.5f})}}); }) ==
        "graph 'g' has 1 inputs but 0 tensors were given");
  std::vector<Tensor> inputs;
  inputs.push_back(Tensor({1, 1, 1, 3}, {-1, 0, 2}));
  CHECK(errorOf([&] { run(kTwoHeads, std::move(inputs)); }) == "weight 'b' has no data");
  std::vector<Tensor> again;
  again.push_back(Tensor({1, 1, 1, 3}, {-1, 0, 2}));
  CHECK(errorOf([&] { run(kTwoHeads, std::move(again), {{"b", Tensor({2}, {0.5f, 1})}}); }) ==
        "weight 'b' is declared f32[1] but its data is f32[2]");
}
