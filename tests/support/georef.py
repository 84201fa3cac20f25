"""Small georeferencing helpers of the e2e tests (GDAL/OSR and shapely, as the tests' real servers' data need)."""
from pathlib import Path

import numpy as np
from osgeo import gdal, osr
from shapely.ops import transform as shapely_transform


def epsg_srs(epsg: int) -> osr.SpatialReference:
    """The CRS of an EPSG code, axes in x/y (longitude/latitude) order."""
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def to_lonlat(geometry, epsg: int):
    """A shapely geometry in EPSG:epsg as longitude/latitude."""
    convert = osr.CoordinateTransformation(epsg_srs(epsg), epsg_srs(4326))
    return shapely_transform(lambda x, y: convert.TransformPoint(x, y)[:2], geometry)


def write_label(path: Path, values: np.ndarray, left: float, top: float, epsg: int, pixel: float = 10.0) -> Path:
    """A single-band uint8 GeoTIFF label with its top-left corner at (left, top)."""
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), values.shape[1], values.shape[0], 1, gdal.GDT_Byte)
    dataset.SetGeoTransform([left, pixel, 0, top, 0, -pixel])
    dataset.SetProjection(epsg_srs(epsg).ExportToWkt())
    dataset.GetRasterBand(1).WriteArray(values)
    dataset = None
    return Path(path)
