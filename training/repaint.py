"""Bright clear ground on real texture: a real patch repainted with the spectrum of snow, ice or bright sand.

The held-out errors of the cloud model are mostly bright clear ground called cloud, and the labelled sets hold
few such scenes (L8 Biome: 3 SnowIce and 3 Water patches). A real patch without cloud keeps its own spatial
structure (fields, roads, terrain shading; shadows stay darker than their surround) and takes a bright surface's
spectrum (training/synthetic.py's ranges), so the network meets bright ground with real texture that it has never
seen in the labelled sets. The label is unchanged: clear stays clear, shadow stays shadow. Top-of-atmosphere
patches get path radiance added back, as the ground beneath it has none.
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from .scene import CLOUD, IGNORE
from .synthetic import BANDS, SceneGenerator

SURFACES = ("snow", "ice", "sand")
TEXTURE_RANGE = (0.4, 1.4)  # relative brightness kept from the original pixels


def repaint_bright(image: np.ndarray, label: np.ndarray, bands: Sequence[str], rng: np.random.Generator,
                   generator: SceneGenerator, path_radiance: Optional[np.ndarray] = None
                   ) -> Tuple[np.ndarray, bool]:
    """(image, repainted): ``image`` (bands, rows, cols, reflectance, NaN nodata) repainted where its label holds no
    cloud, else returned as it is; inputs are not modified. ``path_radiance`` (bands, 1, 1) is added for
    top-of-atmosphere patches."""
    known = label != IGNORE
    valid = known & ~np.isnan(image).any(axis=0)
    if np.any(label[known] == CLOUD) or valid.sum() < 0.5 * label.size:
        return image, False
    brightness = np.mean(image, axis=0)
    texture = np.clip(brightness / np.median(brightness[valid]), *TEXTURE_RANGE)
    spectrum = generator._spectrum(rng, str(rng.choice(SURFACES)))  # noqa: SLF001 (its surface spectra, reused)
    spectrum = spectrum[[BANDS.index(name) for name in bands]]
    painted = spectrum[:, None, None] * texture[None]
    if path_radiance is not None:
        painted = painted + path_radiance
    painted = np.where(np.isnan(image), np.nan, painted).astype(np.float32)
    return painted, True
