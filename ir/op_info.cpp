//===- op_info.cpp - The op table, expanded from ops.def ------------------===//
#include "ir/op_info.h"

#include <array>
#include <climits>
#include <cstdint>

namespace bisc {

namespace {

/// "x, weight, bias?" -> three operands, the last optional.
std::vector<OperandSpec> parseSignature(std::string_view text) {
  std::vector<OperandSpec> operands;
  while (!text.empty()) {
    size_t cut = text.find(',');
    std::string_view part = text.substr(0, cut);
    while (part.starts_with(' ')) part.remove_prefix(1);
    OperandSpec spec;
    if (part.ends_with("...")) {
      spec.variadic = true;
      part.remove_suffix(3);
    } else if (part.ends_with('?')) {
      spec.optional = true;
      part.remove_suffix(1);
    }
    spec.name = std::string(part);
    operands.push_back(spec);
    if (cut == std::string_view::npos) break;
    text.remove_prefix(cut + 1);
  }
  return operands;
}

OpInfo makeInfo(OpId id, std::string_view name, std::string_view signature, OpKind kind,
                std::vector<AttrSpec> attrs) {
  OpInfo info{id, name, parseSignature(signature), kind, std::move(attrs), {}};
  for (const AttrSpec &spec : info.attrs)
    info.defaults.push_back(spec.required() || spec.optional()
                                ? Attribute{}
                                : parseAttrText(spec.defaultText, spec.type));
  return info;
}

#define REQUIRED nullptr
#define OPTIONAL ""
#define ATTR(name, type, def) AttrSpec{#name, AttrType::type, def}

const std::vector<OpInfo> &table() {
  static const std::vector<OpInfo> ops = {
#define BISC_OP(id, signature, kind, ...)                                                    \
  makeInfo(OpId::id, #id, signature, OpKind::kind, {__VA_ARGS__}),
#include "ir/ops.def"
  };
  return ops;
}

#undef ATTR
#undef OPTIONAL
#undef REQUIRED

} // namespace

size_t OpInfo::minInputs() const {
  size_t n = 0;
  for (const OperandSpec &op : operands)
    if (!op.optional && !op.variadic) ++n;
  return operands.size() == 1 && operands[0].variadic ? 1 : n;
}

size_t OpInfo::maxInputs() const {
  for (const OperandSpec &op : operands)
    if (op.variadic) return SIZE_MAX;
  return operands.size();
}

int OpInfo::attrIndex(std::string_view attrName) const {
  for (size_t i = 0; i < attrs.size(); ++i)
    if (attrName == attrs[i].name) return int(i);
  return -1;
}

std::string OpInfo::operandName(size_t i) const {
  if (i < operands.size()) return operands[i].name;
  if (!operands.empty() && operands.back().variadic) return operands.back().name;
  return "operand " + std::to_string(i);
}

const OpInfo &opInfo(OpId id) { return table()[size_t(id)]; }

std::optional<OpId> lookupOp(std::string_view name) {
  for (const OpInfo &info : table())
    if (info.name == name) return info.id;
  return std::nullopt;
}

std::string allOpNames() {
  std::string names;
  for (const OpInfo &info : table()) names += (names.empty() ? "" : ", ") + std::string(info.name);
  return names;
}

} // namespace bisc
