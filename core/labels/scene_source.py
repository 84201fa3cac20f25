"""The scene raster a crop reads: a raster as it is, or the window under the label of a Sentinel-2 SAFE
or EOPF Zarr product (other tiles of the same datatake mosaicked in), written to memory on the product's
10 m grid; of a Zarr product only the chunks under the window are read."""
import uuid
from contextlib import contextmanager
from typing import Optional, Sequence

from osgeo import gdal

from ..sentinel2.eopf import fetch_for_reading, is_eopf_product, open_product
from ..sentinel2.safe import is_safe_product
from ..sentinel2.safe_product import parse_band_list
from ..sentinel2.safe_stack import band_stack
from ..util.errors import LabelMigrationError
from ..util.raster_grid import window_transform
from ..util.raster_write import create_gtiff
from .crop_window import stack_window
from .footprint import valid_outline


@contextmanager
def open_scene_source(scene_path: str, other_tiles: Sequence[str], band_names: Optional[Sequence[str]],
                      label: gdal.Dataset, label_path: str):
    """(GDAL path, band list, (column, row) of that raster on the scene's grid) of the scene: a
    raster as it is, or for a SAFE product (with other tiles of the same datatake) an in-memory
    raster of just the window under the label, on the product's 10 m grid."""
    if not is_safe_product(scene_path) and not is_eopf_product(scene_path):
        if other_tiles:
            raise LabelMigrationError(
                "Other tiles can only be mosaicked with a Sentinel-2 SAFE or EOPF Zarr product as the scene.")
        yield scene_path, None, (0, 0)
        return
    products = [open_product(path) for path in [scene_path, *other_tiles]]
    stack = band_stack(products, parse_band_list(products[0], band_names), resolution=10)
    window_path = f"/vsimem/labelmigration-window-{uuid.uuid4().hex}.tif"
    try:
        window = stack_window(stack, label, label_path, valid_outline(label, label_path), scene_path,
                              bytes_per_pixel=2 * len(stack.bands) + 6).window
        left = stack.transform[0] + window.col * stack.resolution
        top = stack.transform[3] - window.row * stack.resolution
        fetch_for_reading(products, stack.bands, 10, (left, top - window.height * stack.resolution,
                                                      left + window.width * stack.resolution, top))
        out = create_gtiff(window_path, window.width, window.height, len(stack.bands), gdal.GDT_UInt16,
                           stack.srs_wkt, window_transform(stack.transform, window.col, window.row),
                           options=["PHOTOMETRIC=MINISBLACK"])
        out.SetMetadata({"SAFE_PRODUCTS": ";".join(p.name for p in products)})
        for position, band in enumerate(stack.bands, start=1):
            target = out.GetRasterBand(position)
            target.SetDescription(band)
            target.SetNoDataValue(0)
            offset, scale = stack.offset_and_scale(band)
            if (offset, scale) != (0.0, 1.0):
                target.SetOffset(offset)
                target.SetScale(scale)
            target.WriteArray(stack.read(band, window.col, window.row, window.width, window.height))
        out = None
        yield window_path, list(range(1, len(stack.bands) + 1)), (window.col, window.row)
    finally:
        stack.close()
        gdal.Unlink(window_path)
