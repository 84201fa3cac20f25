"""Polygons of a class in a mask raster (e.g. clouds), small specks dropped by a minimum area."""
from typing import List, Tuple

from osgeo import gdal, ogr

from ..util.gdal_settings import gdal_errors
from ..util.raster_grid import require_georeferenced
from ..util.raster_read import open_raster, read_check


def mask_polygons(mask_path: str, value: int = 1, min_area: float = 0.0) -> Tuple[str, List[Tuple[str, float]]]:
    """(CRS WKT, [(polygon WKT, area)]) of the pixels equal to value, 8-connected, with an area (in
    the mask CRS's units, m² for UTM) of at least min_area. GDAL polygonizes line by line."""
    with gdal_errors():
        dataset = open_raster(mask_path, "mask")
        srs, _ = require_georeferenced(dataset, mask_path, "mask")
        # a virtual copy of band 1 with 255 (the masks' nodata) declared, so nodata is not polygonized
        selected = gdal.Translate("", dataset, format="VRT", bandList=[1])
        band = selected.GetRasterBand(1)
        band.SetNoDataValue(255)
        memory = ogr.GetDriverByName("Memory").CreateDataSource("polygons")
        layer = memory.CreateLayer("polygons", srs=srs, geom_type=ogr.wkbPolygon)
        layer.CreateField(ogr.FieldDefn("value", ogr.OFTInteger))
        with read_check(mask_path, "mask"):
            gdal.Polygonize(band, band.GetMaskBand(), layer, 0, ["8CONNECTED=8"])
        polygons = []
        for feature in layer:
            if feature.GetField("value") != value:
                continue
            geometry = feature.GetGeometryRef()
            area = geometry.GetArea()
            if area >= min_area:
                polygons.append((geometry.ExportToWkt(), area))
        return srs.ExportToWkt(), polygons
