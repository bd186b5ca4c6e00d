// The command lines other checks rely on: bisc-opt FILE --print-ir (and its .bir round trip),
// --input-shape, bisc stats, bisc run; and how the tools fail: errors on stderr with exit 1,
// usage errors with exit 2, never a signal (checked through waitpid's status).
#include "process.h"

#include "frontends/common/model_io.h"
#include "ir/interpreter/interpreter.h"
#include "ir/printer.h"
#include "tests/support/text_checks.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <sstream>

using namespace bisc;
using namespace bisc::test;

namespace {

const std::string kBisc = BISC_BIN;
const std::string kBiscOpt = BISC_OPT_BIN;
const std::string kV2 = std::string(BISC_SOURCE_DIR) + "/models/bisenetv2.json";
const std::string kMini = std::string(BISC_SOURCE_DIR) + "/tests/data/mini_bisenet.json";

/// Runs a tool in `dir` and requires that it ended by exit(), not by a signal.
ProcessResult tool(const std::string &program, const std::vector<std::string> &args,
                   const TempDir &dir) {
  std::string command = program;
  for (const std::string &arg : args) command += " " + arg;
  INFO("command: " << command);
  ProcessResult result = runProcess(program, args, dir.path());
  INFO("stderr: " << result.err);
  REQUIRE_MESSAGE(result.exited, "killed by signal " << result.signal);
  return result;
}

/// Runs a tool that must succeed; returns its stdout.
std::string succeed(const std::string &program, const std::vector<std::string> &args,
                    const TempDir &dir) {
  ProcessResult result = tool(program, args, dir);
  INFO("stderr: " << result.err);
  REQUIRE(result.exitCode == 0);
  CHECK(result.err.empty());
  return result.out;
}

/// Runs a tool that must fail with `exitCode` and an error on stderr mentioning `parts`.
void failsWith(int exitCode, const std::string &program, const std::vector<std::string> &args,
               const TempDir &dir, std::initializer_list<std::string> parts) {
  ProcessResult result = tool(program, args, dir);
  std::string name = std::filesystem::path(program).filename().string();
  CHECK(result.exitCode == exitCode);
  CHECK(result.out.empty());
  CHECK(result.err.starts_with(name + ": error: "));
  CHECK(mentions(result.err, parts));
  if (exitCode == 2) CHECK(mentions(result.err, {"usage: "}));
}

std::vector<std::string> lines(const std::string &text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) result.push_back(line);
  return result;
}

nlohmann::json readJson(const std::string &path) { return nlohmann::json::parse(readText(path)); }

/// A deterministic 1x3x64x128 image: a smooth pattern in [-2, 2].
Tensor testImage() {
  Tensor image(TensorType{DType::f32, {1, 3, 64, 128}});
  std::span<float> v = image.f32();
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(int64_t(i * 37 % 101)) / 25.0f - 2.0f;
  return image;
}

/// What `bisc run MODEL --random-weights SEED` must write: the first inference output of the
/// interpreter, called in-process on the same input.
Tensor interpretInProcess(const std::string &model, uint64_t seed, const Tensor &input) {
  std::unique_ptr<Graph> graph = loadModel(model);
  fillRandomWeights(*graph, seed);
  setInputShape(*graph, input.shape());
  InterpretOptions options;
  options.trainingOutputs = false;
  return interpret(*graph, std::span<const Tensor>(&input, 1), options).at(0);
}

void checkSameTensor(const Tensor &actual, const Tensor &expected) {
  REQUIRE(actual.shape() == expected.shape());
  REQUIRE(actual.dtype() == expected.dtype());
  auto a = actual.f32(), e = expected.f32();
  size_t differing = 0;
  for (size_t i = 0; i < a.size(); ++i) differing += a[i] != e[i];
  CHECK(differing == 0);
}

} // namespace

TEST_CASE("cli bisc-opt --print-ir prints the whole BiSeNetV2 graph") {
  TempDir dir;
  std::string text = succeed(kBiscOpt, {kV2, "--print-ir"}, dir);
  nlohmann::json model = readJson(kV2);
  std::vector<std::string> printed = lines(text);
  REQUIRE(!printed.empty());
  CHECK(printed.front() == "graph @bisenetv2(%input: f32[1,3,512,1024]) {");
  CHECK(printed.back() == "}");
  size_t weights = 0, nodes = 0;
  for (const std::string &line : printed) {
    weights += line.starts_with("  weight @");
    nodes += line.starts_with("  %");
  }
  CHECK(weights == model["weights"].size());
  CHECK(nodes == model["nodes"].size());
  for (const auto &node : model["nodes"])
    CHECK(text.find("  %" + node["name"].get<std::string>() + " = " + node["op"].get<std::string>() + "(") !=
          std::string::npos);
  CHECK(mentions(text, {"return logits = %head.conv_out.2, aux2 = %aux2.conv_out.2 [training_only]",
                        "%head.conv_out.2 = resize(", ": f32[1,19,512,1024]"}));
  // The driver prints what the library's printer prints for the loaded graph.
  CHECK(text == printGraph(*loadModel(kV2)));
}

TEST_CASE("cli bisc-opt: the printed text saved as .bir re-parses and prints identically") {
  TempDir dir;
  std::string text = succeed(kBiscOpt, {kV2, "--print-ir"}, dir);
  writeText(dir.file("v2.bir"), text);
  CHECK(succeed(kBiscOpt, {dir.file("v2.bir"), "--print-ir"}, dir) == text);
  // -o writes the same text, and that file reads back identically too.
  CHECK(succeed(kBiscOpt, {kV2, "-o", dir.file("out.bir")}, dir).empty());
  CHECK(readText(dir.file("out.bir")) == text);
  CHECK(succeed(kBiscOpt, {dir.file("out.bir"), "--print-ir"}, dir) == text);
}

TEST_CASE("cli bisc-opt --input-shape re-infers every shape") {
  TempDir dir;
  std::string text = succeed(kBiscOpt, {kV2, "--input-shape", "2x3x64x128", "--print-ir"}, dir);
  CHECK(text.starts_with("graph @bisenetv2(%input: f32[2,3,64,128]) {"));
  CHECK(mentions(text, {"%head.conv_out.2 = resize(", ": f32[2,19,64,128]"}));
  CHECK(text.find("512") == std::string::npos);  // no shape of the original size survives
  std::unique_ptr<Graph> graph = loadModel(kV2);
  setInputShape(*graph, {2, 3, 64, 128});
  CHECK(text == printGraph(*graph));
  // A .bir file is re-inferred the same way, with --input-shape=VALUE spelling.
  writeText(dir.file("v2.bir"), succeed(kBiscOpt, {kV2, "--print-ir"}, dir));
  CHECK(succeed(kBiscOpt, {dir.file("v2.bir"), "--input-shape=2x3x64x128", "--print-ir"}, dir) == text);
}

TEST_CASE("cli bisc-opt --input-shape that does not fit the model names the file and the node") {
  TempDir dir;
  failsWith(1, kBiscOpt, {kV2, "--input-shape", "1x4x64x128", "--print-ir"}, dir,
            {"bisenetv2.json", "[1,4,64,128]", "node %detail.S1.0.conv (conv2d)", "4 channels"});
  failsWith(1, kBiscOpt, {kV2, "--input-shape", "1x3x64", "--print-ir"}, dir,
            {"bisenetv2.json", "[1,3,64]", "input 'input' has rank 4"});
  failsWith(2, kBiscOpt, {kV2, "--input-shape", "1x3xbigx128"}, dir, {"--input-shape", "1x3xbigx128"});
}

TEST_CASE("cli bisc stats: parameters and MACs of BiSeNetV2") {
  TempDir dir;
  std::string table = succeed(kBisc, {"stats", kV2}, dir);
  // 3,358,627 parameters in eval mode: the PyTorch reference's count (reference-data.md).
  CHECK(mentions(table, {"bisenetv2", "parameters", "3,358,627", "conv MACs"}));

  nlohmann::json stats = nlohmann::json::parse(succeed(kBisc, {"stats", kV2, "--json"}, dir));
  CHECK(stats["inference"]["parameters"] == 3358627);
  // 24.6 conv GMACs at 1x3x512x1024 (reference-data.md).
  double gmacs = stats["inference"]["conv_macs"].get<double>() / 1e9;
  CHECK(gmacs == doctest::Approx(24.6).epsilon(0.002));
  // Every weight element is a parameter or a BN running statistic.
  int64_t elements = 0;
  nlohmann::json model = readJson(kV2);
  for (const auto &weight : model["weights"]) {
    int64_t n = 1;
    for (const auto &d : weight["shape"]) n *= d.get<int64_t>();
    elements += n;
  }
  CHECK(stats["total"]["parameters"].get<int64_t>() + stats["total"]["buffers"].get<int64_t>() == elements);

  // Every feature map of V2 halves exactly from 512x1024 to 256x512, so conv MACs drop 4x,
  // except the 128 -> 128 1x1 conv after the Context Embedding's global pool, which stays at
  // 1x1 and costs 128 * 128 MACs at any size.
  nlohmann::json quarter =
      nlohmann::json::parse(succeed(kBisc, {"stats", kV2, "--input-shape", "1x3x256x512", "--json"}, dir));
  int64_t full = stats["inference"]["conv_macs"].get<int64_t>();
  CHECK(quarter["inference"]["conv_macs"].get<int64_t>() * 4 - full == 3 * 128 * 128);
  CHECK(quarter["inference"]["parameters"] == 3358627);
}

TEST_CASE("cli bisc run --random-weights matches the interpreter in-process") {
  TempDir dir;
  Tensor image = testImage();
  writeNpy(dir.file("x.npy"), image);
  for (const std::string &model : {kMini, kV2}) {
    INFO(model);
    succeed(kBisc, {"run", model, "--random-weights", "1", "--input", dir.file("x.npy"), "--output",
                    dir.file("y.npy")}, dir);
    Tensor expected = interpretInProcess(model, 1, image);
    checkSameTensor(readNpy(dir.file("y.npy")), expected);
  }
  // The model as IR text runs the same: same weight names, hence the same random weights.
  writeText(dir.file("mini.bir"), succeed(kBiscOpt, {kMini, "--print-ir"}, dir));
  succeed(kBisc, {"run", dir.file("mini.bir"), "--random-weights", "1", "--input", dir.file("x.npy"),
                  "--output", dir.file("y_bir.npy")}, dir);
  checkSameTensor(readNpy(dir.file("y_bir.npy")), interpretInProcess(kMini, 1, image));
  // Another seed gives other weights, hence another output.
  succeed(kBisc, {"run", kMini, "--random-weights=2", "--input", dir.file("x.npy"), "--output",
                  dir.file("y2.npy")}, dir);
  Tensor other = readNpy(dir.file("y2.npy")), seed1 = interpretInProcess(kMini, 1, image);
  CHECK(!std::equal(other.f32().begin(), other.f32().end(), seed1.f32().begin()));
}

TEST_CASE("cli bisc run --weights reads safetensors, and --output-name picks an output") {
  TempDir dir;
  Tensor image = testImage();
  writeNpy(dir.file("x.npy"), image);
  // The random weights, written as a safetensors file, must give the same output.
  std::unique_ptr<Graph> graph = loadModel(kMini);
  fillRandomWeights(*graph, 5);
  std::map<std::string, Tensor> weights;
  for (const Value *weight : graph->weights()) weights.emplace(weight->name, *weight->data);
  writeSafetensors(dir.file("w.safetensors"), weights);
  succeed(kBisc, {"run", kMini, "--weights", dir.file("w.safetensors"), "--input", dir.file("x.npy"),
                  "--output", dir.file("y.npy")}, dir);
  checkSameTensor(readNpy(dir.file("y.npy")), interpretInProcess(kMini, 5, image));

  // The training-only head by name, against the interpreter's second output.
  succeed(kBisc, {"run", kMini, "--random-weights", "5", "--input", dir.file("x.npy"), "--output",
                  dir.file("aux.npy"), "--output-name", "aux"}, dir);
  setInputShape(*graph, image.shape());
  Tensor aux = interpret(*graph, std::span<const Tensor>(&image, 1)).at(1);
  checkSameTensor(readNpy(dir.file("aux.npy")), aux);
}

TEST_CASE("cli errors go to stderr with exit status 1") {
  TempDir dir;
  writeNpy(dir.file("x.npy"), testImage());
  std::string x = dir.file("x.npy"), y = dir.file("y.npy");
  failsWith(1, kBisc, {"stats", dir.file("absent.json")}, dir, {"absent.json", "cannot open"});
  writeText(dir.file("broken.json"), "{\"format\": \"bisc\", ");
  failsWith(1, kBisc, {"stats", dir.file("broken.json")}, dir, {"broken.json", "malformed JSON"});
  failsWith(1, kBiscOpt, {dir.file("broken.json"), "--print-ir"}, dir, {"broken.json", "malformed JSON"});
  std::string unknownOp = readText(kMini);
  unknownOp.replace(unknownOp.find("\"relu\""), 6, "\"gelu\"");
  writeText(dir.file("unknown_op.json"), unknownOp);
  failsWith(1, kBiscOpt, {dir.file("unknown_op.json")}, dir, {"unknown_op.json", "unknown op 'gelu'"});
  writeText(dir.file("garbage.bir"), std::string("\x7f" "ELF\x02\x01\x01\0\0\0", 10));
  failsWith(1, kBiscOpt, {dir.file("garbage.bir"), "--print-ir"}, dir, {"garbage.bir"});
  failsWith(1, kBisc, {"stats", dir.path().string()}, dir, {"unsupported model file extension"});
  writeText(dir.file("deep.json"), std::string(1000000, '[') + std::string(1000000, ']'));
  failsWith(1, kBisc, {"stats", dir.file("deep.json")}, dir, {"deep.json", "nested deeper than 64 levels"});

  // bisc run: bad weights, bad arrays, wrong shapes, unknown output names.
  writeText(dir.file("empty.safetensors"), "");
  failsWith(1, kBisc, {"run", kMini, "--weights", dir.file("empty.safetensors"), "--input", x, "--output", y},
            dir, {"empty.safetensors", "file too short"});
  writeSafetensors(dir.file("partial.safetensors"), {{"not.in.the.graph", Tensor({1}, {1})}});
  failsWith(1, kBisc, {"run", kMini, "--weights", dir.file("partial.safetensors"), "--input", x, "--output", y},
            dir, {"partial.safetensors", "missing from the file", "detail.s1.conv.weight"});
  // A version 1.0 header of 16 bytes that lacks 'fortran_order' and 'shape'.
  writeText(dir.file("bad.npy"), std::string("\x93NUMPY\x01\x00\x10\x00", 10) + "{'descr': '<f4'}");
  failsWith(1, kBisc, {"run", kMini, "--random-weights", "1", "--input", dir.file("bad.npy"), "--output", y},
            dir, {"bad.npy", "header has no 'fortran_order' field"});
  writeNpy(dir.file("gray.npy"), Tensor(TensorType{DType::f32, {1, 1, 64, 128}}));
  failsWith(1, kBisc, {"run", kMini, "--random-weights", "1", "--input", dir.file("gray.npy"), "--output", y},
            dir, {"mini_bisenet.json", "[1,1,64,128]", "channels"});
  failsWith(1, kBisc, {"run", kMini, "--random-weights", "1", "--input", x, "--output", y, "--output-name", "nope"},
            dir, {"mini_bisenet.json", "no output named 'nope'", "logits, aux"});
  failsWith(1, kBisc, {"run", kMini, "--random-weights", "1", "--input", x, "--output",
                       dir.file("no/such/dir/y.npy")}, dir, {"y.npy", "cannot open for writing"});
  CHECK(!std::filesystem::exists(y));
}

TEST_CASE("cli usage errors exit with status 2 and print the usage") {
  TempDir dir;
  std::string x = dir.file("x.npy"), y = dir.file("y.npy");
  writeNpy(x, testImage());  // so that only the command line is wrong
  failsWith(2, kBisc, {}, dir, {"missing command"});
  failsWith(2, kBisc, {"frobnicate", kMini}, dir, {"unknown command 'frobnicate'"});
  failsWith(2, kBisc, {"stats"}, dir, {"missing MODEL"});
  failsWith(2, kBisc, {"stats", kMini, kV2}, dir, {"expected one MODEL"});
  failsWith(2, kBisc, {"stats", kMini, "--verbose"}, dir, {"unknown option '--verbose'"});
  failsWith(2, kBisc, {"run", kMini, "--random-weights", "1", "--output", y}, dir, {"--input"});
  failsWith(2, kBisc, {"run", kMini, "--input", x, "--output", y}, dir, {"--weights", "--random-weights"});
  failsWith(2, kBisc, {"run", kMini, "--weights", "w.safetensors", "--random-weights", "1", "--input", x, "--output", y},
            dir, {"exactly one of --weights"});
  // Command-line mistakes are found before any file is read.
  failsWith(2, kBisc, {"run", dir.file("absent.json"), "--weights", "w.safetensors", "--random-weights", "1",
                       "--input", dir.file("absent.npy"), "--output", y}, dir, {"exactly one of --weights"});
  failsWith(2, kBisc, {"run", kMini, "--random-weights", "-3", "--input", x, "--output", y}, dir,
            {"--random-weights '-3'", "non-negative integer"});
  failsWith(2, kBisc, {"run", kMini, "--input"}, dir, {"option '--input' needs a value"});
  failsWith(2, kBiscOpt, {}, dir, {"missing input FILE"});
  failsWith(2, kBiscOpt, {kMini, "--bogus"}, dir, {"unknown option '--bogus'"});
  failsWith(2, kBiscOpt, {kMini, "--print-ir=yes"}, dir, {"'--print-ir' takes no value"});
  failsWith(2, kBiscOpt, {kMini, "--passes=fold-bn,fuse-nothing"}, dir, {"unknown pass 'fuse-nothing'"});
  failsWith(2, kBisc, {"compile", kMini, "--random-weights", "1", "--name", "m", "-o", dir.file("lib"),
                       "--passes=fuse-nothing"}, dir, {"unknown pass 'fuse-nothing'"});
}

TEST_CASE("cli --help exits 0 and documents the commands") {
  TempDir dir;
  CHECK(mentions(succeed(kBisc, {"--help"}, dir), {"stats MODEL", "run MODEL", "--random-weights SEED"}));
  CHECK(mentions(succeed(kBisc, {"run", "--help"}, dir), {"docs/random-weights.md"}));
  CHECK(mentions(succeed(kBisc, {"stats", "--help"}, dir), {"--input-shape"}));
  CHECK(mentions(succeed(kBiscOpt, {"--help"}, dir), {"--print-ir", "--input-shape"}));
}
