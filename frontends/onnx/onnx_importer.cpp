//===- onnx_importer.cpp - ONNX file -> bisc Graph --------------------------===//
//
// loadOnnxModel is a fixed sequence of checks, each reporting every problem it finds before
// giving up: the protobuf parses; the default-domain opset is in range; every op type has a
// handler (all unsupported nodes listed at once); every node input is defined; the ONNX
// checker accepts the model; the input shape is known (from the file or --input-shape).
// Then the nodes are lowered in order (onnx_importer.h explains the entries), ONNX shape
// inference cross-checks the shapes bisc derived, and bisc's verifier has the last word.
#include "frontends/onnx/onnx_importer.h"

#include "ir/error.h"
#include "ir/shape_rules.h"
#include "ir/verifier.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

namespace bisc {

namespace onnx_import {

std::string describe(const onnx::NodeProto &node, int opset) {
  std::string name = !node.name().empty() ? node.name()
                     : node.output_size() > 0 ? node.output(0)
                                              : "(unnamed)";
  return fmt::format("node '{}' ({}, opset {})", name, node.op_type(), opset);
}

const std::map<std::string, OpHandler> &opHandlers() {
  static const std::map<std::string, OpHandler> table = [] {
    std::map<std::string, OpHandler> t;
    registerTensorOps(t);
    registerFoldOps(t);
    registerResizeOps(t);
    return t;
  }();
  return table;
}

namespace {

bool isDefaultDomain(const std::string &domain) { return domain.empty() || domain == "ai.onnx"; }

std::string sanitize(const std::string &text) {
  std::string name;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || std::string_view("_.+-#").find(c) != std::string_view::npos)
      name += c;
    else if (c == '/')
      name += name.empty() || name.back() == '.' ? "" : ".";
    else if (c == ':')
      name += name.empty() || name.back() == '_' ? "" : "_";
    else
      name += '_';
  }
  while (!name.empty() && name.back() == '.') name.pop_back();
  return name.empty() ? "v" : name;
}

std::string joinLines(const std::vector<std::string> &lines) {
  std::string text;
  for (const std::string &line : lines) text += (text.empty() ? "" : "\n") + line;
  return text;
}

} // namespace

Importer::Importer(const onnx::ModelProto &model, onnx::ModelProto &standard, std::string file,
                   int opset, std::optional<Shape> inputShape)
    : model_(model), standard_(standard), file_(std::move(file)), opset_(opset), inputShape_(std::move(inputShape)) {
  baseDir_ = std::filesystem::path(file_).parent_path().string();
}

std::unique_ptr<Graph> Importer::run() {
  std::string stem = std::filesystem::path(file_).stem().string();
  std::string name;
  for (char c : stem) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  graph_ = std::make_unique<Graph>(name.empty() ? "model" : name);
  for (const onnx::NodeProto &node : model_.graph().node())
    for (const std::string &input : node.input()) ++useCounts_[input];
  for (const auto &output : model_.graph().output()) ++graphOutputUses_[output.name()];
  addGraphInputs();
  lowerNodes();
  addGraphOutputs();
  if (problems_.empty()) crossCheckShapes();
  if (!problems_.empty()) throw Error(joinLines(problems_));
  verifyGraph();
  return std::move(graph_);
}

void Importer::addGraphInputs() {
  const onnx::GraphProto &g = model_.graph();
  for (const onnx::TensorProto &init : g.initializer()) entries_[init.name()] = Constant{&init, nullptr};
  std::vector<const onnx::ValueInfoProto *> inputs;
  for (const onnx::ValueInfoProto &input : g.input())
    if (!entries_.count(input.name())) inputs.push_back(&input);
  if (inputShape_ && inputs.size() != 1)
    fail("{}: --input-shape needs a model with one input, this one has {}", file_, inputs.size());
  for (const onnx::ValueInfoProto *input : inputs) {
    std::string where = fmt::format("{}: input '{}'", file_, input->name());
    if (!input->type().has_tensor_type()) fail("{} is not a tensor", where);
    const auto &tensorType = input->type().tensor_type();
    if (tensorType.elem_type() != onnx::TensorProto::FLOAT)
      fail("{} has element type {}; bisc reads float inputs", where,
           onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(tensorType.elem_type())));
    Shape shape;
    std::vector<std::string> dimsText;
    bool dynamic = !tensorType.has_shape();
    for (const auto &dim : tensorType.shape().dim()) {
      bool known = dim.has_dim_value() && dim.dim_value() > 0;
      dynamic |= !known;
      shape.push_back(known ? dim.dim_value() : -1);
      dimsText.push_back(known ? std::to_string(dim.dim_value())
                         : dim.has_dim_param() ? dim.dim_param() : "?");
    }
    if (inputShape_) {
      if (tensorType.has_shape() && inputShape_->size() != shape.size())
        fail("{} has rank {} ([{}]), --input-shape {} has rank {}", where, shape.size(),
             fmt::join(dimsText, ","), shapeToString(*inputShape_), inputShape_->size());
      shape = *inputShape_;
    } else if (dynamic) {
      fail("{} has dynamic dimensions [{}] that cannot be resolved from the file; give the "
           "input shape (--input-shape NxCxHxW)",
           where, fmt::join(dimsText, ","));
    }
    Value *value = graph_->addInput(irName(input->name()), TensorType{DType::f32, shape});
    entries_[input->name()] = Runtime{value};
  }
}

void Importer::lowerNodes() {
  std::unordered_set<std::string> broken;  // outputs of failed nodes: their users stay quiet
  for (const onnx::NodeProto &node : model_.graph().node()) {
    bool skip = false;
    for (const std::string &input : node.input()) skip |= broken.count(input) > 0;
    if (!skip) {
      try {
        opHandlers().at(node.op_type())(*this, node);
        continue;
      } catch (const Error &e) {
        problems_.push_back(fmt::format("{}: {}: {}", file_, describe(node, opset_), e.what()));
      }
    }
    for (const std::string &output : node.output()) broken.insert(output);
  }
}

/// Outputs of nodes that failed to lower are left out: their node is reported already.
void Importer::addGraphOutputs() {
  std::unordered_set<std::string> produced;
  for (const onnx::NodeProto &node : model_.graph().node()) produced.insert(node.output().begin(), node.output().end());
  for (const onnx::ValueInfoProto &output : model_.graph().output()) {
    std::string where = fmt::format("{}: output '{}'", file_, output.name());
    auto it = entries_.find(output.name());
    if (it == entries_.end()) {
      if (!produced.count(output.name())) problems_.push_back(where + " is not produced by any node");
      continue;
    }
    if (auto *runtime = std::get_if<Runtime>(&it->second)) {
      if (problems_.empty()) graph_->addOutput(sanitize(output.name()), runtime->value);
    } else if (std::holds_alternative<Constant>(it->second)) {
      problems_.push_back(where + " is a constant known at import; bisc compiles graphs whose outputs "
                                  "depend on the input");
    } else if (std::holds_alternative<Permuted>(it->second)) {
      problems_.push_back(where + " is a transposed tensor; bisc has no transpose op (a Transpose is only "
                                  "accepted around Softmax, LogSoftmax and ArgMax when a second one undoes it)");
    } else {
      problems_.push_back(where + " is the output of a Pad; bisc has no pad op (a constant Pad is only "
                                  "accepted when it feeds Conv, MaxPool or AveragePool)");
    }
  }
}

/// ONNX's own shape inference, run at the import shape, must agree with every shape bisc
/// derived for a tensor it lowered; a disagreement is a bug in this importer, caught here
/// instead of as wrong numbers later.
void Importer::crossCheckShapes() {
  onnx::GraphProto &g = *standard_.mutable_graph();
  for (onnx::ValueInfoProto &input : *g.mutable_input()) {
    auto it = entries_.find(input.name());
    if (it == entries_.end() || !std::holds_alternative<Runtime>(it->second)) continue;
    auto *shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
    shape->clear_dim();
    for (int64_t d : std::get<Runtime>(it->second).value->type.shape) shape->add_dim()->set_dim_value(d);
  }
  g.clear_value_info();
  for (onnx::ValueInfoProto &output : *g.mutable_output())  // fixed at export: infer them anew
    output.mutable_type()->mutable_tensor_type()->clear_shape();
  try {
    onnx::shape_inference::InferShapes(standard_, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(true, 1, false));
  } catch (const std::exception &e) {
    problems_.push_back(fmt::format("{}: ONNX shape inference rejects the model at input shape {}: {}", file_,
                                    shapeToString(graph_->inputs().at(0)->type.shape), e.what()));
    return;
  }
  auto compare = [&](const onnx::ValueInfoProto &info) {
    auto it = entries_.find(info.name());
    if (it == entries_.end() || !info.type().tensor_type().has_shape()) return;
    Shape onnxShape;
    for (const auto &dim : info.type().tensor_type().shape().dim()) {
      if (!dim.has_dim_value()) return;  // not static: nothing to compare
      onnxShape.push_back(dim.dim_value());
    }
    Shape ours;
    if (const auto *r = std::get_if<Runtime>(&it->second)) ours = r->value->type.shape;
    else if (const auto *p = std::get_if<Permuted>(&it->second))
      for (int64_t axis : p->perm) ours.push_back(p->value->type.shape[size_t(axis)]);
    else return;
    auto squeezed = [](Shape s) { std::erase(s, 1); return s; };  // ArgMax keepdims drops a unit axis
    if (squeezed(ours) != squeezed(onnxShape))
      problems_.push_back(fmt::format("{}: tensor '{}': ONNX shape inference gives {}, bisc derived {} "
                                      "(an importer bug: please report it with the model)",
                                      file_, info.name(), shapeToString(onnxShape), shapeToString(ours)));
  };
  for (const auto &info : g.value_info()) compare(info);
  for (const auto &info : g.output()) compare(info);
}

void Importer::verifyGraph() {
  std::vector<std::string> problems = bisc::verify(*graph_);
  for (std::string &problem : problems) problem = file_ + ": " + problem;
  if (!problems.empty()) throw Error(joinLines(problems));
}

std::string Importer::irName(const std::string &base) const { return graph_->uniqueName(sanitize(base)); }

size_t Importer::inputCount(const onnx::NodeProto &node) const {
  size_t n = size_t(node.input_size());
  while (n > 0 && node.input(int(n - 1)).empty()) --n;
  return n;
}

bool Importer::hasInput(const onnx::NodeProto &node, size_t i) const {
  return i < size_t(node.input_size()) && !node.input(int(i)).empty();
}

const Entry &Importer::entry(const onnx::NodeProto &node, size_t i) const {
  if (!hasInput(node, i)) fail("input {} is required but absent", i);
  auto it = entries_.find(node.input(int(i)));
  if (it == entries_.end())
    fail("input {} '{}' is not a graph input, an initializer or the output of an earlier node", i,
         node.input(int(i)));
  return it->second;
}

bool Importer::isConstant(const onnx::NodeProto &node, size_t i) const {
  return hasInput(node, i) && std::holds_alternative<Constant>(entry(node, i));
}

const ConstTensor &Importer::constOf(const Constant &constant, const std::string &tensorName) {
  if (constant.folded) return *constant.folded;
  auto it = decoded_.find(tensorName);
  if (it != decoded_.end()) return *it->second;
  try {
    auto decoded = std::make_shared<const ConstTensor>(decodeConst(*constant.proto, baseDir_));
    return *decoded_.emplace(tensorName, decoded).first->second;
  } catch (const Error &e) {
    fail("initializer '{}' {}", tensorName, e.what());
  }
}

const ConstTensor &Importer::constant(const onnx::NodeProto &node, size_t i) {
  const Entry &e = entry(node, i);
  if (const auto *c = std::get_if<Constant>(&e)) return constOf(*c, node.input(int(i)));
  fail("input {} '{}' must be known at import (an initializer, a Constant or a size computation "
       "that folds), but it is computed at run time",
       i, node.input(int(i)));
}

Value *Importer::materialize(const Constant &constant, const std::string &tensorName,
                             const onnx::NodeProto &node, const std::string &operandName) {
  auto cached = weights_.find(tensorName);
  if (cached != weights_.end()) return cached->second;
  Tensor data;
  if (constant.proto) {
    try {
      data = decodeWeight(*constant.proto, baseDir_);
    } catch (const Error &e) {
      fail("initializer '{}' {}", tensorName, e.what());
    }
  } else {
    const ConstTensor &c = *constant.folded;
    data = Tensor(c.dims, std::vector<float>(c.values.begin(), c.values.end()));
  }
  // torch names folded parameters "onnx::Conv_123"; the node's name says more.
  bool anonymous = !constant.proto || tensorName.find("::") != std::string::npos;
  std::string base = anonymous ? (node.name().empty() ? node.output(0) : node.name()) + "." + operandName
                               : tensorName;
  Value *weight = graph_->addWeight(irName(base), data.type());
  weight->data = std::make_shared<const Tensor>(std::move(data));
  weights_[tensorName] = weight;
  return weight;
}

Value *Importer::runtime(const onnx::NodeProto &node, size_t i, const std::string &operandName) {
  const Entry &e = entry(node, i);
  if (const auto *r = std::get_if<Runtime>(&e)) return r->value;
  if (const auto *c = std::get_if<Constant>(&e)) return materialize(*c, node.input(int(i)), node, operandName);
  if (std::holds_alternative<Permuted>(e))
    fail("input {} '{}' is transposed; bisc has no transpose op (a Transpose is only accepted "
         "around Softmax, LogSoftmax and ArgMax when a second one undoes it)",
         i, node.input(int(i)));
  fail("input {} '{}' comes from a Pad; bisc has no pad op (a constant Pad is only accepted "
       "when it feeds Conv, MaxPool or AveragePool)",
       i, node.input(int(i)));
}

void Importer::define(const onnx::NodeProto &node, size_t output, Entry e) {
  if (output >= size_t(node.output_size()) || node.output(int(output)).empty()) return;
  entries_[node.output(int(output))] = std::move(e);
}

Value *Importer::emit(const onnx::NodeProto &node, OpId op, std::vector<Value *> inputs,
                      const std::vector<std::pair<std::string, Attribute>> &attrs) {
  std::string base = node.name().empty() ? node.output(0) : node.name();
  Node *irNode = graph_->addNode(op, irName(base), std::move(inputs), attrs);
  try {
    irNode->result->type = shapeRule(op)(*irNode);
  } catch (const Error &e) {
    fail("as bisc {}: {}", opInfo(op).name, e.what());
  }
  define(node, 0, Runtime{irNode->result});
  return irNode->result;
}

void Importer::expectUnusedOutputsFrom(const onnx::NodeProto &node, size_t first) {
  for (size_t i = first; i < size_t(node.output_size()); ++i) {
    const std::string &name = node.output(int(i));
    if (!name.empty() && (useCounts_[name] > 0 || graphOutputUses_[name] > 0))
      fail("output {} '{}' is used, but bisc computes only the first output of {} (inference mode)",
           i, name, node.op_type());
  }
}

bool Importer::onlyGraphOutput(const onnx::NodeProto &node, size_t i) const {
  const std::string &name = node.output(int(i));
  auto uses = useCounts_.find(name);
  return (uses == useCounts_.end() || uses->second == 0) && graphOutputUses_.count(name);
}

} // namespace onnx_import

namespace {

using namespace onnx_import;

onnx::ModelProto parseModel(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the file", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string bytes = buffer.str();
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes))
    fail("{}: not a valid ONNX model: the protobuf does not parse ({} bytes; truncated or not an "
         "ONNX file)",
         path, bytes.size());
  if (!model.has_graph() || model.graph().output_size() == 0)
    fail("{}: not a valid ONNX model: it has no graph with outputs (truncated or not an ONNX file)", path);
  return model;
}

int defaultOpset(const onnx::ModelProto &model, const std::string &path) {
  for (const auto &import : model.opset_import())
    if (isDefaultDomain(import.domain())) {
      int64_t version = import.version();
      if (version < kOnnxMinOpset || version > kOnnxMaxOpset)
        fail("{}: opset {} of the default ONNX domain is out of the supported range {} to {} "
             "(re-export with torch.onnx.export(..., opset_version=13))",
             path, version, kOnnxMinOpset, kOnnxMaxOpset);
      return int(version);
    }
  fail("{}: the model imports no opset of the default ONNX domain", path);
}

bool isCustomArgMax(const onnx::NodeProto &node) { return node.op_type() == "CustomArgMax"; }

void checkOpsSupported(const onnx::ModelProto &model, int opset, const std::string &path) {
  std::vector<std::string> unsupported;
  for (const onnx::NodeProto &node : model.graph().node()) {
    if (isCustomArgMax(node)) continue;
    if (isDefaultDomain(node.domain()) && opHandlers().count(node.op_type())) continue;
    std::string domain = isDefaultDomain(node.domain()) ? "" : " in domain '" + node.domain() + "'";
    unsupported.push_back("  " + describe(node, opset) + domain);
  }
  if (unsupported.empty()) return;
  std::string supported;
  for (const auto &[op, handler] : opHandlers()) supported += (supported.empty() ? "" : ", ") + op;
  fail("{}: {} node{} with unsupported op types:\n{}\nsupported: {}", path, unsupported.size(),
       unsupported.size() == 1 ? "" : "s", joinLines(unsupported), supported);
}

void checkNodeInputsDefined(const onnx::ModelProto &model, int opset, const std::string &path) {
  const onnx::GraphProto &g = model.graph();
  std::unordered_set<std::string> defined, producedLater;
  for (const auto &input : g.input()) defined.insert(input.name());
  for (const auto &init : g.initializer()) defined.insert(init.name());
  for (const onnx::NodeProto &node : g.node()) producedLater.insert(node.output().begin(), node.output().end());
  std::vector<std::string> problems;
  for (const onnx::NodeProto &node : g.node()) {
    for (int i = 0; i < node.input_size(); ++i) {
      const std::string &input = node.input(i);
      if (input.empty() || defined.count(input)) continue;
      problems.push_back(fmt::format("{}: {}: input {} '{}' {}", path, describe(node, opset), i, input,
                                     producedLater.count(input)
                                         ? "is produced by a later node (the nodes must be in topological order)"
                                         : "is not an initializer, a graph input or the output of an earlier "
                                           "node (missing initializer?)"));
    }
    for (const std::string &output : node.output()) defined.insert(output);
  }
  if (!problems.empty()) throw Error(joinLines(problems));
}

/// The ONNX checker and shape inference know no CustomArgMax: they see the ArgMax it means.
onnx::ModelProto standardized(const onnx::ModelProto &model) {
  onnx::ModelProto copy = model;
  for (onnx::NodeProto &node : *copy.mutable_graph()->mutable_node()) {
    if (!isCustomArgMax(node)) continue;
    int64_t dim = attrInt(node, "dim", 1);
    node.set_op_type("ArgMax");
    node.set_domain("");
    node.clear_attribute();
    auto *axis = node.add_attribute();
    axis->set_name("axis");
    axis->set_type(onnx::AttributeProto::INT);
    axis->set_i(dim);
    auto *keep = node.add_attribute();
    keep->set_name("keepdims");
    keep->set_type(onnx::AttributeProto::INT);
    keep->set_i(0);
    for (onnx::ValueInfoProto &output : *copy.mutable_graph()->mutable_output())
      if (output.name() == node.output(0))
        output.mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
  }
  return copy;
}

void runChecker(const onnx::ModelProto &model, const std::string &path) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception &e) {
    fail("{}: the ONNX checker rejects the model: {}", path, e.what());
  }
}

} // namespace

std::unique_ptr<Graph> loadOnnxModel(const std::string &path, const std::optional<Shape> &inputShape) {
  onnx::ModelProto model = parseModel(path);
  int opset = defaultOpset(model, path);
  checkOpsSupported(model, opset, path);
  checkNodeInputsDefined(model, opset, path);
  onnx::ModelProto standard = standardized(model);
  runChecker(standard, path);
  return Importer(model, standard, path, opset, inputShape).run();
}

} // namespace bisc
