"""Synthetic Sentinel-2-like scenes with exact cloud masks.

A scene is a land surface (vegetation, bare soil, bright sand, water, urban, snow and ice, and
parcels whose spectra are real clear Sentinel-2 pixels from eo-learn's reference frames) under a
cloud layer. Clouds are fractal fields (beta ~ 2-3 power spectra, the statistics of real cloud
fields) turned into an opacity ``alpha``; top-of-atmosphere reflectance mixes the cloud's own
reflectance with the surface it veils: ``toa = alpha * cloud + (1 - alpha) * surface``, the
surface darkened by the cloud's shadow cast along the sun direction. A per-scene path-radiance
offset (strongest in blue) makes some scenes L1C-like and others L2A-like; sensor noise last.
The label follows the convention of human-drawn cloud data sets (On Cloud N, 38-Cloud), whose
outlines are smooth and generous: a pixel is cloud where the opacity reaches LABEL_ALPHA, or where
the opacity smoothed over a few pixels (the labeller's pen) reaches OUTLINE_ALPHA, so the thin
edges and small gaps inside a cloud field are cloud too (see ``cloud_label``).

Reflectance ranges: vegetation, soil, water, snow and cloud spectra follow the USGS spectral
library's typical values (e.g. green vegetation red 0.03-0.08, NIR 0.25-0.5; snow bright in
the visible, dark in SWIR; water dark in NIR), checked against the real frames.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .scene import Scene

BANDS = ("blue", "green", "red", "nir", "swir16", "swir22")
EOLEARN_BANDS = ("coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08", "wv",
                 "cirrus", "swir16", "swir22")
LABEL_ALPHA = 0.3
OUTLINE_ALPHA = 0.05
OUTLINE_SIGMA = 6.0  # pixels: about a 10 px margin around thick cloud, as human outlines have

# (low, high) reflectance per band, in BANDS order
SURFACES: Dict[str, Tuple[Sequence[float], Sequence[float]]] = {
    "forest": ((0.01, 0.03, 0.01, 0.20, 0.10, 0.04), (0.04, 0.07, 0.05, 0.40, 0.20, 0.10)),
    "crop": ((0.02, 0.05, 0.02, 0.28, 0.14, 0.05), (0.06, 0.11, 0.08, 0.55, 0.26, 0.14)),
    "grass": ((0.03, 0.06, 0.04, 0.18, 0.16, 0.08), (0.07, 0.11, 0.11, 0.35, 0.28, 0.18)),
    "soil": ((0.05, 0.07, 0.09, 0.14, 0.20, 0.14), (0.12, 0.16, 0.24, 0.32, 0.40, 0.34)),
    "sand": ((0.12, 0.16, 0.22, 0.26, 0.35, 0.28), (0.24, 0.30, 0.40, 0.45, 0.55, 0.48)),
    "water": ((0.02, 0.02, 0.005, 0.003, 0.001, 0.001), (0.09, 0.10, 0.07, 0.04, 0.02, 0.015)),
    "urban": ((0.06, 0.07, 0.08, 0.12, 0.14, 0.11), (0.16, 0.17, 0.19, 0.26, 0.30, 0.26)),
    "snow": ((0.55, 0.55, 0.52, 0.40, 0.02, 0.01), (0.95, 0.95, 0.92, 0.80, 0.15, 0.10)),
    # glacier and lake ice: bright in the visible, far darker in NIR than snow (training/repaint.py only)
    "ice": ((0.30, 0.30, 0.26, 0.12, 0.01, 0.01), (0.75, 0.72, 0.66, 0.42, 0.06, 0.05)),
}
# how often each cover is drawn for a region; snow is a rare hard negative
SURFACE_WEIGHTS = {"forest": 4, "crop": 5, "grass": 4, "soil": 2, "sand": 0.6, "water": 1, "urban": 1,
                   "snow": 0.3}


@dataclass
class SyntheticConfig:
    size: int = 320
    bands: Tuple[str, ...] = ("blue", "green", "red", "nir")
    clear_fraction: float = 0.12  # scenes without any cloud
    thin_fraction: float = 0.25  # cloud layers that are thin veils only
    real_spectra_fraction: float = 0.3  # parcels painted with real clear Sentinel-2 pixels


def fractal_noise(rng: np.random.Generator, size: int, beta: float) -> np.ndarray:
    """Gaussian noise with a 1/f^beta power spectrum, standardised (mean 0, std 1)."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    frequency = np.sqrt(fx * fx + fy * fy)
    frequency[0, 0] = 1.0
    amplitude = frequency ** (-beta / 2.0)
    amplitude[0, 0] = 0.0
    spectrum = amplitude * (rng.standard_normal(amplitude.shape) + 1j * rng.standard_normal(amplitude.shape))
    field = np.fft.irfft2(spectrum, s=(size, size))
    return ((field - field.mean()) / (field.std() + 1e-12)).astype(np.float32)


def gaussian_blur(field: np.ndarray, sigma: float) -> np.ndarray:
    """Periodic Gaussian blur through the FFT (the fields made here are periodic)."""
    rows, cols = field.shape
    fy = np.fft.fftfreq(rows)[:, None]
    fx = np.fft.rfftfreq(cols)[None, :]
    transfer = np.exp(-2.0 * (np.pi * sigma) ** 2 * (fx * fx + fy * fy))
    return np.fft.irfft2(np.fft.rfft2(field) * transfer, s=field.shape).astype(np.float32)


def cloud_label(alpha: np.ndarray) -> np.ndarray:
    """Cloud (1) where the opacity is LABEL_ALPHA or more, or its smoothed outline OUTLINE_ALPHA."""
    outline = gaussian_blur(alpha, OUTLINE_SIGMA) >= OUTLINE_ALPHA
    return ((alpha >= LABEL_ALPHA) | outline).astype(np.uint8)


def _ramp(x: np.ndarray, low: float, high: float) -> np.ndarray:
    t = np.clip((x - low) / max(high - low, 1e-6), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def load_reference_spectra(path: Optional[str]) -> Optional[np.ndarray]:
    """Clear pixels of the eo-learn reference frames (frames 2-4) as (pixels, len(BANDS))."""
    if not path:
        return None
    frames = np.load(path)
    clear = frames[2:].reshape(-1, frames.shape[-1])
    columns = [EOLEARN_BANDS.index(name) for name in BANDS]
    return clear[:, columns].astype(np.float32)


class SceneGenerator:
    """Deterministic per (seed, index): scene ``i`` is the same on every machine and run."""

    def __init__(self, config: SyntheticConfig = SyntheticConfig(), reference_spectra: Optional[np.ndarray] = None):
        self.config = config
        self.reference = reference_spectra
        unknown = [b for b in config.bands if b not in BANDS]
        if unknown:
            raise ValueError(f"The generator makes bands {BANDS}, not {unknown}")
        self.band_index = [BANDS.index(b) for b in config.bands]
        self.covers = list(SURFACE_WEIGHTS)
        weights = np.array([SURFACE_WEIGHTS[c] for c in self.covers])
        self.cover_p = weights / weights.sum()

    def scene(self, seed: int, index: int) -> Scene:
        rng = np.random.default_rng([seed, index])
        size = self.config.size
        surface = self._surface(rng, size)
        alpha = self._clouds(rng, size)
        shadowed = self._shadow(rng, surface, alpha)
        cloud = self._cloud_reflectance(rng, size, alpha)
        toa = alpha[None] * cloud + (1.0 - alpha[None]) * shadowed
        toa += self._path_radiance(rng)[:, None, None] * (1.0 - 0.5 * alpha[None])
        toa *= rng.uniform(0.95, 1.05, (len(BANDS), 1, 1))  # calibration differences
        toa += rng.normal(0.0, rng.uniform(0.001, 0.006), toa.shape)
        image = np.clip(toa, 0.0, 1.5).astype(np.float32)[self.band_index]
        label = cloud_label(alpha)
        return Scene(name=f"synthetic-{seed}-{index}", image=image, label=label, bands=list(self.config.bands))

    def scenes(self, seed: int, count: int, start: int = 0) -> List[Scene]:
        return [self.scene(seed, start + i) for i in range(count)]

    # ----- land surface ------------------------------------------------------------------

    def _spectrum(self, rng: np.random.Generator, cover: str) -> np.ndarray:
        if cover == "real" and self.reference is not None:
            return self.reference[rng.integers(len(self.reference))] * rng.uniform(0.85, 1.15)
        low, high = (np.asarray(v, dtype=np.float32) for v in SURFACES[cover])
        position = rng.uniform(0, 1) + rng.normal(0, 0.12, len(BANDS))  # correlated across bands
        return low + np.clip(position, 0, 1) * (high - low)

    def _surface(self, rng: np.random.Generator, size: int) -> np.ndarray:
        # regions: argmax of a few smooth fields gives organic patches (forests, lakes, towns)
        regions = np.argmax(np.stack([fractal_noise(rng, size, rng.uniform(2.8, 3.6)) for _ in range(4)]), axis=0)
        # parcels: a Voronoi partition, the fields of farmland
        seeds = rng.uniform(0, size, (int(rng.integers(8, 80)), 2))
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        warp = 6.0 * fractal_noise(rng, size, 3.0)
        distance = (yy[None] + warp - seeds[:, 0, None, None]) ** 2 + (xx[None] - seeds[:, 1, None, None]) ** 2
        parcels = np.argmin(distance, axis=0)
        surface = np.empty((len(BANDS), size, size), np.float32)
        region_covers = rng.choice(self.covers, size=4, p=self.cover_p)
        use_real = self.reference is not None
        for region in range(4):
            inside = regions == region
            if region_covers[region] in ("water", "forest", "snow", "sand"):
                surface[:, inside] = self._spectrum(rng, region_covers[region])[:, None]
                continue
            for parcel in np.unique(parcels[inside]):
                cell = inside & (parcels == parcel)
                real = use_real and rng.uniform() < self.config.real_spectra_fraction
                cover = "real" if real else rng.choice(self.covers, p=self.cover_p)
                surface[:, cell] = self._spectrum(rng, cover)[:, None]
        texture = 1.0 + rng.uniform(0.03, 0.15) * fractal_noise(rng, size, rng.uniform(1.2, 2.2))
        surface *= texture[None]
        self._rivers_and_roads(rng, surface, size)
        self._bright_roofs(rng, surface, size)
        return np.clip(surface, 0.0, 1.2)

    def _rivers_and_roads(self, rng: np.random.Generator, surface: np.ndarray, size: int) -> None:
        if rng.uniform() < 0.4:
            ridge = np.abs(fractal_noise(rng, size, 3.2))
            line = ridge < rng.uniform(0.02, 0.06)
            cover = "water" if rng.uniform() < 0.5 else "urban"
            surface[:, line] = self._spectrum(rng, cover)[:, None]

    def _bright_roofs(self, rng: np.random.Generator, surface: np.ndarray, size: int) -> None:
        """Small bright rectangles (greenhouses, roofs, quarries): bright but not cloud."""
        for _ in range(int(rng.poisson(3.0))):
            h, w = rng.integers(2, 14, 2)
            y, x = rng.integers(0, size - 14, 2)
            level = rng.uniform(0.25, 0.6)
            surface[:, y:y + h, x:x + w] = (level * rng.uniform(0.85, 1.1, len(BANDS)))[:, None, None]

    # ----- clouds ------------------------------------------------------------------------

    def _clouds(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if rng.uniform() < self.config.clear_fraction:
            return np.zeros((size, size), np.float32)
        coverage = rng.uniform(0.03, 0.97)
        field = fractal_noise(rng, size, rng.uniform(2.6, 3.6))
        if rng.uniform() < 0.5:  # cumulus: rounded cells modulated by a large-scale envelope
            cells = fractal_noise(rng, size, rng.uniform(2.2, 3.0))
            field = 0.5 * cells + 0.9 * field
            field = (field - field.mean()) / field.std()
        level = np.quantile(field, 1.0 - coverage)
        softness = rng.uniform(0.1, 0.8)  # in standard deviations: sharp cumulus to diffuse edges
        alpha = _ramp(field, level - 0.3 * softness, level + softness)
        if rng.uniform() < self.config.thin_fraction:
            alpha *= rng.uniform(0.25, 0.7)  # a thin veil throughout
        else:
            alpha = np.clip(alpha * rng.uniform(0.9, 1.3), 0.0, 1.0)
        if rng.uniform() < 0.25:  # cirrus streaks over the scene
            streaks = fractal_noise(rng, size, 2.6)
            stretched = np.repeat(streaks[:, ::4], 4, axis=1)[:, :size] if rng.uniform() < 0.5 else streaks
            alpha = np.maximum(alpha, rng.uniform(0.15, 0.5) * _ramp(stretched, 0.0, 2.0))
        return alpha.astype(np.float32)

    def _cloud_reflectance(self, rng: np.random.Generator, size: int, alpha: np.ndarray) -> np.ndarray:
        base = rng.uniform(0.35, 0.85)
        ratios = np.array([1.0 + rng.uniform(0.0, 0.08), 1.0, rng.uniform(0.96, 1.02), rng.uniform(0.95, 1.15),
                           rng.uniform(0.55, 0.85), rng.uniform(0.3, 0.6)], np.float32)
        # cloud tops: sunlit and shaded sides, brighter where the cloud is thickest
        relief = 1.0 + rng.uniform(0.05, 0.2) * fractal_noise(rng, size, 2.4)
        thickness = 0.7 + 0.3 * alpha
        return (base * ratios)[:, None, None] * (relief * thickness)[None]

    def _shadow(self, rng: np.random.Generator, surface: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        if not alpha.any():
            return surface
        direction = rng.uniform(0, 2 * np.pi)
        dy, dx = (np.array([np.sin(direction), np.cos(direction)]) * rng.uniform(5, 60)).astype(int)
        shadow = np.roll(alpha, (dy, dx), axis=(0, 1))
        darkness = rng.uniform(0.5, 0.85)
        diffuse = np.array([1.3, 1.15, 1.0, 0.9, 0.85, 0.8], np.float32)  # skylight is bluish
        lit = 1.0 - darkness * shadow
        return surface * (lit[None] ** diffuse[:, None, None])

    def _path_radiance(self, rng: np.random.Generator) -> np.ndarray:
        """Atmospheric path radiance of TOA (L1C) data; zero for surface (L2A) reflectance."""
        if rng.uniform() < 0.5:
            return np.zeros(len(BANDS), np.float32)
        strength = rng.uniform(0.3, 1.0)
        return strength * np.array([0.06, 0.04, 0.025, 0.01, 0.003, 0.001], np.float32)
