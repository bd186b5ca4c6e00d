// The default pipeline on the five bundled models at 1x3x64x128 with random weights:
//  * check-numerics mode compares the interpreter's outputs after every pass with those of
//    the loaded model (max |diff| <= 1e-4 x max|ref|), so every pass is checked on every model;
//  * the op histogram afterwards is exact: no batch_norm, relu, sigmoid or dropout left, every
//    ARM / FFM / BGA / CE block one node, aux heads gone;
//  * the memory plan is replayed: every node reads its operands from and writes its result
//    to one arena at the planned offsets, and the outputs must equal a plain interpreter run
//    bit for bit (a liveness mistake overwrites a value that is still needed).
#include "pass_test_util.h"

#include <cmath>
#include <cstring>

using namespace bisc;
using namespace bisc::test;

namespace {

/// Runs the graph with every planned value living in one arena at its offset.
std::vector<Tensor> interpretInArena(const Graph &graph, const std::vector<Tensor> &inputs,
                                     int64_t peakBytes) {
  std::vector<float> arena(size_t(peakBytes / 4) + 1, std::nanf(""));
  std::map<const Value *, Tensor> outside;  // inputs, graph outputs
  for (size_t i = 0; i < inputs.size(); ++i) outside[graph.inputs()[i]] = inputs[i];
  auto load = [&](const Value *value) -> Tensor {
    if (value->kind == ValueKind::Weight) return *value->data;
    if (value->arenaOffset < 0) return outside.at(value);
    Tensor t(value->type);
    std::memcpy(t.f32().data(), arena.data() + value->arenaOffset / 4, size_t(value->type.bytes()));
    return t;
  };
  for (const auto &node : graph.nodes()) {
    std::vector<Tensor> operands;
    for (const Value *input : node->inputs) operands.push_back(load(input));
    std::vector<const Tensor *> pointers;
    for (const Tensor &t : operands) pointers.push_back(&t);
    Tensor result(node->result->type);
    interpreterKernel(node->op)(*node, pointers, result);
    if (node->result->arenaOffset < 0) {
      outside[node->result] = std::move(result);
      continue;
    }
    REQUIRE(node->result->arenaOffset + node->result->type.bytes() <= peakBytes);
    std::memcpy(arena.data() + node->result->arenaOffset / 4, result.f32().data(),
                size_t(result.type().bytes()));
  }
  std::vector<Tensor> outputs;
  for (const GraphOutput &out : graph.outputs()) outputs.push_back(outside.at(out.value));
  return outputs;
}

void checkDefaultPipeline(const std::string &model, const std::map<std::string, int> &expected) {
  auto graph = loadBundled(model);
  MESSAGE(model << " before: " << graph->nodes().size() << " nodes: " << countsText(opCounts(*graph)));
  PassOptions options;
  options.checkNumerics = true;
  std::string log;
  REQUIRE_NOTHROW(log = runPipeline(*graph, "default", options));
  size_t checked = 0;
  for (size_t at = log.find("check-numerics: "); at != std::string::npos;
       at = log.find("check-numerics: ", at + 1))
    ++checked;
  CHECK(checked == defaultPipeline().size());

  std::map<std::string, int> counts = opCounts(*graph);
  MESSAGE(model << " after: " << graph->nodes().size() << " nodes: " << countsText(counts));
  for (const char *gone : {"batch_norm", "relu", "sigmoid", "dropout"}) CHECK(counts.count(gone) == 0);
  CHECK(countsText(counts) == countsText(expected));
  for (const GraphOutput &out : graph->outputs()) CHECK_FALSE(out.trainingOnly);

  MemoryPlan plan = planMemory(*graph);
  MESSAGE(model << " arena peak " << plan.peakBytes << " bytes, sum of activations "
                << plan.totalBytes << " bytes, most live at once " << plan.liveBytes << ", "
                << plan.inPlace << " in place");
  CHECK(plan.peakBytes < plan.totalBytes);
  // Little fragmentation: V1's pixel-major image copy lives from the context path's stem to
  // the spatial path's, which leaves a gap on ResNet18 (8%).
  CHECK(plan.peakBytes <= plan.liveBytes * 11 / 10);
  std::vector<Tensor> inputs = deterministicInputs(*graph);
  std::vector<Tensor> plain = interpret(*graph, inputs);
  std::vector<Tensor> arena = interpretInArena(*graph, inputs, plan.peakBytes);
  REQUIRE(plain.size() == arena.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    REQUIRE(toString(plain[i].type()) == toString(arena[i].type()));
    CHECK(std::memcmp(plain[i].f32().data(), arena[i].f32().data(), size_t(plain[i].type().bytes())) == 0);
  }
}

/// Op histograms after the default pipeline. Its blocked layout covers each whole network:
/// the reorders are the image's pixel-major copy for the stems, plus (V2's 8-channel stem
/// branch, Xception39's 8-channel convs) copies around convs whose channels are not whole
/// blocks of 16.
const std::map<std::string, std::map<std::string, int>> kExpectedCounts = {
    {"bisenetv1_resnet18",
     {{"add", 1}, {"arm", 2}, {"conv2d", 4}, {"ffm", 1}, {"fused_conv", 27},
      {"global_avg_pool", 1}, {"max_pool", 1}, {"reorder", 1}, {"resize", 3}}},
    {"bisenetv1_resnet101",
     {{"add", 1}, {"arm", 2}, {"conv2d", 5}, {"ffm", 1}, {"fused_conv", 112},
      {"global_avg_pool", 1}, {"log_softmax", 1}, {"max_pool", 1}, {"reorder", 1}, {"resize", 3}}},
    {"bisenetv1_xception39",
     {{"add", 1}, {"arm", 2}, {"conv2d", 55}, {"ffm", 1}, {"fused_conv", 59},
      {"global_avg_pool", 1}, {"log_softmax", 1}, {"max_pool", 1}, {"reorder", 3}, {"resize", 3}}},
    {"bisenetv2",
     {{"avg_pool", 1}, {"bga", 1}, {"concat", 1}, {"context_embedding", 1}, {"conv2d", 16},
      {"fused_conv", 38}, {"max_pool", 1}, {"reorder", 2}, {"resize", 1}}},
    {"bisenetv2_large",
     {{"avg_pool", 1}, {"bga", 1}, {"concat", 1}, {"context_embedding", 1}, {"conv2d", 16},
      {"fused_conv", 76}, {"max_pool", 1}, {"reorder", 1}, {"resize", 1}}},
};

/// A copy of `graph` in which every input, weight and node is called n<i> / w<i> and the
/// operands of add and mul are swapped, as an ONNX export might name and order them.
std::unique_ptr<Graph> anonymised(const Graph &graph) {
  auto copy = std::make_unique<Graph>("anonymous");
  std::map<const Value *, Value *> map;
  for (const Value *input : graph.inputs()) map[input] = copy->addInput("in" + std::to_string(map.size()), input->type);
  for (const Value *weight : graph.weights()) {
    Value *w = copy->addWeight("w" + std::to_string(map.size()), weight->type);
    w->data = weight->data;
    map[weight] = w;
  }
  for (const auto &node : graph.nodes()) {
    std::vector<Value *> inputs;
    for (const Value *input : node->inputs) inputs.push_back(map.at(input));
    if (node->op == OpId::add || node->op == OpId::mul) std::swap(inputs[0], inputs[1]);
    std::vector<std::pair<std::string, Attribute>> attrs;
    for (size_t i = 0; i < node->attrs.size(); ++i)
      attrs.emplace_back(node->info().attrs[i].name, node->attrs[i]);
    Node *n = copy->addNode(node->op, "n" + std::to_string(map.size()), inputs, attrs);
    map[node->result] = n->result;
  }
  for (const GraphOutput &out : graph.outputs()) copy->addOutput(out.name, map.at(out.value), out.trainingOnly);
  inferShapes(*copy);
  return copy;
}

} // namespace

TEST_CASE("passes: default pipeline on bisenetv1_resnet18") {
  checkDefaultPipeline("bisenetv1_resnet18", kExpectedCounts.at("bisenetv1_resnet18"));
}

TEST_CASE("passes: default pipeline on bisenetv1_resnet101") {
  checkDefaultPipeline("bisenetv1_resnet101", kExpectedCounts.at("bisenetv1_resnet101"));
}

TEST_CASE("passes: default pipeline on bisenetv1_xception39") {
  checkDefaultPipeline("bisenetv1_xception39", kExpectedCounts.at("bisenetv1_xception39"));
}

TEST_CASE("passes: default pipeline on bisenetv2") {
  checkDefaultPipeline("bisenetv2", kExpectedCounts.at("bisenetv2"));
}

TEST_CASE("passes: default pipeline on bisenetv2_large") {
  checkDefaultPipeline("bisenetv2_large", kExpectedCounts.at("bisenetv2_large"));
}

TEST_CASE("passes: fusion matches structure, not names or operand order") {
  for (const auto &[model, expected] : kExpectedCounts) {
    INFO(model);
    auto original = loadModel(sourcePath("models/" + model + ".json"));
    setInputShape(*original, {1, 3, 64, 128});
    auto graph = anonymised(*original);
    runPipeline(*graph, "default");
    CHECK(countsText(opCounts(*graph)) == countsText(expected));
  }
}
