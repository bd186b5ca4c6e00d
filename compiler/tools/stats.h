//===- stats.h - Model statistics for `bisc stats` -----------------------===//
#pragma once

#include "ir/graph.h"

#include <map>
#include <string>

namespace bisc {

/// Counts for one view of a graph (the inference part, or everything).
struct GraphStats {
  /// Learnable elements of the weights read by the counted nodes, as PyTorch's
  /// `sum(p.numel() for p in model.parameters())` counts them: BatchNorm running statistics
  /// are buffers, not parameters, and are counted in `buffers`.
  int64_t parameters = 0;
  int64_t buffers = 0;          ///< elements of BatchNorm running_mean / running_var weights
  int64_t convMacs = 0;         ///< N*OC*OH*OW*(IC/groups)*KH*KW summed over conv2d nodes
  int64_t macs = 0;             ///< all ops, by the per-op rules of docs/cli.md
  int64_t nodes = 0;
  int64_t activationBytes = 0;  ///< sum of the bytes of every node result
  int64_t largestActivationBytes = 0;
  std::string largestActivation;  ///< name and type of the largest node result
  struct OpCount {
    int64_t nodes = 0;
    int64_t macs = 0;
  };
  std::map<std::string, OpCount> ops;  ///< by op name
};

struct ModelStats {
  std::string model;
  TensorType input;
  GraphStats inference;  ///< without what only training-only outputs read
  GraphStats total;
};

/// The graph's shapes must be inferred (it is verified).
ModelStats computeStats(const Graph &graph);

std::string statsTable(const ModelStats &stats);
std::string statsJson(const ModelStats &stats);

/// Multiply-accumulates of one node (conv2d by its formula; see docs/cli.md for the rest).
int64_t nodeMacs(const Node &node);

} // namespace bisc
