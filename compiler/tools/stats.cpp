//===- stats.cpp - Model statistics for `bisc stats` ---------------------===//
#include "compiler/tools/stats.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unordered_set>

namespace bisc {

int64_t nodeMacs(const Node &node) {
  const Shape &out = node.result->type.shape;
  int64_t outElements = node.result->type.elements();
  switch (node.op) {
  case OpId::conv2d: {
    const Shape &w = node.inputs[1]->type.shape;  // [OC, IC/groups, KH, KW]
    return outElements * w[1] * w[2] * w[3];
  }
  case OpId::batch_norm:
  case OpId::add:
  case OpId::mul: return outElements;
  case OpId::max_pool:
  case OpId::avg_pool: {
    const std::vector<int64_t> &kernel = node.attrInts("kernel");
    return outElements * kernel[0] * kernel[1];
  }
  case OpId::global_avg_pool:
  case OpId::softmax:
  case OpId::log_softmax: return node.inputs[0]->type.elements();
  case OpId::resize: return node.attrString("mode") == "bilinear" ? 4 * outElements : 0;
  default: (void)out; return 0;  // relu, sigmoid, dropout, concat, argmax: no multiplies
  }
}

namespace {

/// Values the outputs read (all outputs, or only the inference ones), walking backwards.
std::unordered_set<const Value *> liveValues(const Graph &graph, bool includeTraining) {
  std::unordered_set<const Value *> live;
  for (const GraphOutput &output : graph.outputs())
    if (includeTraining || !output.trainingOnly) live.insert(output.value);
  for (auto it = graph.nodes().rbegin(); it != graph.nodes().rend(); ++it)
    if (live.count((*it)->result)) live.insert((*it)->inputs.begin(), (*it)->inputs.end());
  return live;
}

/// Weights that are BatchNorm running statistics (inputs 3 and 4 of batch_norm): state, not
/// learnable parameters.
std::unordered_set<const Value *> runningStatistics(const Graph &graph) {
  std::unordered_set<const Value *> buffers;
  for (const auto &node : graph.nodes()) {
    if (node->op != OpId::batch_norm) continue;
    for (size_t i : {size_t(3), size_t(4)})
      if (node->inputs[i]->kind == ValueKind::Weight) buffers.insert(node->inputs[i]);
  }
  return buffers;
}

/// `total` counts every node and weight, dead ones too; `inference` what the inference
/// outputs read.
GraphStats countStats(const Graph &graph, bool inferenceOnly) {
  std::unordered_set<const Value *> live = liveValues(graph, !inferenceOnly);
  std::unordered_set<const Value *> buffers = runningStatistics(graph);
  GraphStats stats;
  for (const Value *weight : graph.weights()) {
    if (inferenceOnly && !live.count(weight)) continue;
    (buffers.count(weight) ? stats.buffers : stats.parameters) += weight->type.elements();
  }
  for (const auto &node : graph.nodes()) {
    if (inferenceOnly && !live.count(node->result)) continue;
    int64_t macs = nodeMacs(*node), bytes = node->result->type.bytes();
    GraphStats::OpCount &op = stats.ops[std::string(node->info().name)];
    op.nodes += 1;
    op.macs += macs;
    stats.nodes += 1;
    stats.macs += macs;
    if (node->op == OpId::conv2d) stats.convMacs += macs;
    stats.activationBytes += bytes;
    if (bytes > stats.largestActivationBytes) {
      stats.largestActivationBytes = bytes;
      stats.largestActivation = fmt::format("{} {}", node->name(), toString(node->result->type));
    }
  }
  return stats;
}

/// 1234567 -> "1,234,567"
std::string grouped(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

/// 24600000000 -> "24.6 G"
std::string compact(int64_t n) {
  const char *units[] = {"", " K", " M", " G", " T"};
  double value = double(n);
  int unit = 0;
  while (value >= 1000 && unit < 4) value /= 1000, ++unit;
  return unit ? fmt::format("{:.3g}{}", value, units[unit]) : std::to_string(n);
}

std::string row(const std::string &label, int64_t inference, int64_t total) {
  return fmt::format("{:<20}{:>16} {:>8} {:>16} {:>8}\n", label, grouped(inference), compact(inference),
                     grouped(total), compact(total));
}

nlohmann::ordered_json toJson(const GraphStats &stats) {
  nlohmann::ordered_json ops = nlohmann::ordered_json::object();
  for (const auto &[name, op] : stats.ops) ops[name] = {{"nodes", op.nodes}, {"macs", op.macs}};
  return {{"parameters", stats.parameters},
          {"buffers", stats.buffers},
          {"conv_macs", stats.convMacs},
          {"macs", stats.macs},
          {"nodes", stats.nodes},
          {"activation_bytes", stats.activationBytes},
          {"largest_activation_bytes", stats.largestActivationBytes},
          {"largest_activation", stats.largestActivation},
          {"ops", ops}};
}

} // namespace

ModelStats computeStats(const Graph &graph) {
  ModelStats stats{graph.name(), graph.inputs().empty() ? TensorType{} : graph.inputs()[0]->type,
                   countStats(graph, true), countStats(graph, false)};
  return stats;
}

std::string statsTable(const ModelStats &stats) {
  std::string text = fmt::format("model {}, input {}\n\n", stats.model, toString(stats.input));
  const GraphStats &inf = stats.inference, &all = stats.total;
  text += fmt::format("{:<20}{:>25} {:>25}\n", "", "inference", "total (with training-only)");
  text += row("parameters", inf.parameters, all.parameters);
  text += row("BN running stats", inf.buffers, all.buffers);
  text += row("conv MACs", inf.convMacs, all.convMacs);
  text += row("all MACs", inf.macs, all.macs);
  text += row("nodes", inf.nodes, all.nodes);
  text += row("activation bytes", inf.activationBytes, all.activationBytes);
  text += row("largest activation", inf.largestActivationBytes, all.largestActivationBytes);
  text += fmt::format("  largest: {} (inference), {} (total)\n\n", inf.largestActivation, all.largestActivation);
  text += fmt::format("{:<20}{:>12}{:>12}{:>20}{:>20}\n", "op", "nodes (inf)", "(total)", "MACs (inf)", "(total)");
  for (const auto &[name, op] : all.ops) {
    auto it = inf.ops.find(name);
    GraphStats::OpCount infOp = it == inf.ops.end() ? GraphStats::OpCount{} : it->second;
    text += fmt::format("{:<20}{:>12}{:>12}{:>20}{:>20}\n", name, infOp.nodes, op.nodes, grouped(infOp.macs),
                        grouped(op.macs));
  }
  return text;
}

std::string statsJson(const ModelStats &stats) {
  nlohmann::ordered_json json = {{"model", stats.model},
                                 {"input", toString(stats.input)},
                                 {"input_shape", stats.input.shape},
                                 {"inference", toJson(stats.inference)},
                                 {"total", toJson(stats.total)}};
  return json.dump(2) + "\n";
}

} // namespace bisc
