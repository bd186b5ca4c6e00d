//===- verifier.h - Checks a graph and re-derives its types ---------------===//
#pragma once

#include "ir/graph.h"

#include <string>
#include <vector>

namespace bisc {

/// Checks every node (arity, operands defined before use, attribute presence, types and
/// ranges, operand shapes) and every output, and re-infers each result type on the way.
/// Returns one message per problem, each naming its node ("node %x (conv2d): ..."); empty
/// when the graph is well formed. A node whose operand is already broken is not reported
/// again.
std::vector<std::string> verify(Graph &graph);

/// verify(), throwing bisc::Error that lists all problems.
void verifyOrThrow(Graph &graph);

} // namespace bisc
