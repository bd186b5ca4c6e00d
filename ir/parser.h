//===- parser.h - Reads the text form back into a graph -------------------===//
#pragma once

#include "ir/graph.h"

#include <memory>
#include <string>
#include <string_view>

namespace bisc {

/// Parses the text form (see printer.h). `source` names the text in messages
/// ("model.bir:12:5: unknown op 'conv3d'"). Result types written after ':' are optional;
/// where given they must equal the inferred ones. '#' and '//' start comments.
/// Throws bisc::Error.
std::unique_ptr<Graph> parseGraph(std::string_view text, const std::string &source = "<text>");

} // namespace bisc
