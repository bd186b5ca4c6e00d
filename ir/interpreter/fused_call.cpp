//===- fused_call.cpp - Run one reference kernel outside a graph ----------===//
#include "ir/interpreter/fused_call.h"

#include "ir/error.h"
#include "ir/shape_rules.h"

namespace bisc::interp {

Tensor callKernel(OpId op, const std::vector<const Tensor *> &operands, const AttrList &attrs) {
  const OpInfo &info = opInfo(op);
  std::vector<Value> values(operands.size() + 1);
  Node node;
  node.op = op;
  node.attrs = info.defaults;
  for (const auto &[name, value] : attrs) {
    int index = info.attrIndex(name);
    if (index < 0) fail("op {} has no attribute '{}'", info.name, name);
    node.attrs[size_t(index)] = value;
  }
  for (size_t i = 0; i < operands.size(); ++i) {
    values[i].name = "operand" + std::to_string(i);
    values[i].kind = ValueKind::Input;
    values[i].type = operands[i]->type();
    node.inputs.push_back(&values[i]);
  }
  Value &result = values.back();
  result.name = std::string(info.name);
  result.producer = &node;
  node.result = &result;
  result.type = shapeRule(op)(node);
  Tensor out(result.type);
  interpreterKernel(op)(node, operands, out);
  return out;
}

std::pair<std::string, Attribute> copyAttr(const Node &node, const char *name) {
  return {name, node.attr(name)};
}

} // namespace bisc::interp
