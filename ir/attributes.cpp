//===- attributes.cpp - Typed op attributes: printing and parsing ---------===//
#include "ir/attributes.h"

#include "ir/error.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cstdlib>

namespace bisc {

std::string_view attrTypeName(AttrType type) {
  switch (type) {
  case AttrType::Int: return "int";
  case AttrType::Float: return "float";
  case AttrType::Bool: return "bool";
  case AttrType::Ints: return "int list";
  case AttrType::Floats: return "float list";
  case AttrType::String: return "string";
  }
  return "?";
}

bool attrHasType(const Attribute &value, AttrType type) {
  switch (type) {
  case AttrType::Int: return std::holds_alternative<int64_t>(value);
  case AttrType::Float: return std::holds_alternative<double>(value);
  case AttrType::Bool: return std::holds_alternative<bool>(value);
  case AttrType::Ints: return std::holds_alternative<std::vector<int64_t>>(value);
  case AttrType::Floats: return std::holds_alternative<std::vector<double>>(value);
  case AttrType::String: return std::holds_alternative<std::string>(value);
  }
  return false;
}

namespace {

// Shortest text that reads back to the same double, always with a '.' or exponent so the
// reader can tell it from an int.
std::string printDouble(double value) {
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

struct Printer {
  std::string operator()(std::monostate) const { return "none"; }
  std::string operator()(int64_t v) const { return std::to_string(v); }
  std::string operator()(double v) const { return printDouble(v); }
  std::string operator()(bool v) const { return v ? "true" : "false"; }
  std::string operator()(const std::vector<int64_t> &v) const {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
    return out + "]";
  }
  std::string operator()(const std::vector<double> &v) const {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + printDouble(v[i]);
    return out + "]";
  }
  std::string operator()(const std::string &v) const { return "\"" + v + "\""; }
};

void skipSpace(std::string_view &text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
}

bool consume(std::string_view &text, char c) {
  skipSpace(text);
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

int64_t parseInt(std::string_view &text) {
  skipSpace(text);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc()) fail("expected an integer at '{}'", text.substr(0, 12));
  size_t used = size_t(end - text.data());
  if (used < text.size() && (text[used] == '.' || text[used] == 'e' || text[used] == 'E'))
    fail("expected an integer, got a float at '{}'", text.substr(0, 12));
  text.remove_prefix(used);
  return value;
}

double parseFloat(std::string_view &text) {
  skipSpace(text);
  // from_chars for double is in libstdc++ 12; it accepts "1", "1.5", "1e-05".
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc()) fail("expected a number at '{}'", text.substr(0, 12));
  text.remove_prefix(size_t(end - text.data()));
  return value;
}

template <typename T, typename ParseOne>
std::vector<T> parseList(std::string_view &text, ParseOne parseOne) {
  if (!consume(text, '[')) fail("expected '[' at '{}'", text.substr(0, 12));
  std::vector<T> values;
  if (consume(text, ']')) return values;
  do {
    values.push_back(parseOne(text));
  } while (consume(text, ','));
  if (!consume(text, ']')) fail("expected ',' or ']' at '{}'", text.substr(0, 12));
  return values;
}

} // namespace

std::string printAttr(const Attribute &value) { return std::visit(Printer{}, value); }

Attribute parseAttr(std::string_view &text, AttrType type) {
  skipSpace(text);
  switch (type) {
  case AttrType::Int: return parseInt(text);
  case AttrType::Float: return parseFloat(text);
  case AttrType::Bool:
    if (text.starts_with("true")) { text.remove_prefix(4); return true; }
    if (text.starts_with("false")) { text.remove_prefix(5); return false; }
    fail("expected true or false at '{}'", text.substr(0, 12));
  case AttrType::Ints: return parseList<int64_t>(text, parseInt);
  case AttrType::Floats: return parseList<double>(text, parseFloat);
  case AttrType::String: {
    if (!consume(text, '"')) fail("expected a quoted string at '{}'", text.substr(0, 12));
    size_t end = text.find('"');
    if (end == std::string_view::npos) fail("unterminated string");
    std::string value(text.substr(0, end));
    text.remove_prefix(end + 1);
    return value;
  }
  }
  fail("unknown attribute type");
}

Attribute parseAttrText(std::string_view text, AttrType type) {
  Attribute value = parseAttr(text, type);
  skipSpace(text);
  if (!text.empty()) fail("unexpected '{}' after the value", text);
  return value;
}

} // namespace bisc
