//===- onnx_resize.cpp - Resize and Upsample -> bisc resize ----------------===//
//
// bisc's resize has PyTorch's F.interpolate semantics (nearest = floor(dst * in / out),
// bilinear with or without align_corners), given a scale or a tensor whose H x W to match.
// ONNX Resize has more knobs (coordinate_transformation_mode, nearest_mode). Rather than
// trusting a table of "equivalent" settings, the importer computes, for each resized axis at
// the import shape, which source pixels (and weights) ONNX Runtime reads for every output
// pixel and which bisc's resize reads, and accepts the node only if they agree. So:
//   nearest + asymmetric + floor          (torch's nearest)         -> nearest
//   nearest + half_pixel-like modes, integer upscales               -> nearest
//   linear + half_pixel / pytorch_half_pixel (align_corners=False)  -> bilinear
//   linear + align_corners                                          -> bilinear, align_corners
// and anything that reads other pixels is an error saying which output pixel differs.
// Upsample (opsets 7-9) and Resize-10 are asymmetric with ONNX Runtime's legacy rounding.
#include "frontends/onnx/onnx_importer.h"

#include "ir/error.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace bisc::onnx_import {

namespace {

using Node = onnx::NodeProto;

struct ResizeSpec {
  std::string mode;         ///< "nearest" or "linear"
  std::string coordinates;  ///< coordinate_transformation_mode
  std::string rounding;     ///< nearest_mode, or "legacy" before opset 11
  std::optional<std::vector<double>> scales;  ///< 4 values, or
  std::optional<ConstTensor> sizes;           ///< 4 values
};

/// Source weights of one output pixel along one axis: index -> weight.
using Taps = std::map<int64_t, float>;

/// ONNX Runtime's get_original_coordinate, in float as it computes.
float originalCoordinate(const std::string &mode, float x, float scale, int64_t out, int64_t in) {
  if (mode == "half_pixel") return (x + 0.5f) / scale - 0.5f;
  if (mode == "pytorch_half_pixel") return out > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
  if (mode == "tf_half_pixel_for_nn") return (x + 0.5f) / scale;
  if (mode == "align_corners") return out == 1 ? 0.0f : x * float(in - 1) / float(out - 1);
  return x / scale;  // asymmetric
}

int64_t roundNearest(const std::string &rounding, float x, bool downsample) {
  if (rounding == "floor") return int64_t(std::floor(x));
  if (rounding == "ceil") return int64_t(std::ceil(x));
  if (rounding == "round_prefer_ceil") return int64_t(std::round(x));
  if (rounding == "legacy") return downsample ? int64_t(std::ceil(x)) : int64_t(x);
  // round_prefer_floor
  return x == std::floor(x) + 0.5f ? int64_t(std::floor(x)) : int64_t(std::round(x));
}

Taps onnxTaps(const ResizeSpec &spec, int64_t dst, float scale, int64_t in, int64_t out) {
  float x = originalCoordinate(spec.coordinates, float(dst), scale, out, in);
  if (spec.mode == "nearest") {
    int64_t index = roundNearest(spec.rounding, x, scale < 1.0f);
    return {{std::clamp<int64_t>(index, 0, in - 1), 1.0f}};
  }
  x = std::clamp(x, 0.0f, float(in - 1));
  int64_t i1 = std::min(int64_t(x), in - 1), i2 = std::min(i1 + 1, in - 1);
  if (i1 == i2) return {{i1, 1.0f}};
  return {{i1, float(i2) - x}, {i2, x - float(i1)}};
}

/// What bisc's interpreter reads (ir/interpreter/resize.cpp), for the attributes chosen.
Taps biscTaps(bool nearest, bool alignCorners, std::optional<double> scale, int64_t dst, int64_t in,
              int64_t out) {
  float s = alignCorners ? (out > 1 ? float(in - 1) / float(out - 1) : 0.0f)
            : scale      ? float(1.0 / *scale)
                         : float(in) / float(out);
  if (nearest) {
    if (out == in) return {{dst, 1.0f}};
    if (out == 2 * in) return {{dst / 2, 1.0f}};
    return {{std::min(int64_t(std::floor(float(dst) * s)), in - 1), 1.0f}};
  }
  if (in == out) return {{dst, 1.0f}};
  float src = alignCorners ? s * float(dst) : std::max(s * (float(dst) + 0.5f) - 0.5f, 0.0f);
  int64_t i0 = int64_t(src), i1 = i0 < in - 1 ? i0 + 1 : i0;
  float w1 = std::clamp(src - float(i0), 0.0f, 1.0f);
  Taps taps{{i0, 1.0f - w1}};
  taps[i1] += w1;
  return taps;
}

bool sameTaps(const Taps &a, const Taps &b) {
  auto weight = [](const Taps &t, int64_t i) {
    auto it = t.find(i);
    return it == t.end() ? 0.0f : it->second;
  };
  for (const auto &[index, w] : a)
    if (std::fabs(w - weight(b, index)) > 1e-5f) return false;
  for (const auto &[index, w] : b)
    if (std::fabs(w - weight(a, index)) > 1e-5f) return false;
  return true;
}

std::string tapsText(Taps taps) {
  std::erase_if(taps, [](const auto &tap) { return std::fabs(tap.second) < 1e-6f; });
  std::string text;
  for (const auto &[index, w] : taps)
    text += fmt::format("{}{}", text.empty() ? "" : " + ", taps.size() == 1 ? fmt::format("src {}", index)
                                                                             : fmt::format("{:.3g}*src {}", w, index));
  return text;
}

/// A scale whose floor(in * scale) is exactly `out` in double, as bisc's shape rule computes.
double scaleFor(int64_t in, int64_t out) {
  double scale = double(out) / double(in);
  while (std::floor(double(in) * scale) < double(out)) scale = std::nextafter(scale, 2.0 * scale);
  return scale;
}

void lowerResizeSpec(Importer &im, const Node &node, const ResizeSpec &spec) {
  if (spec.mode != "nearest" && spec.mode != "linear")
    fail("mode '{}' is not supported (nearest and linear are)", spec.mode);
  if (spec.coordinates == "tf_crop_and_resize") fail("coordinate_transformation_mode tf_crop_and_resize is not supported");
  Value *x = im.runtime(node, 0, "x");
  const Shape &in = x->type.shape;
  if (in.size() != 4) fail("input must be a 4-D NCHW tensor, got {}", toString(x->type));
  std::vector<int64_t> out(4);
  std::vector<float> onnxScale(4);
  if (spec.sizes) {
    out = spec.sizes->ints();
    for (size_t d = 0; d < 4; ++d) onnxScale[d] = float(out[d]) / float(in[d]);
  } else {
    for (size_t d = 0; d < 4; ++d) {
      onnxScale[d] = float((*spec.scales)[d]);
      out[d] = int64_t(std::floor(double(in[d]) * (*spec.scales)[d]));
    }
  }
  if (out[0] != in[0] || out[1] != in[1])
    fail("resizing the batch or channel axis is not supported (output [{}] from {})", fmt::join(out, ","),
         toString(x->type));
  for (size_t d = 2; d < 4; ++d)
    if (out[d] < 1) fail("gives an empty output [{}]", fmt::join(out, ","));

  bool nearest = spec.mode == "nearest", alignCorners = !nearest && spec.coordinates == "align_corners";
  std::vector<std::pair<std::string, Attribute>> attrs{{"mode", std::string(nearest ? "nearest" : "bilinear")},
                                                      {"align_corners", alignCorners}};
  std::vector<Value *> inputs{x};
  std::optional<DimOrigin> h = spec.sizes ? spec.sizes->origin(2) : std::nullopt;
  std::optional<DimOrigin> w = spec.sizes ? spec.sizes->origin(3) : std::nullopt;
  std::array<std::optional<double>, 2> irScale;
  if (h && w && h->value == w->value && h->axis == 2 && w->axis == 3 && h->value->type.shape.size() == 4) {
    inputs.push_back(h->value);  // "the size of that tensor": stays right at any input shape
  } else {
    for (size_t a = 0; a < 2; ++a)
      irScale[a] = spec.scales ? (*spec.scales)[2 + a] : scaleFor(in[2 + a], out[2 + a]);
    attrs.emplace_back("scale", std::vector<double>{*irScale[0], *irScale[1]});
  }
  for (size_t a = 0; a < 2; ++a) {
    int64_t inLen = in[2 + a], outLen = out[2 + a];
    for (int64_t dst = 0; dst < outLen; ++dst) {
      Taps expected = onnxTaps(spec, dst, onnxScale[2 + a], inLen, outLen);
      Taps actual = biscTaps(nearest, alignCorners, irScale[a], dst, inLen, outLen);
      if (!sameTaps(expected, actual))
        fail("mode={}, coordinate_transformation_mode={}{} resizing {} {} -> {}: output {} {} reads "
             "{} in ONNX, but bisc's resize (PyTorch interpolate semantics) reads {}; supported: "
             "nearest with asymmetric+floor or integer upscales, linear with half_pixel, "
             "pytorch_half_pixel or align_corners",
             spec.mode, spec.coordinates, nearest ? ", nearest_mode=" + spec.rounding : std::string(),
             a == 0 ? "height" : "width", inLen, outLen, a == 0 ? "row" : "column", dst,
             tapsText(expected), tapsText(actual));
    }
  }
  im.emit(node, OpId::resize, inputs, attrs);
}

/// A constant with 4 values, or nothing for an absent or empty input.
std::optional<ConstTensor> fourValues(Importer &im, const Node &node, size_t i, const char *what) {
  if (!im.hasInput(node, i)) return std::nullopt;
  const ConstTensor &t = im.constant(node, i);
  if (t.values.empty()) return std::nullopt;
  if (t.values.size() != 4) fail("{} has {} values; a 4-D input needs 4", what, t.values.size());
  return t;
}

void lowerResize(Importer &im, const Node &node) {
  ResizeSpec spec;
  spec.mode = attrString(node, "mode", "nearest");
  std::optional<ConstTensor> scales;
  if (im.opset() < 11) {  // Resize-10: X, scales; Upsample semantics
    spec.coordinates = "asymmetric";
    spec.rounding = "legacy";
    scales = fourValues(im, node, 1, "scales");
  } else {
    spec.coordinates = attrString(node, "coordinate_transformation_mode", "half_pixel");
    spec.rounding = attrString(node, "nearest_mode", "round_prefer_floor");
    scales = fourValues(im, node, 2, "scales");
    spec.sizes = fourValues(im, node, 3, "sizes");
  }
  if (spec.mode == "linear" && spec.rounding == "legacy") spec.rounding = "";
  if (!spec.sizes) {
    if (!scales) fail("needs scales or sizes");
    spec.scales = scales->values;
  }
  lowerResizeSpec(im, node, spec);
}

void lowerUpsample(Importer &im, const Node &node) {
  ResizeSpec spec;
  spec.mode = attrString(node, "mode", "nearest");
  if (spec.mode == "bilinear") spec.mode = "linear";
  spec.coordinates = "asymmetric";
  spec.rounding = "legacy";
  if (im.opset() < 9) {
    std::vector<float> scales = attrFloats(node, "scales");
    if (scales.size() != 4) fail("attribute 'scales' has {} values; a 4-D input needs 4", scales.size());
    spec.scales = std::vector<double>(scales.begin(), scales.end());
  } else {
    std::optional<ConstTensor> scales = fourValues(im, node, 1, "scales");
    if (!scales) fail("needs scales");
    spec.scales = scales->values;
  }
  lowerResizeSpec(im, node, spec);
}

} // namespace

void registerResizeOps(std::map<std::string, OpHandler> &table) {
  table["Resize"] = lowerResize;
  table["Upsample"] = lowerUpsample;
}

} // namespace bisc::onnx_import
