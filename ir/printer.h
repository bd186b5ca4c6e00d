//===- printer.h - The MLIR-like text form of a graph ---------------------===//
//
//   graph @name(%input: f32[1,3,64,128]) {
//     weight @conv.weight : f32[8,3,3,3]
//     %conv = conv2d(%input, @conv.weight) {stride=[2,2], pads=[1,1,1,1]} : f32[1,8,32,64]
//     return logits = %conv, aux = %other [training_only]
//   }
//
// Attributes equal to their default are not printed. After plan-memory, a result's arena
// offset follows its type: `: f32[1,8,32,64] at 4096`. parse(print(g)) prints the same text.
#pragma once

#include "ir/graph.h"

#include <string>

namespace bisc {

std::string printGraph(const Graph &graph);
/// One node line without indentation or newline.
std::string printNode(const Node &node);

/// True if `name` can be printed without quoting (letters, digits and _ . + - / #).
bool isPrintableName(std::string_view name);

} // namespace bisc
