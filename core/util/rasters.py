"""GDAL helpers shared by the core: opening with clear errors, georeferencing, masks, writing."""
import os
import re
from contextlib import contextmanager
from typing import ContextManager, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal, gdal_array, ogr, osr

from . import limits
from .errors import LabelMigrationError
from .job_setting import JobSetting
from .paths import unreadable_reason

GeoTransform = Tuple[float, float, float, float, float, float]

VALIDITY_BAND_NAME = "validity"
LABEL_BAND_NAME = "label"

GTIFF_OPTIONS = ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER", "NUM_THREADS=ALL_CPUS"]


@contextmanager
def gdal_errors() -> Iterator[None]:
    """Turn GDAL/OGR/OSR errors into Python exceptions for the duration of the block.

    The previous setting is restored, so QGIS and other plugins see GDAL as they left it.
    """
    modules = (gdal, ogr, osr)
    previous = [module.GetUseExceptions() for module in modules]
    for module in modules:
        module.UseExceptions()
    try:
        yield
    finally:
        for module, was_on in reversed(list(zip(modules, previous))):  # GDAL keeps them as a stack
            if not was_on:
                module.DontUseExceptions()


@contextmanager
def gdal_cache_limit(limit_bytes: int) -> Iterator[None]:
    """Lower GDAL's block cache (by default 5 % of the RAM) for a streaming job, then restore it."""
    previous = gdal.GetCacheMax()
    if previous > limit_bytes:
        gdal.SetCacheMax(limit_bytes)
    try:
        yield
    finally:
        if previous > limit_bytes:
            gdal.SetCacheMax(previous)


def _apply_gdal_http_options(options: Optional[Dict[str, str]]) -> None:
    """Set GDAL's HTTP options to the job's (None: unset those this module set). An option the user
    set for GDAL before the plugin touched it is left alone."""
    for key in _GDAL_HTTP_KEYS:
        value = gdal.GetConfigOption(key)
        if value is not None and _GDAL_OPTIONS_SET.get(key) != value:
            continue  # the user's own setting
        wanted = options.get(key) if options else None
        gdal.SetConfigOption(key, wanted)
        if wanted is None:
            _GDAL_OPTIONS_SET.pop(key, None)
        else:
            _GDAL_OPTIONS_SET[key] = wanted


_GDAL_HTTP_KEYS = ("GDAL_HTTP_CONNECTTIMEOUT", "GDAL_HTTP_LOW_SPEED_TIME", "GDAL_HTTP_LOW_SPEED_LIMIT",
                   "GDAL_HTTP_MAX_RETRY", "GDAL_HTTP_RETRY_DELAY")
_GDAL_OPTIONS_SET: Dict[str, str] = {}
_GDAL_HTTP = JobSetting(None, on_change=_apply_gdal_http_options)


def gdal_network_limits() -> ContextManager[Optional[Dict[str, str]]]:
    """GDAL's own HTTP reads (/vsicurl/ COGs, STAC assets) under the limits in force for the job's
    duration (see core.util.job_setting): connection timeout, a read that brings nothing for read_timeout_s
    is abandoned, 429/5xx retried three times. Options the user set for GDAL are left as they are."""
    now = limits.current()
    return _GDAL_HTTP.using({
        "GDAL_HTTP_CONNECTTIMEOUT": f"{now.connect_timeout_s:g}", "GDAL_HTTP_LOW_SPEED_TIME": f"{now.read_timeout_s:g}",
        "GDAL_HTTP_LOW_SPEED_LIMIT": "1", "GDAL_HTTP_MAX_RETRY": "3", "GDAL_HTTP_RETRY_DELAY": "1"})


def open_raster(path: str, role: str = "raster", update: bool = False) -> gdal.Dataset:
    """Open a raster or raise a LabelMigrationError naming the file and the problem."""
    if not path:
        raise LabelMigrationError(f"No {role} was given.")
    try:
        dataset = gdal.OpenEx(
            path, (gdal.OF_UPDATE if update else gdal.OF_READONLY) | gdal.OF_RASTER
        )
    except RuntimeError as error:
        _raise_unreadable(path, role)
        if os.path.isdir(path):
            raise LabelMigrationError(f"The {role} '{path}' is a folder, not an image file.") from error
        raise LabelMigrationError(
            f"The {role} '{path}' cannot be read as an image: {_gdal_message(error)}"
        ) from error
    if dataset is None:
        _raise_unreadable(path, role)
        kind = "is a folder, not an image file" if os.path.isdir(path) else "cannot be read as an image"
        raise LabelMigrationError(f"The {role} '{path}' {kind}.")
    if dataset.RasterCount == 0:
        subdatasets = dataset.GetSubDatasets()
        hint = f": it holds subdatasets; give one of them, e.g. '{subdatasets[0][0]}'" if subdatasets else ""
        raise LabelMigrationError(f"The {role} '{path}' has no raster bands{hint}.")
    return dataset


def _raise_unreadable(path: str, role: str) -> None:
    """After GDAL failed: say why when the file itself cannot be read (missing, permission, empty)."""
    problem = unreadable_reason(path)
    if problem:
        raise LabelMigrationError(f"The {role} {problem}.")


def check_raster_size(dataset: gdal.Dataset, path: str, role: str, advice: str = "crop it first") -> None:
    """Refuse a raster larger than the pixel limit before any of it is read (limits.check_pixels)."""
    limits.check_pixels(dataset.RasterXSize, dataset.RasterYSize, f"The {role} '{path}'", advice)


def _gdal_message(error: Exception) -> str:
    return str(error).strip().rstrip(".") + "."


# GDAL's words when a buffer could not be allocated or a size does not fit its types: the file is
# too large for this machine (or declares an absurd size), which is not the same as damaged.
_ALLOCATION_FAILURE = re.compile(
    r"out of memory|cannot allocate|could not allocate|unable to allocate|not enough memory|"
    r"integer overflow|too large|too big|too many (pixels|blocks)", re.IGNORECASE)


def read_check(path: str, role: str):
    """Context manager-like helper: wrap GDAL read errors with the file name, telling a file too large
    to read here apart from a corrupt one."""
    return _ReadGuard(path, role)


class _ReadGuard:
    def __init__(self, path: str, role: str):
        self.path, self.role = path, role

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, _tb):
        if exc_type is MemoryError or (exc_type is RuntimeError and _ALLOCATION_FAILURE.search(str(exc))):
            detail = f" ({_gdal_message(exc).rstrip('.')})" if str(exc).strip() else ""
            raise LabelMigrationError(
                f"The {self.role} '{self.path}' is too large to read into this machine's memory{detail}. "
                f"The file need not be damaged: crop it first or close other programs."
            ) from exc
        if exc_type is RuntimeError:
            raise LabelMigrationError(
                f"The {self.role} '{self.path}' is corrupt or unreadable: {_gdal_message(exc)}"
            ) from exc
        return False


def srs_of(dataset: gdal.Dataset) -> Optional[osr.SpatialReference]:
    wkt = dataset.GetProjection()
    if not wkt:
        return None
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def srs_from_user(definition: str) -> osr.SpatialReference:
    """An SRS from 'EPSG:4326', a WKT or a PROJ string, with x/y (lon/lat) axis order.

    An unknown code (EPSG:999999) or text that is no CRS is refused, never replaced by a default."""
    srs = osr.SpatialReference()
    shown = str(definition or "").strip()
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    try:
        with gdal_errors():
            failed = srs.SetFromUserInput(str(definition or "")) != 0
    except RuntimeError:
        failed = True
    if failed or not srs.ExportToWkt():
        raise LabelMigrationError(
            f"'{shown}' is not a coordinate reference system GDAL knows; give one such as EPSG:4326 or EPSG:32632.")
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def has_geotransform(dataset: gdal.Dataset) -> bool:
    return dataset.GetGeoTransform(can_return_null=True) is not None


def grid_difference(first: gdal.Dataset, second: gdal.Dataset, require_crs: bool = False) -> Optional[str]:
    """None when both rasters lie on one grid (size, geotransform within 1e-6 of a pixel, CRS), else
    how they differ. Two rasters without a CRS share one unless ``require_crs``."""
    if (first.RasterXSize, first.RasterYSize) != (second.RasterXSize, second.RasterYSize):
        return (f"{first.RasterXSize} x {first.RasterYSize} and {second.RasterXSize} x {second.RasterYSize} "
                f"pixels differ in size")
    transforms = first.GetGeoTransform(), second.GetGeoTransform()
    scale = max(abs(v) for v in transforms[0][1:3] + transforms[0][4:6]) or 1.0
    if any(abs(a - b) > 1e-6 * scale for a, b in zip(*transforms)):
        return f"the geotransforms differ ({transforms[0]} and {transforms[1]})"
    srs = srs_of(first), srs_of(second)
    if srs == (None, None) and not require_crs:
        return None
    if srs[0] is None or srs[1] is None or not srs[0].IsSame(srs[1]):
        return "the coordinate reference systems differ"
    return None


def require_georeferenced(dataset: gdal.Dataset, path: str, role: str,
                          advice: str = "") -> Tuple[osr.SpatialReference, GeoTransform]:
    """The dataset's SRS and geotransform, or a clear error when either is missing (advice, when
    given, says how to go on)."""
    srs = srs_of(dataset)
    transform = dataset.GetGeoTransform(can_return_null=True)
    missing = [what for what, value in (("coordinate reference system", srs), ("geotransform", transform)) if not value]
    if missing:
        raise LabelMigrationError(
            f"The {role} '{path}' is not georeferenced: it has no {' and no '.join(missing)}.{advice and ' ' + advice}"
        )
    if not all(np.isfinite(transform)) or transform[1] * transform[5] - transform[2] * transform[4] == 0:
        raise LabelMigrationError(
            f"The {role} '{path}' has an unusable geotransform {tuple(transform)} (zero or non-finite pixel size)."
        )
    return srs, tuple(transform)


def band_names(dataset: gdal.Dataset) -> List[str]:
    return [dataset.GetRasterBand(i + 1).GetDescription() for i in range(dataset.RasterCount)]


def validity_band_index(dataset: gdal.Dataset) -> Optional[int]:
    """1-based index of a band described 'validity' (written by geocodemask), if any."""
    for index, name in enumerate(band_names(dataset), start=1):
        if name.lower() == VALIDITY_BAND_NAME and index > 1:
            return index
    return None


def row_strips(height: int, strip_height: int) -> Iterator[Tuple[int, int]]:
    """(first row, number of rows) for consecutive strips covering ``height`` rows."""
    for start in range(0, height, strip_height):
        yield start, min(strip_height, height - start)


def strip_height_for(dataset: gdal.Dataset, bytes_per_row: int, budget_bytes: int = 64 << 20) -> int:
    """Rows per strip: whole blocks of the source, bounded by a memory budget."""
    block_rows = max(1, dataset.GetRasterBand(1).GetBlockSize()[1])
    rows = max(block_rows, (budget_bytes // max(1, bytes_per_row)) // block_rows * block_rows)
    return max(1, min(rows, dataset.RasterYSize))


def valid_mask(dataset: gdal.Dataset, xoff: int, yoff: int, xsize: int, ysize: int) -> np.ndarray:
    """Boolean valid-data mask of a window.

    A band described 'validity' wins; otherwise GDAL's mask flags decide: a per-dataset mask or
    alpha band, or per-band nodata where a pixel counts as valid when any band has data.
    """
    validity = validity_band_index(dataset)
    if validity:
        return dataset.GetRasterBand(validity).ReadAsArray(xoff, yoff, xsize, ysize) != 0
    first = dataset.GetRasterBand(1)
    flags = first.GetMaskFlags()
    if flags & gdal.GMF_ALL_VALID and all(
        dataset.GetRasterBand(i + 1).GetMaskFlags() & gdal.GMF_ALL_VALID for i in range(dataset.RasterCount)
    ):
        if any(_is_float(dataset.GetRasterBand(i + 1)) for i in range(dataset.RasterCount)):
            return _not_nan(dataset, xoff, yoff, xsize, ysize)
        return np.ones((ysize, xsize), dtype=bool)
    if flags & (gdal.GMF_PER_DATASET | gdal.GMF_ALPHA):
        return first.GetMaskBand().ReadAsArray(xoff, yoff, xsize, ysize) != 0
    valid = np.zeros((ysize, xsize), dtype=bool)
    for index in range(dataset.RasterCount):
        band = dataset.GetRasterBand(index + 1)
        if band.GetColorInterpretation() == gdal.GCI_AlphaBand:
            continue
        valid |= band.GetMaskBand().ReadAsArray(xoff, yoff, xsize, ysize) != 0
    return valid


def _is_float(band: gdal.Band) -> bool:
    return numpy_dtype(band.DataType).kind in "fc"


def _not_nan(dataset: gdal.Dataset, xoff: int, yoff: int, xsize: int, ysize: int) -> np.ndarray:
    """Valid where any band holds a number: NaN is nodata in a float raster that declares none."""
    valid = np.zeros((ysize, xsize), dtype=bool)
    for index in range(dataset.RasterCount):
        band = dataset.GetRasterBand(index + 1)
        if not _is_float(band):
            return np.ones((ysize, xsize), dtype=bool)
        valid |= ~np.isnan(band.ReadAsArray(xoff, yoff, xsize, ysize))
    return valid


def nan_as_nodata(dataset: gdal.Dataset) -> gdal.Dataset:
    """The dataset itself, or for a float raster that declares no nodata a virtual copy whose bands
    declare NaN as nodata, so that GDAL's masks (polygonize, warp) leave NaN pixels out too."""
    bands = [dataset.GetRasterBand(i + 1) for i in range(dataset.RasterCount)]
    if not bands or not all(_is_float(band) and band.GetNoDataValue() is None for band in bands):
        return dataset
    if bands[0].GetMaskFlags() & (gdal.GMF_PER_DATASET | gdal.GMF_ALPHA):
        return dataset
    return gdal.Translate("", dataset, format="VRT", noData="nan")


def pixel_to_world(transform: Sequence[float], col: float, row: float) -> Tuple[float, float]:
    return (
        transform[0] + col * transform[1] + row * transform[2],
        transform[3] + col * transform[4] + row * transform[5],
    )


def raster_outline(transform: Sequence[float], width: int, height: int) -> ogr.Geometry:
    """The polygon of a grid's extent in map coordinates (rotated grids included)."""
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for col, row in ((0, 0), (width, 0), (width, height), (0, height), (0, 0)):
        ring.AddPoint_2D(*pixel_to_world(transform, col, row))
    polygon = ogr.Geometry(ogr.wkbPolygon)
    polygon.AddGeometry(ring)
    return polygon


def window_transform(transform: Sequence[float], col: int, row: int) -> GeoTransform:
    x, y = pixel_to_world(transform, col, row)
    return (x, transform[1], transform[2], y, transform[4], transform[5])


def pixel_area(transform: Sequence[float]) -> float:
    return abs(transform[1] * transform[5] - transform[2] * transform[4])


def numpy_dtype(gdal_type: int) -> np.dtype:
    return np.dtype(gdal_array.GDALTypeCodeToNumericTypeCode(gdal_type))


def gdal_type(dtype: np.dtype) -> int:
    return gdal_array.NumericTypeCodeToGDALTypeCode(np.dtype(dtype))


def default_nodata(dtype: np.dtype) -> float:
    """Nodata for rasters that declare none: 0 for unsigned (Sentinel-2 DN 0), NaN for floats."""
    if np.issubdtype(dtype, np.floating):
        return float("nan")
    if np.issubdtype(dtype, np.signedinteger):
        return float(np.iinfo(dtype).min)
    return 0.0


def create_gtiff(path: str, width: int, height: int, bands: int, gdal_type: int,
                 srs_wkt: str = "", transform: Optional[Sequence[float]] = None,
                 options: Sequence[str] = GTIFF_OPTIONS) -> gdal.Dataset:
    options = list(options)
    if bands > 1:
        # without this GDAL tags 8-bit 3/4-band files as RGB(A): a 4th band (NIR) would become alpha
        options.append("PHOTOMETRIC=MINISBLACK")
    dataset = gdal.GetDriverByName("GTiff").Create(path, width, height, bands, gdal_type, options)
    if transform is not None:
        dataset.SetGeoTransform(list(transform))
    if srs_wkt:
        dataset.SetProjection(srs_wkt)
    return dataset


def copy_color_table(source_band: gdal.Band, target_band: gdal.Band) -> None:
    table = source_band.GetColorTable()
    if table is not None:
        target_band.SetColorTable(table)
        target_band.SetColorInterpretation(gdal.GCI_PaletteIndex)


def color_table_from(colors: dict) -> gdal.ColorTable:
    """A GDAL colour table from {index: (r, g, b) or (r, g, b, a)}."""
    table = gdal.ColorTable()
    for index, color in sorted(colors.items()):
        rgba = tuple(int(c) for c in color) + ((255,) if len(color) == 3 else ())
        table.SetColorEntry(int(index), rgba)
    return table
