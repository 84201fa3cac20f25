"""The chips' outlines as a GeoPackage layer (chips.gpkg, layer 'chips'), for looking at the splits in QGIS
(GDAL before 3.8 has no Parquet driver, so QGIS may not open chips.parquet)."""
from typing import Sequence

from osgeo import ogr, osr

from ..util.errors import LabelMigrationError
from .records import Chip

LAYER_NAME = "chips"
LAYER_FILE = "chips.gpkg"


def write_chip_layer(path: str, chips: Sequence[Chip]) -> str:
    driver = ogr.GetDriverByName("GPKG")
    source = driver.CreateDataSource(path) if driver is not None else None
    if source is None:
        raise LabelMigrationError(f"Cannot write the chip layer '{path}'.")
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    layer = source.CreateLayer(LAYER_NAME, srs, ogr.wkbPolygon)
    for name, kind in (("id", ogr.OFTString), ("split", ogr.OFTString), ("source_label", ogr.OFTString),
                       ("scene", ogr.OFTString), ("image", ogr.OFTString), ("label", ogr.OFTString),
                       ("cloud_fraction", ogr.OFTReal), ("nodata_fraction", ogr.OFTReal)):
        layer.CreateField(ogr.FieldDefn(name, kind))
    layer.StartTransaction()
    for chip in chips:
        feature = ogr.Feature(layer.GetLayerDefn())
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for x, y in chip.ring:
            ring.AddPoint_2D(x, y)
        polygon = ogr.Geometry(ogr.wkbPolygon)
        polygon.AddGeometry(ring)
        feature.SetGeometry(polygon)
        for name, value in (("id", chip.id), ("split", chip.split), ("source_label", chip.pair.label),
                            ("scene", chip.pair.row.get("scene") or None), ("image", chip.image),
                            ("label", chip.label), ("cloud_fraction", chip.stats.cloud),
                            ("nodata_fraction", chip.stats.nodata)):
            if value is not None:
                feature.SetField(name, value)
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    source = None
    return path
