"""The one in-memory form every training data source produces."""
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

IGNORE = 255  # label value excluded from the loss and the metrics
# The cloud model's classes, and the label values of the training scenes
CLEAR, CLOUD, SHADOW = 0, 1, 2
CLASS_NAMES = ("clear", "cloud", "shadow")
NOT_CLOUD = 3  # a label that says only "clear or shadow" (binary cloud labels, e.g. On Cloud N's)
# sources made from other scenes (training/synthetic.py, training/composites.py: source "composite-<level>"):
# they train, but their pixels do not set the input statistics and are never scored
SYNTHETIC, COMPOSITE = "synthetic", "composite-"


def made_up(source: str) -> bool:
    """Whether a source's scenes were made from others rather than read from a data set."""
    return source == SYNTHETIC or source.startswith(COMPOSITE)


@dataclass
class Scene:
    """One image with its label: a unit the train/validation/test split never cuts through.

    ``image`` is float32 reflectance (bands, rows, cols), nodata as NaN; ``label`` is uint8
    (rows, cols) with class indices (binary cloud: 0 clear, 1 cloud) and IGNORE where unknown;
    ``bands`` names the image's bands in order (canonical names: blue, green, red, nir, ...).
    ``group`` names the acquisition the scene comes from (a 38-Cloud patch's Landsat scene, say):
    scenes of one group always land in the same train/validation/test split. Empty = its own name.
    ``soft`` (optional, float32 (classes, rows, cols)) holds a teacher model's class probabilities
    for distillation; ``source`` names the data set (l8biome, oncloudn, ...) for grouped evaluation.
    """
    name: str
    image: np.ndarray
    label: np.ndarray
    bands: List[str]
    group: str = ""
    soft: Optional[np.ndarray] = None
    source: str = ""

    def __post_init__(self):
        self.group = self.group or self.name
        if self.image.ndim != 3 or self.label.shape != self.image.shape[1:]:
            raise ValueError(f"{self.name}: image {self.image.shape} and label {self.label.shape} do not match")
        if len(self.bands) != self.image.shape[0]:
            raise ValueError(f"{self.name}: {len(self.bands)} band names for {self.image.shape[0]} bands")
