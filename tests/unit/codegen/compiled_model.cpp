#include "compiled_model.h"

#include "ir/error.h"
#include "ir/interpreter/interpreter.h"
#include "ir/parser.h"

#include <dlfcn.h>
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <filesystem>

namespace bisc::testing {

namespace {

using CreateFn = int (*)(void **, const void *);
using RunFn = int (*)(void *, const float *, size_t, float *, size_t);
using RunLabelsFn = int (*)(void *, const float *, size_t, uint8_t *, size_t);
using DestroyFn = void (*)(void *);

struct Options {
  int num_threads;
  void *workspace;
  size_t workspace_bytes;
  const char *weights_path;
};

float hashToUnit(uint32_t x) {
  x ^= x >> 16; x *= 0x7feb352dU; x ^= x >> 15; x *= 0x846ca68bU; x ^= x >> 16;
  return float(x) / 4294967295.0f * 2.0f - 1.0f;
}

} // namespace

CompiledModel::CompiledModel(const Graph &graph, const std::string &name, int threads)
    : CompiledModel(graph, name, threads, ScheduleOptions{}) {}

CompiledModel::CompiledModel(const Graph &graph, const std::string &name, int threads,
                             const ScheduleOptions &schedules)
    : name_(name) {
  std::string dir = std::string(BISC_BINARY_DIR) + "/test-out/codegen/" + name;
  std::filesystem::remove_all(dir);
  CompileOptions options;
  options.name = name;
  options.outputDir = dir;
  options.schedules = schedules;
  stats_ = compileGraph(graph, options);
  for (const GraphOutput &out : graph.outputs())
    if (!out.trainingOnly) { output_ = out.value->type; break; }
  library_ = dlopen((dir + "/lib" + name + ".so").c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library_) fail("dlopen: {}", dlerror());
  Options opts{threads, nullptr, 0, nullptr};
  int status = reinterpret_cast<CreateFn>(symbol("create"))(&ctx_, &opts);
  if (status != 0) fail("{}_create failed with status {}", name, status);
}

CompiledModel::~CompiledModel() {
  if (ctx_) reinterpret_cast<DestroyFn>(symbol("destroy"))(ctx_);
  if (library_) dlclose(library_);
}

void *CompiledModel::symbol(const std::string &suffix) {
  void *fn = dlsym(library_, (name_ + "_" + suffix).c_str());
  if (!fn) fail("missing symbol {}_{}", name_, suffix);
  return fn;
}

Tensor CompiledModel::run(const Tensor &input) {
  Tensor out(output_);
  runInto(input, out.f32().data());
  return out;
}

Tensor CompiledModel::run(const Tensor &input, size_t byteOffset) {
  Tensor out(output_);
  size_t bytes = size_t(out.elements()) * sizeof(float);
  std::vector<std::byte> buffer(bytes + 128);
  auto address = reinterpret_cast<uintptr_t>(buffer.data());
  auto *logits = reinterpret_cast<float *>((address + 63) / 64 * 64 + byteOffset);
  runInto(input, logits);
  std::memcpy(out.f32().data(), logits, bytes);
  return out;
}

void CompiledModel::runInto(const Tensor &input, float *logits) {
  int status = reinterpret_cast<RunFn>(symbol("run"))(ctx_, input.f32().data(), size_t(input.elements()), logits,
                                                      size_t(output_.elements()));
  if (status != 0) fail("{}_run failed with status {}", name_, status);
}

std::vector<uint8_t> CompiledModel::runLabels(const Tensor &input) {
  const Shape &s = output_.shape;
  std::vector<uint8_t> labels(size_t(s[0] * s[2] * s[3]));
  int status = reinterpret_cast<RunLabelsFn>(symbol("run_labels"))(ctx_, input.f32().data(), size_t(input.elements()),
                                                                    labels.data(), labels.size());
  if (status != 0) fail("{}_run_labels failed with status {}", name_, status);
  return labels;
}

void fillWeightsForTest(Graph &graph, uint32_t seed) {
  uint32_t t = seed * 7919u;
  for (Value *weight : graph.weights()) {
    Tensor data(weight->type);
    auto values = data.f32();
    bool isVariance = weight->name.ends_with("running_var");
    float fanIn = weight->type.shape.size() == 4
                      ? float(weight->type.shape[1] * weight->type.shape[2] * weight->type.shape[3])
                      : 1.0f;
    for (size_t i = 0; i < values.size(); ++i) {
      float u = hashToUnit(t * 2654435761u + uint32_t(i));
      values[i] = isVariance ? 0.5f + 0.5f * std::fabs(u) : u * std::sqrt(3.0f / fanIn);
    }
    weight->data = std::make_shared<Tensor>(std::move(data));
    ++t;
  }
}

Tensor testInput(const Shape &shape, uint32_t seed) {
  Tensor input({DType::f32, shape});
  auto values = input.f32();
  for (size_t i = 0; i < values.size(); ++i) values[i] = hashToUnit(seed * 40503u + uint32_t(i) * 2246822519u);
  return input;
}

double relativeError(const Tensor &a, const Tensor &b) {
  auto x = a.f32(), y = b.f32();
  REQUIRE(x.size() == y.size());
  double maxDiff = 0, maxRef = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    maxDiff = std::max(maxDiff, double(std::fabs(x[i] - y[i])));
    maxRef = std::max(maxRef, double(std::fabs(y[i])));
  }
  return maxRef > 0 ? maxDiff / maxRef : maxDiff;
}

std::vector<ThreadedRun> compileWithThreads(const std::string &name, const std::string &text,
                                            uint32_t weightSeed, uint32_t inputSeed) {
  auto graph = parseGraph(text, name + ".bir");
  fillWeightsForTest(*graph, weightSeed);
  Tensor input = testInput(graph->inputs()[0]->type.shape, inputSeed);
  Tensor expected = interpret(*graph, std::span<const Tensor>(&input, 1))[0];
  std::vector<ThreadedRun> runs;
  for (int threads : {1, 2}) {
    CompiledModel model(*graph, name + "_t" + std::to_string(threads), threads);
    ThreadedRun run{threads, relativeError(model.run(input), expected), {}};
    for (const KernelStat &kernel : model.stats().kernels) run.families.push_back(kernel.family);
    runs.push_back(std::move(run));
  }
  return runs;
}

std::string convGraph(const std::string &x, const std::string &weight, const std::string &attrs) {
  return fmt::format(R"(graph @g(%x: f32[{}]) {{
    weight @w : f32[{}]
    weight @b : f32[{}]
    %y = conv2d(%x, @w, @b) {{{}}}
    return y = %y }})", x, weight, weight.substr(0, weight.find(',')), attrs);
}

} // namespace bisc::testing
