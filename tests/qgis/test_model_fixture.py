"""A graphical model saved by QGIS (tests/qgis/models/search_and_crop.model3) loads and runs with the current
parameters: searchscenes against a local archive (BACKEND=3, as saved models store it) -> cropscene of the rank-1
scene.

The .model3 was built in PyQGIS and written by QgsProcessingModelAlgorithm.toFile (the Model Designer's Save):
tests/qgis/models/build_search_and_crop.py, run once with QGIS 3.22. It is kept as QGIS wrote it, so a renamed
parameter, a renumbered enum or a changed default of either algorithm fails here as it would fail users' models.
"""
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from labelmigration.tests.support.rasters import from_origin, write_raster
from labelmigration.tests.support.safe_products import make_safe_product

pytestmark = pytest.mark.qgis
MODEL = Path(__file__).with_name("models") / "search_and_crop.model3"
ULX, ULY = 699960.0, 5400000.0


def _footprints():
    """One 1 km square label in UTM 32N, inside the products' tile."""
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    layer = QgsVectorLayer("Polygon?crs=EPSG:32632&field=label:string", "footprints", "memory")
    feature = QgsFeature(layer.fields())
    x0, y0 = ULX + 2500, ULY - 3000
    feature.setGeometry(QgsGeometry.fromWkt(
        f"POLYGON(({x0} {y0},{x0 + 1000} {y0},{x0 + 1000} {y0 + 1000},{x0} {y0 + 1000},{x0} {y0}))"))
    feature.setAttributes(["label_1"])
    layer.dataProvider().addFeatures([feature])
    return layer


def test_saved_model_runs_search_and_crop(provider, run, tmp_path):
    import processing
    from osgeo import gdal
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProcessingModelAlgorithm

    archive = tmp_path / "archive"
    archive.mkdir()
    clear = make_safe_product(archive, "L2A", size_10m=546, sensing=dt.datetime(2020, 8, 18, 10, 25, 59),
                              cloud_cover=0.5)
    make_safe_product(archive, "L2A", size_10m=546, sensing=dt.datetime(2020, 8, 16, 10, 25, 59), cloud_cover=40.0,
                      seed=1)  # closer, but above the model's MAX_CLOUD (5)
    label = write_raster(tmp_path / "label_1.tif", np.ones((10, 10), np.uint8), crs="EPSG:32632",
                         transform=from_origin(ULX + 2600, ULY - 2100, 10, 10))

    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(MODEL))
    assert model.name() == "search_and_crop"
    assert sorted(child.algorithmId() for child in model.childAlgorithms().values()) == [
        "labelmigration:cropscene", "labelmigration:searchscenes"]
    valid, errors = model.validate()
    assert valid, errors
    backend = model.childAlgorithm("search").parameterSources()["BACKEND"][0]
    assert backend.staticValue() == 3  # the saved index: the local archive

    context = QgsProcessingContext()
    results = processing.run(model, {
        "footprints": _footprints(), "archive": str(archive),
        "label_date": "2020-08-15", "label": str(label), "search:scenes": str(tmp_path / "scenes.gpkg"),
        "crop:pair_image": str(tmp_path / "pair_image.tif"), "crop:pair_label": str(tmp_path / "pair_label.tif"),
    }, feedback=QgsProcessingFeedback(), context=context)

    assert Path(results["crop:pair_image"]) == tmp_path / "pair_image.tif"
    from qgis.core import QgsVectorLayer

    scenes = QgsVectorLayer(results["search:scenes"], "scenes", "ogr")
    assert [(f["rank"], f["title"], f["backend"]) for f in scenes.getFeatures()] == [(1, clear.name, "local")]
    image, pair_label = gdal.Open(results["crop:pair_image"]), gdal.Open(results["crop:pair_label"])
    assert image.RasterCount == 2
    assert [image.GetRasterBand(i).GetDescription() for i in (1, 2)] == ["B04", "B08"]
    assert image.GetGeoTransform() == pair_label.GetGeoTransform()
    assert (image.RasterXSize, image.RasterYSize) == (pair_label.RasterXSize, pair_label.RasterYSize)
    direct = run("cropscene", {"SCENE": str(clear.path), "LABEL": str(label), "BAND_NAMES": "B04,B08",
                               "OUTPUT_IMAGE": str(tmp_path / "direct_image.tif"),
                               "OUTPUT_LABEL": str(tmp_path / "direct_label.tif")})
    assert np.array_equal(image.ReadAsArray(), gdal.Open(direct["OUTPUT_IMAGE"]).ReadAsArray())
