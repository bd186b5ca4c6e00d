//===- onnx_import.h - Reads an ONNX model into bisc's IR ------------------===//
//
// The importer accepts what torch.onnx.export (opsets 11 to 17, eval mode) writes for the
// BiSeNet family, plus the older Upsample form and the CustomArgMax node of one public
// export. Weights come from the file's initializers (with their data). Size computations
// (Shape -> Gather/Slice -> Concat -> Resize) are folded at import for the input shape, so
// a file with dynamic axes needs that shape. docs/onnx.md lists what maps to what.
#pragma once

#include "ir/graph.h"

#include <memory>
#include <optional>
#include <string>

namespace bisc {

/// Opsets of the default ONNX domain this importer reads.
constexpr int kOnnxMinOpset = 7;
constexpr int kOnnxMaxOpset = 17;

/// Loads `path`. `inputShape` overrides the file's input shape (required when the file has
/// dynamic axes). Throws bisc::Error naming the file and, for graph problems, every node at
/// fault with its op type and opset.
std::unique_ptr<Graph> loadOnnxModel(const std::string &path,
                                     const std::optional<Shape> &inputShape = std::nullopt);

} // namespace bisc
