"""Bands of Sentinel-2 products on one grid, read window by window.

Bands whose native resolution is the target's are read as they are. Other bands are resampled
by GDAL's kernels from the native pixels a window needs (decoded once, with a margin for the
kernel), with DN 0 kept out of the kernel where the window holds nodata: a bare VRT source would
blend nodata into the swath edge. A pixel is valid exactly where the native pixel under its centre
is. Tiles of one datatake are mosaicked: a later tile fills where earlier ones have no data.
"""
import math
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import numpy as np
from osgeo import gdal, gdal_array, osr

from ..util.errors import LabelMigrationError
from ..util.raster_read import read_check
from .band_files import OpenBandFile, open_band_file
from .safe_product import CLASS_BANDS, RESOLUTIONS, SafeProduct

# GDAL's RasterIO kernels by the names gdalwarp uses
RESAMPLING_KERNELS = {"near": gdal.GRIORA_NearestNeighbour, "bilinear": gdal.GRIORA_Bilinear,
                      "cubic": gdal.GRIORA_Cubic, "cubicspline": gdal.GRIORA_CubicSpline,
                      "lanczos": gdal.GRIORA_Lanczos, "average": gdal.GRIORA_Average}


@dataclass
class _BandSource:
    """One product's file for one band, placed on the stack's grid."""

    path: str
    native_size: Tuple[int, int]  # columns, rows of the file
    size: Tuple[int, int]  # columns, rows on the target grid
    origin: Tuple[int, int]  # column, row of the tile's corner on the stack's grid
    kernel: int = gdal.GRIORA_Bilinear

    @property
    def resampled(self) -> bool:
        return self.native_size != self.size


@dataclass
class BandStack:
    products: List[SafeProduct]
    bands: List[str]
    resolution: int
    reflectance: bool
    width: int
    height: int
    transform: Tuple[float, float, float, float, float, float]
    srs_wkt: str
    _sources: Dict[str, List[_BandSource]] = field(default_factory=dict)
    _files: Dict[str, OpenBandFile] = field(default_factory=dict)

    def dtype(self, band: str) -> np.dtype:
        if self.reflectance and band not in CLASS_BANDS:
            return np.dtype(np.float32)
        return np.dtype(np.uint8 if band in CLASS_BANDS else np.uint16)

    def nodata(self, band: str) -> float:
        return float("nan") if self.dtype(band).kind == "f" else 0.0

    def offset_and_scale(self, band: str) -> Tuple[float, float]:
        """What turns the stored values into reflectance (0, 1 once converted; none for SCL)."""
        if band in CLASS_BANDS or self.reflectance:
            return 0.0, 1.0
        product = self.products[0]
        return product.offset(band) / product.quantification, 1.0 / product.quantification

    def read(self, band: str, xoff: int, yoff: int, width: int, height: int) -> np.ndarray:
        """A window of one band on the stack's grid; nodata is 0 (DN) or NaN (reflectance)."""
        sources = self._sources[band]
        single = len(sources) == 1 and sources[0].origin == (0, 0)
        if single:  # one tile: no mosaic bookkeeping
            values, valid = self._read_source(band, sources[0], xoff, yoff, width, height)
            return self._finish(band, values, valid)
        values = np.zeros((height, width), dtype=np.uint16 if band not in CLASS_BANDS else np.uint8)
        valid = np.zeros((height, width), dtype=bool)
        for source in sources:
            # the part of the window this tile covers, in the tile's own target-grid pixels
            x0, y0 = max(xoff, source.origin[0]), max(yoff, source.origin[1])
            x1 = min(xoff + width, source.origin[0] + source.size[0])
            y1 = min(yoff + height, source.origin[1] + source.size[1])
            if x1 <= x0 or y1 <= y0:
                continue
            part_values, part_valid = self._read_source(band, source, x0 - source.origin[0], y0 - source.origin[1],
                                                        x1 - x0, y1 - y0)
            target = (slice(y0 - yoff, y1 - yoff), slice(x0 - xoff, x1 - xoff))
            fill = part_valid & ~valid[target]
            values[target][fill] = part_values[fill]
            valid[target] |= part_valid
        return self._finish(band, values, valid)

    def _finish(self, band: str, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        if band in CLASS_BANDS or not self.reflectance:
            return values
        product = self.products[0]
        offset, quantification = np.float32(product.offset(band)), np.float32(product.quantification)
        reflectance = (values.astype(np.float32) + offset) / quantification
        reflectance[~valid] = np.nan
        return reflectance

    def _file(self, path: str) -> OpenBandFile:
        if path not in self._files:
            self._files[path] = open_band_file(path)
        return self._files[path]

    def _read_file(self, path: str, x: int, y: int, width: int, height: int) -> np.ndarray:
        """A window of a band file; a truncated or corrupt JP2 fails here, named."""
        opened = self._file(path)
        with read_check(path, "band file"), opened.lock:
            values = opened.dataset.GetRasterBand(1).ReadAsArray(x, y, width, height)
        if values is None:  # GDAL without exceptions
            raise LabelMigrationError(f"The band file '{path}' is corrupt or unreadable: {gdal.GetLastErrorMsg()}")
        return values

    def _read_source(self, band: str, source: _BandSource, x: int, y: int, width: int, height: int):
        if not source.resampled:
            values = self._read_file(source.path, x, y, width, height)
            return values, values != 0
        # whole native pixels: widen the window to a multiple of the resampling step
        step_x = max(1, round(source.size[0] / source.native_size[0]))
        step_y = max(1, round(source.size[1] / source.native_size[1]))
        x0, y0 = x - x % step_x, y - y % step_y
        x1 = min(source.size[0], -(-(x + width) // step_x) * step_x)
        y1 = min(source.size[1], -(-(y + height) // step_y) * step_y)
        scale_x = source.native_size[0] / source.size[0]
        scale_y = source.native_size[1] / source.size[1]
        margin = 3 * int(math.ceil(max(1.0, scale_x, scale_y))) + 1  # kernel support, lanczos included
        native_x0, native_y0 = round(x0 * scale_x), round(y0 * scale_y)
        native_x1, native_y1 = round(x1 * scale_x), round(y1 * scale_y)
        column0, row0 = max(0, native_x0 - margin), max(0, native_y0 - margin)
        column1 = min(source.native_size[0], native_x1 + margin)
        row1 = min(source.native_size[1], native_y1 + margin)
        native = self._read_file(source.path, column0, row0, column1 - column0, row1 - row0)
        native_valid = native != 0
        # the native pixel under each output pixel's centre
        columns = np.minimum(((np.arange(x, x + width) + 0.5) * scale_x).astype(np.int64), source.native_size[0] - 1)
        rows = np.minimum(((np.arange(y, y + height) + 0.5) * scale_y).astype(np.int64), source.native_size[1] - 1)
        nearest_valid = native_valid[np.ix_(rows - row0, columns - column0)]
        if band in CLASS_BANDS or source.kernel == gdal.GRIORA_NearestNeighbour:
            return native[np.ix_(rows - row0, columns - column0)], nearest_valid
        # GDAL resamples the decoded pixels in memory; the margin gives the kernel the neighbours
        # the whole file would give it, and declared nodata keeps DN 0 out of it
        memory = gdal_array.OpenArray(native)
        if not native_valid.all():
            memory.GetRasterBand(1).SetNoDataValue(0)
        values = memory.GetRasterBand(1).ReadAsArray(
            native_x0 - column0, native_y0 - row0, native_x1 - native_x0, native_y1 - native_y0,
            buf_xsize=x1 - x0, buf_ysize=y1 - y0, resample_alg=source.kernel,
        )[y - y0:y - y0 + height, x - x0:x - x0 + width]
        values[~nearest_valid] = 0
        return values, nearest_valid

    def close(self) -> None:
        self._files.clear()


def band_stack(products: Sequence[SafeProduct], bands: Sequence[str], resolution: int = 10,
               resampling: str = "bilinear", reflectance: bool = False) -> BandStack:
    """The bands of one product, or of tiles of one datatake mosaicked, on one grid."""
    if resolution not in RESOLUTIONS:
        raise LabelMigrationError(f"The resolution must be 10, 20 or 60 m, not {resolution}.")
    if resampling not in RESAMPLING_KERNELS:
        raise LabelMigrationError(f"Unknown resampling '{resampling}'; use one of {', '.join(RESAMPLING_KERNELS)}.")
    first = products[0]
    for other in products[1:]:
        if other.datatake != first.datatake:
            raise LabelMigrationError(
                f"'{other.source}' and '{first.source}' come from different datatakes; only tiles of one "
                f"datatake (same satellite, sensing time and orbit) are mosaicked."
            )
        if other.grid.epsg != first.grid.epsg:
            raise LabelMigrationError(
                f"'{other.source}' (EPSG:{other.grid.epsg}) and '{first.source}' (EPSG:{first.grid.epsg}) lie in "
                f"different UTM zones; mosaicking across zones is not supported."
            )
    min_x = min(p.grid.ulx for p in products)
    max_y = max(p.grid.uly for p in products)
    max_x = max(p.grid.ulx + p.grid.size(resolution)[0] * resolution for p in products)
    min_y = min(p.grid.uly - p.grid.size(resolution)[1] * resolution for p in products)
    srs = osr.SpatialReference()
    try:
        unknown = srs.ImportFromEPSG(first.grid.epsg) != 0
    except RuntimeError:
        unknown = True
    if unknown:
        raise LabelMigrationError(
            f"The tile metadata of '{first.source}' names EPSG:{first.grid.epsg}, which is no coordinate "
            f"reference system GDAL knows: the product is damaged.")
    stack = BandStack(
        products=list(products), bands=list(bands), resolution=resolution, reflectance=reflectance,
        width=round((max_x - min_x) / resolution), height=round((max_y - min_y) / resolution),
        transform=(min_x, float(resolution), 0.0, max_y, 0.0, -float(resolution)), srs_wkt=srs.ExportToWkt(),
    )
    try:
        for band in bands:
            stack._sources[band] = [
                _band_source(product, band, resolution, resampling, min_x, max_y, stack._files)
                for product in products
            ]
    except BaseException:
        stack.close()
        raise
    return stack


def _band_source(product: SafeProduct, band: str, resolution: int, resampling: str, min_x: float, max_y: float,
                 files: Dict[str, OpenBandFile]) -> _BandSource:
    path, file_resolution = product.band_file(band, resolution)
    if gdal.VSIStatL(path) is None:
        raise LabelMigrationError(f"The band file '{path}' of product '{product.source}' is missing.")
    try:
        opened = open_band_file(path)
    except RuntimeError as error:
        raise LabelMigrationError(
            f"The band file '{path}' of product '{product.source}' is corrupt or truncated: {str(error).strip()}."
        ) from error
    with opened.lock:
        native_size = (opened.dataset.RasterXSize, opened.dataset.RasterYSize)
    expected = product.grid.size(file_resolution)
    if native_size != expected:  # reads are sized from the grid: a file of another size is not this tile's
        raise LabelMigrationError(
            f"The band file '{path}' of product '{product.source}' is {native_size[0]} x {native_size[1]} pixels, "
            f"but the product's tile grid at {file_resolution} m is {expected[0]} x {expected[1]}: the file or the "
            f"tile metadata is damaged.")
    files[path] = opened  # kept open for reading
    size = product.grid.size(resolution)
    origin = (round((product.grid.ulx - min_x) / resolution), round((max_y - product.grid.uly) / resolution))
    return _BandSource(path=path, native_size=native_size, size=size, origin=origin,
                       kernel=RESAMPLING_KERNELS["near" if band in CLASS_BANDS else resampling])
