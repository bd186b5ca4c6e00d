"""BiSeNetV1 references, written from bisenet-architecture.md sections 2-4.

Two public layouts, both reproduced key-for-key (section 7):

* CoinCheung/BiSeNet `BiSeNetV1` with a ResNet18 backbone at `cp.resnet` (`bisenetv1_resnet18`).
  Upsampling inside the context path is nearest x2 by scale factor; heads upsample bilinear
  by scale factor (align_corners=False).  aux_mode: 'train' -> (logits, aux16, aux32),
  'eval' -> (logits,), 'pred' -> argmax.
* ycszen/TorchSeg `BiSeNet` with Xception39 (`bisenetv1_xception39`) or a deep-stem ResNet101
  (`bisenetv1_resnet101`) context path.  Intermediate resizes go to the explicit size of another
  tensor (bilinear, align_corners=True); the heads' final upsampling is by scale factor
  (bilinear, align_corners=True); the model returns log_softmax of the main head.
  aux_mode='train' builds heads.0/heads.1 and returns (log_softmax, aux0, aux1) where aux0/aux1
  are the raw outputs of heads.0 (1/16 refine output, x16) and heads.1 (1/8 one, x8).

Public code vs paper (we follow the public code): the ARM has a 3x3 CBR before the attention and
the attention is GAP -> 1x1 -> BN -> sigmoid; CoinCheung's FFM attention is 1x1 + BN + sigmoid
(paper and TorchSeg: 1x1 -> ReLU -> 1x1 -> sigmoid, no BN, no bias).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBNReLU(nn.Module):
    """conv (no bias) -> [bn] -> [relu]; keys `.conv.weight`, `.bn.*` (CoinCheung ConvBNReLU and
    TorchSeg ConvBnRelu share this layout)."""

    def __init__(self, in_ch, out_ch, ks=3, stride=1, padding=None, has_bn=True, has_relu=True):
        super().__init__()
        if padding is None:
            padding = ks // 2
        self.conv = nn.Conv2d(in_ch, out_ch, ks, stride, padding, bias=False)
        self.has_bn = has_bn
        self.has_relu = has_relu
        if has_bn:
            self.bn = nn.BatchNorm2d(out_ch)
        if has_relu:
            self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.conv(x)
        if self.has_bn:
            x = self.bn(x)
        if self.has_relu:
            x = self.relu(x)
        return x


# ----------------------------------------------------------------------------------------------
# ResNet backbones (torchvision names)
# ----------------------------------------------------------------------------------------------

def projection_shortcut(in_ch, out_ch, stride):
    """The 1x1 conv + BN a residual block adds when its shape changes (keys downsample.0/1)."""
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, 0, bias=False), nn.BatchNorm2d(out_ch))


class ResidualBlock(nn.Module):
    """relu(branch(x) + shortcut(x)); the shortcut projects x when the shape changes. The
    subclass builds its branch's layers, then calls add_shortcut (keys relu, downsample.*)."""

    def add_shortcut(self, in_ch, out_ch, stride):
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = projection_shortcut(in_ch, out_ch, stride)

    def forward(self, x):
        r = self.branch(x)
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(r + shortcut)


class BasicBlock(ResidualBlock):
    residual_last_bn = "bn2"

    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.add_shortcut(in_ch, out_ch, stride)

    def branch(self, x):
        r = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(r))


class Bottleneck(ResidualBlock):
    expansion = 4
    residual_last_bn = "bn3"

    def __init__(self, in_ch, mid_ch, stride=1):
        super().__init__()
        out_ch = mid_ch * self.expansion
        self.conv1 = nn.Conv2d(in_ch, mid_ch, 1, 1, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_ch)
        self.conv2 = nn.Conv2d(mid_ch, mid_ch, 3, stride, 1, bias=False)  # stride on the 3x3
        self.bn2 = nn.BatchNorm2d(mid_ch)
        self.conv3 = nn.Conv2d(mid_ch, out_ch, 1, 1, 0, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.add_shortcut(in_ch, out_ch, stride)

    def branch(self, x):
        r = self.relu(self.bn1(self.conv1(x)))
        r = self.relu(self.bn2(self.conv2(r)))
        return self.bn3(self.conv3(r))


def _make_layer(block, in_ch, mid_ch, n, stride):
    out_ch = mid_ch * getattr(block, "expansion", 1)
    layers = [block(in_ch, mid_ch, stride)]
    layers += [block(out_ch, mid_ch, 1) for _ in range(n - 1)]
    return nn.Sequential(*layers), out_ch


class ResNet(nn.Module):
    """torchvision-style ResNet without fc.  deep_stem=True gives TorchSeg's "v1c" stem:
    conv1 = [3x3 3->64 s2, BN, ReLU, 3x3 64->64, BN, ReLU, 3x3 64->128], then bn1(128)."""

    def __init__(self, block, layers, deep_stem=False):
        super().__init__()
        if deep_stem:
            self.conv1 = nn.Sequential(
                nn.Conv2d(3, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                nn.Conv2d(64, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                nn.Conv2d(64, 128, 3, 1, 1, bias=False),
            )
            ch = 128
        else:
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            ch = 64
        self.bn1 = nn.BatchNorm2d(ch)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1, ch = _make_layer(block, ch, 64, layers[0], 1)
        self.layer2, ch = _make_layer(block, ch, 128, layers[1], 2)
        self.layer3, ch = _make_layer(block, ch, 256, layers[2], 2)
        self.layer4, ch = _make_layer(block, ch, 512, layers[3], 2)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        f4 = self.layer1(x)
        f8 = self.layer2(f4)
        f16 = self.layer3(f8)
        f32 = self.layer4(f16)
        return [f4, f8, f16, f32]


# ----------------------------------------------------------------------------------------------
# CoinCheung BiSeNetV1 (ResNet18)
# ----------------------------------------------------------------------------------------------

class AttentionRefinementModule(nn.Module):
    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.conv = ConvBNReLU(in_ch, out_ch, 3)
        self.conv_atten = nn.Conv2d(out_ch, out_ch, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(out_ch)

    def forward(self, x):
        f = self.conv(x)
        a = torch.mean(f, dim=(2, 3), keepdim=True)
        a = torch.sigmoid(self.bn_atten(self.conv_atten(a)))
        return f * a


class ContextPath(nn.Module):
    def __init__(self):
        super().__init__()
        self.resnet = ResNet(BasicBlock, [2, 2, 2, 2])
        self.arm16 = AttentionRefinementModule(256, 128)
        self.arm32 = AttentionRefinementModule(512, 128)
        self.conv_head32 = ConvBNReLU(128, 128, 3)
        self.conv_head16 = ConvBNReLU(128, 128, 3)
        self.conv_avg = ConvBNReLU(512, 128, 1)
        self.up32 = nn.Upsample(scale_factor=2.0)
        self.up16 = nn.Upsample(scale_factor=2.0)

    def forward(self, x):
        _, _, feat16, feat32 = self.resnet(x)  # feat8 is computed (it feeds layer3) but unused
        avg = self.conv_avg(torch.mean(feat32, dim=(2, 3), keepdim=True))
        cp16 = self.conv_head32(self.up32(self.arm32(feat32) + avg))
        cp8 = self.conv_head16(self.up16(self.arm16(feat16) + cp16))
        return cp8, cp16


class SpatialPath(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = ConvBNReLU(3, 64, 7, 2)
        self.conv2 = ConvBNReLU(64, 64, 3, 2)
        self.conv3 = ConvBNReLU(64, 64, 3, 2)
        self.conv_out = ConvBNReLU(64, 128, 1, 1)

    def forward(self, x):
        return self.conv_out(self.conv3(self.conv2(self.conv1(x))))


class FeatureFusionModule(nn.Module):
    """CoinCheung's current FFM (the `_new` checkpoints): attention = 1x1 conv + BN + sigmoid."""

    def __init__(self, in_ch=256, out_ch=256):
        super().__init__()
        self.convblk = ConvBNReLU(in_ch, out_ch, 1)
        self.conv = nn.Conv2d(out_ch, out_ch, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)

    def forward(self, fsp, fcp):
        f = self.convblk(torch.cat([fsp, fcp], dim=1))
        a = torch.sigmoid(self.bn(self.conv(torch.mean(f, dim=(2, 3), keepdim=True))))
        return f * a + f


class BiSeNetOutput(nn.Module):
    def __init__(self, in_ch, mid_ch, n_classes, up_factor):
        super().__init__()
        self.conv = ConvBNReLU(in_ch, mid_ch, 3)
        self.conv_out = nn.Conv2d(mid_ch, n_classes, 1, bias=True)
        self.up = nn.Upsample(scale_factor=up_factor, mode="bilinear", align_corners=False)

    def forward(self, x):
        return self.up(self.conv_out(self.conv(x)))


class BiSeNetV1(nn.Module):
    def __init__(self, n_classes=19, aux_mode="train"):
        super().__init__()
        self.aux_mode = aux_mode
        self.cp = ContextPath()
        self.sp = SpatialPath()
        self.ffm = FeatureFusionModule(256, 256)
        self.conv_out = BiSeNetOutput(256, 256, n_classes, 8)
        if aux_mode == "train":
            self.conv_out16 = BiSeNetOutput(128, 64, n_classes, 8)
            self.conv_out32 = BiSeNetOutput(128, 64, n_classes, 16)
            self.output_names = ("logits", "aux16", "aux32")
        else:
            self.output_names = ("logits",)

    def forward(self, x):
        cp8, cp16 = self.cp(x)
        fsp = self.sp(x)
        logits = self.conv_out(self.ffm(fsp, cp8))
        if self.aux_mode == "train":
            return logits, self.conv_out16(cp8), self.conv_out32(cp16)
        if self.aux_mode == "eval":
            return (logits,)
        if self.aux_mode == "pred":
            return logits.argmax(dim=1)
        raise NotImplementedError(self.aux_mode)


# ----------------------------------------------------------------------------------------------
# TorchSeg BiSeNet (Xception39 / ResNet101)
# ----------------------------------------------------------------------------------------------

class SeparableConvBnRelu(nn.Module):
    """depthwise 3x3 (no bias, no BN) -> point_wise_cbr (1x1, BN, optional ReLU)."""

    def __init__(self, in_ch, out_ch, stride=1, has_relu=True):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, in_ch, 3, stride, 1, groups=in_ch, bias=False)
        self.point_wise_cbr = ConvBNReLU(in_ch, out_ch, 1, 1, has_relu=has_relu)

    def forward(self, x):
        return self.point_wise_cbr(self.conv1(x))


class XceptionBlock(nn.Module):
    expansion = 4
    residual_last_bn = "residual_branch.2.point_wise_cbr.bn"

    def __init__(self, in_ch, mid_ch, stride=1):
        super().__init__()
        out_ch = mid_ch * self.expansion
        self.has_proj = stride != 1 or in_ch != out_ch
        if self.has_proj:
            self.proj = SeparableConvBnRelu(in_ch, out_ch, stride, has_relu=False)
        self.residual_branch = nn.Sequential(
            SeparableConvBnRelu(in_ch, mid_ch, stride, has_relu=True),
            SeparableConvBnRelu(mid_ch, mid_ch, 1, has_relu=True),
            SeparableConvBnRelu(mid_ch, out_ch, 1, has_relu=False),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        shortcut = self.proj(x) if self.has_proj else x
        return self.relu(self.residual_branch(x) + shortcut)


class Xception39(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = ConvBNReLU(3, 8, 3, 2)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1, ch = _make_layer(XceptionBlock, 8, 16, 4, 2)
        self.layer2, ch = _make_layer(XceptionBlock, ch, 32, 8, 2)
        self.layer3, ch = _make_layer(XceptionBlock, ch, 64, 4, 2)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        f8 = self.layer1(x)
        f16 = self.layer2(f8)
        f32 = self.layer3(f16)
        return [f8, f16, f32]


class TSSpatialPath(nn.Module):
    def __init__(self, out_ch=128):
        super().__init__()
        self.conv_7x7 = ConvBNReLU(3, 64, 7, 2)
        self.conv_3x3_1 = ConvBNReLU(64, 64, 3, 2)
        self.conv_3x3_2 = ConvBNReLU(64, 64, 3, 2)
        self.conv_1x1 = ConvBNReLU(64, out_ch, 1, 1)

    def forward(self, x):
        return self.conv_1x1(self.conv_3x3_2(self.conv_3x3_1(self.conv_7x7(x))))


class AttentionRefinement(nn.Module):
    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.conv_3x3 = ConvBNReLU(in_ch, out_ch, 3)
        self.channel_attention = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            ConvBNReLU(out_ch, out_ch, 1, has_relu=False),
            nn.Sigmoid(),
        )

    def forward(self, x):
        f = self.conv_3x3(x)
        return f * self.channel_attention(f)


class FeatureFusion(nn.Module):
    def __init__(self, in_ch=256, out_ch=256, reduction=1):
        super().__init__()
        self.conv_1x1 = ConvBNReLU(in_ch, out_ch, 1)
        self.channel_attention = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            ConvBNReLU(out_ch, out_ch // reduction, 1, has_bn=False, has_relu=True),
            ConvBNReLU(out_ch // reduction, out_ch, 1, has_bn=False, has_relu=False),
            nn.Sigmoid(),
        )

    def forward(self, x1, x2):
        f = self.conv_1x1(torch.cat([x1, x2], dim=1))
        return f + f * self.channel_attention(f)


class BiSeNetHead(nn.Module):
    def __init__(self, in_ch, mid_ch, n_classes, scale):
        super().__init__()
        self.conv_3x3 = ConvBNReLU(in_ch, mid_ch, 3)
        self.conv_1x1 = nn.Conv2d(mid_ch, n_classes, 1, bias=True)
        self.scale = scale

    def forward(self, x):
        out = self.conv_1x1(self.conv_3x3(x))
        if self.scale > 1:
            out = F.interpolate(out, scale_factor=self.scale, mode="bilinear", align_corners=True)
        return out


class TorchSegBiSeNet(nn.Module):
    """backbone: 'xception39' or 'resnet101'."""

    def __init__(self, n_classes=19, backbone="xception39", aux_mode="eval"):
        super().__init__()
        self.aux_mode = aux_mode
        if backbone == "xception39":
            self.context_path = Xception39()
            c32, c16, main_mid, aux_mid = 256, 128, 64, 128
        elif backbone == "resnet101":
            self.context_path = ResNet(Bottleneck, [3, 4, 23, 3], deep_stem=True)
            c32, c16, main_mid, aux_mid = 2048, 1024, 256, 256
        else:
            raise ValueError(backbone)
        ch = 128
        self.spatial_path = TSSpatialPath(ch)
        self.global_context = nn.Sequential(nn.AdaptiveAvgPool2d(1), ConvBNReLU(c32, ch, 1))
        self.arms = nn.ModuleList([AttentionRefinement(c32, ch), AttentionRefinement(c16, ch)])
        self.refines = nn.ModuleList([ConvBNReLU(ch, ch, 3), ConvBNReLU(ch, ch, 3)])
        main = BiSeNetHead(2 * ch, main_mid, n_classes, 8)
        if aux_mode == "train":
            self.heads = nn.ModuleList([BiSeNetHead(ch, aux_mid, n_classes, 16),
                                        BiSeNetHead(ch, aux_mid, n_classes, 8), main])
            self.output_names = ("logits", "aux0", "aux1")
        else:
            # TorchSeg's eval network holds [None, None, head]; keys stay `heads.2.*`
            self.heads = nn.ModuleList([nn.Identity(), nn.Identity(), main])
            self.output_names = ("logits",)
        self.ffm = FeatureFusion(2 * ch, 2 * ch, 1)

    def forward(self, x):
        spatial = self.spatial_path(x)
        blocks = self.context_path(x)[::-1][:3]  # 1/32, 1/16, 1/8
        g = self.global_context(blocks[0])
        last = F.interpolate(g, size=blocks[0].size()[2:], mode="bilinear", align_corners=True)
        refined = []
        for i in range(2):
            fm = self.arms[i](blocks[i]) + last
            last = F.interpolate(fm, size=blocks[i + 1].size()[2:], mode="bilinear",
                                 align_corners=True)
            last = self.refines[i](last)
            refined.append(last)
        fused = self.ffm(spatial, last)
        out = F.log_softmax(self.heads[2](fused), dim=1)
        if self.aux_mode == "train":
            return out, self.heads[0](refined[0]), self.heads[1](refined[1])
        if self.aux_mode == "eval":
            return (out,)
        if self.aux_mode == "pred":
            return out.argmax(dim=1)
        raise NotImplementedError(self.aux_mode)


def bisenetv1_resnet18(n_classes=19, aux_mode="eval"):
    return BiSeNetV1(n_classes, aux_mode)


def bisenetv1_xception39(n_classes=19, aux_mode="eval"):
    return TorchSegBiSeNet(n_classes, "xception39", aux_mode)


def bisenetv1_resnet101(n_classes=19, aux_mode="eval"):
    return TorchSegBiSeNet(n_classes, "resnet101", aux_mode)
