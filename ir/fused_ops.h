//===- fused_ops.h - The ops the fusion passes create: exact semantics ----===//
//
// Rows at the end of ops.def; shape rules in fused_ops.cpp; reference kernels in
// interpreter/fused_*.cpp, each composed from the kernels of the unfused ops in the same
// order as the subgraph it replaces, so a fused kernel is bit-identical to that subgraph.
// Notation: conv(x, w, b; attrs) is conv2d; gap(x) is global_avg_pool (mean over H,W,
// keepdim); resize(t -> H,W) is the resize op with the node's mode/align_corners and either
// its `scale` (aten's scale-factor mapping) or, when scale is absent, the target size.
// Every op also carries an optional string `fused_from`: the original node names, '+'
// joined, in graph order (for dumps only; no semantics).
//
// fused_conv(x, weight, bias?, residual?) {stride, pads, dilation, groups, activation,
//                                          residual}
//   t = conv(x, weight, bias)                 conv2d semantics, bias optional
//   residual="before_act": t = t + residual   (residual has exactly t's shape)
//   activation="relu":     t = max(t, 0)      ("none": nothing)
//   residual="after_act":  t = t + residual
//   A residual operand needs the bias operand: operand 2 is always the bias, 3 the residual.
//
// arm(x, weight, bias)                         Attention Refinement (V1)
//   out = x * sigmoid(conv(gap(x), weight, bias))      weight [C,C,1,1], bias [C]
//   (the gate is [N,C,1,1], broadcast over H,W)
//
// ffm(sp, cp, weight, bias, att_weight1, att_bias1, att_weight2?, att_bias2?)
//     {att_activation}                         Feature Fusion (V1)
//   f = relu(conv(concat(sp, cp, axis 1), weight, bias))        1x1, stride 1, no pad
//   h = conv(gap(f), att_weight1, att_bias1); if att_activation=="relu": h = max(h, 0)
//   if att_weight2: h = conv(h, att_weight2, att_bias2)          (no activation)
//   out = f * sigmoid(h) + f
//   CoinCheung: one attention conv (BN folded), att_activation none. TorchSeg / paper: two
//   convs with relu between (zero biases). mmseg: one conv + relu.
//
// bga(left1, left2, right1, right2) {mode, align_corners, scale?}   Guided Aggregation (V2)
//   A = left1 * sigmoid(resize(right1 -> H,W of left1))
//   B = left2 * sigmoid(right2)                                   (same shapes)
//   out = A + resize(B -> H,W of left1)
//   CoinCheung: nearest, scale [4,4]. mmseg: bilinear, align_corners false, no scale.
//   The final CBR after the sum stays a fused_conv.
//
// context_embedding(x, gap_weight, gap_bias, weight, bias) {stride, pads, dilation, groups}
//   g = relu(conv(gap(x), gap_weight, gap_bias))      1x1, [N,C,1,1] (V2's BN folded in)
//   out = relu(conv(x + g, weight, bias; stride, pads, dilation, groups))   (g broadcast)
//
// resize_add(x, small) {mode, align_corners, scale?}   out = x + resize(small -> H,W of x)
// resize_mul(x, small) {mode, align_corners, scale?}   out = x * resize(small -> H,W of x)
//   The upsampled tensor is never materialised; resize(small) has exactly x's shape.
//
// resize_concat(inputs...) {resized, mode, align_corners, scale?}
//   H,W = the spatial size of every operand but inputs[resized] (concat makes them equal)
//   out = concat(inputs[0], .., resize(inputs[resized] -> H,W), .., inputs[n-1]; axis 1)
//   One operand, at any position, is the small one; the others pass through unchanged.
//   Rank 4, channel axis only (BiSeNet concatenates channels), at least two operands.
//   The upsampled operand is sampled while its channels are written: it never exists.
#pragma once

#include "ir/graph.h"

namespace bisc {

/// The bias operand of a fused_conv, or nullptr.
Value *fusedConvBias(const Node &node);
/// The residual operand of a fused_conv, or nullptr (residual attribute "none").
Value *fusedConvResidual(const Node &node);

} // namespace bisc
