//===- model_io.h - Files bisc reads and writes: models, weights, arrays --===//
#pragma once

#include "ir/graph.h"
#include "ir/tensor.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace bisc {

/// Loads a model by extension: bisc JSON (.json), the IR text form (.bir) or ONNX (.onnx).
/// JSON and IR weights are declared but carry no data; ONNX weights come with their data
/// from the file's initializers. `inputShape` is used by readers that fold shapes at import
/// (ONNX; required for a file with dynamic axes); for the others the caller applies it with
/// setInputShape(). Throws bisc::Error naming the file and the place.
std::unique_ptr<Graph> loadModel(const std::string &path,
                                 const std::optional<Shape> &inputShape = std::nullopt);

/// True when every weight already carries its data (ONNX models, or a graph without
/// weights): the drivers then need neither --weights nor --random-weights.
bool weightsLoaded(const Graph &graph);

/// Reads a bisc JSON graph (docs/json-format.md).
std::unique_ptr<Graph> loadJsonGraph(const std::string &path);

/// safetensors: 8-byte little-endian header length, JSON header, raw little-endian data.
/// F32, F16 and BF16 (widened to f32) and I32 are read; F32 and I32 are written.
std::map<std::string, Tensor> readSafetensors(const std::string &path);
void writeSafetensors(const std::string &path, const std::map<std::string, Tensor> &tensors);

/// Gives every weight of `graph` its data from a safetensors file: each weight must be present
/// with the declared shape; tensors the graph does not use are ignored.
void attachWeights(Graph &graph, const std::string &safetensorsPath);

/// Deterministic random weights for tests and benchmarks (docs/random-weights.md): conv
/// weights Kaiming-normal, BN affine parameters and biases uniform, then BN running
/// statistics calibrated by running the interpreter on synthetic images.
void fillRandomWeights(Graph &graph, uint64_t seed);

/// NumPy .npy (version 1/2, little-endian, C order): f32, f64 (read as f32), i32, i64
/// (read as i32 when in range). Written as f32 or i32.
Tensor readNpy(const std::string &path);
void writeNpy(const std::string &path, const Tensor &tensor);

} // namespace bisc
