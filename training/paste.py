"""Realistic synthetic scenes: clouds and their shadows pasted onto real imagery.

A real patch (any of the labelled sets, bright snow, desert and urban ground included) gets a fractal
cloud layer from training/synthetic.py mixed in physically, ``alpha * cloud + (1 - alpha) * ground``,
and the cloud's shadow cast along a random sun direction darkens the ground it falls on. The label
keeps what the human label said where nothing was pasted; pasted cloud is cloud where its opacity
reaches CLOUD_ALPHA, pasted shadow is shadow where it takes away SHADOW_DARKENING of the light.
"""
from typing import Sequence, Tuple

import numpy as np

from .scene import CLOUD, IGNORE, SHADOW
from .synthetic import BANDS, SceneGenerator

CLOUD_ALPHA = 0.25
SHADOW_DARKENING = 0.3


def paste_clouds(image: np.ndarray, label: np.ndarray, bands: Sequence[str], rng: np.random.Generator,
                 generator: SceneGenerator) -> Tuple[np.ndarray, np.ndarray]:
    """(image, label) with a pasted cloud layer and its shadow; inputs are not modified."""
    rows, cols = label.shape
    size = max(rows, cols)
    alpha = generator._clouds(rng, size)  # noqa: SLF001 (the generator's cloud fields, reused as they are)
    if not alpha.any():
        return image, label
    alpha = alpha[:rows, :cols]
    index = [BANDS.index(name) for name in bands]
    cloud = generator._cloud_reflectance(rng, size, np.pad(alpha, ((0, size - rows), (0, size - cols))))
    cloud = cloud[index][:, :rows, :cols]
    direction = rng.uniform(0, 2 * np.pi)
    dy, dx = (np.array([np.sin(direction), np.cos(direction)]) * rng.uniform(5, 40)).astype(int)
    darkening = rng.uniform(0.5, 0.85) * np.roll(alpha, (dy, dx), axis=(0, 1))
    diffuse = np.array([1.3, 1.15, 1.0, 0.9, 0.85, 0.8], np.float32)[index]  # skylight is bluish
    ground = image * ((1.0 - darkening)[None] ** diffuse[:, None, None])
    pasted = (alpha[None] * cloud + (1.0 - alpha[None]) * ground).astype(np.float32)
    new_label = label.copy()
    new_label[(darkening >= SHADOW_DARKENING) & (label != IGNORE) & (label != CLOUD)] = SHADOW
    new_label[alpha >= CLOUD_ALPHA] = CLOUD
    new_label[label == IGNORE] = IGNORE
    return pasted, new_label
