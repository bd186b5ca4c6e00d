//===- conv_kernel.h - A dense conv as the schedule pass sees it ------------===//
//
// The geometry of one dense conv the microkernel lowers, and its signature: the key of a
// schedule file entry. The signature names the op family, shapes, attributes and target
// CPU, never the node, so a tuned schedule applies to the same conv in any model. The
// epilogue (bias, activation, residual) is left out: it costs the same per output element
// whatever the blocking, so it does not change which schedule wins.
#pragma once

#include "compiler/codegen/schedule.h"
#include "ir/graph.h"

#include <string>

namespace bisc {

struct ConvKernel {
  int64_t n = 1, ic = 1, h = 1, w = 1, oc = 1, oh = 1, ow = 1, kh = 1, kw = 1;
  int64_t strideH = 1, strideW = 1, padT = 0, padL = 0, padB = 0, padR = 0, dilH = 1, dilW = 1;

  int64_t macs() const { return n * oc * oh * ow * ic * kh * kw; }
};

/// The geometry of a conv2d / fused_conv node (the microkernel's, or a gate's detached conv).
ConvKernel convKernel(const Node &node);

/// "dense_conv x=1x64x128x256 w=128x64x3x3 stride=2x2 pads=1x1x1x1 dilation=1x1 cpu=znver3"
std::string kernelSignature(const ConvKernel &conv, const std::string &cpu);

} // namespace bisc
