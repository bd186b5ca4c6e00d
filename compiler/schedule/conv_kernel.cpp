//===- conv_kernel.cpp - A dense conv as the schedule pass sees it ----------===//
#include "compiler/schedule/conv_kernel.h"

#include <fmt/format.h>

namespace bisc {

ConvKernel convKernel(const Node &node) {
  const Shape &x = node.inputs[0]->type.shape, &w = node.inputs[1]->type.shape;
  const Shape &y = node.result->type.shape;
  auto stride = node.attrInts("stride"), pads = node.attrInts("pads"), dil = node.attrInts("dilation");
  ConvKernel c;
  c.n = x[0], c.ic = x[1], c.h = x[2], c.w = x[3];
  c.oc = y[1], c.oh = y[2], c.ow = y[3], c.kh = w[2], c.kw = w[3];
  c.strideH = stride[0], c.strideW = stride[1], c.dilH = dil[0], c.dilW = dil[1];
  c.padT = pads[0], c.padL = pads[1], c.padB = pads[2], c.padR = pads[3];
  return c;
}

std::string kernelSignature(const ConvKernel &c, const std::string &cpu) {
  return fmt::format("dense_conv x={}x{}x{}x{} w={}x{}x{}x{} stride={}x{} pads={}x{}x{}x{} dilation={}x{} cpu={}",
                     c.n, c.ic, c.h, c.w, c.oc, c.ic, c.kh, c.kw, c.strideH, c.strideW, c.padT, c.padL, c.padB,
                     c.padR, c.dilH, c.dilW, cpu);
}

} // namespace bisc
