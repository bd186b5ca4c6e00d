//===- channel_gate.h - Matches x * sigmoid(attention(gap(x))) ------------===//
//
// The squeeze-and-excitation gate that ARM and FFM share, matched by structure only:
//   mul(x, sigmoid(h)) (either operand order), where h is one of
//     conv(gap(x))                       one 1x1 conv, no activation  (ARM, CoinCheung FFM)
//     relu(conv(gap(x)))                 one 1x1 conv + relu          (mmseg FFM)
//     conv(relu(conv(gap(x))))           two 1x1 convs, relu between  (TorchSeg FFM)
//   or an `arm` node (a gate fuse-arm already fused).
// A "conv" is a conv2d or a fused_conv that only convolves (rewrite::plainConv); a conv with
// relu is a fused_conv{activation=relu} or relu(conv). Every intermediate value must be used
// only inside the gate, and the gate must have x's channel count (no broadcast of a 1-channel
// gate).
#pragma once

#include "ir/graph.h"

#include <optional>
#include <vector>

namespace bisc {

struct ChannelGate {
  Value *x = nullptr;
  Value *weight1 = nullptr, *bias1 = nullptr;  ///< bias may be nullptr
  bool relu = false;                           ///< relu after the first conv
  Value *weight2 = nullptr, *bias2 = nullptr;  ///< second conv, or nullptr
  /// Every node of the gate, the root (mul or arm) last.
  std::vector<Node *> nodes;
};

/// The gate computed by `root` (a mul or an arm node), or nullopt.
std::optional<ChannelGate> matchChannelGate(const Graph &graph, Node &root);

} // namespace bisc
