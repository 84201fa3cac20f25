"""migratelabels through processing.run: a label folder against a local archive of real SAFE products."""
import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from labelmigration.tests.support.rasters import from_origin, write_raster
from labelmigration.tests.support.safe_products import make_safe_product

pytestmark = pytest.mark.qgis
SIZE = 180
ULX, ULY = 699960.0, 5400000.0
HAS_REPORT = (Path(__file__).resolve().parents[2] / "core" / "qa_report.py").is_file()


def write_label(path, block_row, block_col):
    """A 12 x 8 label inside one SCL block (7 x 5 pixels of 20 m) of the generator's products."""
    x0, y0 = ULX + block_col * 140.0, ULY - block_row * 100.0
    return write_raster(path, np.ones((8, 12), dtype=np.uint8), crs="EPSG:32632",
                        transform=from_origin(x0 + 10, y0 - 10, 10, 10))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    archive = tmp_path_factory.mktemp("archive")
    made = {
        # block (10, 8): SCL class 9 (cloud) with seed 4, class 5 with seed 0
        "near": make_safe_product(archive, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 13, 10, 25, 59),
                                  cloud_cover=1.0, seed=4),
        "far": make_safe_product(archive, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 18, 10, 25, 59),
                                 cloud_cover=20.0, seed=0),
    }
    labels = tmp_path_factory.mktemp("labels")
    write_label(labels / "cloudy_20200815.tif", 10, 8)
    write_label(labels / "clear_20200815.tif", 10, 5)
    write_label(labels / "winter_20210110.tif", 10, 5)
    (labels / "broken_20200815.tif").write_bytes(b"not a raster")
    return archive, made, labels


def test_migrate_folder_from_local_archive(run, inputs, tmp_path):
    archive, made, labels = inputs
    result = run("migratelabels", {"LABELS": str(labels), "BACKEND": 3, "URL": str(archive), "DAYS_BEFORE": 5,
                                   "DAYS_AFTER": 5, "OUTPUT_FOLDER": str(tmp_path)})
    assert (result["PAIRS"], result["FAILED"]) == (2, 1)
    assert result["OUTPUT_FOLDER"] == str(tmp_path)
    with open(result["MATCHES"], newline="") as handle:
        rows = {row["label"]: row for row in csv.DictReader(handle)}
    assert (rows["cloudy_20200815"]["status"], rows["cloudy_20200815"]["scene"]) == ("done", made["far"].name)
    assert (rows["clear_20200815"]["status"], rows["clear_20200815"]["scene"]) == ("done", made["near"].name)
    assert rows["winter_20210110"]["status"] == "no scene"
    assert rows["broken_20200815"]["status"] == "failed" and rows["broken_20200815"]["reason"]
    assert (tmp_path / "images" / "cloudy_20200815.tif").is_file()
    assert (tmp_path / "labels" / "cloudy_20200815.tif").is_file()
    from qgis.core import QgsVectorLayer
    footprints = QgsVectorLayer(result["FOOTPRINTS"], "footprints", "ogr")
    assert footprints.isValid() and footprints.featureCount() == 4
    assert {"label", "status", "scene", "footprint_cloud_pct"} <= set(footprints.fields().names())
    if HAS_REPORT:
        assert Path(result["REPORT"]).is_file()

    again = run("migratelabels", {"LABELS": str(labels), "BACKEND": 3, "URL": str(archive), "DAYS_BEFORE": 5,
                                  "DAYS_AFTER": 5, "OUTPUT_FOLDER": str(tmp_path)})
    with open(again["MATCHES"], newline="") as handle:
        statuses = {row["label"]: (row["status"], row["reason"]) for row in csv.DictReader(handle)}
    assert statuses["cloudy_20200815"] == statuses["clear_20200815"] == ("skipped", "already done")


def test_label_files_date_and_footprints_load_styled(run, inputs, tmp_path, loads_results_without_a_desktop):
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProject

    archive, made, labels = inputs
    project = QgsProject.instance()
    project.clear()
    context = QgsProcessingContext()
    context.setProject(project)
    results = processing.runAndLoadResults("labelmigration:migratelabels", {
        "LABEL_FILES": [str(labels / "clear_20200815.tif")], "DATE": "2020-08-17", "BACKEND": 3,
        "URL": str(archive), "DAYS_BEFORE": 5, "DAYS_AFTER": 5, "WORKERS": 1, "OUTPUT_FOLDER": str(tmp_path)},
        context=context, feedback=QgsProcessingFeedback())
    with open(results["MATCHES"], newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["label"], r["scene"], r["offset_days"]) for r in rows] == [("clear_20200815", made["far"].name, "1")]
    layers = project.mapLayersByName("Label footprints")
    assert len(layers) == 1 and layers[0].featureCount() == 1
    assert layers[0].labelsEnabled()  # styled by footprint_styler
    project.clear()


def test_bad_parameters_are_clear(run, inputs, tmp_path):
    from qgis.core import QgsProcessingException

    archive, _, labels = inputs
    with pytest.raises(QgsProcessingException, match="No labels"):
        run("migratelabels", {"BACKEND": 3, "URL": str(archive), "OUTPUT_FOLDER": str(tmp_path)})
    with pytest.raises(QgsProcessingException, match="executor"):
        run("migratelabels", {"LABELS": str(labels), "BACKEND": 3, "URL": str(archive), "EXECUTOR": "dask please",
                              "OUTPUT_FOLDER": str(tmp_path)})
    with pytest.raises(QgsProcessingException, match="needs a URL"):
        run("migratelabels", {"LABELS": str(labels), "BACKEND": 3, "OUTPUT_FOLDER": str(tmp_path)})
