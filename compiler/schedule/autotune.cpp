//===- autotune.cpp - Time candidate schedules, keep the fastest ------------===//
#include "compiler/schedule/autotune.h"

#include "compiler/codegen/conv_microkernel.h"
#include "compiler/codegen/module_builder.h"
#include "compiler/codegen/stopwatch.h"
#include "compiler/schedule/cost_model.h"
#include "ir/error.h"

#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Support/Error.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <set>
#include <thread>

namespace bisc {

namespace {

using Clock = std::chrono::steady_clock;
using KernelFn = void (*)(void **frame, int64_t begin, int64_t end);

/// The runtime's rt_parallel_for for the JIT-ed module's entry points (which the timing does
/// not call: it runs the conv's kernel itself, split over its threads).
extern "C" void biscAutotuneParallelFor(void *, KernelFn kernel, void **frame, int64_t count, int64_t) {
  kernel(frame, 0, count);
}

constexpr const char *kName = "bisc_tune";
constexpr int64_t kMaxLabelChannels = 256;
/// A challenger must run in at most this fraction of the default's time, back to back.
constexpr double kConfirmRatio = 0.97;

template <class T> T orFail(llvm::Expected<T> value, const char *what) {
  if (!value) fail("autotune: {}: {}", what, llvm::toString(value.takeError()));
  return std::move(*value);
}

void orFail(llvm::Error error, const char *what) {
  if (error) fail("autotune: {}: {}", what, llvm::toString(std::move(error)));
}

/// Deterministic values in [-1, 1).
void fillRandom(float *data, size_t count, uint32_t seed) {
  uint32_t state = seed * 2654435761u + 1;
  for (size_t i = 0; i < count; ++i) {
    state = state * 1664525u + 1013904223u;
    data[i] = float(state >> 8) / float(1u << 23) - 1.0f;
  }
}

std::shared_ptr<Tensor> randomTensor(const TensorType &type, uint32_t seed) {
  auto tensor = std::make_shared<Tensor>(type);
  fillRandom(tensor->f32().data(), tensor->f32().size(), seed);
  return tensor;
}

/// x -> conv2d(x, w, b) -> y with the geometry of `c`. The output must fit the labels
/// kernel every module has (<= 256 channels): wider convs get a cheap grouped 1x1 conv after
/// them, which the timing leaves out (it runs the conv's kernel alone).
std::unique_ptr<Graph> convGraph(const ConvKernel &c) {
  auto graph = std::make_unique<Graph>(kName);
  Value *x = graph->addInput("x", {DType::f32, {c.n, c.ic, c.h, c.w}});
  Value *w = graph->addWeight("w", {DType::f32, {c.oc, c.ic, c.kh, c.kw}});
  Value *b = graph->addWeight("b", {DType::f32, {c.oc}});
  Node *conv = graph->addNode(OpId::conv2d, "conv", {x, w, b},
                              {{"stride", std::vector<int64_t>{c.strideH, c.strideW}},
                               {"pads", std::vector<int64_t>{c.padT, c.padL, c.padB, c.padR}},
                               {"dilation", std::vector<int64_t>{c.dilH, c.dilW}}});
  Value *out = conv->result;
  if (c.oc > kMaxLabelChannels) {
    int64_t groups = kMaxLabelChannels;
    while (c.oc % groups) --groups;
    Value *reduce = graph->addWeight("reduce", {DType::f32, {groups, c.oc / groups, 1, 1}});
    out = graph->addNode(OpId::conv2d, "reduce_channels", {out, reduce}, {{"groups", groups}})->result;
  }
  graph->addOutput("y", out);
  inferShapes(*graph);
  for (Value *weight : graph->weights()) weight->data = randomTensor(weight->type, uint32_t(weight->name.size()));
  return graph;
}

struct AlignedBuffer {
  explicit AlignedBuffer(size_t bytes) : data(std::aligned_alloc(64, std::max<size_t>(64, (bytes + 63) / 64 * 64))) {
    if (!data) fail("autotune: out of memory ({} bytes)", bytes);
  }
  ~AlignedBuffer() { std::free(data); }
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  void *data;
};

std::unique_ptr<llvm::orc::LLJIT> hostJit(const TargetSpec &target) {
  llvm::orc::JITTargetMachineBuilder machine{llvm::Triple(target.triple)};
  machine.setCPU(target.cpu);
  if (!target.features.empty()) {
    llvm::SubtargetFeatures features(target.features);
    machine.addFeatures(features.getFeatures());
  }
  machine.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  machine.getOptions().AllowFPOpFusion = llvm::FPOpFusion::Fast;
  auto jit = orFail(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(machine)).create(), "LLJIT");
  llvm::orc::JITDylib &dylib = jit->getMainJITDylib();
  // memset/memcpy the optimiser may emit come from this process.
  dylib.addGenerator(orFail(llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
                                jit->getDataLayout().getGlobalPrefix()),
                            "process symbols"));
  llvm::orc::SymbolMap runtime;
  runtime[jit->mangleAndIntern(std::string(kName) + "_rt_parallel_for")] = {
      llvm::orc::ExecutorAddr::fromPtr(&biscAutotuneParallelFor),
      llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
  orFail(dylib.define(llvm::orc::absoluteSymbols(std::move(runtime))), "runtime symbols");
  return jit;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

/// A distinct dense conv of the graph and the first node that has it.
struct SurveyedConv {
  ConvKernel conv;
  std::string node;
};

/// The dense convs the microkernel or packed conv lower, by signature in graph order: the emitters are run
/// (not optimised or emitted) with a chooser that records what they ask for.
std::vector<std::pair<std::string, SurveyedConv>> surveyConvs(const Graph &graph, const TargetSpec &target) {
  std::vector<std::pair<std::string, SurveyedConv>> convs;
  ScheduleOptions survey;
  survey.chooser = [&](const Node &node, const Schedule &defaults) -> std::optional<Schedule> {
    if (!convMicrokernelApplies(node, defaults)) return std::nullopt;
    ConvKernel conv = convKernel(node);
    std::string signature = kernelSignature(conv, target.cpu);
    auto known = [&](const auto &entry) { return entry.first == signature; };
    if (std::none_of(convs.begin(), convs.end(), known)) convs.push_back({signature, {conv, node.name()}});
    return std::nullopt;
  };
  llvm::LLVMContext context;
  buildModule(graph, context, kName, target, false, survey);
  return convs;
}

/// One candidate: the conv compiled with a schedule, JIT-ed with its own buffers, ready to run.
class JitKernel {
public:
  JitKernel(const ConvKernel &conv, const Schedule &schedule, const TargetSpec &target) : target_(target) {
    std::unique_ptr<Graph> graph = convGraph(conv);
    context_ = std::make_unique<llvm::LLVMContext>();
    ScheduleOptions options;
    options.byNode["conv"] = schedule;
    built_ = buildModule(*graph, *context_, kName, target, false, options);
    stat_ = built_.kernels.at(0);
    // Pinning the microkernel where the emitters pick it anyway gives the same kernel.
    std::string shown = stat_.schedule;
    if (size_t pin = shown.find(" kernel=microkernel"); pin != std::string::npos) shown.erase(pin);
    key_ = stat_.family + " " + shown;
  }

  /// The emitted kernel: family and schedule.
  const std::string &key() const { return key_; }

  /// Optimises and JITs the module and fills the buffers.
  void compile() {
    jit_ = hostJit(target_);
    llvm::Module &module = *built_.module;
    module.getFunction(stat_.symbol)->setLinkage(llvm::GlobalValue::ExternalLinkage);
    auto machine = createTargetMachine(target_);
    module.setTargetTriple(target_.triple);
    module.setDataLayout(jit_->getDataLayout());
    optimizeModule(module, *machine);
    orFail(jit_->addIRModule(llvm::orc::ThreadSafeModule(std::move(built_.module), std::move(context_))),
           "add module");
    function_ = orFail(jit_->lookup(stat_.symbol), "lookup").toPtr<KernelFn>();
    arena_ = std::make_unique<AlignedBuffer>(size_t(built_.arenaBytes));
    weights_ = std::make_unique<AlignedBuffer>(built_.weights.size());
    input_ = std::make_unique<AlignedBuffer>(size_t(built_.input.bytes()));
    output_ = std::make_unique<AlignedBuffer>(size_t(built_.output.bytes()));
    std::copy(built_.weights.begin(), built_.weights.end(), static_cast<char *>(weights_->data));
    fillRandom(static_cast<float *>(input_->data), size_t(built_.input.elements()), 3);
  }

  /// Milliseconds of one run on `threads` threads, split as the runtime's pool does: each
  /// thread takes chunks of 1/(2 T) of the iterations left from a shared counter.
  double runOnce(int threads) {
    void *frame[5] = {arena_->data, weights_->data, input_->data, output_->data, nullptr};
    int64_t count = stat_.parallelCount, workers = std::clamp<int64_t>(threads, 1, count);
    std::atomic<int64_t> next{0};
    auto chunks = [&] {
      for (int64_t begin = next.load(); begin < count;) {
        int64_t chunk = std::max<int64_t>(1, (count - begin) / (2 * workers));
        if (next.compare_exchange_weak(begin, begin + chunk)) {
          function_(frame, begin, begin + chunk);
          begin = next.load();
        }
      }
    };
    auto start = Clock::now();
    std::vector<std::thread> helpers;
    for (int64_t t = 1; t < workers; ++t) helpers.emplace_back(chunks);
    chunks();
    for (std::thread &helper : helpers) helper.join();
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  }

  /// One warm-up (page faults, caches), then the median of `runs`.
  double time(int runs, int threads) {
    runOnce(threads);
    std::vector<double> times;
    for (int i = 0; i < std::max(1, runs); ++i) times.push_back(runOnce(threads));
    return median(times);
  }

private:
  TargetSpec target_;
  std::unique_ptr<llvm::LLVMContext> context_;
  BuiltModule built_;
  KernelStat stat_;
  std::string key_;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  KernelFn function_ = nullptr;
  std::unique_ptr<AlignedBuffer> arena_, weights_, input_, output_;
};

/// Whether `challenger` is still faster than `incumbent` when timed back to back (pairs in
/// alternating order, so a change of machine load hits both): the median ratio of the pairs
/// must be below kConfirmRatio.
bool confirmFaster(JitKernel &challenger, JitKernel &incumbent, int runs, int threads) {
  std::vector<double> ratios;
  for (int i = 0; i < std::max(3, runs); ++i) {
    double a = 0, b = 0;
    if (i % 2) a = challenger.runOnce(threads), b = incumbent.runOnce(threads);
    else b = incumbent.runOnce(threads), a = challenger.runOnce(threads);
    ratios.push_back(a / b);
  }
  return median(ratios) < kConfirmRatio;
}

} // namespace

TimedKernel timeConvSchedule(const ConvKernel &conv, const Schedule &schedule, const TargetSpec &target, int runs,
                             int threads, const std::set<std::string> &skip) {
  JitKernel kernel(conv, schedule, target);
  TimedKernel timed{kernel.key(), 0};
  if (skip.count(timed.kernel)) return timed;
  kernel.compile();
  timed.ms = kernel.time(runs, threads);
  return timed;
}

AutotuneReport autotune(const Graph &graph, const TargetSpec &target, ScheduleTable &table,
                        const AutotuneOptions &options) {
  if (!target.isHost) fail("--autotune runs the candidate kernels here, so it needs the host target");
  Stopwatch total;
  AutotuneReport report;
  MachineModel machine = machineModel(target);
  Schedule defaults = Schedule::forVectorWidth(target.vectorWidth, machine.registers >= 32);
  auto convs = surveyConvs(graph, target);
  report.kernels = int(convs.size());
  int left = 0;
  double leftMacs = 0; // the budget is shared in proportion to the kernels' work
  for (const auto &[signature, surveyed] : convs)
    if (!table.count(signature)) ++left, leftMacs += double(surveyed.conv.macs());
  report.reused = report.kernels - left;
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(std::max(0.0, options.budgetSeconds)));
  for (const auto &[signature, surveyed] : convs) {
    if (table.count(signature)) continue;
    const ConvKernel &conv = surveyed.conv;
    double share = leftMacs > 0 ? double(conv.macs()) / leftMacs : 1.0;
    leftMacs -= double(conv.macs());
    auto sliceEnd = Clock::now() + std::chrono::duration_cast<Clock::duration>((deadline - Clock::now()) * share);
    // First what a compile without the file would use (the emitters' kernel choice, the cost
    // model's blocking for the microkernel), then the target-wide default, then the
    // microkernel pinned with the cost model's best blockings.
    Schedule first = chooseSchedule(conv, machine, defaults);
    std::vector<Schedule> candidates{first, effectiveSchedule(conv, defaults)};
    for (Schedule s : rankSchedules(conv, machine, defaults)) {
      s.denseKernel = DenseKernel::Microkernel;
      if (int(candidates.size()) < options.maxCandidates) candidates.push_back(s);
    }
    TunedSchedule best{first, 0, 0, options.threads};
    int timed = 0;
    std::set<std::string> kernels; // emitted kernels already timed: candidates may coincide
    std::unique_ptr<JitKernel> incumbent, leader; // the default's kernel, the fastest other
    for (const Schedule &candidate : candidates) {
      // Two candidates are always timed; the rest while time is left.
      if (timed >= 2 && Clock::now() >= sliceEnd) break;
      auto kernel = std::make_unique<JitKernel>(conv, candidate, target);
      if (!kernels.insert(kernel->key()).second) continue;
      kernel->compile();
      double ms = kernel->time(options.runs, options.threads);
      if (++timed == 1) {
        best.defaultMs = best.measuredMs = ms;
        incumbent = std::move(kernel);
      } else if (ms < best.measuredMs) {
        best.schedule = candidate, best.measuredMs = ms;
        leader = std::move(kernel);
      }
    }
    // A winner other than the default must stay faster timed back to back with it: a load
    // spike during one candidate's runs must not pick it.
    if (leader && !confirmFaster(*leader, *incumbent, options.runs, options.threads))
      best.schedule = first, best.measuredMs = best.defaultMs;
    report.candidates += timed;
    if (timed == 0) continue;
    ++report.tuned;
    if (!(best.schedule == first)) ++report.improved;
    table[signature] = best;
    if (options.log)
      options.log(fmt::format("autotune %{}: {} -> {:.3f} ms (default {:.3f} ms, {} timed)", surveyed.node,
                              best.schedule.describe(), best.measuredMs, best.defaultMs, timed));
  }
  report.seconds = total.lap();
  return report;
}

} // namespace bisc
