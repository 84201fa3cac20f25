"""Stack single-band rasters (e.g. 38-Cloud's red_/green_/blue_/nir_ patches) into one raster.

Each band keeps its input's scale/offset; a Sentinel-2 band file without one (a SAFE's JPEG 2000 file, in its product
or copied out of it) gets its product's and its band name (B02 ...), core.sentinel2.product_bands deciding both."""
import os
import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal

from ..util import limits
from ..util.errors import LabelMigrationError
from ..util.outputs import atomic_output, check_output_path
from ..util.progress import CancelCheck, ProgressCallback, Steps
from ..util.gdal_settings import gdal_errors
from ..util.raster_grid import has_geotransform, srs_of
from ..util.raster_read import check_raster_size, open_raster, read_check, row_strips, strip_height_for
from ..util.raster_write import create_gtiff, gdal_type, numpy_dtype
from .product_bands import band_file_name, product_reflectance

# 38-Cloud patches: red_patch_192_10_by_12_LC08_..., train_nir/nir_patch_...
_THIRTY_EIGHT_CLOUD = re.compile(r"^(red|green|blue|nir|gt)_patch_", re.IGNORECASE)
# Geotransforms equal to within a millionth of a pixel count as the same grid.
_GRID_TOLERANCE = 1e-6


@dataclass
class StackResult:
    output: str
    band_names: List[str]
    width: int
    height: int
    warnings: List[str] = field(default_factory=list)


def band_name_for(path: str, dataset: gdal.Dataset) -> str:
    description = dataset.GetRasterBand(1).GetDescription()
    if description:
        return description
    name = os.path.basename(path)
    sentinel2 = band_file_name(path)  # T32UPC_20230615T101559_B02_10m.jp2: B02
    if sentinel2:
        return sentinel2
    match = _THIRTY_EIGHT_CLOUD.match(name)
    if match:
        return match.group(1).lower()
    return os.path.splitext(name)[0]


def _same_grid(a: Sequence[float], b: Sequence[float], pixel: float) -> bool:
    return all(abs(x - y) <= _GRID_TOLERANCE * max(pixel, 1.0) for x, y in zip(a, b))


def stack_bands(inputs: Sequence[str], output: str, band_names: Optional[Sequence[str]] = None,
                progress: Optional[ProgressCallback] = None,
                is_cancelled: Optional[CancelCheck] = None) -> StackResult:
    """Write the first band of each input, in order, as the bands of one GeoTIFF."""
    steps = Steps(progress, is_cancelled)
    if len(inputs) < 1:
        raise LabelMigrationError("No input rasters were given to stack.")
    if band_names and len(band_names) != len(inputs):
        raise LabelMigrationError(
            f"{len(band_names)} band names were given for {len(inputs)} input rasters; give one name per input."
        )
    if band_names and not all(name.strip() for name in band_names):
        raise LabelMigrationError(f"The band names {', '.join(band_names)!r} include an empty name; name every band.")
    check_output_path(output, inputs)
    with gdal_errors():
        datasets = [open_raster(path, "input raster") for path in inputs]
        first_path, first = inputs[0], datasets[0]
        for path, dataset in zip(inputs, datasets):
            if dataset.RasterCount not in (1, 3):
                raise LabelMigrationError(
                    f"The input '{path}' has {dataset.RasterCount} bands; stacking takes single-band rasters."
                )
            if (dataset.RasterXSize, dataset.RasterYSize) != (first.RasterXSize, first.RasterYSize):
                raise LabelMigrationError(
                    f"The input '{path}' is {dataset.RasterXSize} x {dataset.RasterYSize} pixels but "
                    f"'{first_path}' is {first.RasterXSize} x {first.RasterYSize}; all bands must share one grid."
                )
            _check_same_georeferencing(path, dataset, first_path, first)
        check_raster_size(first, first_path, "input raster", "crop the inputs first")
        names = list(band_names) if band_names else [band_name_for(p, d) for p, d in zip(inputs, datasets)]
        dtype = np.result_type(*[numpy_dtype(d.GetRasterBand(1).DataType) for d in datasets])
        nodata_values = {d.GetRasterBand(1).GetNoDataValue() for d in datasets}
        width, height = first.RasterXSize, first.RasterYSize
        strip = strip_height_for(first, width * dtype.itemsize * len(datasets))
        # a strip of one input, as read and converted, plus the comparison of a grey RGB input's bands
        limits.check_memory(4.0 * width * strip * dtype.itemsize, f"A strip of {strip} rows of '{first_path}'",
                            "crop the inputs first")
        empty = []
        with atomic_output(output) as temporary:
            out = create_gtiff(temporary, width, height, len(datasets), gdal_type(dtype), first.GetProjection(),
                               first.GetGeoTransform() if has_geotransform(first) else None)
            total = len(datasets) * height
            done = 0
            for position, (path, dataset, name) in enumerate(zip(inputs, datasets, names), start=1):
                band = out.GetRasterBand(position)
                band.SetDescription(name)
                scale, offset = _scale_and_offset(dataset)
                if (scale, offset) != (1.0, 0.0):
                    band.SetScale(scale)
                    band.SetOffset(offset)
                if len(nodata_values) == 1 and None not in nodata_values:
                    band.SetNoDataValue(next(iter(nodata_values)))
                source_nodata = dataset.GetRasterBand(1).GetNoDataValue()
                has_data = False
                for row, rows in row_strips(height, strip):
                    pixels = _read_single_band(path, dataset, row, rows)
                    has_data = has_data or _has_data(pixels, source_nodata)
                    band.WriteArray(pixels.astype(dtype, copy=False), 0, row)
                    done += rows
                    steps.report(done / total)
                if not has_data:
                    empty.append(path)
            out.FlushCache()
            out = None
    warnings = [f"The input '{path}' holds no data (only nodata or NaN); its band in the stack is empty."
                for path in empty]
    return StackResult(output=output, band_names=names, width=width, height=height, warnings=warnings)


def _scale_and_offset(dataset: gdal.Dataset) -> Tuple[float, float]:
    """The input band's scale/offset as declared; for a Sentinel-2 band file without one, its product's
    (core.sentinel2.product_bands), so that the stack still reads as the product's reflectance."""
    band = dataset.GetRasterBand(1)
    found = product_reflectance(dataset, [1])
    return found[0][0] if found else (band.GetScale() or 1.0, band.GetOffset() or 0.0)


def _has_data(pixels: np.ndarray, nodata: Optional[float]) -> bool:
    valid = ~np.isnan(pixels) if pixels.dtype.kind == "f" else np.ones(pixels.shape, bool)
    if nodata is not None and not np.isnan(nodata):
        valid &= pixels != nodata
    return bool(valid.any())


def _read_single_band(path: str, dataset: gdal.Dataset, row: int, rows: int) -> np.ndarray:
    """Band 1 of a strip; a 3-band input counts as one band only if it is grey (R = G = B).

    Display images such as 38-Cloud's JPEG patches store one band as grey RGB.
    """
    width = dataset.RasterXSize
    with read_check(path, "input raster"):
        pixels = dataset.GetRasterBand(1).ReadAsArray(0, row, width, rows)
        for index in range(2, dataset.RasterCount + 1):
            if not np.array_equal(dataset.GetRasterBand(index).ReadAsArray(0, row, width, rows), pixels):
                raise LabelMigrationError(
                    f"The input '{path}' has {dataset.RasterCount} different bands; stacking takes "
                    f"single-band rasters (or grey images stored as RGB)."
                )
    return pixels


def _check_same_georeferencing(path: str, dataset: gdal.Dataset, first_path: str, first: gdal.Dataset) -> None:
    georeferenced = has_geotransform(dataset), has_geotransform(first)
    if georeferenced[0] != georeferenced[1]:
        with_georef, without = (path, first_path) if georeferenced[0] else (first_path, path)
        raise LabelMigrationError(
            f"The input '{with_georef}' is georeferenced but '{without}' is not; stack rasters of one grid."
        )
    if not georeferenced[0]:
        return
    transform, first_transform = dataset.GetGeoTransform(), first.GetGeoTransform()
    if not _same_grid(transform, first_transform, abs(first_transform[1])):
        raise LabelMigrationError(
            f"The input '{path}' lies on a different grid (geotransform {tuple(transform)}) than "
            f"'{first_path}' ({tuple(first_transform)}); all bands must share one grid."
        )
    srs, first_srs = srs_of(dataset), srs_of(first)
    if (srs is None) != (first_srs is None) or (srs is not None and not srs.IsSame(first_srs)):
        raise LabelMigrationError(
            f"The input '{path}' has a different coordinate reference system than '{first_path}'."
        )
