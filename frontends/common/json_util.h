//===- json_util.h - Strict JSON reading with located error messages -----===//
//
// Shared by the bisc JSON model reader and the safetensors header reader. Both formats are
// JSON objects whose fields we look up by name; every failure must say which file and which
// entry was wrong, so lookups take a `where` text ("model.json: node 'conv1'").
#pragma once

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>
#include <string_view>

namespace bisc::json_util {

using Json = nlohmann::json;

/// Parses `text`; malformed JSON and duplicate object keys (which nlohmann would silently
/// resolve to the last value) are bisc::Errors naming `file` and the byte position or key.
Json parse(std::string_view text, const std::string &file);

/// Reads a whole file; throws bisc::Error naming it if it cannot be opened.
std::string readFile(const std::string &path);

/// "an object", "a string", "an integer", ... for "expected X, got Y" messages.
std::string kindName(const Json &value);

/// The field `key` of `object`; throws "<where>: missing field 'key'".
const Json &field(const Json &object, std::string_view key, const std::string &where);

/// Throws "<where>: unknown field 'k' (expected one of a, b, c)" for keys not in `allowed`.
void checkFields(const Json &object, std::initializer_list<std::string_view> allowed,
                 const std::string &where);

/// Typed accessors: throw "<where>: field 'key' must be <kind>, got <kind>".
const Json &objectField(const Json &object, std::string_view key, const std::string &where);
const Json &arrayField(const Json &object, std::string_view key, const std::string &where);
std::string stringField(const Json &object, std::string_view key, const std::string &where);
int64_t intField(const Json &object, std::string_view key, const std::string &where);
bool boolField(const Json &object, std::string_view key, const std::string &where);

/// Throws "<where>: must be an object, got ..." unless `value` is an object.
void expectObject(const Json &value, const std::string &where);

/// A list of non-negative integers, e.g. a shape or offsets.
std::vector<int64_t> intList(const Json &value, const std::string &where, std::string_view what);

} // namespace bisc::json_util
