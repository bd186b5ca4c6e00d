//===- onnx_attrs.cpp - Typed access to ONNX node attributes ---------------===//
#include "frontends/onnx/onnx_importer.h"

#include "ir/error.h"

namespace bisc::onnx_import {

namespace {

const onnx::AttributeProto *typed(const onnx::NodeProto &node, const std::string &name,
                                  onnx::AttributeProto::AttributeType type, const char *expected) {
  const onnx::AttributeProto *attr = findAttr(node, name);
  if (attr && attr->type() != type && attr->type() != onnx::AttributeProto::UNDEFINED)
    fail("attribute '{}' must be {}", name, expected);
  return attr;
}

} // namespace

const onnx::AttributeProto *findAttr(const onnx::NodeProto &node, const std::string &name) {
  for (const onnx::AttributeProto &attr : node.attribute())
    if (attr.name() == name) return &attr;
  return nullptr;
}

int64_t attrInt(const onnx::NodeProto &node, const std::string &name, int64_t fallback) {
  const auto *attr = typed(node, name, onnx::AttributeProto::INT, "an integer");
  return attr ? attr->i() : fallback;
}

float attrFloat(const onnx::NodeProto &node, const std::string &name, float fallback) {
  const auto *attr = typed(node, name, onnx::AttributeProto::FLOAT, "a float");
  return attr ? attr->f() : fallback;
}

std::string attrString(const onnx::NodeProto &node, const std::string &name,
                       const std::string &fallback) {
  const auto *attr = typed(node, name, onnx::AttributeProto::STRING, "a string");
  return attr ? attr->s() : fallback;
}

std::vector<int64_t> attrInts(const onnx::NodeProto &node, const std::string &name,
                              std::vector<int64_t> fallback) {
  const auto *attr = typed(node, name, onnx::AttributeProto::INTS, "a list of integers");
  return attr ? std::vector<int64_t>(attr->ints().begin(), attr->ints().end()) : fallback;
}

std::vector<float> attrFloats(const onnx::NodeProto &node, const std::string &name) {
  const auto *attr = typed(node, name, onnx::AttributeProto::FLOATS, "a list of floats");
  return attr ? std::vector<float>(attr->floats().begin(), attr->floats().end()) : std::vector<float>{};
}

} // namespace bisc::onnx_import
