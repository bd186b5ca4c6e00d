//===- resize.cpp - resize: nearest and bilinear, as F.interpolate ----------===//
//
// Mirrors aten's CPU upsample kernels (UpSample.h, UpSampleKernel.cpp, PyTorch 1.13) in
// f32, including their rounding: the source scale is 1/scale when a scale factor is given
// and in/out when only a size is (the `like` input), and (in-1)/(out-1) with align_corners.
// Each axis gets a table of source taps, then every output is a lookup or a 2x2 blend.
#include "ir/interpreter/kernels.h"

#include "ir/error.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace bisc::interp {

namespace {

/// aten's area_pixel_compute_scale: source pixels per destination pixel along one axis.
float sourceScale(int64_t in, int64_t out, bool alignCorners, std::optional<double> scale) {
  if (alignCorners) return out > 1 ? float(in - 1) / float(out - 1) : 0.0f;
  return scale ? float(1.0 / *scale) : float(in) / float(out);
}

/// nearest: src = min(floor(dst * s), in - 1), as aten's generic NCHW kernel
/// (HelperInterpNearest). Beware when checking against torch with one channel: such a tensor
/// also counts as channels-last, and that kernel (nearest_idx) copies an axis that keeps its
/// size and reads dst / 2 on one that exactly doubles, whatever the scale factor was.
std::vector<int64_t> nearestTaps(int64_t in, int64_t out, std::optional<double> scale) {
  float s = sourceScale(in, out, false, scale);
  std::vector<int64_t> taps(static_cast<size_t>(out));
  for (int64_t dst = 0; dst < out; ++dst)
    taps[size_t(dst)] = std::min(int64_t(std::floor(float(dst) * s)), in - 1);
  return taps;
}

/// Two source indices and their weights: value = w0 * x[i0] + w1 * x[i1].
struct LinearTap {
  int64_t i0, i1;
  float w0, w1;
};

/// aten's compute_source_index_and_lambda: an axis that keeps its size is copied as is.
std::vector<LinearTap> linearTaps(int64_t in, int64_t out, bool alignCorners,
                                  std::optional<double> scale) {
  float s = sourceScale(in, out, alignCorners, scale);
  std::vector<LinearTap> taps(static_cast<size_t>(out));
  for (int64_t dst = 0; dst < out; ++dst) {
    if (in == out) {
      taps[size_t(dst)] = {dst, dst, 1.0f, 0.0f};
      continue;
    }
    float src = alignCorners ? s * float(dst) : std::max(s * (float(dst) + 0.5f) - 0.5f, 0.0f);
    int64_t i0 = int64_t(src);  // src >= 0, so truncation is floor
    int64_t i1 = i0 < in - 1 ? i0 + 1 : i0;
    float w1 = std::clamp(src - float(i0), 0.0f, 1.0f);
    taps[size_t(dst)] = {i0, i1, 1.0f - w1, w1};
  }
  return taps;
}

void resizeNearest(const Tensor &x, Tensor &result, std::optional<double> scaleH,
                   std::optional<double> scaleW) {
  Dims4 in(x.shape()), out(result.shape());
  std::vector<int64_t> rows = nearestTaps(in.h, out.h, scaleH);
  std::vector<int64_t> cols = nearestTaps(in.w, out.w, scaleW);
  const float *src = x.f32().data();
  float *dst = result.f32().data();
  for (int64_t p = 0; p < out.n * out.c; ++p)
    for (int64_t oh = 0; oh < out.h; ++oh) {
      const float *row = src + p * in.plane() + rows[size_t(oh)] * in.w;
      for (int64_t ow = 0; ow < out.w; ++ow) *dst++ = row[cols[size_t(ow)]];
    }
}

/// Blends along W within two source rows, then along H, in aten's order.
void resizeBilinear(const Tensor &x, Tensor &result, bool alignCorners,
                    std::optional<double> scaleH, std::optional<double> scaleW) {
  Dims4 in(x.shape()), out(result.shape());
  std::vector<LinearTap> rows = linearTaps(in.h, out.h, alignCorners, scaleH);
  std::vector<LinearTap> cols = linearTaps(in.w, out.w, alignCorners, scaleW);
  const float *src = x.f32().data();
  float *dst = result.f32().data();
  for (int64_t p = 0; p < out.n * out.c; ++p)
    for (const LinearTap &r : rows) {
      const float *top = src + p * in.plane() + r.i0 * in.w;
      const float *bottom = src + p * in.plane() + r.i1 * in.w;
      for (const LinearTap &c : cols) {
        float t = c.w0 * top[c.i0] + c.w1 * top[c.i1];
        float b = c.w0 * bottom[c.i0] + c.w1 * bottom[c.i1];
        *dst++ = t * r.w0 + b * r.w1;
      }
    }
}

} // namespace

void eval_resize(const Node &node, Operands operands, Tensor &result) {
  std::optional<double> scaleH, scaleW;  // absent when the size comes from `like`
  if (node.hasAttr("scale")) {
    scaleH = node.attrFloats("scale")[0];
    scaleW = node.attrFloats("scale")[1];
  }
  const std::string &mode = node.attrString("mode");
  if (mode == "nearest")
    resizeNearest(*operands[0], result, scaleH, scaleW);
  else if (mode == "bilinear")
    resizeBilinear(*operands[0], result, node.attrBool("align_corners"), scaleH, scaleW);
  else
    fail("resize mode \"{}\" is not supported", mode);
}

} // namespace bisc::interp
