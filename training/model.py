"""A small U-Net sized for CPU inference: most work happens at 1/4 resolution and below.

Cloud edges are soft, and labels of real cloud data sets are drawn at coarser than 10 m, so
the encoder starts with a strided stem and the decoder returns to 1/2 resolution; logits are
upsampled bilinearly to the input's size and refined by a 1x1 head that also sees the input bands.
"""
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F


def conv_bn(in_channels: int, out_channels: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DecoderStep(nn.Module):
    """Upsample the deeper features, project them onto the skip's width, add, and convolve."""

    def __init__(self, deep: int, skip: int):
        super().__init__()
        self.project = conv_bn(deep, skip, kernel=1)
        self.fuse = conv_bn(skip, skip)

    def forward(self, deep: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        deep = F.interpolate(deep, size=skip.shape[2:], mode="bilinear", align_corners=False)
        return self.fuse(self.project(deep) + skip)


class CloudUNet(nn.Module):
    """U-Net with encoder levels at 1/2, 1/4, 1/8 and 1/16 of the input resolution.

    The input's rows and columns may be any size (odd sizes included): every upsampling takes
    the size of the level it returns to. ``classes`` = 1 gives a sigmoid probability (binary),
    more gives a softmax over classes; ``probabilities=False`` returns logits (for the loss).
    """

    def __init__(self, in_channels: int = 4, classes: int = 1, widths: Sequence[int] = (8, 16, 32, 64)):
        super().__init__()
        w1, w2, w3, w4 = widths
        self.in_channels, self.classes, self.widths = in_channels, classes, tuple(widths)
        self.stem = nn.Sequential(conv_bn(in_channels, w1, stride=2), conv_bn(w1, w1))
        self.down2 = nn.Sequential(conv_bn(w1, w2, stride=2), conv_bn(w2, w2))
        self.down3 = nn.Sequential(conv_bn(w2, w3, stride=2), conv_bn(w3, w3))
        self.down4 = nn.Sequential(conv_bn(w3, w4, stride=2), conv_bn(w4, w4))
        self.up3 = DecoderStep(w4, w3)
        self.up2 = DecoderStep(w3, w2)
        self.up1 = DecoderStep(w2, w1)
        self.head = nn.Sequential(
            nn.Conv2d(w1 + in_channels, 8, 1), nn.ReLU(inplace=True), nn.Conv2d(8, classes, 1))
        self.probabilities = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s1 = self.stem(x)
        s2 = self.down2(s1)
        s3 = self.down3(s2)
        s4 = self.down4(s3)
        d = self.up1(self.up2(self.up3(s4, s3), s2), s1)
        d = F.interpolate(d, size=x.shape[2:], mode="bilinear", align_corners=False)
        logits = self.head(torch.cat([d, x], dim=1))
        if not self.probabilities:
            return logits
        return torch.sigmoid(logits) if self.classes == 1 else torch.softmax(logits, dim=1)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
