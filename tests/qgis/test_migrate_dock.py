"""The dock's "Migrate labels" tab: its parameters, a background run on a small local archive, the layer group.

The archive is two small L2A products of the project's generator (tests/support/safe_products.py): the SCL
holds one class per block of 7 x 5 pixels of 20 m (class = 1 + (3 * row + 5 * col + seed) mod 11), so a
label straddling blocks (10, 7) and (10, 8) of the seed-4 product is half clear (class 4), half cloud
(class 9): its SCL cloud mask is known exactly.
"""
import csv
import datetime as dt

import numpy as np
import pytest

from labelmigration.tests.support.rasters import from_origin, write_raster
from labelmigration.tests.support.safe_products import make_safe_product

pytestmark = pytest.mark.qgis
SIZE = 180
ULX, ULY = 699960.0, 5400000.0


def write_label(path, x0, y0):
    array = np.ones((8, 12), dtype=np.uint8)
    array[:, 6:] = 2
    return write_raster(path, array, crs="EPSG:32632", transform=from_origin(x0, y0, 10, 10))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    archive = tmp_path_factory.mktemp("migrate-dock-archive")
    made = {"near": make_safe_product(archive, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 13, 10, 25, 59),
                                      cloud_cover=1.0, seed=4),
            "far": make_safe_product(archive, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 18, 10, 25, 59),
                                     cloud_cover=20.0, seed=0)}
    labels = tmp_path_factory.mktemp("migrate-dock-labels")
    # inside block (10, 5): clear in both; the closer scene ("near", -2 days) wins
    write_label(labels / "field_20200815.tif", ULX + 5 * 140 + 10, ULY - 10 * 100 - 10)
    # across blocks (10, 7) | (10, 8), dated so that only "near" is in the window: half cloud
    write_label(labels / "edge_20200811.tif", ULX + 8 * 140 - 60, ULY - 10 * 100 - 10)
    (labels / "broken_20200815.tif").write_bytes(b"not a raster")
    return archive, made, labels


def fill(dock, archive, labels, output):
    from labelmigration.ui.search_dock_requests import LOCAL_BACKEND

    dock.backend_combo.setCurrentIndex(LOCAL_BACKEND)
    dock.url_edit.setText(str(archive))
    dock.days_before.setValue(3)
    dock.days_after.setValue(3)
    dock.max_cloud.setValue(30)
    dock.migrate_panel.labels_widget.setFilePath(str(labels))
    dock.migrate_panel.output_widget.setFilePath(str(output))


def test_pure_parameter_builder():
    from qgis.PyQt.QtCore import QDate

    from labelmigration.ui.migrate_panel import migrate_parameters

    base = {"LABELS": "/labels", "BACKEND": 3, "URL": "/archive", "DAYS_BEFORE": 5, "DAYS_AFTER": 6,
            "MAX_CLOUD": 20.0, "PRODUCT": 1, "CLOUD_MASKS": True, "OUTPUT_FOLDER": "/out"}
    common = dict(days_before=5, days_after=6, max_cloud=20, backend=3, url=" /archive ")
    assert migrate_parameters(" /labels", "/out", **common) == base
    assert migrate_parameters("/labels", "/out", "pattern", date_pattern=r"_(\d{8})", bands="B04 B03,B02",
                              **common) == dict(base, DATE_PATTERN=r"_(\d{8})", BANDS="B04,B03,B02")
    assert migrate_parameters("/labels", "/out", "csv", dates_csv="/d.csv", date_pattern="ignored",
                              **common) == dict(base, DATES_CSV="/d.csv")
    assert migrate_parameters("/labels", "/out", "date", date=QDate(2020, 8, 15), cloud_masks=False,
                              cloud_model="/m.onnx", authcfg="abc1234", **common) == \
        dict(base, DATE="2020-08-15", CLOUD_MASKS=False, CLOUD_MODEL="/m.onnx", AUTHCFG="abc1234")
    with pytest.raises(ValueError):
        migrate_parameters("/labels", "/out", "guess")


def test_form_builds_what_processing_run_gets(dock, inputs, tmp_path):
    archive, _, labels = inputs
    fill(dock, archive, labels, tmp_path / "out")
    panel = dock.migrate_panel
    assert dock.tabs.tabText(1) == "Migrate labels"
    assert dock.current_migrate_parameters() == {
        "LABELS": str(labels), "BACKEND": 3, "URL": str(archive), "DAYS_BEFORE": 3, "DAYS_AFTER": 3,
        "MAX_CLOUD": 30.0, "PRODUCT": 1, "CLOUD_MASKS": True, "OUTPUT_FOLDER": str(tmp_path / "out"),
        "BANDS": "B02,B03,B04,B08"}
    panel.set_date_source("date")
    panel.date_edit.setDate(dt.date(2020, 8, 14))
    assert panel.date_stack.currentWidget() is panel.date_edit
    assert dock.current_migrate_parameters()["DATE"] == "2020-08-14"
    panel.set_date_source("csv")
    assert not dock.start_migration() and "dates CSV" in dock.status_label.text()
    panel.set_date_source("pattern")
    panel.output_widget.setFilePath("")
    assert not dock.start_migration() and "output folder" in dock.status_label.text()


def test_run_from_the_dock_loads_the_layer_group(dock, wait_idle, run, inputs, tmp_path, monkeypatch):
    from qgis.core import (QgsLayerTreeGroup, QgsLayerTreeLayer, QgsMultiBandColorRenderer,
                           QgsPalettedRasterRenderer, QgsProject)

    from labelmigration.core.migration import options as migration_options
    from labelmigration.ui import migrate_panel

    # without a cloud model the masks of L2A pairs come from SCL, which this test checks pixel by pixel
    monkeypatch.setattr(migration_options, "DEFAULT_CLOUD_MODEL", str(tmp_path / "no-model.onnx"))
    archive, made, labels = inputs
    output = tmp_path / "migrated"
    fill(dock, archive, labels, output)
    parameters = dock.current_migrate_parameters()
    assert dock.start_migration()
    assert dock.is_busy() and dock.migrate_panel.cancel_button.isEnabled()
    assert not dock.migrate_panel.run_button.isEnabled() and not dock.search_button.isEnabled()
    wait_idle(dock, 90)
    assert dock.migrate_panel.run_button.isEnabled() and not dock.migrate_panel.cancel_button.isEnabled()
    assert "2 complete pairs, 1 labels failed" in dock.status_label.text()

    with open(output / "matches.csv", newline="") as handle:
        rows = {row["label"]: row for row in csv.DictReader(handle)}
    assert (rows["field_20200815"]["status"], rows["field_20200815"]["scene"]) == ("done", made["near"].name)
    assert (rows["edge_20200811"]["status"], rows["edge_20200811"]["scene"]) == ("done", made["near"].name)
    assert rows["broken_20200815"]["status"] == "failed"
    # the same parameters through processing.run give the same matches (the pairs are then skipped as done)
    again = run("migratelabels", parameters)
    with open(again["MATCHES"], newline="") as handle:
        assert {r["label"]: r["scene"] for r in csv.DictReader(handle)} == {k: v["scene"] for k, v in rows.items()}

    # the cloud masks: SCL classes 8, 9, 10 on the pair's grid (1), class 3 as shadow (2; none in this archive)
    import rasterio
    with rasterio.open(output / "masks" / "edge_20200811.tif") as mask, \
            rasterio.open(output / "images" / "edge_20200811.tif") as image:
        assert (mask.transform, mask.shape, mask.crs, mask.nodata) == (image.transform, image.shape, image.crs, 255)
        values = mask.read(1)
    assert (values[:, :6] == 0).all() and (values[:, 6:] == 1).all(), values
    with rasterio.open(output / "masks" / "field_20200815.tif") as mask:
        assert (mask.read(1) == 0).all()

    root = QgsProject.instance().layerTreeRoot()
    group = root.findGroup(f"Label migration: {output.name}")
    assert group is not None and root.children()[0] is group
    names = [node.name() for node in group.children()]
    assert names == ["Label footprints", "Chosen scenes", "Pairs (2)"], names
    footprints, scenes = group.children()[0].layer(), group.children()[1].layer()
    assert footprints.featureCount() == 3 and footprints.labelsEnabled()
    assert scenes.featureCount() == 1 and scenes.getFeatures().__next__()["scene"] == made["near"].name
    assert scenes.getFeatures().__next__()["label_count"] == 2
    pairs = group.children()[2]
    assert [node.name() for node in pairs.children()] == ["edge_20200811", "field_20200815"]  # matches.csv order
    for sub in pairs.children():
        assert isinstance(sub, QgsLayerTreeGroup) and not sub.isExpanded()
        kinds = {}
        for node in sub.children():
            assert isinstance(node, QgsLayerTreeLayer) and node.layer().isValid()
            kinds[node.name().split(" ", 1)[1]] = node.layer().renderer()
        assert set(kinds) == {"label", "cloud mask", "image"}
        assert isinstance(kinds["image"], QgsMultiBandColorRenderer)
        assert isinstance(kinds["label"], QgsPalettedRasterRenderer) and kinds["label"].opacity() == 0.6
        assert isinstance(kinds["cloud mask"], QgsPalettedRasterRenderer)
        # a pair's mask may hold cloud shadow (SCL class 3, or a model's shadow class): its legend names all three
        # (qgis_common/styles.py CLOUD_MASK_CLASSES)
        assert [c.label for c in kinds["cloud mask"].classes()] == ["clear", "cloud", "cloud shadow"]

    # a second run replaces the group rather than stacking another one
    assert dock.start_migration()
    wait_idle(dock, 90)
    assert [g.name() for g in root.children()].count(f"Label migration: {output.name}") == 1

    # the report opens in the browser (the call is intercepted)
    opened = []
    monkeypatch.setattr(migrate_panel, "open_url", lambda url: opened.append(url.toLocalFile()) or True)
    if (output / "report.html").is_file():
        assert dock.migrate_panel.report_button.isEnabled()
        dock.migrate_panel.report_button.click()
        assert opened == [str(output / "report.html")]


def test_errors_show_in_the_dock(dock, wait_idle, inputs, tmp_path):
    archive, _, labels = inputs
    fill(dock, archive, labels, tmp_path / "out")
    dock.migrate_panel.set_date_source("pattern")
    dock.migrate_panel.date_pattern_edit.setText("([unclosed")
    assert dock.start_migration()
    wait_idle(dock, 90)
    assert "not a valid regular expression" in dock.status_label.text()
    assert dock.migrate_panel.run_button.isEnabled()


def test_many_pairs_are_capped(inputs, tmp_path, qgis_app):
    """load_results_group loads at most max_pairs pairs and says so."""
    import shutil

    from qgis.core import QgsProject

    from labelmigration.qgis_common.results_group import load_results_group

    archive, _, labels = inputs
    from labelmigration.core.migration.options import MigrationOptions
    from labelmigration.core.migration.run import migrate_labels
    migrate_labels(str(labels), MigrationOptions(backend="local", url=str(archive), days_before=3, days_after=3,
                                                 cloud_masks=True, write_report=False), str(tmp_path))
    project = QgsProject()
    loaded = load_results_group(project, str(tmp_path), max_pairs=1)
    assert (loaded["pairs"], loaded["loaded"]) == (2, 1) and "the first 1 are loaded" in loaded["message"]
    assert len(loaded["group"].children()[2].children()) == 1
    shutil.rmtree(tmp_path / "masks")  # pairs without masks load without them
    loaded = load_results_group(project, str(tmp_path))
    assert [len(sub.children()) for sub in loaded["group"].children()[2].children()] == [2, 2]
    assert len(project.layerTreeRoot().children()) == 1  # replaced, not stacked
