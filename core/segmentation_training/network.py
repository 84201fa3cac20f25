"""The U-Net of this project's models, sized for CPU inference: most work happens at 1/4 resolution and below.

One home for both: training/ trains the bundled cloud model with it (training/model.py re-exports it) and
trainsegmentation (core.segmentation_training) trains multi-class models from an exported dataset. It imports
PyTorch, so only the training process imports it, never the plugin when it loads.

Cloud edges are soft, and labels of real cloud data sets are drawn at coarser than 10 m, so
the encoder starts with a strided stem and the decoder returns to 1/2 resolution; logits are
upsampled bilinearly to the input's size and refined by a 1x1 head that also sees the input bands.
"""
from typing import Optional, Sequence

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


class SpectralShape(nn.Module):
    """Brightness-free features of the spectrum, (b - a) / (b + a) for band pairs, from the standardised input.

    Bright cloud and bright ground (snow, ice, sand) differ less in brightness than in the shape of
    their spectrum: a cloud is flat to slightly rising from red to NIR, snow and ice fall (Biome's real
    patches: NIR/red about 1.0 to 1.06 under cloud, 0.83 to 0.97 on snow and ice). Ratios are what a
    small ReLU network approximates worst, so the model gets them computed: reflectance comes back from
    the standardised input with the training statistics (``mean``, ``std``), which the model stores.
    """

    def __init__(self, bands: Sequence[str], mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        names = list(bands)
        self.pairs = [(names.index(a), names.index(b)) for a, b in SHAPE_PAIRS if a in names and b in names]
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))

    @property
    def channels(self) -> int:
        return len(self.pairs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reflectance = (x * self.std + self.mean).clamp(min=0.0)
        features = [(reflectance[:, b] - reflectance[:, a]) / (reflectance[:, b] + reflectance[:, a] + 0.01)
                    for a, b in self.pairs]
        return torch.stack(features, dim=1) * 5.0  # about unit spread


# band pairs (a, b) of the shape features: red -> NIR, blue -> red, blue -> green, NIR -> SWIR 1.6
SHAPE_PAIRS = (("red", "nir"), ("blue", "red"), ("blue", "green"), ("nir", "swir16"))


class CloudUNet(nn.Module):
    """U-Net with one encoder level per width, at 1/2, 1/4, 1/8, ... of the input resolution.

    The deep levels cost little (a level at 1/32 has 1/256 of the full-resolution pixels) and widen
    what the model sees around a pixel: telling snow, ice and bright sand from cloud needs context, as
    four bands alone often cannot. The input's rows and columns may be any size (odd sizes included):
    every upsampling takes the size of the level it returns to. ``classes`` = 1 gives a sigmoid
    probability (binary), more gives a softmax over classes; ``probabilities=False`` returns logits.
    """

    def __init__(self, in_channels: int = 4, classes: int = 1, widths: Sequence[int] = (8, 16, 32, 64, 128),
                 shape: Optional[SpectralShape] = None):
        super().__init__()
        if len(widths) < 2:
            raise ValueError(f"A U-Net needs at least two levels, not widths {tuple(widths)}")
        self.in_channels, self.classes, self.widths = in_channels, classes, tuple(widths)
        self.shape = shape
        features = in_channels + (shape.channels if shape is not None else 0)
        levels = [nn.Sequential(conv_bn(features, widths[0], stride=2), conv_bn(widths[0], widths[0]))]
        levels += [nn.Sequential(conv_bn(shallow, deep, stride=2), conv_bn(deep, deep))
                   for shallow, deep in zip(widths[:-1], widths[1:])]
        self.encoder = nn.ModuleList(levels)
        self.decoder = nn.ModuleList(DecoderStep(deep, shallow)
                                     for shallow, deep in reversed(list(zip(widths[:-1], widths[1:]))))
        self.head = nn.Sequential(
            nn.Conv2d(widths[0] + features, 8, 1), nn.ReLU(inplace=True), nn.Conv2d(8, classes, 1))
        self.probabilities = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shape is not None:
            x = torch.cat([x, self.shape(x)], dim=1)
        skips = []
        d = x
        for level in self.encoder:
            d = level(d)
            skips.append(d)
        for step, skip in zip(self.decoder, reversed(skips[:-1])):
            d = step(d, skip)
        d = F.interpolate(d, size=x.shape[2:], mode="bilinear", align_corners=False)
        logits = self.head(torch.cat([d, x], dim=1))
        if not self.probabilities:
            return logits
        return torch.sigmoid(logits) if self.classes == 1 else torch.softmax(logits, dim=1)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
