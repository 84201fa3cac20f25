"""Where a crop lies on the scene's grid: the window of scene pixels under a label's footprint, and the
refusals made before any pixel is read (no overlap, a window beyond the pixel or memory limit)."""
import math
from dataclasses import dataclass
from typing import Optional, Sequence

from osgeo import gdal, ogr, osr

from ..util import limits
from ..util.errors import LabelMigrationError
from ..util.raster_grid import raster_outline, require_georeferenced
from .footprint import GEOCODE_FIRST, transform_geometry

# Sub-pixel slack when snapping a footprint to the scene grid, so float noise adds no empty column.
_SNAP_TOLERANCE = 1e-6


@dataclass
class Window:
    col: int
    row: int
    width: int
    height: int


def footprint_window(footprint: ogr.Geometry, transform: Sequence[float], width: int, height: int) -> Optional[Window]:
    """The scene pixels covering the footprint's bounding box, clipped to the scene; None if outside."""
    inverse = gdal.InvGeoTransform(list(transform))
    min_x, max_x, min_y, max_y = footprint.GetEnvelope()
    cols, rows = [], []
    for x, y in ((min_x, min_y), (min_x, max_y), (max_x, min_y), (max_x, max_y)):
        col, row = gdal.ApplyGeoTransform(inverse, x, y)
        cols.append(col)
        rows.append(row)
    col0 = max(0, math.floor(min(cols) + _SNAP_TOLERANCE))
    col1 = min(width, math.ceil(max(cols) - _SNAP_TOLERANCE))
    row0 = max(0, math.floor(min(rows) + _SNAP_TOLERANCE))
    row1 = min(height, math.ceil(max(rows) - _SNAP_TOLERANCE))
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


def densified(outline: ogr.Geometry, source, target) -> ogr.Geometry:
    min_x, max_x, min_y, max_y = outline.GetEnvelope()
    return transform_geometry(outline, source, target, max(max_x - min_x, max_y - min_y) / 64)


def no_overlap_error(label_path: str, scene_path: str) -> LabelMigrationError:
    return LabelMigrationError(
        f"The label '{label_path}' and the scene '{scene_path}' do not overlap: "
        "there are no scene pixels under the label."
    )


def check_extents_overlap(label: gdal.Dataset, label_path: str, label_srs, label_transform, scene_srs,
                          scene_outline: ogr.Geometry, scene_path: str) -> None:
    """Refuse a label whose extent misses the scene before any label pixel is read."""
    extent = raster_outline(label_transform, label.RasterXSize, label.RasterYSize)
    try:
        extent = densified(extent, label_srs, scene_srs)
    except LabelMigrationError:
        return  # the extent does not fit the scene's CRS: the outline of the valid pixels decides
    if not extent.Intersects(scene_outline):
        raise no_overlap_error(label_path, scene_path)


def check_window_size(window: Window, scene_path: str, label_path: str, bytes_per_pixel: float) -> None:
    """Refuse a crop window beyond the pixel or memory limit before it is allocated: the label and
    its footprint mask are held on the window's grid at once."""
    what = f"The part of the scene '{scene_path}' under the label '{label_path}'"
    advice = "use a smaller label or a scene with coarser pixels"
    limits.check_pixels(window.width, window.height, what, advice)
    limits.check_memory(float(window.width) * window.height * bytes_per_pixel,
                        f"Cropping the scene '{scene_path}' to the label '{label_path}'", advice)


@dataclass
class StackWindow:
    """The window of a product stack's grid under a label, with the spatial references it was found with."""
    window: Window
    srs: osr.SpatialReference
    label_srs: osr.SpatialReference
    label_transform: Sequence[float]


def stack_window(stack, label: gdal.Dataset, label_path: str, outline: ogr.Geometry, scene_path: str,
                 bytes_per_pixel: float) -> StackWindow:
    """The window of ``stack``'s grid (core.sentinel2.safe_stack.BandStack) under the label's ``outline``;
    refused when they do not overlap or the window is too large."""
    srs = osr.SpatialReference()
    srs.ImportFromWkt(stack.srs_wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    label_srs, label_transform = require_georeferenced(label, label_path, "label", GEOCODE_FIRST)
    check_extents_overlap(label, label_path, label_srs, label_transform, srs,
                          raster_outline(stack.transform, stack.width, stack.height), scene_path)
    window = footprint_window(densified(outline, label_srs, srs), stack.transform, stack.width, stack.height)
    if window is None:
        raise no_overlap_error(label_path, scene_path)
    check_window_size(window, scene_path, label_path, bytes_per_pixel=bytes_per_pixel)
    return StackWindow(window, srs, label_srs, label_transform)
