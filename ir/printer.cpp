//===- printer.cpp - The MLIR-like text form of a graph -------------------===//
#include "ir/printer.h"

#include <fmt/format.h>

#include <cctype>

namespace bisc {

namespace {

std::string ref(const Value *value) {
  if (!value) return "<null>";
  return (value->kind == ValueKind::Weight ? "@" : "%") + value->name;
}

} // namespace

bool isPrintableName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("_.+-/#").find(c) == std::string_view::npos)
      return false;
  return true;
}

std::string printNode(const Node &node) {
  const OpInfo &info = node.info();
  std::string line = fmt::format("%{} = {}(", node.name(), info.name);
  for (size_t i = 0; i < node.inputs.size(); ++i) line += (i ? ", " : "") + ref(node.inputs[i]);
  line += ")";
  std::string attrs;
  for (size_t i = 0; i < info.attrs.size() && i < node.attrs.size(); ++i) {
    if (std::holds_alternative<std::monostate>(node.attrs[i]) || node.attrs[i] == info.defaults[i])
      continue;
    attrs += fmt::format("{}{}={}", attrs.empty() ? "" : ", ", info.attrs[i].name,
                         printAttr(node.attrs[i]));
  }
  if (!attrs.empty()) line += " {" + attrs + "}";
  line += " : " + toString(node.result->type);
  if (node.result->arenaOffset >= 0) line += fmt::format(" at {}", node.result->arenaOffset);
  return line;
}

std::string printGraph(const Graph &graph) {
  std::string text = fmt::format("graph @{}(", graph.name());
  for (size_t i = 0; i < graph.inputs().size(); ++i)
    text += fmt::format("{}%{}: {}", i ? ", " : "", graph.inputs()[i]->name,
                        toString(graph.inputs()[i]->type));
  text += ") {\n";
  for (const Value *weight : graph.weights())
    text += fmt::format("  weight @{} : {}\n", weight->name, toString(weight->type));
  for (const auto &node : graph.nodes()) text += "  " + printNode(*node) + "\n";
  text += "  return";
  for (size_t i = 0; i < graph.outputs().size(); ++i) {
    const GraphOutput &out = graph.outputs()[i];
    text += fmt::format("{} {} = {}{}", i ? "," : "", out.name, ref(out.value),
                        out.trainingOnly ? " [training_only]" : "");
  }
  return text + "\n}\n";
}

} // namespace bisc
