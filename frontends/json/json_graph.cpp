//===- json_graph.cpp - Reads a bisc JSON graph (docs/json-format.md) ----===//
//
// The reader checks everything the format promises before the IR sees it, so every message
// names the file and the entry (input, weight, node or output) at fault; shape problems are
// left to the verifier, whose messages get the file name prepended.
#include "frontends/common/json_util.h"
#include "frontends/common/model_io.h"

#include "ir/error.h"
#include "ir/printer.h"
#include "ir/verifier.h"

#include <fmt/format.h>

#include <unordered_map>
#include <unordered_set>

namespace bisc {

namespace {

using json_util::Json;

std::string attrKindText(AttrType type) {
  switch (type) {
  case AttrType::Int: return "an integer";
  case AttrType::Float: return "a number";
  case AttrType::Bool: return "true or false";
  case AttrType::Ints: return "a list of integers";
  case AttrType::Floats: return "a list of numbers";
  case AttrType::String: return "a string";
  }
  return "?";
}

/// JSON -> Attribute by the declared type. Ints are accepted for floats, as the text form does;
/// JSON booleans are never numbers.
std::optional<Attribute> toAttribute(const Json &value, AttrType type) {
  auto all = [&](auto predicate) {
    return value.is_array() && std::all_of(value.begin(), value.end(), predicate);
  };
  switch (type) {
  case AttrType::Int:
    if (value.is_number_integer()) return value.get<int64_t>();
    break;
  case AttrType::Float:
    if (value.is_number()) return value.get<double>();
    break;
  case AttrType::Bool:
    if (value.is_boolean()) return value.get<bool>();
    break;
  case AttrType::Ints:
    if (all([](const Json &v) { return v.is_number_integer(); }))
      return value.get<std::vector<int64_t>>();
    break;
  case AttrType::Floats:
    if (all([](const Json &v) { return v.is_number(); })) return value.get<std::vector<double>>();
    break;
  case AttrType::String:
    if (value.is_string()) return value.get<std::string>();
    break;
  }
  return std::nullopt;
}

std::string attrNames(const OpInfo &info) {
  std::string names;
  for (const AttrSpec &spec : info.attrs) names += (names.empty() ? "" : ", ") + std::string(spec.name);
  return names.empty() ? "none" : names;
}

class JsonGraphReader {
public:
  explicit JsonGraphReader(std::string file) : file_(std::move(file)) {}

  std::unique_ptr<Graph> read(const Json &root) {
    json_util::expectObject(root, file_);
    json_util::checkFields(root, {"format", "version", "name", "inputs", "weights", "nodes", "outputs"},
                           file_);
    checkHeader(root);
    std::string name = json_util::stringField(root, "name", file_);
    checkName(name, fmt::format("{}: graph name", file_));
    auto graph = std::make_unique<Graph>(name);
    graph_ = graph.get();
    collectNodeNames(root);
    forEachEntry(root, "inputs", true, [&](const Json &e, size_t i) { readInput(e, i); });
    forEachEntry(root, "weights", false, [&](const Json &e, size_t i) { readWeight(e, i); });
    forEachEntry(root, "nodes", true, [&](const Json &e, size_t i) { readNode(e, i); });
    forEachEntry(root, "outputs", true, [&](const Json &e, size_t i) { readOutput(e, i); });
    verify();
    return graph;
  }

private:
  void checkHeader(const Json &root) {
    std::string format = json_util::stringField(root, "format", file_);
    if (format != "bisc") fail("{}: field 'format' must be \"bisc\", got \"{}\"", file_, format);
    int64_t version = json_util::intField(root, "version", file_);
    if (version != 1) fail("{}: unsupported version {} (this bisc reads version 1)", file_, version);
  }

  template <typename ReadOne>
  void forEachEntry(const Json &root, std::string_view key, bool required, ReadOne readOne) {
    if (!required && !root.contains(key)) return;
    const Json &list = json_util::arrayField(root, key, file_);
    for (size_t i = 0; i < list.size(); ++i) {
      json_util::expectObject(list[i], fmt::format("{}: {}[{}]", file_, key, i));
      readOne(list[i], i);
    }
  }

  /// Names of all nodes, so a forward reference can be told apart from a typo.
  void collectNodeNames(const Json &root) {
    const Json &nodes = json_util::arrayField(root, "nodes", file_);
    for (const Json &node : nodes)
      if (node.is_object() && node.contains("name") && node["name"].is_string())
        nodeNames_.insert(node["name"].get<std::string>());
  }

  void checkName(const std::string &name, const std::string &where) {
    if (!isPrintableName(name))
      fail("{} '{}' is not a valid name: use only letters, digits and _ . + - / #", where, name);
  }

  /// Name of an input, weight or node entry: printable and not taken.
  std::string newName(const Json &entry, const std::string &label) {
    std::string where = file_ + ": " + label;
    std::string name = json_util::stringField(entry, "name", where);
    checkName(name, where + ": name");
    auto [it, inserted] = defined_.try_emplace(name, label);
    if (!inserted) fail("{}: duplicate name '{}' (already used by {})", where, name, it->second);
    return name;
  }

  Shape readShape(const Json &entry, const std::string &where) {
    Shape shape = json_util::intList(json_util::arrayField(entry, "shape", where), where, "shape");
    for (int64_t d : shape)
      if (d < 1) fail("{}: shape {} has a dimension < 1", where, shapeToString(shape));
    return shape;
  }

  void readInput(const Json &entry, size_t i) {
    std::string label = fmt::format("inputs[{}]", i), where = file_ + ": " + label;
    json_util::checkFields(entry, {"name", "dtype", "shape"}, where);
    std::string name = newName(entry, label);
    where = fmt::format("{}: input '{}'", file_, name);
    std::string dtypeText = json_util::stringField(entry, "dtype", where);
    std::optional<DType> dtype = parseDType(dtypeText);
    if (!dtype) fail("{}: dtype must be \"f32\" or \"i32\", got \"{}\"", where, dtypeText);
    graph_->addInput(name, TensorType{*dtype, readShape(entry, where)});
  }

  void readWeight(const Json &entry, size_t i) {
    std::string label = fmt::format("weights[{}]", i), where = file_ + ": " + label;
    json_util::checkFields(entry, {"name", "dtype", "shape"}, where);
    std::string name = newName(entry, label);
    where = fmt::format("{}: weight '{}'", file_, name);
    std::string dtype = json_util::stringField(entry, "dtype", where);
    if (dtype != "f32") fail("{}: dtype must be \"f32\", got \"{}\"", where, dtype);
    graph_->addWeight(name, TensorType{DType::f32, readShape(entry, where)});
  }

  Value *resolve(const Json &ref, const std::string &where, std::string_view what) {
    if (!ref.is_string()) fail("{}: {} must be a name (string), got {}", where, what, json_util::kindName(ref));
    std::string name = ref.get<std::string>();
    if (Value *value = graph_->find(name)) return value;
    if (nodeNames_.count(name))
      fail("{}: {} '{}' is defined later; nodes must be in topological order", where, what, name);
    fail("{}: {} refers to unknown value '{}' (not an input, weight or earlier node)", where, what,
         name);
  }

  void readNode(const Json &entry, size_t i) {
    std::string label = fmt::format("nodes[{}]", i), where = file_ + ": " + label;
    json_util::checkFields(entry, {"name", "op", "inputs", "attrs"}, where);
    std::string name = newName(entry, label);
    where = fmt::format("{}: node '{}'", file_, name);
    std::string opName = json_util::stringField(entry, "op", where);
    std::optional<OpId> op = lookupOp(opName);
    if (!op) fail("{}: unknown op '{}' (known ops: {})", where, opName, allOpNames());
    where = fmt::format("{}: node '{}' ({})", file_, name, opName);
    std::vector<Value *> inputs;
    const Json &refs = json_util::arrayField(entry, "inputs", where);
    for (size_t k = 0; k < refs.size(); ++k)
      inputs.push_back(resolve(refs[k], where, fmt::format("input {}", k)));
    graph_->addNode(*op, name, std::move(inputs), readAttrs(entry, opInfo(*op), where));
  }

  std::vector<std::pair<std::string, Attribute>> readAttrs(const Json &entry, const OpInfo &info,
                                                           const std::string &where) {
    std::vector<std::pair<std::string, Attribute>> attrs;
    static const Json empty = Json::object();
    const Json &given = entry.contains("attrs") ? json_util::objectField(entry, "attrs", where) : empty;
    for (const auto &[key, value] : given.items()) {
      int index = info.attrIndex(key);
      if (index < 0)
        fail("{}: unknown attribute '{}' (op {} takes: {})", where, key, info.name, attrNames(info));
      const AttrSpec &spec = info.attrs[size_t(index)];
      std::optional<Attribute> attr = toAttribute(value, spec.type);
      if (!attr)
        fail("{}: attribute '{}' must be {}, got {}", where, key, attrKindText(spec.type),
             json_util::kindName(value));
      attrs.emplace_back(key, std::move(*attr));
    }
    for (const AttrSpec &spec : info.attrs)
      if (spec.required() && !given.contains(spec.name))
        fail("{}: missing required attribute '{}' ({})", where, spec.name, attrKindText(spec.type));
    return attrs;
  }

  void readOutput(const Json &entry, size_t i) {
    std::string where = fmt::format("{}: outputs[{}]", file_, i);
    json_util::checkFields(entry, {"name", "value", "training_only"}, where);
    std::string name = json_util::stringField(entry, "name", where);
    checkName(name, where + ": name");
    where = fmt::format("{}: output '{}'", file_, name);
    if (!outputNames_.insert(name).second) fail("{}: duplicate output name '{}'", where, name);
    Value *value = resolve(json_util::field(entry, "value", where), where, "value");
    bool trainingOnly = entry.contains("training_only") && json_util::boolField(entry, "training_only", where);
    graph_->addOutput(name, value, trainingOnly);
  }

  /// Shapes are checked by the IR verifier; its messages name the node, we add the file.
  void verify() {
    std::vector<std::string> problems = bisc::verify(*graph_);
    if (problems.empty()) return;
    std::string text;
    for (const std::string &problem : problems) text += (text.empty() ? "" : "\n") + file_ + ": " + problem;
    throw Error(text);
  }

  std::string file_;
  Graph *graph_ = nullptr;
  std::unordered_set<std::string> nodeNames_;
  std::unordered_map<std::string, std::string> defined_;  ///< name -> where it was defined
  std::unordered_set<std::string> outputNames_;
};

} // namespace

std::unique_ptr<Graph> loadJsonGraph(const std::string &path) {
  Json root = json_util::parse(json_util::readFile(path), path);
  return JsonGraphReader(path).read(root);
}

} // namespace bisc
