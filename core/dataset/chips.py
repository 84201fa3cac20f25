"""Chip windows of a pair, what share of a chip is nodata, cloud or shadow, and the chips as COGs.

A chip is a ``size`` x ``size`` window of the pair's grid; windows step by ``size - overlap`` and the
last one in a row or column is moved back to end at the pair's edge. A pair smaller than a chip gives
one window, padded with nodata beyond the pair. Image, label and cloud-mask chips of one window share
its grid exactly, and hold the pair's pixels unchanged.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal

from ..models.cloud_classes import MASK_CLOUD, MASK_NODATA, MASK_SHADOW
from ..util.errors import LabelMigrationError
from ..util.raster_read import open_raster

COG_OPTIONS = ["COMPRESS=DEFLATE", "OVERVIEWS=NONE"]
LABEL_COG_OPTIONS = COG_OPTIONS + ["RESAMPLING=NEAREST"]


@dataclass(frozen=True)
class ChipStats:
    nodata: float   # share of the chip without data (outside the pair, label or image nodata, mask nodata)
    cloud: Optional[float]   # share of the chip's pixels with data that are cloud; None without a mask
    shadow: Optional[float]  # the same for cloud shadow

    def drop_reason(self, max_nodata: float, max_cloud: float, max_shadow: float) -> Optional[str]:
        """'nodata', 'cloud' or 'shadow' when a threshold (a share, 0..1) is exceeded; None when kept."""
        if self.nodata >= 1.0 or self.nodata > max_nodata:
            return "nodata"
        if self.cloud is not None and self.cloud > max_cloud:
            return "cloud"
        if self.shadow is not None and self.shadow > max_shadow:
            return "shadow"
        return None


def plan_windows(width: int, height: int, size: int, overlap: int) -> List[Tuple[int, int]]:
    """(xoff, yoff) of the chips covering a width x height grid; see the module doc."""
    if size < 1 or not 0 <= overlap < size:
        raise LabelMigrationError(f"A chip of {size} pixels cannot overlap by {overlap} pixels: the overlap must "
                                  f"be at least 0 and smaller than the chip.")
    return [(x, y) for y in _offsets(height, size, overlap) for x in _offsets(width, size, overlap)]


def _offsets(length: int, size: int, overlap: int) -> List[int]:
    if length <= size:
        return [0]
    offsets = list(range(0, length - size + 1, size - overlap))
    if offsets[-1] != length - size:
        offsets.append(length - size)
    return offsets


class OpenPair:
    """A pair's image, label and (optional) cloud mask, opened once for reading its chips."""

    def __init__(self, image: str, label: str, mask: Optional[str]):
        self.image = _open(image)
        self.label = _open(label)
        self.mask = _open(mask) if mask else None
        self.width, self.height = self.image.RasterXSize, self.image.RasterYSize
        self.transform = tuple(self.image.GetGeoTransform())
        for other, path in ((self.label, label), (self.mask, mask)):
            if other is not None and not self._on_grid(other):
                raise LabelMigrationError(f"'{path}' is not on the grid of its image '{image}' (run migratelabels "
                                          f"again for this label).")
        if self.transform[2] or self.transform[4]:
            raise LabelMigrationError(f"'{image}' is rotated; only north-up pairs can be chipped.")
        if self.mask is not None and self.mask.RasterCount < 1:
            self.mask = None

    def _on_grid(self, other: gdal.Dataset) -> bool:
        """Whether other has the image's size, pixels and place (to a thousandth of a pixel) and CRS."""
        if (other.RasterXSize, other.RasterYSize) != (self.width, self.height):
            return False
        tolerance = 1e-3 * min(abs(self.transform[1]), abs(self.transform[5]))
        if any(abs(a - b) > tolerance for a, b in zip(other.GetGeoTransform(), self.transform)):
            return False
        mine, theirs = self.image.GetSpatialRef(), other.GetSpatialRef()
        return mine is None or theirs is None or bool(mine.IsSame(theirs))

    def window_bounds(self, xoff: int, yoff: int, size: int) -> Tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of a window in the pair's CRS."""
        x0, dx, _, y0, _, dy = self.transform
        xs = (x0 + xoff * dx, x0 + (xoff + size) * dx)
        ys = (y0 + yoff * dy, y0 + (yoff + size) * dy)
        return min(xs), min(ys), max(xs), max(ys)

    def read(self, xoff: int, yoff: int, size: int) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """The window's image (bands, size, size), label (size, size) and mask (or None), padded with nodata."""
        image = _read(self.image, xoff, yoff, size)
        label = _read(self.label, xoff, yoff, size)[0]
        mask = _read(self.mask, xoff, yoff, size, fill=MASK_NODATA)[0] if self.mask is not None else None
        return image, label, mask

    def stats(self, xoff: int, yoff: int, size: int) -> ChipStats:
        image, label, mask = self.read(xoff, yoff, size)
        missing = _is_nodata(label, _nodata(self.label))
        image_nodata = _nodata(self.image)
        if image_nodata is not None:
            missing |= np.any(_is_nodata(image, image_nodata), axis=0)
        outside = np.ones_like(missing)
        outside[:max(0, min(size, self.height - yoff)), :max(0, min(size, self.width - xoff))] = False
        missing |= outside
        if mask is not None:
            missing |= mask == MASK_NODATA
        valid = ~missing
        count = int(valid.sum())
        nodata = 1.0 - count / float(size * size)
        if mask is None:
            return ChipStats(nodata, None, None)
        cloud = float(np.count_nonzero((mask == MASK_CLOUD) & valid)) / count if count else 0.0
        shadow = float(np.count_nonzero((mask == MASK_SHADOW) & valid)) / count if count else 0.0
        return ChipStats(nodata, cloud, shadow)

    def write_chips(self, xoff: int, yoff: int, size: int, targets: Sequence[Optional[str]]) -> Dict[int, int]:
        """Write the window's image, label and mask chips (a target None is skipped) as COGs; returns the
        label's pixel count per class (nodata left out)."""
        image, label, mask = self.read(xoff, yoff, size)
        x0, dx, _, y0, _, dy = self.transform
        transform = (x0 + xoff * dx, dx, 0.0, y0 + yoff * dy, 0.0, dy)
        outputs = ((self.image, image, targets[0], COG_OPTIONS),
                   (self.label, label[np.newaxis], targets[1], LABEL_COG_OPTIONS),
                   (self.mask, None if mask is None else mask[np.newaxis], targets[2] if len(targets) > 2 else None,
                    LABEL_COG_OPTIONS))
        for source, array, target, options in outputs:
            if target and array is not None:
                write_cog(source, array, transform, target, options)
        values, counts = np.unique(label[~_is_nodata(label, _nodata(self.label))], return_counts=True)
        return {int(value): int(count) for value, count in zip(values, counts)}

    def classes(self) -> Dict[int, Tuple[Optional[str], Optional[str]]]:
        """The label's class names (category names) and colours (#rrggbb, colour table) by value."""
        band = self.label.GetRasterBand(1)
        # the colour table first: GDAL 3.6's GeoTIFF driver loads the .aux.xml holding the category names only
        # once something else asks for it, and GetCategoryNames alone then answers None
        table = band.GetColorTable()
        names = band.GetCategoryNames() or []
        found: Dict[int, Tuple[Optional[str], Optional[str]]] = {}
        for value in range(max(len(names), table.GetCount() if table is not None else 0)):
            name = names[value] if value < len(names) and names[value] else None
            colour = None
            if table is not None and value < table.GetCount():
                colour = "#%02x%02x%02x" % tuple(table.GetColorEntry(value)[:3])
            found[value] = (name, colour)
        return found


def write_cog(template: gdal.Dataset, array: np.ndarray, transform, target: str, options) -> None:
    """array (bands, rows, cols) as a cloud-optimised GeoTIFF with the template's CRS, band
    descriptions, nodata, scale/offset and colour table."""
    bands, rows, cols = array.shape
    memory = gdal.GetDriverByName("MEM").Create("", cols, rows, bands, template.GetRasterBand(1).DataType)
    memory.SetGeoTransform(transform)
    memory.SetProjection(template.GetProjection())
    for index in range(bands):
        source, band = template.GetRasterBand(index + 1), memory.GetRasterBand(index + 1)
        band.WriteArray(array[index])
        if source.GetNoDataValue() is not None:
            band.SetNoDataValue(source.GetNoDataValue())
        if source.GetDescription():
            band.SetDescription(source.GetDescription())
        if source.GetColorTable() is not None:
            band.SetColorTable(source.GetColorTable())
        if source.GetScale() not in (None, 1.0) or source.GetOffset() not in (None, 0.0):
            band.SetScale(source.GetScale() or 1.0)
            band.SetOffset(source.GetOffset() or 0.0)
    result = gdal.GetDriverByName("COG").CreateCopy(target, memory, strict=0, options=options)
    if result is None:
        raise LabelMigrationError(f"Cannot write the chip '{target}': {gdal.GetLastErrorMsg() or 'GDAL failed'}.")
    result = None


def _open(path: str) -> gdal.Dataset:
    return open_raster(path, "pair raster")


def _nodata(dataset: gdal.Dataset) -> Optional[float]:
    return dataset.GetRasterBand(1).GetNoDataValue()


def _is_nodata(values: np.ndarray, nodata: Optional[float]) -> np.ndarray:
    if nodata is None:
        return np.zeros(values.shape, dtype=bool)
    if np.isnan(nodata):
        return np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, dtype=bool)
    return values == nodata


def _read(dataset: gdal.Dataset, xoff: int, yoff: int, size: int, fill: Optional[float] = None) -> np.ndarray:
    """The window (bands, size, size); the part beyond the raster holds the nodata value (or fill, or 0)."""
    width = max(0, min(size, dataset.RasterXSize - xoff))
    height = max(0, min(size, dataset.RasterYSize - yoff))
    data = dataset.ReadAsArray(xoff, yoff, width, height) if width and height else None
    if data is not None and data.ndim == 2:
        data = data[np.newaxis]
    if data is not None and (width, height) == (size, size):
        return data
    nodata = _nodata(dataset)
    value = fill if fill is not None else (nodata if nodata is not None else 0)
    dtype = data.dtype if data is not None else _dtype(dataset)
    window = np.full((dataset.RasterCount, size, size), value, dtype=dtype)
    if data is not None:
        window[:, :height, :width] = data
    return window


def _dtype(dataset: gdal.Dataset):
    from osgeo import gdal_array
    return gdal_array.GDALTypeCodeToNumericTypeCode(dataset.GetRasterBand(1).DataType)
