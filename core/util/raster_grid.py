"""Georeferencing of rasters: coordinate reference systems, geotransforms, grids and their outlines."""
from typing import Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal, ogr, osr

from .errors import LabelMigrationError
from .gdal_settings import gdal_errors

GeoTransform = Tuple[float, float, float, float, float, float]


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
