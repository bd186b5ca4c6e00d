//===- attributes.h - Typed op attributes and their schema ----------------===//
//
// Every op declares its attributes once in ops.def as (name, type, default text). The
// default text uses the same syntax as the IR printer, so one parser reads defaults, the
// text form and (after conversion) JSON. A node stores one Attribute per declared slot.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bisc {

enum class AttrType { Int, Float, Bool, Ints, Floats, String };

std::string_view attrTypeName(AttrType type);

/// An attribute value; monostate means "absent" (only for optional attributes).
using Attribute = std::variant<std::monostate, int64_t, double, bool, std::vector<int64_t>,
                               std::vector<double>, std::string>;

/// One declared attribute. `defaultText` is nullptr for a required attribute and "" for an
/// optional one that may stay absent.
struct AttrSpec {
  const char *name;
  AttrType type;
  const char *defaultText;

  bool required() const { return defaultText == nullptr; }
  bool optional() const { return defaultText != nullptr && *defaultText == '\0'; }
};

/// Does `value` hold the variant alternative of `type`?
bool attrHasType(const Attribute &value, AttrType type);

/// Prints a value in the text form: 3, 1e-05, true, [1,1], "nearest".
std::string printAttr(const Attribute &value);

/// Parses one value of `type` from the front of `text`, advancing it. Ints are accepted where
/// floats are expected. Throws bisc::Error (without location; callers add it).
Attribute parseAttr(std::string_view &text, AttrType type);

/// Parses a whole string as a value of `type` (used for defaults).
Attribute parseAttrText(std::string_view text, AttrType type);

} // namespace bisc
