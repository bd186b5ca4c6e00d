//===- op_info.h - What the IR knows about each op, read from ops.def -----===//
#pragma once

#include "ir/attributes.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bisc {

/// Fusion kind, ordered as in TVM's OpPatternKind: a fusion pass may merge a producer into a
/// consumer when the combination's kind allows it.
enum class OpKind { Elementwise, Broadcast, Injective, Reduce, Conv, Opaque };

enum class OpId {
#define BISC_OP(id, ...) id,
#include "ir/ops.def"
};

/// One operand of an op's signature.
struct OperandSpec {
  std::string name;
  bool optional = false;
  bool variadic = false;
};

struct OpInfo {
  OpId id;
  std::string_view name;
  std::vector<OperandSpec> operands;
  OpKind kind;
  std::vector<AttrSpec> attrs;
  std::vector<Attribute> defaults; ///< parsed defaultText per attribute (monostate if none)

  size_t minInputs() const;
  /// SIZE_MAX for variadic ops.
  size_t maxInputs() const;
  /// Index of the attribute called `name`, or -1.
  int attrIndex(std::string_view name) const;
  /// Name of operand i, for messages ("conv2d weight").
  std::string operandName(size_t i) const;
};

const OpInfo &opInfo(OpId id);
std::optional<OpId> lookupOp(std::string_view name);
/// All op names, comma separated, for "unknown op" messages.
std::string allOpNames();

} // namespace bisc
