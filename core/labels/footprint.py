"""Footprints of georeferenced labels: the outline of their valid data, area and date."""
import datetime as dt
import os
from dataclasses import dataclass
from typing import List, Optional, Sequence

from osgeo import gdal, ogr, osr

from ..util.dates import date_from_metadata, date_from_name, first_date
from ..util.errors import LabelMigrationError
from ..util.progress import CancelCheck, ProgressCallback, Steps
from ..util.gdal_settings import gdal_errors
from ..util.raster_grid import require_georeferenced, srs_from_user
from ..util.raster_read import check_raster_size, nan_as_nodata, open_raster, read_check, validity_band_index

WGS84 = "EPSG:4326"
# what a label without georeferencing needs first
GEOCODE_FIRST = "Geocode it onto the image it was drawn on first (algorithm 'Geocode label mask')."


@dataclass
class Footprint:
    label: str
    path: str
    geometry: ogr.Geometry  # in ``srs``
    srs: osr.SpatialReference
    area_m2: float
    date: Optional[dt.date]

    @property
    def wkt(self) -> str:
        return self.geometry.ExportToWkt()


def label_name(path: str) -> str:
    """The label's name: its file name without folder and extension(s)."""
    name = os.path.basename(path.rstrip("/"))
    for extension in (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".vrt", ".jp2", ".img"):
        if name.lower().endswith(extension):
            return name[: -len(extension)]
    return os.path.splitext(name)[0]


def _mask_dataset(dataset: gdal.Dataset) -> gdal.Dataset:
    """A virtual one-band raster, on the label's grid, that is non-zero where the label is valid.

    Going through a VRT keeps the georeferencing: GDAL polygonizes a bare nodata mask band in
    pixel coordinates but a VRT band in map coordinates.
    """
    validity = validity_band_index(dataset)
    if validity:
        return gdal.Translate("", dataset, format="VRT", bandList=[validity])
    return gdal.Translate("", nan_as_nodata(dataset), format="VRT", bandList=["mask,1"])


def valid_outline(dataset: gdal.Dataset, path: str) -> ogr.Geometry:
    """The union of the label's valid pixels as a (multi)polygon in the label's own CRS.

    GDAL polygonizes the mask line by line, so the label is never held in memory; the
    geotransform (rotation terms included) places the outline exactly on pixel edges. Every pixel
    is read, so a label beyond the pixel limit is refused first.
    """
    require_georeferenced(dataset, path, "label", GEOCODE_FIRST)
    check_raster_size(dataset, path, "label")
    mask_dataset = _mask_dataset(dataset)
    mask = mask_dataset.GetRasterBand(1)
    memory = ogr.GetDriverByName("Memory").CreateDataSource("outline")
    layer = memory.CreateLayer("outline", srs=None, geom_type=ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("valid", ogr.OFTInteger))
    with read_check(path, "label"):
        gdal.Polygonize(mask, mask, layer, 0, ["8CONNECTED=8"])
    parts = ogr.Geometry(ogr.wkbMultiPolygon)
    for feature in layer:
        parts.AddGeometry(feature.GetGeometryRef())
    if parts.GetGeometryCount() == 0:
        raise LabelMigrationError(f"The label '{path}' is empty: it has no valid (non-nodata) pixels.")
    outline = parts.UnionCascaded() if parts.GetGeometryCount() > 1 else parts.GetGeometryRef(0).Clone()
    return outline


def transform_geometry(geometry: ogr.Geometry, source: osr.SpatialReference,
                       target: osr.SpatialReference, max_segment: Optional[float] = None) -> ogr.Geometry:
    """A copy of geometry in target CRS; long edges are densified first so they bend correctly."""
    result = geometry.Clone()
    if max_segment:
        result.Segmentize(max_segment)
    if not source.IsSame(target):
        try:
            failed = result.Transform(osr.CoordinateTransformation(source, target)) != 0
        except (RuntimeError, TypeError):
            failed = True
        if failed:
            raise LabelMigrationError(
                f"A shape cannot be transformed from {_crs_name(source)} to {_crs_name(target)} "
                f"(it lies outside the area where the target CRS is defined).")
    return result


def _crs_name(srs: osr.SpatialReference) -> str:
    authority, code = srs.GetAuthorityName(None), srs.GetAuthorityCode(None)
    return f"{authority}:{code}" if authority and code else f"'{srs.GetName() or 'an unnamed CRS'}'"


def area_m2(geometry: ogr.Geometry, srs: osr.SpatialReference) -> float:
    """Area in square metres, measured in a Lambert equal-area projection centred on the shape."""
    wgs84 = srs_from_user(WGS84)
    lonlat = transform_geometry(geometry, srs, wgs84)
    centre = lonlat.Centroid()
    equal_area = srs_from_user(
        f"+proj=laea +lat_0={centre.GetY()} +lon_0={centre.GetX()} +datum=WGS84 +units=m +no_defs"
    )
    return transform_geometry(geometry, srs, equal_area, _densify_step(geometry)).GetArea()


def _densify_step(geometry: ogr.Geometry) -> float:
    min_x, max_x, min_y, max_y = geometry.GetEnvelope()
    return max(max_x - min_x, max_y - min_y) / 64 or 1.0


def label_footprint(path: str, target_crs: str = WGS84) -> Footprint:
    """The valid-data outline of one georeferenced label, reprojected to target_crs."""
    with gdal_errors():
        target = srs_from_user(target_crs)
        dataset = open_raster(path, "label")
        srs, _transform = require_georeferenced(dataset, path, "label", GEOCODE_FIRST)
        outline = valid_outline(dataset, path)
        date = first_date((date_from_name(path), date_from_metadata(dataset.GetMetadata() or {})))
        return Footprint(
            label=label_name(path),
            path=path,
            geometry=transform_geometry(outline, srs, target, _densify_step(outline)),
            srs=target,
            area_m2=area_m2(outline, srs),
            date=date,
        )


def label_footprints(paths: Sequence[str], target_crs: str = WGS84,
                     progress: Optional[ProgressCallback] = None,
                     is_cancelled: Optional[CancelCheck] = None) -> List[Footprint]:
    if not paths:
        raise LabelMigrationError("No label rasters were given.")
    steps = Steps(progress, is_cancelled)
    with gdal_errors():  # every label is checked before the first is read, so a bad one fails fast
        srs_from_user(target_crs)
        for path in paths:
            dataset = open_raster(path, "label")
            require_georeferenced(dataset, path, "label", GEOCODE_FIRST)
            check_raster_size(dataset, path, "label")
    footprints = []
    for index, path in enumerate(paths):
        steps.check()
        footprints.append(label_footprint(path, target_crs))
        steps.report((index + 1) / len(paths))
    return footprints
