"""Opening rasters with clear errors, reading them in strips, and their valid-data masks."""
import os
import re
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal

from . import limits
from .errors import LabelMigrationError
from .metadata_xml import MetadataXmlError, XmlNode, parse_metadata_xml
from .paths import unreadable_reason
from .raster_write import numpy_dtype

VALIDITY_BAND_NAME = "validity"
INTEGER_TYPES = (gdal.GDT_Byte, gdal.GDT_UInt16, gdal.GDT_Int16, gdal.GDT_UInt32, gdal.GDT_Int32)


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


def band_sources(dataset: gdal.Dataset, bands: Sequence[int]) -> List[List[str]]:
    """Per band, the files it is read from: a VRT band's sources (GDAL's LocationInfo of its first pixel, and every
    source of a mosaic), else the dataset's own file (a GeoTIFF, GDAL's SENTINEL2 subdataset ...)."""
    own = [dataset.GetDescription()]
    driver = dataset.GetDriver()
    if driver is None or driver.ShortName != "VRT":  # other drivers' bands (SENTINEL2's, GDAL 3.6) can abort the
        return [own for _ in bands]  # process when asked for vrt_sources: only a VRT is asked
    folder = os.path.dirname(dataset.GetDescription())
    result = []
    for number in bands:
        band = dataset.GetRasterBand(number)
        try:
            located = band.GetMetadataItem("Pixel_0_0", "LocationInfo") or ""
            sources = (band.GetMetadata("vrt_sources") or {}).values()
        except RuntimeError:  # a driver that cannot say (with GDAL exceptions on): the dataset's own file
            located, sources = "", []
        files = [item.text for item in _xml(located).iter("File") if item.text] if located else []
        if len(sources) > 1 or (sources and not files):
            for source in sources:
                element = next(_xml(source).iter("SourceFilename"), None)
                if element is not None and element.text:
                    relative = element.get("relativeToVRT") == "1"
                    files.append(os.path.join(folder, element.text) if relative else element.text)
        result.append(list(dict.fromkeys(files)) or own)
    return result


def _xml(text: str) -> XmlNode:
    try:
        return parse_metadata_xml(text)
    except MetadataXmlError:
        return XmlNode("none", {})
