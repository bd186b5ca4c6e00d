//===- json_util.cpp - Strict JSON reading with located error messages ---===//
#include "frontends/common/json_util.h"

#include "ir/error.h"

#include <fmt/format.h>

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

namespace bisc::json_util {

namespace {

constexpr int kMaxDepth = 64;

/// nlohmann prefixes messages with "[json.exception.parse_error.101] "; users need the rest.
std::string stripExceptionId(const std::string &message) {
  size_t close = message.find("] ");
  return message.starts_with("[json.exception") && close != std::string::npos
             ? message.substr(close + 2)
             : message;
}

} // namespace

Json parse(std::string_view text, const std::string &file) {
  // One key set per open object: nlohmann keeps the last of duplicate keys silently, which
  // would hide a typo'd or doubled weight entry.
  std::vector<std::set<std::string>> openObjects;
  auto callback = [&](int depth, Json::parse_event_t event, Json &parsed) {
    // Both formats nest a few levels; a pathological nesting depth would otherwise exhaust
    // the stack when the parsed value is built or destroyed.
    if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
        depth >= kMaxDepth)
      fail("{}: JSON nested deeper than {} levels", file, kMaxDepth);
    if (event == Json::parse_event_t::object_start) openObjects.emplace_back();
    else if (event == Json::parse_event_t::object_end) openObjects.pop_back();
    else if (event == Json::parse_event_t::key && !openObjects.empty() &&
             !openObjects.back().insert(parsed.get<std::string>()).second)
      fail("{}: duplicate key '{}' in a JSON object", file, parsed.get<std::string>());
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), callback);
  } catch (const Json::parse_error &e) {
    fail("{}: malformed JSON at byte {}: {}", file, e.byte, stripExceptionId(e.what()));
  }
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open file", path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail("{}: cannot read file", path);
  return text.str();
}

std::string kindName(const Json &value) {
  switch (value.type()) {
  case Json::value_t::null: return "null";
  case Json::value_t::object: return "an object";
  case Json::value_t::array: {
    std::string text = value.dump();
    return text.size() <= 60 ? "the list " + text : "a list of " + std::to_string(value.size());
  }
  case Json::value_t::string: return fmt::format("the string {}", value.dump());
  case Json::value_t::boolean: return fmt::format("the bool {}", value.dump());
  case Json::value_t::number_integer:
  case Json::value_t::number_unsigned: return fmt::format("the integer {}", value.dump());
  case Json::value_t::number_float: return fmt::format("the number {}", value.dump());
  default: return "an unsupported JSON value";
  }
}

void expectObject(const Json &value, const std::string &where) {
  if (!value.is_object()) fail("{}: must be an object, got {}", where, kindName(value));
}

const Json &field(const Json &object, std::string_view key, const std::string &where) {
  auto it = object.find(key);
  if (it == object.end()) fail("{}: missing field '{}'", where, key);
  return *it;
}

void checkFields(const Json &object, std::initializer_list<std::string_view> allowed,
                 const std::string &where) {
  for (const auto &[key, value] : object.items()) {
    bool known = false;
    for (std::string_view name : allowed) known |= key == name;
    if (known) continue;
    std::string list;
    for (std::string_view name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
    fail("{}: unknown field '{}' (expected {})", where, key, list);
  }
}

namespace {

[[noreturn]] void wrongKind(const Json &value, std::string_view key, std::string_view expected,
                            const std::string &where) {
  fail("{}: field '{}' must be {}, got {}", where, key, expected, kindName(value));
}

} // namespace

const Json &objectField(const Json &object, std::string_view key, const std::string &where) {
  const Json &value = field(object, key, where);
  if (!value.is_object()) wrongKind(value, key, "an object", where);
  return value;
}

const Json &arrayField(const Json &object, std::string_view key, const std::string &where) {
  const Json &value = field(object, key, where);
  if (!value.is_array()) wrongKind(value, key, "a list", where);
  return value;
}

std::string stringField(const Json &object, std::string_view key, const std::string &where) {
  const Json &value = field(object, key, where);
  if (!value.is_string()) wrongKind(value, key, "a string", where);
  return value.get<std::string>();
}

int64_t intField(const Json &object, std::string_view key, const std::string &where) {
  const Json &value = field(object, key, where);
  if (!value.is_number_integer()) wrongKind(value, key, "an integer", where);
  return value.get<int64_t>();
}

bool boolField(const Json &object, std::string_view key, const std::string &where) {
  const Json &value = field(object, key, where);
  if (!value.is_boolean()) wrongKind(value, key, "true or false", where);
  return value.get<bool>();
}

std::vector<int64_t> intList(const Json &value, const std::string &where, std::string_view what) {
  if (!value.is_array()) fail("{}: {} must be a list of integers, got {}", where, what, kindName(value));
  std::vector<int64_t> result;
  for (const Json &item : value) {
    if (!item.is_number_integer() || item.get<int64_t>() < 0)
      fail("{}: {} must be a list of non-negative integers, got {}", where, what, value.dump());
    result.push_back(item.get<int64_t>());
  }
  return result;
}

} // namespace bisc::json_util
