"""Label footprints as the search uses them: read from WKT, repaired when invalid, the simple outline sent
to catalogues, and the share of a footprint that a scene covers (by area on the ground)."""
from typing import Callable, List, Optional

from osgeo import ogr

from ..labels.footprint import WGS84, area_m2
from ..util.errors import LabelMigrationError
from ..util.raster_grid import srs_from_user

WarnCallback = Callable[[str], None]


def geometry_from_wkt(wkt: str, what: str) -> ogr.Geometry:
    geometry = ogr.CreateGeometryFromWkt(wkt) if wkt else None
    if geometry is None or geometry.IsEmpty():
        raise LabelMigrationError(f"The geometry of {what} is missing or not valid WKT.")
    return geometry


def repaired(geometry: ogr.Geometry, what: str, warn: WarnCallback) -> ogr.Geometry:
    """The geometry itself when valid, else its MakeValid repair (polygonal parts only), with a warning."""
    if geometry.IsValid():
        return geometry
    fixed = geometry.MakeValid()
    polygons = _polygonal_part(fixed) if fixed is not None else None
    if polygons is None or polygons.IsEmpty() or polygons.GetArea() == 0:
        raise LabelMigrationError(f"The footprint of {what} is an invalid polygon that cannot be repaired.")
    warn(f"The footprint of {what} was not a valid polygon (for example self-intersecting); it was repaired.")
    return polygons


def _polygonal_part(geometry: ogr.Geometry) -> Optional[ogr.Geometry]:
    flat = ogr.GT_Flatten(geometry.GetGeometryType())
    if flat in (ogr.wkbPolygon, ogr.wkbMultiPolygon):
        return geometry
    if flat == ogr.wkbGeometryCollection:
        parts = ogr.Geometry(ogr.wkbMultiPolygon)
        for index in range(geometry.GetGeometryCount()):
            part = _polygonal_part(geometry.GetGeometryRef(index))
            if part is not None:
                for polygon in _polygons(part):
                    parts.AddGeometry(polygon)
        return parts if parts.GetGeometryCount() else None
    return None


def _polygons(geometry: ogr.Geometry) -> List[ogr.Geometry]:
    if ogr.GT_Flatten(geometry.GetGeometryType()) == ogr.wkbPolygon:
        return [geometry]
    return [geometry.GetGeometryRef(i) for i in range(geometry.GetGeometryCount())]


def coverage_pct(footprint: ogr.Geometry, scene_wkt: Optional[str]) -> Optional[float]:
    """Share (0..100) of the footprint inside the scene footprint, by area on the ground."""
    if not scene_wkt:
        return None
    scene = ogr.CreateGeometryFromWkt(scene_wkt)
    if scene is None or scene.IsEmpty():
        return None
    if not scene.IsValid():
        scene = scene.MakeValid() or scene
    if not footprint.Intersects(scene):
        return 0.0
    srs = srs_from_user(WGS84)
    whole = area_m2(footprint, srs)
    common = footprint.Intersection(scene)
    if whole <= 0 or common is None or common.IsEmpty():
        return 0.0
    return round(min(100.0, 100.0 * area_m2(common, srs) / whole), 3)


def search_wkt(geometry: ogr.Geometry) -> str:
    """What is sent to catalogues: the convex hull (one simple polygon, short URLs); coverage is
    computed afterwards from the real footprint."""
    hull = geometry.ConvexHull()
    flat = ogr.GT_Flatten(hull.GetGeometryType())
    if flat != ogr.wkbPolygon:  # a degenerate (line-like) footprint: use its bounding box
        min_x, max_x, min_y, max_y = geometry.GetEnvelope()
        hull = ogr.CreateGeometryFromWkt(
            f"POLYGON(({min_x} {min_y},{max_x} {min_y},{max_x} {max_y},{min_x} {max_y},{min_x} {min_y}))")
    return hull.ExportToIsoWkt()
