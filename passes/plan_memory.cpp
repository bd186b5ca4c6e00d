//===- plan_memory.cpp - Liveness-based offsets in one activation arena ---===//
//
// What: every node result except the graph outputs (the caller's buffers) gets a byte
// offset in one arena (Value::arenaOffset), in two steps.
//  1. Buffers and lifetimes, walking the nodes in order. A result lives from its node to its
//     last reader (a result nobody reads, just at its node). It takes over the buffer of an
//     operand that dies at that node (in place) when each output element depends only on
//     the same element of that operand: relu, sigmoid, dropout, batch_norm, add/mul (a
//     same-typed operand), resize_add/resize_mul (x), fused_conv (the residual, unless it
//     is also the conv input). Gate kernels (arm, ffm, bga, context_embedding) read all of x
//     before writing, so they never reuse it. Otherwise it gets a buffer of its own.
//  2. Placement, largest buffer first ("greedy by size"): each goes to the lowest offset
//     that overlaps no placed buffer whose lifetime intersects its own. Lifetimes are closed
//     intervals of node indices, so a node's result never shares bytes with what it reads
//     unless in place. Sizes are rounded up to 64 bytes.
// Preconditions: none. Re-running re-plans from scratch.
#include "passes/passes.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace bisc {

namespace {

int64_t align64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

/// Operand indices whose element i is the only one output element i reads.
std::vector<size_t> inPlaceOperands(const Node &node) {
  switch (node.op) {
  case OpId::relu:
  case OpId::sigmoid:
  case OpId::dropout:
  case OpId::batch_norm:
  case OpId::resize_add:
  case OpId::resize_mul:
    return {0};
  case OpId::add:
  case OpId::mul:
    return {0, 1};
  case OpId::fused_conv:
    if (node.inputs.size() == 4 && node.inputs[3] != node.inputs[0]) return {3};
    return {};
  default:
    return {};
  }
}

/// The values sharing one block of the arena (an in-place chain) and when it is in use.
struct Buffer {
  int64_t size = 0;
  size_t first = 0, last = 0;  ///< node indices, inclusive
  int64_t offset = -1;
  std::vector<Value *> values;
};

bool overlapInTime(const Buffer &a, const Buffer &b) { return a.first <= b.last && b.first <= a.last; }

/// Step 1: one buffer per chain of in-place results.
std::vector<Buffer> buildBuffers(Graph &graph, MemoryPlan &plan) {
  std::unordered_set<const Value *> outputs;
  for (const GraphOutput &out : graph.outputs()) outputs.insert(out.value);
  std::unordered_map<const Value *, size_t> lastUse;
  const auto &nodes = graph.nodes();
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const Value *input : nodes[i]->inputs) lastUse[input] = i;
  std::vector<Buffer> buffers;
  std::unordered_map<const Value *, size_t> bufferOf;
  for (size_t i = 0; i < nodes.size(); ++i) {
    Node &node = *nodes[i];
    Value *result = node.result;
    if (outputs.count(result)) continue;
    int64_t size = align64(result->type.bytes());
    plan.totalBytes += size;
    ++plan.planned;
    size_t at = buffers.size();
    for (size_t k : inPlaceOperands(node)) {
      const Value *operand = node.inputs[k];
      auto owner = bufferOf.find(operand);
      if (owner == bufferOf.end() || lastUse[operand] != i || operand->type != result->type) continue;
      at = owner->second;
      ++plan.inPlace;
      break;
    }
    if (at == buffers.size()) buffers.push_back({size, i, i, -1, {}});
    Buffer &buffer = buffers[at];
    auto use = lastUse.find(result);
    buffer.last = use == lastUse.end() ? i : use->second;
    buffer.values.push_back(result);
    bufferOf[result] = at;
  }
  return buffers;
}

/// Step 2: greedy by size; returns the arena size.
int64_t placeBuffers(std::vector<Buffer> &buffers) {
  std::vector<Buffer *> order;
  for (Buffer &buffer : buffers) order.push_back(&buffer);
  std::stable_sort(order.begin(), order.end(), [](auto *a, auto *b) { return a->size > b->size; });
  std::vector<Buffer *> placed;
  int64_t peak = 0;
  for (Buffer *buffer : order) {
    std::vector<const Buffer *> conflicts;
    for (const Buffer *other : placed)
      if (overlapInTime(*buffer, *other)) conflicts.push_back(other);
    std::sort(conflicts.begin(), conflicts.end(), [](auto *a, auto *b) { return a->offset < b->offset; });
    int64_t cursor = 0;
    for (const Buffer *other : conflicts) {
      if (other->offset - cursor >= buffer->size) break;
      cursor = std::max(cursor, other->offset + other->size);
    }
    buffer->offset = cursor;
    peak = std::max(peak, cursor + buffer->size);
    placed.push_back(buffer);
  }
  return peak;
}

/// The most bytes in use at any node: a lower bound on the arena for these buffers.
int64_t mostBytesLive(const std::vector<Buffer> &buffers, size_t nodeCount) {
  std::vector<int64_t> live(nodeCount + 1, 0);
  for (const Buffer &buffer : buffers)
    for (size_t i = buffer.first; i <= buffer.last; ++i) live[i] += buffer.size;
  return *std::max_element(live.begin(), live.end());
}

} // namespace

MemoryPlan planMemory(Graph &graph) {
  for (const auto &node : graph.nodes()) node->result->arenaOffset = -1;
  MemoryPlan plan;
  std::vector<Buffer> buffers = buildBuffers(graph, plan);
  plan.peakBytes = placeBuffers(buffers);
  plan.liveBytes = mostBytesLive(buffers, graph.nodes().size());
  for (const Buffer &buffer : buffers)
    for (Value *value : buffer.values) value->arenaOffset = buffer.offset;
  return plan;
}

namespace {

class PlanMemory : public Pass {
public:
  std::string name() const override { return "plan-memory"; }
  bool run(Graph &graph) override {
    std::vector<int64_t> before;
    for (const auto &node : graph.nodes()) before.push_back(node->result->arenaOffset);
    plan_ = planMemory(graph);
    for (size_t i = 0; i < before.size(); ++i)
      if (graph.nodes()[i]->result->arenaOffset != before[i]) return true;
    return false;
  }
  std::vector<std::pair<std::string, std::string>> statistics() const override {
    double ratio = plan_.totalBytes ? double(plan_.peakBytes) / double(plan_.totalBytes) : 0;
    return {{"peak-bytes", std::to_string(plan_.peakBytes)},
            {"sum-of-activations-bytes", std::to_string(plan_.totalBytes)},
            {"peak/sum", std::to_string(ratio)},
            {"most-bytes-live-at-once", std::to_string(plan_.liveBytes)},
            {"planned", std::to_string(plan_.planned)},
            {"in-place", std::to_string(plan_.inPlace)}};
  }

private:
  MemoryPlan plan_;
};

} // namespace

std::unique_ptr<Pass> createPlanMemoryPass() { return std::make_unique<PlanMemory>(); }

} // namespace bisc
