"""Convert a Sentinel-2 product (SAFE, or EOPF Zarr: eopf.py) into one multiband GeoTIFF on one correct grid."""
import os
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import numpy as np
from osgeo import gdal

from ..util import limits
from ..util.errors import Cancelled, LabelMigrationError
from ..util.outputs import atomic_output, check_output_path
from ..util.progress import CancelCheck, ProgressCallback, Steps
from ..util.gdal_settings import gdal_cache_limit, gdal_errors
from ..util.raster_read import row_strips
from ..util.raster_write import GTIFF_OPTIONS, gdal_type
from .eopf import fetch_for_reading, open_product
from .safe_product import parse_band_list
from .safe_stack import BandStack, band_stack

RESAMPLING_METHODS = ("bilinear", "cubic", "cubicspline", "lanczos", "average", "near")  # the default first
COG_OPTIONS = ["COMPRESS=DEFLATE", "BLOCKSIZE=512", "NUM_THREADS=ALL_CPUS", "BIGTIFF=IF_SAFER", "OVERVIEWS=AUTO"]
STRIP_ROWS = 1024  # rows converted at a time: about 22 MB per 10 m band of a full tile
# A strip touches one or two rows of 1024-pixel JP2 tiles per band: this cache holds them.
CACHE_BYTES = 512 << 20


@dataclass
class ConversionResult:
    output: str
    bands: List[str]
    width: int
    height: int
    epsg: int
    level: str
    baseline: str
    offsets: dict
    warnings: List[str] = field(default_factory=list)


def safe_to_geotiff(product_path: str, output: str, bands: Optional[Sequence[str]] = None, resolution: int = 10,
                    resampling: str = "bilinear", reflectance: bool = False, include_scl: bool = False,
                    cog: bool = False, progress: Optional[ProgressCallback] = None,
                    is_cancelled: Optional[CancelCheck] = None) -> ConversionResult:
    """Write the product's bands, resampled to one grid, as a tiled compressed GeoTIFF (or COG).

    reflectance: float32 (DN + offset) / quantification, nodata NaN; otherwise uint16 DN with the
    offset and scale stored as band metadata, nodata 0. SCL keeps its class values.
    """
    steps = Steps(progress, is_cancelled)
    if resampling not in RESAMPLING_METHODS:
        raise LabelMigrationError(f"Unknown resampling '{resampling}'; use one of {', '.join(RESAMPLING_METHODS)}.")
    check_output_path(output, [product_path])
    with gdal_errors(), gdal_cache_limit(CACHE_BYTES):
        product = open_product(product_path)
        chosen = parse_band_list(product, bands, with_scl=include_scl)
        fetch_for_reading([product], chosen, resolution)  # the chunks of a remote Zarr v3 product
        stack = band_stack([product], chosen, resolution, resampling, reflectance)
        try:
            _check_size(stack, product_path)
            with atomic_output(output) as temporary:
                if cog:
                    tiled = temporary + ".tiled.tif"
                    try:
                        _write(stack, tiled, steps.sub(0.0, 0.8))
                        _translate(gdal.Open(tiled), temporary, product_path, steps.sub(0.8, 1.0),
                                   format="COG", creationOptions=COG_OPTIONS)
                    finally:
                        if os.path.exists(tiled):
                            os.unlink(tiled)
                else:
                    _write(stack, temporary, steps)
        finally:
            stack.close()
    return ConversionResult(output=output, bands=chosen, width=stack.width, height=stack.height,
                            epsg=product.grid.epsg, level=product.level, baseline=product.baseline,
                            offsets={b: product.offset(b) for b in chosen})


def _check_size(stack: BandStack, product_path: str) -> None:
    """Refuse an output beyond the pixel limit, and strips beyond the memory limit, before writing."""
    what = f"The product '{product_path}' at {stack.resolution} m"
    limits.check_pixels(stack.width, stack.height, what, "choose a coarser resolution")
    rows = min(STRIP_ROWS, stack.height)
    # one band's strip: DN, validity, resampled and converted copies
    limits.check_memory(12.0 * stack.width * rows, f"A strip of {rows} rows of {what}", "choose a coarser resolution")


def _write(stack: BandStack, path: str, steps: Steps) -> None:
    """Stream the stack strip by strip into a tiled, compressed GeoTIFF (compressed on every core)."""
    dtype = np.result_type(*[stack.dtype(band) for band in stack.bands])  # one type for all GeoTIFF bands
    predictor = "PREDICTOR=3" if dtype.kind == "f" else "PREDICTOR=2"
    out = gdal.GetDriverByName("GTiff").Create(
        path, stack.width, stack.height, len(stack.bands), gdal_type(dtype),
        GTIFF_OPTIONS + [predictor, "INTERLEAVE=BAND", "PHOTOMETRIC=MINISBLACK"])
    out.SetGeoTransform(stack.transform)
    out.SetProjection(stack.srs_wkt)
    product = stack.products[0]
    out.SetMetadata({"SAFE_PRODUCT": product.name, "PROCESSING_BASELINE": product.baseline,
                     "SENSING_TIME": product.sensing_start, "PRODUCT_TYPE": product.product_type})
    for position, band in enumerate(stack.bands, start=1):
        target = out.GetRasterBand(position)
        target.SetDescription(band)
        target.SetNoDataValue(float("nan") if dtype.kind == "f" else 0.0)
        offset, scale = stack.offset_and_scale(band)
        if (offset, scale) != (0.0, 1.0):
            target.SetOffset(offset)
            target.SetScale(scale)
    total = len(stack.bands) * stack.height
    done = 0
    for row, rows in row_strips(stack.height, STRIP_ROWS):
        for position, band in enumerate(stack.bands, start=1):
            steps.check()
            values = stack.read(band, 0, row, stack.width, rows)  # a damaged band file fails named
            out.GetRasterBand(position).WriteArray(values.astype(dtype, copy=False), 0, row)
            done += rows
            steps.report(done / total)
    out.FlushCache()
    out = None


def _translate(source: gdal.Dataset, path: str, product_path: str, steps: Steps, **options) -> None:
    try:
        result = gdal.Translate(path, source, callback=steps.gdal_callback(), **options)
    except RuntimeError as error:
        if steps.cancelled():
            raise Cancelled() from error
        raise LabelMigrationError(f"Converting '{product_path}' failed: {str(error).strip()}.") from error
    if result is None:
        raise Cancelled() if steps.cancelled() else LabelMigrationError(f"Converting '{product_path}' failed.")
