"""searchscenes through processing.run: a footprint layer against a local archive of real SAFE products."""
import csv
import datetime as dt

import pytest

from labelmigration.tests.support.safe_products import make_safe_product

pytestmark = pytest.mark.qgis
SIZE = 546
ULX, ULY = 699960.0, 5400000.0


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("archive")
    return folder, {
        "clear": make_safe_product(folder, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 18, 10, 25, 59),
                                   cloud_cover=0.5, zipped=True),
        "closer": make_safe_product(folder, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 14, 10, 25, 59),
                                    cloud_cover=0.5, seed=1),
        "cloudy": make_safe_product(folder, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 16, 10, 25, 59),
                                    cloud_cover=40.0),
    }


def footprint_layer(dates):
    """A memory layer in UTM 32N with one square label per date, inside the products' tile."""
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer
    from qgis.PyQt.QtCore import QDate

    layer = QgsVectorLayer("Polygon?crs=EPSG:32632&field=label:string&field=date:date", "footprints", "memory")
    features = []
    for index, date in enumerate(dates):
        feature = QgsFeature(layer.fields())
        x0, y0 = ULX + 1000 + index * 1500, ULY - 3000
        feature.setGeometry(QgsGeometry.fromWkt(
            f"POLYGON(({x0} {y0},{x0 + 1000} {y0},{x0 + 1000} {y0 + 1000},{x0} {y0 + 1000},{x0} {y0}))"))
        feature.setAttributes([f"label_{index}", QDate(date.year, date.month, date.day) if date else None])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def test_search_local_archive(run, archive, tmp_path):
    folder, made = archive
    layer = footprint_layer([dt.date(2020, 8, 15), dt.date(2020, 8, 17)])
    table = tmp_path / "matches.csv"
    result = run("searchscenes", {"FOOTPRINTS": layer, "DATE_FIELD": "date", "BACKEND": 3, "URL": str(folder),
                                  "MAX_CLOUD": 5, "OUTPUT": "memory:", "OUTPUT_TABLE": str(table)})
    from qgis.core import QgsProcessingContext, QgsProcessingUtils
    scenes = result["OUTPUT"]
    if isinstance(scenes, str):
        scenes = QgsProcessingUtils.mapLayerFromString(scenes, QgsProcessingContext())
    features = list(scenes.getFeatures())
    by_label = {}
    for feature in features:
        by_label.setdefault(feature["label"], []).append((feature["rank"], feature["title"], feature["offset_days"]))
    clear, closer = made["clear"].name, made["closer"].name
    # full coverage and equal cloud for both: rank by |offset| from the label date
    assert sorted(by_label["label_0"]) == [(1, closer, -1.0), (2, clear, 3.0)]
    assert sorted(by_label["label_1"]) == [(1, clear, 1.0), (2, closer, -3.0)]
    assert all(f["coverage_pct"] == pytest.approx(100.0) for f in features)
    assert all(f.geometry().isGeosValid() for f in features)
    with open(table, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and {"label", "id"} <= set(rows[0])
    assert {(r["label"], r["rank"]) for r in rows} == {("label_0", "1"), ("label_0", "2"), ("label_1", "1"),
                                                       ("label_1", "2")}


def test_missing_dates_and_empty_layers_are_clear(run, archive):
    from qgis.core import QgsProcessingException

    folder, _ = archive
    with pytest.raises(QgsProcessingException, match="No date for the labels label_0"):
        run("searchscenes", {"FOOTPRINTS": footprint_layer([None]), "DATE_FIELD": "date", "BACKEND": 3,
                             "URL": str(folder), "OUTPUT": "memory:"})
    with pytest.raises(QgsProcessingException, match="no features"):
        run("searchscenes", {"FOOTPRINTS": footprint_layer([]), "DATE": "2020-08-15", "BACKEND": 3,
                             "URL": str(folder), "OUTPUT": "memory:"})
    with pytest.raises(QgsProcessingException, match="Cannot reach http://127.0.0.1:9/"):
        run("searchscenes", {"FOOTPRINTS": footprint_layer([dt.date(2020, 8, 15)]), "DATE_FIELD": "date",
                             "BACKEND": 0, "URL": "http://127.0.0.1:9/odata/v1", "OUTPUT": "memory:"})


def test_cropscene_takes_the_ranked_scene_of_a_search_result(run, archive, tmp_path):
    """searchscenes -> cropscene as the modeler chains them: SCENES = the search output, RANK picks the scene."""
    import numpy as np
    from osgeo import gdal
    from qgis.core import QgsProcessingException

    from labelmigration.tests.support.rasters import from_origin, write_raster

    folder, made = archive
    layer = footprint_layer([dt.date(2020, 8, 15), dt.date(2020, 8, 17)])
    scenes = run("searchscenes", {"FOOTPRINTS": layer, "DATE_FIELD": "date", "BACKEND": 3, "URL": str(folder),
                                  "MAX_CLOUD": 5, "OUTPUT": str(tmp_path / "scenes.gpkg")})["OUTPUT"]
    label = write_raster(tmp_path / "label_1.tif", np.ones((10, 10), np.uint8), crs="EPSG:32632",
                         transform=from_origin(ULX + 2600, ULY - 2100, 10, 10))

    def crop(name, **parameters):
        result = run("cropscene", {"LABEL": str(label), "BAND_NAMES": "B04,B08", "OUTPUT_IMAGE": str(tmp_path / name),
                                   "OUTPUT_LABEL": str(tmp_path / f"label_{name}"), **parameters})
        dataset = gdal.Open(result["OUTPUT_IMAGE"])
        return dataset.ReadAsArray()

    # label_1's ranks (test_search_local_archive): 1 = the "clear" product, 2 = "closer"
    best, second = crop("best.tif", SCENES=scenes), crop("second.tif", SCENES=scenes, RANK=2)
    assert np.array_equal(best, crop("clear.tif", SCENE=str(made["clear"].path)))
    assert np.array_equal(second, crop("closer.tif", SCENE=str(made["closer"].path)))
    assert not np.array_equal(best, second)  # the products' seeds differ

    for parameters, pattern in (({"SCENES": scenes, "RANK": 3}, "no scene of rank 3"),
                                ({}, "Give a scene .SCENE. or a search result")):
        with pytest.raises(QgsProcessingException, match=pattern):
            crop("failed.tif", **parameters)
    other = write_raster(tmp_path / "elsewhere.tif", np.ones((10, 10), np.uint8), crs="EPSG:32632",
                         transform=from_origin(ULX + 2600, ULY - 2100, 10, 10))
    with pytest.raises(QgsProcessingException, match="scenes for 2 labels .label_0, label_1. and none is named"):
        run("cropscene", {"LABEL": str(other), "SCENES": scenes, "OUTPUT_IMAGE": str(tmp_path / "x.tif"),
                          "OUTPUT_LABEL": str(tmp_path / "y.tif")})
    assert not (tmp_path / "x.tif").exists() and not (tmp_path / "failed.tif").exists()


@pytest.mark.parametrize("backend", ["local", " Local ", "3"])
def test_backend_by_name_or_number(run, archive, backend):
    """BACKEND takes core.search.BACKEND_NAMES beside the indexes saved models and scripts use (3 = local)."""
    folder, made = archive
    layer = footprint_layer([dt.date(2020, 8, 15)])
    result = run("searchscenes", {"FOOTPRINTS": layer, "DATE_FIELD": "date", "BACKEND": backend, "URL": str(folder),
                                  "MAX_CLOUD": 5, "OUTPUT": "memory:"})
    from qgis.core import QgsProcessingContext, QgsProcessingUtils
    scenes = result["OUTPUT"]
    if isinstance(scenes, str):
        scenes = QgsProcessingUtils.mapLayerFromString(scenes, QgsProcessingContext())
    assert sorted((f["rank"], f["title"], f["backend"]) for f in scenes.getFeatures()) == [
        (1, made["closer"].name, "local"), (2, made["clear"].name, "local")]


def test_unknown_backend_name_lists_the_names(run, archive):
    from qgis.core import QgsProcessingException

    folder, _ = archive
    for algorithm, parameters in (("searchscenes", {"FOOTPRINTS": footprint_layer([dt.date(2020, 8, 15)]),
                                                    "DATE_FIELD": "date", "OUTPUT": "memory:"}),
                                  ("migratelabels", {"LABELS": str(folder), "OUTPUT_FOLDER": str(folder) + "-out"})):
        with pytest.raises(QgsProcessingException, match=r"Unknown value 'mars' for BACKEND: give one of the names "
                                                         r"cdse-odata, stac, dhus, local or their numbers 0 to 3"):
            run(algorithm, {**parameters, "BACKEND": "mars", "URL": str(folder)})


def test_local_archive_by_name_is_an_input_folder_of_migratelabels(run, archive, tmp_path):
    """migratelabels guards the local archive (URL) against its output folder whether BACKEND is 3 or 'local'."""
    from qgis.core import QgsProcessingException

    folder, _ = archive
    labels = tmp_path / "labels"
    labels.mkdir()
    for backend in (3, "local"):
        with pytest.raises(QgsProcessingException, match="nested with the input folder URL"):
            run("migratelabels", {"LABELS": str(labels), "BACKEND": backend, "URL": str(folder),
                                  "OUTPUT_FOLDER": str(folder / "migrated")})
