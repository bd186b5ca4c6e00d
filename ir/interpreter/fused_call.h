//===- fused_call.h - Run one reference kernel outside a graph ------------===//
//
// The fused kernels are compositions of the unfused ops' kernels, called in the order the
// replaced subgraph ran them, so each fused kernel is bit-identical to its subgraph and is
// obviously correct. KernelCall builds a detached node (operand values typed like the
// tensors, attributes by name, result type from the op's shape rule) and runs the kernel.
#pragma once

#include "ir/interpreter/interpreter.h"

#include <string>
#include <utility>
#include <vector>

namespace bisc::interp {

using AttrList = std::vector<std::pair<std::string, Attribute>>;

/// Runs op `op` with `attrs` (absent ones take their defaults) on `operands`.
Tensor callKernel(OpId op, const std::vector<const Tensor *> &operands,
                  const AttrList &attrs = {});

/// The node's attribute `name` as an entry for an AttrList.
std::pair<std::string, Attribute> copyAttr(const Node &node, const char *name);

} // namespace bisc::interp
