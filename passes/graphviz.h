//===- graphviz.h - The graph as Graphviz dot text (bisc-opt --dot) -------===//
#pragma once

#include "ir/graph.h"

#include <string>

namespace bisc {

/// A `digraph`: graph inputs and outputs as ellipses, one box per node labelled with its
/// name, op and result type, and edges for activations (weights are listed by count, not
/// drawn). A fused node (one with a fused_from attribute) is filled and its label lists
/// the nodes it contains, one per line, so a dump shows what each kernel does.
std::string graphToDot(const Graph &graph);

} // namespace bisc
