//===- layout_rules.h - Storage layout of op results ----------------------===//
#pragma once

#include "ir/graph.h"

namespace bisc {

/// `result` (the op rule's type of `node`) with the layout `node` gives its result: the
/// reorder's attribute, else the common layout of the activation operands. Throws
/// bisc::Error if they disagree or the op cannot run in that layout.
TensorType withLayout(const Node &node, TensorType result);

/// Why `node` cannot run in the blocked layout nchw{block}c, or "" if it has a blocked kernel
/// there. It reads only shapes and attributes, so the blocked-layout pass asks it too, before
/// any value is blocked.
std::string blockedUnsupported(const Node &node, int64_t block);

} // namespace bisc
