"""GUI tier: migratelabels from its algorithm dialog in the real QGIS desktop under Xvfb.

QGIS is started once with tests/gui/migrate_desktop_script.py as its ``--code`` script (profile,
environment and run: tests/gui/desktop_session.py). The inputs are made here: a local archive of two small
L2A products of the project's generator and a label folder (one label clear, one half under an SCL cloud
block, one broken file). The script fills the dialog, clicks Run, and records the layer tree; the tests assert that the group
'Label migration: <folder>' holds the footprints, the chosen scenes and the pairs with their cloud masks,
styled. Report, log and screenshots: test-output/gui/migrate_result.json, migrate_qgis.log,
migrate_dialog.png, migrate_canvas.png.
"""
import csv
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from labelmigration.tests.gui import desktop_session as session
from labelmigration.tests.support.rasters import from_origin, write_raster
from labelmigration.tests.support.safe_products import make_safe_product

pytestmark = pytest.mark.gui

QGIS_TIMEOUT_S = 90
WATCHDOG_S = 75
SCRIPT = Path(__file__).with_name("migrate_desktop_script.py")
SCREENSHOTS = ("migrate_dialog.png", "migrate_canvas.png")
RESULT = "migrate_result.json"
LOG = "migrate_qgis.log"
SIZE = 180
ULX, ULY = 699960.0, 5400000.0


def _label(path, x0, y0):
    array = np.ones((8, 12), dtype=np.uint8)
    array[:, 6:] = 2
    write_raster(path, array, crs="EPSG:32632", transform=from_origin(x0, y0, 10, 10))


@pytest.fixture(scope="module")
def migrate_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("migrate-inputs")
    archive, labels, output = folder / "archive", folder / "labels", folder / "migrated"
    made = {"near": make_safe_product(archive, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 13, 10, 25, 59),
                                      cloud_cover=1.0, seed=4),
            "far": make_safe_product(archive, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 18, 10, 25, 59),
                                     cloud_cover=20.0, seed=0)}
    labels.mkdir()
    _label(labels / "field_20200815.tif", ULX + 5 * 140 + 10, ULY - 10 * 100 - 10)  # clear in both
    _label(labels / "edge_20200811.tif", ULX + 8 * 140 - 60, ULY - 10 * 100 - 10)  # half cloud, "near" only
    _label(labels / "late_20200817.tif", ULX + 6 * 140 + 10, ULY - 12 * 100 - 10)  # "far" (+1 day)
    (labels / "broken_20200815.tif").write_bytes(b"not a raster")
    paths = {"archive": str(archive), "labels": str(labels), "output": str(output)}
    (folder / "inputs.json").write_text(json.dumps(paths))
    return {"folder": folder, "paths": paths, "made": made}


@pytest.fixture(scope="module")
def migrate_run(start_desktop, tmp_path_factory, migrate_inputs):
    tmp = tmp_path_factory.mktemp("qgis-migrate-desktop")
    # CLOUD_MASKS runs the bundled ONNX cloud model: QGIS's Python needs onnxruntime (as in test_model_desktop.py)
    return start_desktop(tmp, SCRIPT, result=RESULT, log=LOG, screenshots=SCREENSHOTS, timeout_s=QGIS_TIMEOUT_S,
                         watchdog_s=WATCHDOG_S, label="migrate", python_path=[session.onnxruntime_folder(tmp)],
                         LM_GUI_MIGRATE_INPUTS=str(migrate_inputs["folder"] / "inputs.json"))


def test_desktop_ran_to_the_end_in_time(migrate_run):
    session.assert_ran_to_the_end(migrate_run, QGIS_TIMEOUT_S)
    assert migrate_run["elapsed_s"] < 60, f"the desktop run took {migrate_run['elapsed_s']:.1f} s"
    session.assert_checks(migrate_run, ["desktop_started", "no_python_errors"])


def test_migratelabels_runs_from_its_dialog(migrate_run, migrate_inputs):
    session.assert_checks(migrate_run, ["migratelabels_dialog_created", "screenshot_migrate_dialog.png",
                                        "migratelabels_run"])
    results = session.report_of(migrate_run)["facts"]["migratelabels_results"]
    assert (int(results["PAIRS"]), int(results["FAILED"])) == (3, 1), results
    output = Path(migrate_inputs["paths"]["output"])
    with open(output / "matches.csv", newline="") as handle:
        rows = {row["label"]: row for row in csv.DictReader(handle)}
    made = migrate_inputs["made"]
    assert rows["late_20200817"]["scene"] == made["far"].name and rows["edge_20200811"]["scene"] == made["near"].name
    for name in ("field_20200815", "edge_20200811", "late_20200817"):
        assert (output / "masks" / f"{name}.tif").is_file(), name


def test_the_results_load_as_a_styled_layer_group(migrate_run, migrate_inputs):
    session.assert_checks(migrate_run, ["group_loaded", "screenshot_migrate_canvas.png"])
    tree = session.report_of(migrate_run)["facts"]["layer_tree"]
    groups = [node for node in tree if node.get("group", "").startswith("Label migration: ")]
    assert [g["group"] for g in groups] == ["Label migration: migrated"], tree
    assert tree[0] is not None and tree[0].get("group") == "Label migration: migrated"  # on top
    children = groups[0]["children"]
    assert [c.get("layer") or c.get("group") for c in children] == ["Label footprints", "Chosen scenes", "Pairs (3)"]
    footprints, scenes, pairs = children
    assert footprints["valid"] and footprints["features"] == 4 and footprints["labels"], footprints
    assert scenes["valid"] and scenes["features"] == 2, scenes
    assert [p["group"] for p in pairs["children"]] == ["edge_20200811", "field_20200815", "late_20200817"]
    for pair in pairs["children"]:
        layers = {c["layer"].split(" ", 1)[1]: c for c in pair["children"]}
        assert set(layers) == {"label", "cloud mask", "image"}, pair
        assert all(layer["valid"] for layer in layers.values()), pair
        assert layers["image"]["renderer"] == "multibandcolor", pair
        assert layers["label"]["renderer"] == "paletted" and layers["label"]["opacity"] == pytest.approx(0.6)
        assert layers["cloud mask"]["renderer"] == "paletted" and layers["cloud mask"]["opacity"] == pytest.approx(0.5)
    # only the group's layers: the footprints output was moved into it, not loaded twice
    assert len(tree) == 1, tree
