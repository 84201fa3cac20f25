"""PNG quicklooks of an image/label pair: stretched true colour with the label's outlines."""
from typing import List, Optional, Sequence

import numpy as np
from osgeo import gdal

from ..util.outputs import atomic_output
from ..util.gdal_settings import gdal_errors
from ..util.raster_read import band_names, open_raster

_RGB_NAMES = (("b04", "red"), ("b03", "green"), ("b02", "blue"))
_OUTLINE_COLOUR = (255, 230, 0)


def rgb_band_indices(dataset: gdal.Dataset) -> List[int]:
    """Red, green, blue band numbers, found by band name (B04/red...) or else the first bands."""
    names = [name.lower() for name in band_names(dataset)]
    found = []
    for aliases in _RGB_NAMES:
        found.append(next((i + 1 for i, name in enumerate(names) if name in aliases), None))
    if all(found):
        return found
    if dataset.RasterCount >= 3:
        return [1, 2, 3]
    return [1, 1, 1]


def _stretch(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    if not valid.any():
        return np.zeros(values.shape, np.uint8)
    low, high = np.percentile(values[valid], (2, 98))
    scaled = (values.astype(np.float64) - low) / max(high - low, 1e-12)
    return (np.clip(scaled, 0, 1) * 255).astype(np.uint8)


def _outline(classes: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Labelled (non-zero) pixels next to another class, background or the label's outside."""
    padded = np.pad(np.where(valid, classes.astype(np.int64), -1), 1, mode="edge")
    centre = padded[1:-1, 1:-1]
    edge = np.zeros(classes.shape, bool)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        edge |= padded[1 + dy:padded.shape[0] - 1 + dy, 1 + dx:padded.shape[1] - 1 + dx] != centre
    return edge & valid & (classes != 0)


def write_quicklook(image_path: str, output_png: str, label_path: Optional[str] = None,
                    max_size: int = 1024, rgb_bands: Optional[Sequence[int]] = None) -> str:
    """Write a stretched RGB PNG of image_path, with label_path's class outlines drawn on top."""
    with gdal_errors():
        image = open_raster(image_path, "image")
        largest = max(image.RasterXSize, image.RasterYSize)
        # small pairs are enlarged by a whole factor so each pixel stays a crisp square
        scale = max_size / largest if largest > max_size else max(1, max_size // largest)
        width = max(1, round(image.RasterXSize * scale))
        height = max(1, round(image.RasterYSize * scale))
        bands = list(rgb_bands) if rgb_bands else rgb_band_indices(image)
        channels, valid = [], np.ones((height, width), bool)
        for index in bands:
            band = image.GetRasterBand(index)
            channels.append(band.ReadAsArray(buf_xsize=width, buf_ysize=height))
            valid &= band.GetMaskBand().ReadAsArray(buf_xsize=width, buf_ysize=height) != 0
        rgb = np.stack([_stretch(channel, valid) for channel in channels])
        rgb[:, ~valid] = 0
        if label_path:
            label = open_raster(label_path, "label")
            band = label.GetRasterBand(1)
            classes = band.ReadAsArray(buf_xsize=width, buf_ysize=height)
            label_valid = band.GetMaskBand().ReadAsArray(buf_xsize=width, buf_ysize=height) != 0
            boundary = _outline(classes, label_valid)
            for channel, value in zip(rgb, _OUTLINE_COLOUR):
                channel[boundary] = value
        memory = gdal.GetDriverByName("MEM").Create("", width, height, 3, gdal.GDT_Byte)
        for position, channel in enumerate(rgb, start=1):
            memory.GetRasterBand(position).WriteArray(channel)
        with atomic_output(output_png) as temporary:
            gdal.GetDriverByName("PNG").CreateCopy(temporary, memory)
    return output_png
