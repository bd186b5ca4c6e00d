//===- graphviz.cpp - The graph as Graphviz dot text ----------------------===//
#include "passes/graphviz.h"

#include <fmt/format.h>

#include <unordered_map>

namespace bisc {

namespace {

/// A dot string literal body: quotes and backslashes escaped.
std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string nodeLabel(const Node &node) {
  std::string label = fmt::format("{}\\n{} : {}", escape(node.name()), node.info().name,
                                  toString(node.result->type));
  int index = node.info().attrIndex("fused_from");
  if (index < 0 || !node.hasAttr("fused_from")) return label;
  label += "\\n--- fused:";
  std::string_view parts = node.attrString("fused_from");
  while (!parts.empty()) {
    size_t cut = parts.find('+');
    label += "\\n" + escape(parts.substr(0, cut));
    if (cut == std::string_view::npos) break;
    parts.remove_prefix(cut + 1);
  }
  return label;
}

} // namespace

std::string graphToDot(const Graph &graph) {
  std::string dot = fmt::format("digraph \"{}\" {{\n  rankdir=TB;\n  node [fontname=\"monospace\"];\n",
                                escape(graph.name()));
  std::unordered_map<const Value *, std::string> ids;
  for (const Value *input : graph.inputs()) {
    ids[input] = fmt::format("in{}", ids.size());
    dot += fmt::format("  {} [shape=ellipse, label=\"{}\\n{}\"];\n", ids[input],
                       escape(input->name), toString(input->type));
  }
  for (const auto &node : graph.nodes()) {
    std::string id = fmt::format("n{}", ids.size());
    ids[node->result] = id;
    bool fused = node->info().attrIndex("fused_from") >= 0 && node->hasAttr("fused_from");
    int weights = 0;
    for (const Value *input : node->inputs) weights += input->kind == ValueKind::Weight;
    std::string label = nodeLabel(*node);
    if (weights) label += fmt::format("\\n({} weight{})", weights, weights == 1 ? "" : "s");
    dot += fmt::format("  {} [shape=box, {}label=\"{}\"];\n", id,
                       fused ? "style=filled, fillcolor=\"lightblue\", " : "", label);
    for (const Value *input : node->inputs)
      if (input->kind != ValueKind::Weight) dot += fmt::format("  {} -> {};\n", ids[input], id);
  }
  for (size_t i = 0; i < graph.outputs().size(); ++i) {
    const GraphOutput &out = graph.outputs()[i];
    dot += fmt::format("  out{} [shape=ellipse, label=\"{}{}\"];\n  {} -> out{};\n", i,
                       escape(out.name), out.trainingOnly ? "\\n[training_only]" : "",
                       ids[out.value], i);
  }
  return dot + "}\n";
}

} // namespace bisc
