"""Convert a Sentinel-2 SAFE product into one multiband GeoTIFF on one correct grid."""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

from osgeo import gdal

from .errors import Cancelled, LabelMigrationError
from .outputs import atomic_output, check_output_path
from .progress import CancelCheck, ProgressCallback, Steps
from .rasters import GTIFF_OPTIONS, gdal_errors
from .safe import band_stack, open_safe, parse_band_list

RESAMPLING_METHODS = ("bilinear", "cubic", "cubicspline", "lanczos", "average", "near")
COG_OPTIONS = ["COMPRESS=DEFLATE", "BLOCKSIZE=512", "NUM_THREADS=ALL_CPUS", "BIGTIFF=IF_SAFER", "OVERVIEWS=AUTO"]


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
    offset and scale stored as band metadata, nodata 0.
    """
    steps = Steps(progress, is_cancelled)
    if resampling not in RESAMPLING_METHODS:
        raise LabelMigrationError(f"Unknown resampling '{resampling}'; use one of {', '.join(RESAMPLING_METHODS)}.")
    check_output_path(output, [product_path])
    with gdal_errors():
        product = open_safe(product_path)
        chosen = parse_band_list(product, bands, with_scl=include_scl)
        stack = band_stack([product], chosen, resolution, resampling, reflectance)
        try:
            source = gdal.Open(stack.path)
            width, height = source.RasterXSize, source.RasterYSize

            with atomic_output(output) as temporary:
                options = dict(format="COG", creationOptions=COG_OPTIONS) if cog else dict(
                    format="GTiff", creationOptions=GTIFF_OPTIONS + ["PREDICTOR=2" if not reflectance else "PREDICTOR=3"])
                # SCL is 8-bit; a GeoTIFF holds one data type for all bands
                output_type = gdal.GDT_Float32 if reflectance else gdal.GDT_UInt16
                try:
                    result = gdal.Translate(temporary, source, outputType=output_type,
                                            callback=steps.gdal_callback(), **options)
                except RuntimeError as error:
                    if steps.cancelled():
                        raise Cancelled() from error
                    raise LabelMigrationError(
                        f"Converting '{product_path}' failed: {str(error).strip()} (a truncated or corrupt band file?)"
                    ) from error
                if result is None:
                    raise Cancelled() if steps.cancelled() else LabelMigrationError(f"Converting '{product_path}' failed.")
                result = None
            source = None
        finally:
            stack.release()
    return ConversionResult(output=output, bands=chosen, width=width, height=height, epsg=product.grid.epsg,
                            level=product.level, baseline=product.baseline,
                            offsets={b: product.offset(b) for b in chosen})
