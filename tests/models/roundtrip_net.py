"""Small user networks for the exporter round trip (tests/models/export_roundtrip.py).

`make` builds a net that touches every operator the exporter maps (as modules and as
functions), with odd sizes so that pooling and resize rounding matter; `make_gelu` and
`make_tanh` use something bisc has no op for.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Gate(nn.Module):
    """ARM-like channel gate: GAP -> 1x1 conv -> BN -> sigmoid -> mul."""

    def __init__(self, ch):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv2d(ch, ch, 1, bias=False)
        self.bn = nn.BatchNorm2d(ch)
        self.act = nn.Sigmoid()

    def forward(self, x):
        return x * self.act(self.bn(self.conv(self.pool(x))))


class RoundTripNet(nn.Module):
    def __init__(self, n_classes=5, labels=False):
        super().__init__()
        self.labels = labels  # return argmax over classes (int) instead of the scores
        self.stem = nn.Sequential(nn.Conv2d(3, 12, 3, 2, 1, bias=False), nn.BatchNorm2d(12),
                                  nn.ReLU(inplace=True))
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.pool_ceil = nn.MaxPool2d(3, 2, 0, ceil_mode=True)
        self.dw = nn.Conv2d(12, 24, 3, 1, 2, dilation=2, groups=12, bias=False)  # multiplier 2
        self.bn_dw = nn.BatchNorm2d(24, eps=1e-3)
        self.pw = nn.Conv2d(24, 12, 1)
        self.gate = Gate(12)
        self.avg = nn.AvgPool2d(3, 2, 1)  # count_include_pad (divisor 9 everywhere)
        self.up = nn.Upsample(scale_factor=2)  # nearest
        self.drop = nn.Dropout(0.1)
        self.keep = nn.Identity()
        self.wide = nn.Conv2d(36, 16, (3, 5), 1, (1, 2), bias=False)
        self.bn_wide = nn.BatchNorm2d(16)
        self.cls = nn.Conv2d(16, n_classes, 1, bias=True)

    def forward(self, x):
        s = self.stem(x)                                     # 1/2
        a = self.pool(s)                                     # 1/4 (floor)
        b = self.pool_ceil(s)                                # 1/4 (ceil): sizes may differ
        b = F.interpolate(b, size=a.shape[2:], mode="bilinear", align_corners=True)
        y = F.relu(self.bn_dw(self.dw(a + b)))
        y = self.gate(self.pw(y))
        g = torch.sigmoid(y.mean(dim=(2, 3), keepdim=True))
        y = y + g                                            # channel broadcast add
        z = self.up(self.avg(y))                             # 1/8 -> ~1/4
        z = F.interpolate(z, size=(y.size(2), y.size(3)), mode="nearest")
        h = torch.cat([self.keep(y), z, a * torch.sigmoid(z)], dim=1)
        h = F.avg_pool2d(h, 3, 1, 1, count_include_pad=False)
        h = F.relu(self.bn_wide(self.wide(self.drop(h))))
        logits = F.interpolate(self.cls(h), size=x.shape[2:], mode="bilinear",
                               align_corners=False)
        scores = F.log_softmax(logits, dim=1) + F.softmax(logits, dim=1)
        return scores.argmax(dim=1) if self.labels else scores


def make(n_classes=5, labels=False):
    return RoundTripNet(n_classes, labels)


class WithGelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.GELU())

    def forward(self, x):
        return self.body(x)


class Head(nn.Module):
    def forward(self, x):
        return torch.tanh(x)


class WithTanh(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.head = Head()

    def forward(self, x):
        return self.head(self.conv(x))


def make_gelu():
    return WithGelu()


def make_tanh():
    return WithTanh()
