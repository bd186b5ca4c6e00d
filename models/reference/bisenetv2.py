"""BiSeNetV2 (CoinCheung/BiSeNet layout) and the paper's BiSeNetV2-Large.

Written from the layer facts in bisenet-architecture.md, section 1; module names are chosen
so that the state_dict keys are those of section 7 (a CoinCheung `model_final_v2_city.pth`
loads with `load_state_dict(strict=True)` when aux_mode='train').

Where the public code differs from the paper we follow the public code:
- ReLU after the depthwise convs of the GE layers and BN+ReLU on the CE's last conv
  (the paper omits them);
- BGA upsampling is nearest x4 by scale factor, and its final conv has BN + ReLU;
- the segment head's mid width is 1024 (the paper leaves it open).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(in_ch, out_ch, k, stride=1, groups=1):
    """Conv2d (padding k // 2, no bias) and BatchNorm2d, as the two entries of a Sequential
    (state_dict keys N.weight and N+1.*, as in the public code)."""
    return [nn.Conv2d(in_ch, out_ch, k, stride, k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch)]


class ConvBNReLU(nn.Module):
    """conv (no bias) -> bn -> relu; keys `.conv.weight`, `.bn.*`."""

    def __init__(self, in_ch, out_ch, ks=3, stride=1, padding=None, groups=1):
        super().__init__()
        if padding is None:
            padding = ks // 2
        self.conv = nn.Conv2d(in_ch, out_ch, ks, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class DetailBranch(nn.Module):
    def __init__(self, widths=(64, 64, 128), repeats=(1, 2, 2)):
        # repeats = number of stride-1 layers after the stride-2 layer of S1, S2, S3
        super().__init__()
        stages = []
        in_ch = 3
        for w, r in zip(widths, repeats):
            layers = [ConvBNReLU(in_ch, w, 3, stride=2)]
            layers += [ConvBNReLU(w, w, 3, stride=1) for _ in range(r)]
            stages.append(nn.Sequential(*layers))
            in_ch = w
        self.S1, self.S2, self.S3 = stages

    def forward(self, x):
        return self.S3(self.S2(self.S1(x)))


class StemBlock(nn.Module):
    def __init__(self, out_ch=16):
        super().__init__()
        self.conv = ConvBNReLU(3, out_ch, 3, stride=2)
        self.left = nn.Sequential(
            ConvBNReLU(out_ch, out_ch // 2, 1, stride=1),
            ConvBNReLU(out_ch // 2, out_ch, 3, stride=2),
        )
        self.right = nn.MaxPool2d(kernel_size=3, stride=2, padding=1, ceil_mode=False)
        self.fuse = ConvBNReLU(2 * out_ch, out_ch, 3, stride=1)

    def forward(self, x):
        x = self.conv(x)
        x = torch.cat([self.left(x), self.right(x)], dim=1)
        return self.fuse(x)


class CEBlock(nn.Module):
    """Context Embedding: mean over H,W (keepdim) -> standalone BN -> CBR 1x1; add; CBR 3x3."""

    def __init__(self, ch=128):
        super().__init__()
        self.bn = nn.BatchNorm2d(ch)
        self.conv_gap = ConvBNReLU(ch, ch, 1, stride=1)
        # The paper has no BN/ReLU on this conv; CoinCheung adds both.
        self.conv_last = ConvBNReLU(ch, ch, 3, stride=1)

    def forward(self, x):
        g = torch.mean(x, dim=(2, 3), keepdim=True)
        g = self.conv_gap(self.bn(g))
        return self.conv_last(x + g)


class GELayerS1(nn.Module):
    residual_last_bn = "conv2.1"  # used by weights.py (small gamma on the residual branch's last BN)

    def __init__(self, ch, exp_ratio=6):
        super().__init__()
        mid = ch * exp_ratio
        self.conv1 = ConvBNReLU(ch, ch, 3, stride=1)
        self.dwconv = nn.Sequential(
            *conv_bn(ch, mid, 3, 1, groups=ch),
            nn.ReLU(inplace=True),  # not in the paper; present in the public code
        )
        self.conv2 = nn.Sequential(
            *conv_bn(mid, ch, 1),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.conv2(self.dwconv(self.conv1(x)))
        return self.relu(y + x)


class GELayerS2(nn.Module):
    residual_last_bn = "conv2.1"

    def __init__(self, in_ch, out_ch, exp_ratio=6):
        super().__init__()
        mid = in_ch * exp_ratio
        self.conv1 = ConvBNReLU(in_ch, in_ch, 3, stride=1)
        self.dwconv1 = nn.Sequential(
            *conv_bn(in_ch, mid, 3, 2, groups=in_ch),
        )
        self.dwconv2 = nn.Sequential(
            *conv_bn(mid, mid, 3, 1, groups=mid),
            nn.ReLU(inplace=True),  # not in the paper; present in the public code
        )
        self.conv2 = nn.Sequential(
            *conv_bn(mid, out_ch, 1),
        )
        self.shortcut = nn.Sequential(
            *conv_bn(in_ch, in_ch, 3, 2, groups=in_ch),
            *conv_bn(in_ch, out_ch, 1),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.conv2(self.dwconv2(self.dwconv1(self.conv1(x))))
        return self.relu(y + self.shortcut(x))


class SegmentBranch(nn.Module):
    def __init__(self, stem=16, widths=(32, 64, 128), s1_repeats=(1, 1, 3)):
        super().__init__()
        self.S1S2 = StemBlock(stem)
        stages = []
        in_ch = stem
        for w, r in zip(widths, s1_repeats):
            stages.append(nn.Sequential(GELayerS2(in_ch, w), *[GELayerS1(w) for _ in range(r)]))
            in_ch = w
        self.S3, self.S4, self.S5_4 = stages
        self.S5_5 = CEBlock(in_ch)

    def forward(self, x):
        feat2 = self.S1S2(x)
        feat3 = self.S3(feat2)
        feat4 = self.S4(feat3)
        feat5_4 = self.S5_4(feat4)
        feat5_5 = self.S5_5(feat5_4)
        return feat2, feat3, feat4, feat5_4, feat5_5


class BGALayer(nn.Module):
    def __init__(self, ch=128):
        super().__init__()
        self.left1 = nn.Sequential(
            *conv_bn(ch, ch, 3, 1, groups=ch),
            nn.Conv2d(ch, ch, 1, 1, 0, bias=False),
        )
        self.left2 = nn.Sequential(
            *conv_bn(ch, ch, 3, 2),
            nn.AvgPool2d(kernel_size=3, stride=2, padding=1, ceil_mode=False),
        )
        self.right1 = nn.Sequential(
            *conv_bn(ch, ch, 3),
        )
        self.right2 = nn.Sequential(
            *conv_bn(ch, ch, 3, 1, groups=ch),
            nn.Conv2d(ch, ch, 1, 1, 0, bias=False),
        )
        # paper: "4x up" without a mode; the public code uses nearest by scale factor
        self.up1 = nn.Upsample(scale_factor=4)
        self.up2 = nn.Upsample(scale_factor=4)
        # paper: BN only; the public code adds ReLU
        self.conv = nn.Sequential(
            *conv_bn(ch, ch, 3),
            nn.ReLU(inplace=True),
        )

    def forward(self, x_d, x_s):
        left1 = self.left1(x_d)
        left2 = self.left2(x_d)
        right1 = self.up1(self.right1(x_s))
        right2 = self.right2(x_s)
        left = left1 * torch.sigmoid(right1)
        right = self.up2(left2 * torch.sigmoid(right2))
        return self.conv(left + right)


class SegmentHead(nn.Module):
    def __init__(self, in_ch, mid_ch, n_classes, up_factor=8, aux=True):
        super().__init__()
        self.conv = ConvBNReLU(in_ch, mid_ch, 3, stride=1)
        self.drop = nn.Dropout(0.1)
        mid2 = up_factor * up_factor if aux else mid_ch
        final_up = up_factor // 2 if aux else up_factor
        self.conv_out = nn.Sequential(
            nn.Sequential(nn.Upsample(scale_factor=2), ConvBNReLU(mid_ch, mid2, 3, stride=1))
            if aux else nn.Identity(),
            nn.Conv2d(mid2, n_classes, 1, 1, 0, bias=True),
            nn.Upsample(scale_factor=final_up, mode="bilinear", align_corners=False),
        )

    def forward(self, x):
        return self.conv_out(self.drop(self.conv(x)))


class BiSeNetV2(nn.Module):
    """aux_mode: 'train' -> (logits, aux2, aux3, aux4, aux5_4); 'eval' -> (logits,);
    'pred' -> argmax over classes.  large=True builds BiSeNetV2-Large (section 1.7)."""

    def __init__(self, n_classes=19, aux_mode="train", large=False):
        super().__init__()
        self.aux_mode = aux_mode
        if large:
            # Paper: width x2, depth x3.  Not public; we follow the doc's interpretation:
            # every Detail/Semantic/CE/BGA width doubled, stride-1 repeats tripled in
            # Detail S2/S3 and in the GE stages; Detail S1 keeps its single stride-1 layer
            # (the doc lists only S2/S3); head mid stays 1024, boosters mid 128.
            detail_w, detail_r = (128, 128, 256), (1, 6, 6)
            stem, ge_w, ge_r = 32, (64, 128, 256), (3, 3, 9)
        else:
            detail_w, detail_r = (64, 64, 128), (1, 2, 2)
            stem, ge_w, ge_r = 16, (32, 64, 128), (1, 1, 3)
        c = ge_w[-1]
        assert detail_w[-1] == c
        self.detail = DetailBranch(detail_w, detail_r)
        self.segment = SegmentBranch(stem, ge_w, ge_r)
        self.bga = BGALayer(c)
        self.head = SegmentHead(c, 1024, n_classes, up_factor=8, aux=False)
        if aux_mode == "train":
            self.aux2 = SegmentHead(stem, 128, n_classes, up_factor=4)
            self.aux3 = SegmentHead(ge_w[0], 128, n_classes, up_factor=8)
            self.aux4 = SegmentHead(ge_w[1], 128, n_classes, up_factor=16)
            self.aux5_4 = SegmentHead(ge_w[2], 128, n_classes, up_factor=32)
            self.output_names = ("logits", "aux2", "aux3", "aux4", "aux5_4")
        else:
            self.output_names = ("logits",)

    def forward(self, x):
        feat_d = self.detail(x)
        feat2, feat3, feat4, feat5_4, feat_s = self.segment(x)
        logits = self.head(self.bga(feat_d, feat_s))
        if self.aux_mode == "train":
            return (logits, self.aux2(feat2), self.aux3(feat3), self.aux4(feat4),
                    self.aux5_4(feat5_4))
        if self.aux_mode == "eval":
            return (logits,)
        if self.aux_mode == "pred":
            return logits.argmax(dim=1)
        raise NotImplementedError(self.aux_mode)


def bisenetv2(n_classes=19, aux_mode="eval"):
    return BiSeNetV2(n_classes, aux_mode)


def bisenetv2_large(n_classes=19, aux_mode="eval"):
    return BiSeNetV2(n_classes, aux_mode, large=True)
