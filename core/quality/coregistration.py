"""How far a label's source image lies from the Sentinel-2 pixels: sub-pixel phase correlation.

The source image is resampled onto the pair's Sentinel-2 grid (core.quality.bands), both images are
reduced to one band each (matched bands, standardised and averaged), masked (nodata, cloud, shadow),
apodised with a Hann window and phase-correlated (the whitened cross-power spectrum). The integer peak
is refined to 1/UPSAMPLE of a pixel with an upsampled matrix DFT around it (Guizar-Sicairos et al.
2008, "Efficient subpixel image registration algorithms", Opt. Lett. 33:156).

The shift is where the source shows a feature minus where Sentinel-2 shows it, in metres along the
pair grid's x (east) and y (north) axes: moving the label by minus the shift puts it on the
Sentinel-2 pixels. A peak outside the search window (``max_shift_px``) gives no shift (None, unknown),
never a number inside the window that the data do not support.

The confidence (0 to 1) is the product of three factors: the peak's dominance (1 - second peak /
first peak, the second found outside the first's neighbourhood), the texture of the poorer image
(local detail relative to its level) and the clear fraction of the pair (cloud and nodata masked out).
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from osgeo import gdal
from scipy import ndimage

from ..util.raster_read import valid_mask
from .bands import match_bands, resample_to_grid

UPSAMPLE = 20  # refinement to 1/20 pixel
LOW_PASS = (0.3, 0.6)  # fractions of Nyquist: whitened spectrum weighted 1 below, tapered to 0 at
DEFAULT_MAX_SHIFT_PX = 5.0  # the search window: +-5 Sentinel-2 pixels (50 m at 10 m)
TEXTURE_FULL = 0.02  # local detail (std of image - 5x5 mean) / level at which texture counts fully
MIN_CLEAR = 0.25  # clear fractions at or below count as no evidence; CLEAR_FULL and above fully
CLEAR_FULL = 0.75
MIN_PIXELS = 32 * 32
CLOUD_MASK_CLEAR = 0  # core.migration cloud masks: 0 clear, 1 cloud, 2 shadow, 255 nodata
DEFAULT_MIN_CONFIDENCE = 0.5  # COREGISTER=1 moves a label from this confidence on


@dataclass
class ShiftEstimate:
    shift_x_m: Optional[float]  # None: unknown (beyond the search window, or too little data)
    shift_y_m: Optional[float]
    confidence: float
    shift_col_px: Optional[float] = None  # the same in pixels of the pair grid (columns right, rows down)
    shift_row_px: Optional[float] = None
    peak_ratio: float = 0.0
    texture: float = 0.0
    clear_fraction: float = 0.0
    note: str = ""

    @property
    def known(self) -> bool:
        return self.shift_x_m is not None and self.shift_y_m is not None


def _hann(rows: int, cols: int) -> np.ndarray:
    return np.outer(np.hanning(rows), np.hanning(cols))


def _prepared(image: np.ndarray, valid: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance over the valid pixels, masked pixels at the mean, apodised."""
    values = image[valid]
    out = np.where(valid, (image - values.mean()) / (values.std() or 1.0), 0.0)
    weight = ndimage.uniform_filter(valid.astype(float), 7) * window  # soft edges at mask borders too
    return out * weight


def _upsampled_dft(spectrum: np.ndarray, size: int, factor: int, offsets: Tuple[float, float]) -> np.ndarray:
    """The inverse DFT of ``spectrum`` on a ``size`` x ``size`` patch of a grid ``factor`` times finer,
    starting at ``offsets`` (in fine pixels)."""
    rows, cols = spectrum.shape
    col_kernel = np.exp(2j * np.pi / (cols * factor) * np.outer(
        np.fft.ifftshift(np.arange(cols)) - cols // 2, np.arange(size) - offsets[1]))
    row_kernel = np.exp(2j * np.pi / (rows * factor) * np.outer(
        np.arange(size) - offsets[0], np.fft.ifftshift(np.arange(rows)) - rows // 2))
    return row_kernel @ spectrum @ col_kernel


def _low_pass(shape: Tuple[int, int]) -> np.ndarray:
    """Frequency weights: 1 up to LOW_PASS[0] of Nyquist, a cosine taper to 0 at LOW_PASS[1]. The
    highest frequencies carry resampling and interpolation errors that pull a whitened peak towards
    whole pixels."""
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(shape[0]) * 2, np.fft.fftfreq(shape[1]) * 2, indexing="ij"))
    taper = (radius - LOW_PASS[0]) / (LOW_PASS[1] - LOW_PASS[0])
    return np.where(radius <= LOW_PASS[0], 1.0, np.where(taper >= 1, 0.0, 0.5 * (1 + np.cos(np.pi * taper))))


def texture_of(image: np.ndarray, valid: np.ndarray) -> float:
    """Local detail relative to the image level (std of image minus its 5 x 5 mean over the level)."""
    if valid.sum() < MIN_PIXELS:
        return 0.0
    filled = np.where(valid, image, image[valid].mean())
    detail = (filled - ndimage.uniform_filter(filled, 5))[ndimage.binary_erosion(valid, iterations=3)]
    level = np.median(np.abs(image[valid])) or np.std(image[valid]) or 1.0
    return float(detail.std() / level) if detail.size else 0.0


def estimate_shift(reference: np.ndarray, moving: np.ndarray, valid: Optional[np.ndarray] = None,
                   max_shift_px: float = DEFAULT_MAX_SHIFT_PX) -> ShiftEstimate:
    """The shift of ``moving`` against ``reference`` (2-D arrays on one grid) in pixels (columns,
    rows); metres are left to the caller (shift_x_m, shift_y_m hold None here)."""
    reference, moving = np.asarray(reference, float), np.asarray(moving, float)
    valid = np.ones(reference.shape, bool) if valid is None else np.asarray(valid, bool)
    valid = valid & np.isfinite(reference) & np.isfinite(moving)
    clear = float(valid.mean()) if valid.size else 0.0
    if valid.sum() < MIN_PIXELS or min(reference.shape) < 16:
        return ShiftEstimate(None, None, 0.0, clear_fraction=clear, note="too few clear pixels to measure")
    texture = min(texture_of(reference, valid), texture_of(moving, valid))
    window = _hann(*reference.shape)
    first = np.fft.fft2(_prepared(reference, valid, window))
    second = np.fft.fft2(_prepared(moving, valid, window))
    product = second * np.conj(first)
    product /= np.maximum(np.abs(product), 1e-12 * np.abs(product).max() + 1e-30)
    product *= _low_pass(reference.shape)
    surface = np.real(np.fft.ifft2(product))
    rows, cols = reference.shape
    peak = np.unravel_index(np.argmax(surface), surface.shape)
    ratio = _peak_ratio(surface, peak)
    whole = np.array([p if p <= n // 2 else p - n for p, n in zip(peak, (rows, cols))], float)
    texture_factor = float(np.clip(texture / TEXTURE_FULL, 0.0, 1.0))
    clear_factor = float(np.clip((clear - MIN_CLEAR) / (CLEAR_FULL - MIN_CLEAR), 0.0, 1.0))
    confidence = ratio * texture_factor * clear_factor
    if np.hypot(*whole) > max_shift_px + 0.5:
        return ShiftEstimate(None, None, 0.0, peak_ratio=ratio, texture=texture, clear_fraction=clear,
                             note=(f"the best match lies {np.hypot(*whole):.1f} px away, beyond the search "
                                   f"window of {max_shift_px:g} px: the shift is unknown"))
    size = int(np.ceil(UPSAMPLE * 1.5))
    centre = size // 2
    fine = _upsampled_dft(product, size, UPSAMPLE, tuple(centre - whole * UPSAMPLE))
    top = np.array(np.unravel_index(np.argmax(np.real(fine)), fine.shape), float)
    row_px, col_px = whole + (top - centre) / UPSAMPLE
    if np.hypot(row_px, col_px) > max_shift_px:
        return ShiftEstimate(None, None, 0.0, peak_ratio=ratio, texture=texture, clear_fraction=clear,
                             note=f"the shift lies beyond the search window of {max_shift_px:g} px: unknown")
    return ShiftEstimate(None, None, float(confidence), shift_col_px=float(col_px), shift_row_px=float(row_px),
                         peak_ratio=ratio, texture=texture, clear_fraction=clear)


def _peak_ratio(surface: np.ndarray, peak: Tuple[int, int], radius: int = 3) -> float:
    """1 - (highest value outside the peak's (2 radius + 1)^2 neighbourhood, wrapping) / peak value."""
    top = surface[peak]
    if top <= 0:
        return 0.0
    rolled = np.roll(surface, (-peak[0] + radius, -peak[1] + radius), axis=(0, 1)).copy()
    rolled[:2 * radius + 1, :2 * radius + 1] = -np.inf
    return float(np.clip(1.0 - max(rolled.max(), 0.0) / top, 0.0, 1.0))


def pixels_to_metres(transform, col_px: float, row_px: float) -> Tuple[float, float]:
    return (col_px * transform[1] + row_px * transform[2], col_px * transform[4] + row_px * transform[5])


def measure_shift(scene: gdal.Dataset, source: gdal.Dataset, cloud_mask: Optional[np.ndarray] = None,
                  max_shift_px: float = DEFAULT_MAX_SHIFT_PX, resampling: Optional[str] = None) -> ShiftEstimate:
    """The shift of ``source`` (any CRS and resolution) against the Sentinel-2 crop ``scene``.

    ``cloud_mask`` (on the scene's grid): 0 clear, anything else (cloud, shadow, nodata) left out."""
    source_bands, scene_bands, how = match_bands(source, scene)
    warped = resample_to_grid(source, scene, source_bands, resampling)
    moving = _band_mean(np.stack([warped.GetRasterBand(i + 1).ReadAsArray().astype(float)
                                  for i in range(len(source_bands))]))
    pixels = np.stack([scene.GetRasterBand(i).ReadAsArray().astype(float) for i in scene_bands])
    valid = valid_mask(scene, 0, 0, scene.RasterXSize, scene.RasterYSize) & np.isfinite(moving)
    for index in scene_bands:
        band = scene.GetRasterBand(index)
        scale, offset = band.GetScale() or 1.0, band.GetOffset() or 0.0
        pixels[scene_bands.index(index)] = pixels[scene_bands.index(index)] * scale + offset
    reference = _band_mean(np.where(valid, pixels, np.nan))
    if cloud_mask is not None:
        valid &= np.asarray(cloud_mask) == CLOUD_MASK_CLEAR
    result = estimate_shift(reference, moving, valid, max_shift_px)
    if result.shift_col_px is not None:
        result.shift_x_m, result.shift_y_m = pixels_to_metres(scene.GetGeoTransform(), result.shift_col_px,
                                                              result.shift_row_px)
    result.note = "; ".join(part for part in (how, result.note) if part)
    return result


def _band_mean(stack: np.ndarray) -> np.ndarray:
    """Bands standardised (by their own mean and spread) and averaged; NaN where any band is NaN.
    The level of the first band is kept so that texture (detail / level) still means something."""
    finite = np.isfinite(stack).all(axis=0)
    if not finite.any():
        return np.full(stack.shape[1:], np.nan)
    level = np.nanmedian(np.abs(stack[0][finite])) or 1.0
    scaled = [(band - band[finite].mean()) / (band[finite].std() or 1.0) for band in stack]
    spread = float(np.mean([band[finite].std() / level for band in stack]))
    return np.where(finite, 1.0 + spread * np.mean(scaled, axis=0), np.nan)


def should_move(estimate: Optional[ShiftEstimate], min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> bool:
    """COREGISTER=1: move the label when the shift is known, non-zero and confident enough."""
    return bool(estimate is not None and estimate.known and estimate.confidence >= min_confidence
                and (abs(estimate.shift_x_m) > 0 or abs(estimate.shift_y_m) > 0))
