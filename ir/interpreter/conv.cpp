//===- conv.cpp - conv2d: grouped, strided, dilated, asymmetrically padded -===//
//
// Direct convolution with PyTorch's semantics (cross-correlation, OIHW weights, pads
// [top, left, bottom, right]). Loop order n, oc, oh, ic, kh, kw, ow: one output row stays in
// L1 while every (ic, kh, kw) tap adds a scaled input row to it, and the innermost loop runs
// over contiguous output columns, so the compiler vectorizes it. Padding is handled by
// clipping each tap's column range instead of testing every element.
#include "ir/interpreter/kernels.h"

#include <algorithm>

namespace bisc::interp {

namespace {

struct ConvGeometry {
  Dims4 in, out;
  int64_t kh, kw, strideH, strideW, padTop, padLeft, dilH, dilW, groups;
};

/// Output columns [begin, end) whose input column ow * stride + offset lies in [0, width).
struct ColumnRange {
  int64_t begin, end;
};

ColumnRange validColumns(int64_t offset, int64_t stride, int64_t width, int64_t outWidth) {
  int64_t begin = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t end = width - 1 - offset < 0 ? 0 : (width - 1 - offset) / stride + 1;
  return {begin, std::min(end, outWidth)};
}

/// out[ow] += w * in[ow * stride + offset] for ow in range; stride 1 is split out so that
/// the common case is a plain contiguous axpy.
void accumulateRow(float *__restrict out, const float *__restrict in, float w,
                   ColumnRange range, int64_t stride, int64_t offset) {
  if (stride == 1) {
    for (int64_t ow = range.begin; ow < range.end; ++ow) out[ow] += w * in[ow + offset];
  } else {
    for (int64_t ow = range.begin; ow < range.end; ++ow)
      out[ow] += w * in[ow * stride + offset];
  }
}

/// One output row (n, oc, oh): starts at the bias and adds every tap of the group's inputs.
void convolveRow(const ConvGeometry &g, const float *input, const float *weight,
                 const std::vector<ColumnRange> &columns, int64_t n, int64_t oc, int64_t oh,
                 float *row) {
  int64_t inPerGroup = g.in.c / g.groups, outPerGroup = g.out.c / g.groups;
  int64_t firstIn = (oc / outPerGroup) * inPerGroup;
  for (int64_t icg = 0; icg < inPerGroup; ++icg) {
    const float *plane = input + ((n * g.in.c) + firstIn + icg) * g.in.plane();
    const float *taps = weight + (oc * inPerGroup + icg) * g.kh * g.kw;
    for (int64_t kh = 0; kh < g.kh; ++kh) {
      int64_t ih = oh * g.strideH - g.padTop + kh * g.dilH;
      if (ih < 0 || ih >= g.in.h) continue;  // this tap row lies in the padding
      for (int64_t kw = 0; kw < g.kw; ++kw)
        accumulateRow(row, plane + ih * g.in.w, taps[kh * g.kw + kw], columns[size_t(kw)],
                      g.strideW, kw * g.dilW - g.padLeft);
    }
  }
}

} // namespace

void eval_conv2d(const Node &node, Operands operands, Tensor &result) {
  const Shape &w = operands[1]->shape();
  const auto &stride = node.attrInts("stride");
  const auto &pads = node.attrInts("pads");
  const auto &dilation = node.attrInts("dilation");
  ConvGeometry g{Dims4(operands[0]->shape()), Dims4(result.shape()), w[2], w[3],
                 stride[0], stride[1], pads[0], pads[1], dilation[0], dilation[1],
                 node.attrInt("groups")};
  std::vector<ColumnRange> columns;
  for (int64_t kw = 0; kw < g.kw; ++kw)
    columns.push_back(validColumns(kw * g.dilW - g.padLeft, g.strideW, g.in.w, g.out.w));

  const float *input = operands[0]->f32().data();
  const float *weight = operands[1]->f32().data();
  const float *bias = operands.size() > 2 ? operands[2]->f32().data() : nullptr;
  float *out = result.f32().data();
  for (int64_t n = 0; n < g.out.n; ++n)
    for (int64_t oc = 0; oc < g.out.c; ++oc)
      for (int64_t oh = 0; oh < g.out.h; ++oh) {
        float *row = out + ((n * g.out.c + oc) * g.out.h + oh) * g.out.w;
        std::fill(row, row + g.out.w, bias ? bias[oc] : 0.0f);
        convolveRow(g, input, weight, columns, n, oc, oh, row);
      }
}

} // namespace bisc::interp
