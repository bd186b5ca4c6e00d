//===- parser.cpp - Reads the text form back into a graph -----------------===//
#include "ir/parser.h"

#include "ir/error.h"
#include "ir/printer.h"
#include "ir/verifier.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <map>

namespace bisc {

namespace {

class Parser {
public:
  Parser(std::string_view text, std::string source) : rest_(text), source_(std::move(source)) {}

  std::unique_ptr<Graph> parse() {
    expectWord("graph");
    expect('@');
    auto graph = std::make_unique<Graph>(name("graph name"));
    graph_ = graph.get();
    parseInputs();
    expect('{');
    while (true) {
      skipSpace();
      if (rest_.starts_with("weight")) parseWeight();
      else if (rest_.starts_with("return")) break;
      else if (peek('%')) parseNode();
      else error("expected 'weight', a node '%name = ...' or 'return'");
    }
    parseReturn();
    expect('}');
    skipSpace();
    if (!rest_.empty()) error("unexpected text after the graph");
    checkAnnotations();
    return graph;
  }

private:
  [[noreturn]] void error(const std::string &message) const {
    fail("{}:{}:{}: {}", source_, line_, column_, message);
  }

  void advance(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (rest_[i] == '\n') { ++line_; column_ = 1; } else { ++column_; }
    }
    rest_.remove_prefix(n);
  }

  void skipSpace() {
    while (!rest_.empty()) {
      if (std::isspace(static_cast<unsigned char>(rest_.front()))) advance(1);
      else if (rest_.front() == '#' || rest_.starts_with("//")) advance(std::min(rest_.find('\n'), rest_.size()));
      else break;
    }
  }

  bool peek(char c) {
    skipSpace();
    return !rest_.empty() && rest_.front() == c;
  }

  bool consume(char c) {
    if (!peek(c)) return false;
    advance(1);
    return true;
  }

  void expect(char c) {
    if (!consume(c)) error(fmt::format("expected '{}'", c));
  }

  void expectWord(std::string_view word) {
    skipSpace();
    if (!rest_.starts_with(word)) error(fmt::format("expected '{}'", word));
    advance(word.size());
  }

  std::string name(std::string_view what) {
    skipSpace();
    size_t n = 0;
    while (n < rest_.size() && isPrintableName(rest_.substr(n, 1))) ++n;
    if (n == 0) error(fmt::format("expected {}", what));
    std::string result(rest_.substr(0, n));
    advance(n);
    return result;
  }

  TensorType type() {
    std::string dtypeText = name("a type such as f32[1,3,64,64]");
    // name() also eats digits of "f32"; the shape starts at '['.
    auto dtype = parseDType(dtypeText);
    if (!dtype) error(fmt::format("unknown element type '{}'", dtypeText));
    TensorType parsed{*dtype, std::get<std::vector<int64_t>>(attrValue(AttrType::Ints))};
    skipSpace();
    if (rest_.starts_with("nchw")) {
      std::string layoutText = name("a layout such as nchw16c");
      auto block = parseLayout(layoutText);
      if (!block) error(fmt::format("unknown layout '{}' (expected nchw or nchw<c>c, e.g. nchw16c)", layoutText));
      parsed.channelBlock = *block;
    }
    return parsed;
  }

  Attribute attrValue(AttrType attrType) {
    skipSpace();
    std::string_view before = rest_;
    try {
      Attribute value = parseAttr(rest_, attrType);
      std::string_view used = before.substr(0, before.size() - rest_.size());
      rest_ = before;
      advance(used.size());
      return value;
    } catch (const Error &e) {
      rest_ = before;
      error(e.what());
    }
  }

  Value *operand() {
    skipSpace();
    bool isWeight = consume('@');
    if (!isWeight) expect('%');
    std::string valueName = name("a value name");
    Value *value = graph_->find(valueName);
    if (!value) error(fmt::format("use of undefined value {}{}", isWeight ? '@' : '%', valueName));
    if ((value->kind == ValueKind::Weight) != isWeight)
      error(fmt::format("'{}' is {}", valueName, isWeight ? "not a weight" : "a weight; write @" + valueName));
    return value;
  }

  void parseInputs() {
    expect('(');
    if (consume(')')) return;
    do {
      expect('%');
      std::string inputName = name("an input name");
      expect(':');
      addChecked([&] { graph_->addInput(inputName, type()); });
    } while (consume(','));
    expect(')');
  }

  void parseWeight() {
    expectWord("weight");
    expect('@');
    std::string weightName = name("a weight name");
    expect(':');
    TensorType weightType = type();
    addChecked([&] { graph_->addWeight(weightName, weightType); });
  }

  void parseNode() {
    expect('%');
    std::string nodeName = name("a node name");
    expect('=');
    std::string opName = name("an op name");
    auto op = lookupOp(opName);
    if (!op) error(fmt::format("unknown op '{}' (known: {})", opName, allOpNames()));
    std::vector<Value *> inputs;
    expect('(');
    if (!consume(')')) {
      do inputs.push_back(operand());
      while (consume(','));
      expect(')');
    }
    std::vector<std::pair<std::string, Attribute>> attrs = parseAttrs(opInfo(*op));
    Node *node = nullptr;
    addChecked([&] { node = graph_->addNode(*op, nodeName, inputs, attrs); });
    if (consume(':')) annotations_[node] = {type(), line_};
    skipSpace();
    if (rest_.starts_with("at ")) {
      advance(2);
      node->result->arenaOffset = std::get<int64_t>(attrValue(AttrType::Int));
      if (node->result->arenaOffset < 0) error("arena offset must be >= 0");
    }
  }

  std::vector<std::pair<std::string, Attribute>> parseAttrs(const OpInfo &info) {
    std::vector<std::pair<std::string, Attribute>> attrs;
    if (!consume('{')) return attrs;
    do {
      std::string attrName = name("an attribute name");
      int index = info.attrIndex(attrName);
      if (index < 0) error(fmt::format("op {} has no attribute '{}'", info.name, attrName));
      expect('=');
      attrs.emplace_back(attrName, attrValue(info.attrs[size_t(index)].type));
    } while (consume(','));
    expect('}');
    return attrs;
  }

  void parseReturn() {
    expectWord("return");
    do {
      std::string outputName = name("an output name");
      expect('=');
      Value *value = operand();
      bool trainingOnly = false;
      if (consume('[')) {
        expectWord("training_only");
        expect(']');
        trainingOnly = true;
      }
      addChecked([&] { graph_->addOutput(outputName, value, trainingOnly); });
    } while (consume(','));
  }

  template <typename F> void addChecked(F add) {
    try {
      add();
    } catch (const Error &e) {
      error(e.what());
    }
  }

  /// Written result types must agree with what the op rules derive.
  void checkAnnotations() {
    try {
      verifyOrThrow(*graph_);
    } catch (const Error &e) {
      fail("{}: {}", source_, e.what());
    }
    for (const auto &node : graph_->nodes()) {
      auto it = annotations_.find(node.get());
      if (it != annotations_.end() && !(it->second.type == node->result->type))
        fail("{}:{}: node %{} is annotated {} but its op rule gives {}", source_, it->second.line,
             node->name(), toString(it->second.type), toString(node->result->type));
    }
  }

  struct Annotation {
    TensorType type;
    int line;
  };

  std::string_view rest_;
  std::string source_;
  int line_ = 1, column_ = 1;
  Graph *graph_ = nullptr;
  std::map<const Node *, Annotation> annotations_;
};

} // namespace

std::unique_ptr<Graph> parseGraph(std::string_view text, const std::string &source) {
  return Parser(text, source).parse();
}

} // namespace bisc
