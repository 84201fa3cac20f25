"""rasterizelabels through processing.run: class filters as QGIS expressions, painting order, encodings."""
import json

import numpy as np
import pytest
import rasterio

from labelmigration.tests.support.rasters import from_origin, write_raster

pytestmark = pytest.mark.qgis


def landuse_layer():
    """Three squares in UTM 32N: residential (0..100 m), water (100..200 m), and a park overlapping both."""
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    layer = QgsVectorLayer("Polygon?crs=EPSG:32632&field=landuse:string&field=natural:string", "osm", "memory")
    features = []
    for landuse, natural, (x0, x1) in (("residential", None, (500_000, 500_100)),
                                       (None, "water", (500_100, 500_200)),
                                       ("park", None, (500_050, 500_150))):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromWkt(
            f"POLYGON(({x0} 4999900,{x1} 4999900,{x1} 5000000,{x0} 5000000,{x0} 4999900))"))
        feature.setAttributes([landuse, natural])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def test_skynet_config_paints_in_order(run, tmp_path):
    reference = write_raster(tmp_path / "reference.tif", np.zeros((20, 30), np.uint8), "EPSG:32632",
                             from_origin(500_000, 5_000_000, 10, 10))
    config = {"classes": [{"name": "Residential", "color": "#010101", "filter": "[landuse] = 'residential'"},
                          {"name": "Water", "color": "#020202", "filter": "[natural] = 'water'"},
                          {"name": "Park", "color": "#00ff00", "filter": "\"landuse\" = 'park'"}]}
    result = run("rasterizelabels", {"INPUT": landuse_layer(), "CLASSES": json.dumps(config),
                                     "REFERENCE": str(reference), "OUTPUT": str(tmp_path / "labels.tif"),
                                     "OUTPUT_RGB": str(tmp_path / "labels_rgb.tif")})
    with rasterio.open(result["OUTPUT"]) as labels, rasterio.open(result["OUTPUT_RGB"]) as rgb:
        values = labels.read(1)
        assert labels.transform == from_origin(500_000, 5_000_000, 10, 10) and labels.dtypes[0] == "uint8"
        assert (values[:10, :5] == 1).all()  # residential
        assert (values[:10, 5:15] == 3).all()  # the park paints over residential and water
        assert (values[:10, 15:20] == 2).all()  # water
        assert (values[10:, :] == 0).all() and (values[:, 20:] == 0).all()  # unmatched: background
        colours = labels.colormap(1)
        assert colours[3][:3] == (0, 255, 0) and colours[1][:3] != (1, 1, 1)
        encoded = rgb.read()
        assert tuple(encoded[:, 0, 0]) == (1, 1, 1) and tuple(encoded[:, 0, 16]) == (2, 2, 2)
        assert tuple(encoded[:, 0, 10]) == (0, 255, 0) and tuple(encoded[:, 15, 15]) == (0, 0, 0)


def test_bad_filter_is_a_clear_error(run, tmp_path):
    from qgis.core import QgsProcessingException

    reference = write_raster(tmp_path / "reference.tif", np.zeros((5, 5), np.uint8), "EPSG:32632",
                             from_origin(500_000, 5_000_000, 10, 10))
    config = [{"name": "Broken", "color": "#ff0000", "filter": "\"landuse\" = = 'x'"}]
    with pytest.raises(QgsProcessingException, match="'Broken' is not a valid expression"):
        run("rasterizelabels", {"INPUT": landuse_layer(), "CLASSES": json.dumps(config),
                                "REFERENCE": str(reference), "OUTPUT": str(tmp_path / "x.tif")})
    assert not (tmp_path / "x.tif").exists()
