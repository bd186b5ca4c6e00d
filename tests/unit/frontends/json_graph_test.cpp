// The bisc JSON reader (docs/json-format.md): a valid model loads, and every kind of bad input
// is an error naming the file, the entry at fault and what was expected.
#include "frontend_test_util.h"

#include "frontends/common/model_io.h"
#include "ir/printer.h"

#include <nlohmann/json.hpp>

using namespace bisc;
using namespace bisc::test;
using nlohmann::json;

namespace {

/// conv -> batch_norm -> relu -> max_pool, plus a training-only output.
json validModel() {
  return json::parse(R"({
    "format": "bisc", "version": 1, "name": "tiny",
    "inputs": [{"name": "input", "dtype": "f32", "shape": [1, 3, 8, 8]}],
    "weights": [
      {"name": "conv.weight", "dtype": "f32", "shape": [4, 3, 3, 3]},
      {"name": "bn.weight", "dtype": "f32", "shape": [4]},
      {"name": "bn.bias", "dtype": "f32", "shape": [4]},
      {"name": "bn.running_mean", "dtype": "f32", "shape": [4]},
      {"name": "bn.running_var", "dtype": "f32", "shape": [4]}
    ],
    "nodes": [
      {"name": "conv", "op": "conv2d", "inputs": ["input", "conv.weight"],
       "attrs": {"stride": [1, 1], "pads": [1, 1, 1, 1]}},
      {"name": "bn", "op": "batch_norm",
       "inputs": ["conv", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]},
      {"name": "relu", "op": "relu", "inputs": ["bn"]},
      {"name": "pool", "op": "max_pool", "inputs": ["relu"],
       "attrs": {"kernel": [3, 3], "stride": [2, 2], "pads": [1, 1, 1, 1]}}
    ],
    "outputs": [
      {"name": "out", "value": "pool"},
      {"name": "aux", "value": "relu", "training_only": true}
    ]
  })");
}

/// Writes `text` as model.json and returns the error loading it gives.
std::string loadErrorText(const std::string &text) {
  TempDir dir;
  std::string path = dir.write("model.json", text);
  return errorOf([&] { loadJsonGraph(path); });
}

std::string loadError(const json &model) { return loadErrorText(model.dump(2)); }

/// validModel() with node `index` changed by `edit`.
json withNode(size_t index, const std::function<void(json &)> &edit) {
  json model = validModel();
  edit(model["nodes"][index]);
  return model;
}

} // namespace

TEST_CASE("json frontend: a valid model loads with inferred shapes") {
  TempDir dir;
  std::string path = dir.write("model.json", validModel().dump());
  std::unique_ptr<Graph> graph = loadModel(path);
  REQUIRE(graph);
  CHECK(graph->name() == "tiny");
  CHECK(graph->nodes().size() == 4);
  CHECK(graph->weights().size() == 5);
  REQUIRE(graph->outputs().size() == 2);
  CHECK(graph->outputs()[0].name == "out");
  CHECK(toString(graph->outputs()[0].value->type) == "f32[1,4,4,4]");
  CHECK(graph->outputs()[1].trainingOnly);
  // Attributes left out take their defaults.
  CHECK(graph->find("conv")->producer->attrInts("dilation") == std::vector<int64_t>{1, 1});
}

TEST_CASE("json frontend: malformed JSON names the file and the byte") {
  std::string message = loadErrorText(R"({"format": "bisc", "version": 1, "name": )");
  CHECK(mentions(message, {"model.json", "malformed JSON at byte"}));
  CHECK(mentions(loadErrorText("[1, 2, 3]"), {"model.json", "must be an object, got"}));
  CHECK(mentions(loadErrorText(""), {"model.json", "malformed JSON"}));
}

TEST_CASE("json frontend: a missing file is an error, not a crash") {
  TempDir dir;
  std::string path = dir.file("absent.json");
  CHECK(mentions(errorOf([&] { loadJsonGraph(path); }), {"absent.json", "cannot open"}));
}

TEST_CASE("json frontend: header fields are checked") {
  json model = validModel();
  model["format"] = "onnx";
  CHECK(mentions(loadError(model), {"model.json", "'format' must be \"bisc\""}));
  model = validModel();
  model["version"] = 7;
  CHECK(mentions(loadError(model), {"model.json", "unsupported version 7"}));
  model = validModel();
  model["version"] = "1";
  CHECK(mentions(loadError(model), {"model.json", "field 'version' must be an integer, got the string \"1\""}));
  model = validModel();
  model.erase("nodes");
  CHECK(mentions(loadError(model), {"model.json", "missing field 'nodes'"}));
  model = validModel();
  model["author"] = "me";
  CHECK(mentions(loadError(model), {"model.json", "unknown field 'author'"}));
}

TEST_CASE("json frontend: unknown op names the node and lists the known ops") {
  std::string message = loadError(withNode(2, [](json &n) { n["op"] = "gelu"; }));
  CHECK(mentions(message, {"model.json", "node 'relu'", "unknown op 'gelu'", "conv2d", "softmax"}));
}

TEST_CASE("json frontend: missing and extra attributes") {
  std::string missing = loadError(withNode(3, [](json &n) { n["attrs"].erase("kernel"); }));
  CHECK(mentions(missing, {"model.json", "node 'pool' (max_pool)",
                           "missing required attribute 'kernel' (a list of integers)"}));
  std::string extra = loadError(withNode(2, [](json &n) { n["attrs"] = {{"alpha", 0.1}}; }));
  CHECK(mentions(extra, {"model.json", "node 'relu' (relu)", "unknown attribute 'alpha'",
                         "op relu takes: none"}));
  std::string typo = loadError(withNode(0, [](json &n) { n["attrs"]["padding"] = json::array({1, 1}); }));
  CHECK(mentions(typo, {"node 'conv' (conv2d)", "unknown attribute 'padding'",
                        "stride, pads, dilation, groups"}));
  std::string field = loadError(withNode(0, [](json &n) { n["attributes"] = json::object(); }));
  CHECK(mentions(field, {"model.json", "nodes[0]", "unknown field 'attributes'"}));
}

TEST_CASE("json frontend: wrong attribute types") {
  std::string stride = loadError(withNode(0, [](json &n) { n["attrs"]["stride"] = "2"; }));
  CHECK(mentions(stride, {"model.json", "node 'conv' (conv2d)",
                          "attribute 'stride' must be a list of integers, got the string \"2\""}));
  std::string groups = loadError(withNode(0, [](json &n) { n["attrs"]["groups"] = true; }));
  CHECK(mentions(groups, {"node 'conv'", "attribute 'groups' must be an integer, got the bool true"}));
  std::string floats = loadError(withNode(0, [](json &n) { n["attrs"]["pads"] = json::array({1, 1.5, 1, 1}); }));
  CHECK(mentions(floats, {"node 'conv'", "attribute 'pads' must be a list of integers"}));
  std::string eps = loadError(withNode(1, [](json &n) { n["attrs"] = {{"eps", "small"}}; }));
  CHECK(mentions(eps, {"node 'bn' (batch_norm)", "attribute 'eps' must be a number"}));
  std::string ceil = loadError(withNode(3, [](json &n) { n["attrs"]["ceil_mode"] = 1; }));
  CHECK(mentions(ceil, {"node 'pool' (max_pool)", "attribute 'ceil_mode' must be true or false, got the integer 1"}));
  std::string attrs = loadError(withNode(0, [](json &n) { n["attrs"] = json::array(); }));
  CHECK(mentions(attrs, {"node 'conv'", "field 'attrs' must be an object"}));
}

TEST_CASE("json frontend: attribute values out of range are verifier errors naming the node") {
  std::string message = loadError(withNode(3, [](json &n) { n["attrs"]["stride"] = json::array({0, 2}); }));
  CHECK(mentions(message, {"model.json", "node %pool (max_pool)", "attribute stride must be >= 1"}));
}

TEST_CASE("json frontend: shape mismatches name the file and the node") {
  json model = validModel();
  model["weights"][0]["shape"] = json::array({4, 5, 3, 3});  // the input has 3 channels
  CHECK(mentions(loadError(model), {"model.json", "node %conv (conv2d)",
                                    "input has 3 channels but weight [4,5,3,3]", "expects 5"}));
  model = validModel();
  model["nodes"].push_back({{"name", "cat"}, {"op", "concat"}, {"inputs", {"relu", "pool"}}});
  model["outputs"][0]["value"] = "cat";
  CHECK(mentions(loadError(model), {"model.json", "node %cat (concat)",
                                    "input 1 is f32[1,4,4,4] but input 0 is f32[1,4,8,8]"}));
  model = validModel();
  model["weights"][1]["shape"] = json::array({5});
  CHECK(mentions(loadError(model), {"model.json", "node %bn (batch_norm)"}));
  model = validModel();
  model["inputs"][0]["shape"] = json::array({1, 3, 0, 8});
  CHECK(mentions(loadError(model), {"model.json", "input 'input'", "dimension < 1"}));
}

TEST_CASE("json frontend: wrong arity names the node") {
  std::string message = loadError(withNode(2, [](json &n) { n["inputs"] = {"bn", "bn"}; }));
  CHECK(mentions(message, {"model.json", "node %relu (relu)", "takes 1 operands, got 2"}));
}

TEST_CASE("json frontend: references to undeclared weights and values") {
  std::string weight = loadError(withNode(0, [](json &n) { n["inputs"][1] = "conv.wieght"; }));
  CHECK(mentions(weight, {"model.json", "node 'conv' (conv2d)", "input 1",
                          "unknown value 'conv.wieght'"}));
  json model = validModel();
  std::swap(model["nodes"][0], model["nodes"][1]);
  CHECK(mentions(loadError(model), {"node 'bn'", "'conv' is defined later", "topological order"}));
  model = validModel();
  model["outputs"][0]["value"] = "nothing";
  CHECK(mentions(loadError(model), {"model.json", "output 'out'", "unknown value 'nothing'"}));
  std::string type = loadError(withNode(2, [](json &n) { n["inputs"] = {7}; }));
  CHECK(mentions(type, {"node 'relu'", "input 0 must be a name (string), got the integer 7"}));
}

TEST_CASE("json frontend: weight declarations need dtype f32 and a valid shape") {
  json model = validModel();
  model["weights"][2]["dtype"] = "f16";
  CHECK(mentions(loadError(model), {"model.json", "weight 'bn.bias'", "dtype must be \"f32\", got \"f16\""}));
  model = validModel();
  model["weights"][2]["shape"] = json::array({4, -1});
  CHECK(mentions(loadError(model), {"model.json", "weight 'bn.bias'", "non-negative integers"}));
  model = validModel();
  model["weights"][2].erase("shape");
  CHECK(mentions(loadError(model), {"model.json", "weight 'bn.bias'", "missing field 'shape'"}));
  model = validModel();
  model["inputs"][0]["dtype"] = "u8";
  CHECK(mentions(loadError(model), {"model.json", "input 'input'", "dtype must be"}));
}

TEST_CASE("json frontend: duplicate names") {
  json model = validModel();
  model["nodes"][2]["name"] = "bn";
  model["nodes"][3]["inputs"][0] = "bn";
  CHECK(mentions(loadError(model), {"model.json", "nodes[2]", "duplicate name 'bn'", "nodes[1]"}));
  model = validModel();
  model["nodes"][0]["name"] = "conv.weight";
  model["nodes"][1]["inputs"][0] = "conv.weight";
  CHECK(mentions(loadError(model), {"model.json", "nodes[0]", "duplicate name 'conv.weight'", "weights[0]"}));
  model = validModel();
  model["weights"][4]["name"] = "bn.weight";
  CHECK(mentions(loadError(model), {"model.json", "weights[4]", "duplicate name 'bn.weight'"}));
  model = validModel();
  model["outputs"][1]["name"] = "out";
  CHECK(mentions(loadError(model), {"model.json", "duplicate output name 'out'"}));
  // A key given twice in one object would otherwise silently keep the last value.
  std::string text = validModel().dump();
  text.insert(1, R"("name": "first", )");
  CHECK(mentions(loadErrorText(text), {"model.json", "duplicate key 'name'"}));
}

TEST_CASE("json frontend: names must be printable in the text form") {
  json model = validModel();
  model["nodes"][2]["name"] = "re lu";
  model["nodes"][3]["inputs"][0] = "re lu";
  CHECK(mentions(loadError(model), {"model.json", "nodes[2]", "'re lu' is not a valid name"}));
}

TEST_CASE("json frontend: loadModel rejects unknown extensions") {
  TempDir dir;
  std::string path = dir.write("model.pt", "");
  CHECK(mentions(errorOf([&] { loadModel(path); }), {"model.pt", "unsupported model file extension '.pt'"}));
}

TEST_CASE("json frontend: pathological nesting is an error, not a stack overflow") {
  std::string arrays = std::string(100000, '[') + std::string(100000, ']');
  CHECK(mentions(loadErrorText(arrays), {"model.json", "nested deeper than 64 levels"}));
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(100000, '}');
  CHECK(mentions(loadErrorText(objects), {"model.json", "nested deeper than 64 levels"}));
}
