//===- pool.cpp - max_pool, avg_pool and global_avg_pool --------------------===//
//
// Window arithmetic mirrors aten's CPU kernels (MaxPoolKernel.cpp, AvgPoolKernel.cpp) with
// PyTorch's symmetric pads generalised to [top, left, bottom, right]: begin pads shift the
// window, end pads only matter to avg_pool's count_include_pad divisor.
#include "ir/interpreter/kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace bisc::interp {

namespace {

struct PoolGeometry {
  Dims4 in, out;
  int64_t kh, kw, strideH, strideW, padTop, padLeft, padBottom, padRight;
};

PoolGeometry poolGeometry(const Node &node, const Tensor &x, const Tensor &result) {
  const auto &kernel = node.attrInts("kernel");
  const auto &stride = node.attrInts("stride");
  const auto &pads = node.attrInts("pads");
  return {Dims4(x.shape()), Dims4(result.shape()), kernel[0], kernel[1], stride[0],
          stride[1],        pads[0],              pads[1],     pads[2],   pads[3]};
}

/// Max over the window's taps inside the input: padded positions never win (aten starts
/// from -inf and skips them). NaN propagates, as in aten.
float windowMax(const float *plane, const PoolGeometry &g, int64_t dilH, int64_t dilW,
                int64_t oh, int64_t ow) {
  float best = -std::numeric_limits<float>::infinity();
  for (int64_t kh = 0; kh < g.kh; ++kh) {
    int64_t ih = oh * g.strideH - g.padTop + kh * dilH;
    if (ih < 0 || ih >= g.in.h) continue;
    for (int64_t kw = 0; kw < g.kw; ++kw) {
      int64_t iw = ow * g.strideW - g.padLeft + kw * dilW;
      if (iw < 0 || iw >= g.in.w) continue;
      float v = plane[ih * g.in.w + iw];
      if (v > best || std::isnan(v)) best = v;
    }
  }
  return best;
}

/// One avg_pool output, as aten's cpu_avg_pool: the window end is first clipped to the
/// padded input (giving count_include_pad's divisor, which in ceil mode can be smaller than
/// kh * kw), then to the input itself (giving the summed taps and the other divisor).
float windowAverage(const float *plane, const PoolGeometry &g, bool countIncludePad,
                    int64_t oh, int64_t ow) {
  int64_t h0 = oh * g.strideH - g.padTop, w0 = ow * g.strideW - g.padLeft;
  int64_t h1 = std::min(h0 + g.kh, g.in.h + g.padBottom);
  int64_t w1 = std::min(w0 + g.kw, g.in.w + g.padRight);
  int64_t paddedSize = (h1 - h0) * (w1 - w0);
  h0 = std::max<int64_t>(h0, 0);
  w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, g.in.h);
  w1 = std::min(w1, g.in.w);
  if (h0 >= h1 || w0 >= w1) return 0.0f;
  float sum = 0.0f;
  for (int64_t ih = h0; ih < h1; ++ih)
    for (int64_t iw = w0; iw < w1; ++iw) sum += plane[ih * g.in.w + iw];
  int64_t divisor = countIncludePad ? paddedSize : (h1 - h0) * (w1 - w0);
  return sum / float(divisor);
}

/// Applies `window(plane, oh, ow)` to every output position of every (n, c) plane.
template <typename Window>
void forEachWindow(const PoolGeometry &g, const Tensor &x, Tensor &result, Window window) {
  const float *in = x.f32().data();
  float *out = result.f32().data();
  for (int64_t p = 0; p < g.out.n * g.out.c; ++p) {
    const float *plane = in + p * g.in.plane();
    for (int64_t oh = 0; oh < g.out.h; ++oh)
      for (int64_t ow = 0; ow < g.out.w; ++ow)
        *out++ = window(plane, oh, ow);
  }
}

} // namespace

void eval_max_pool(const Node &node, Operands operands, Tensor &result) {
  PoolGeometry g = poolGeometry(node, *operands[0], result);
  const auto &dilation = node.attrInts("dilation");
  forEachWindow(g, *operands[0], result, [&](const float *plane, int64_t oh, int64_t ow) {
    return windowMax(plane, g, dilation[0], dilation[1], oh, ow);
  });
}

void eval_avg_pool(const Node &node, Operands operands, Tensor &result) {
  PoolGeometry g = poolGeometry(node, *operands[0], result);
  bool countIncludePad = node.attrBool("count_include_pad");
  forEachWindow(g, *operands[0], result, [&](const float *plane, int64_t oh, int64_t ow) {
    return windowAverage(plane, g, countIncludePad, oh, ow);
  });
}

/// Mean over H and W, summed in double so the result does not depend on the order.
void eval_global_avg_pool(const Node &node, Operands operands, Tensor &result) {
  Dims4 in(operands[0]->shape());
  const float *x = operands[0]->f32().data();
  float *out = result.f32().data();
  for (int64_t p = 0; p < in.n * in.c; ++p) {
    double sum = 0;
    for (int64_t i = 0; i < in.plane(); ++i) sum += x[p * in.plane() + i];
    out[p] = float(sum / double(in.plane()));
  }
}

} // namespace bisc::interp
