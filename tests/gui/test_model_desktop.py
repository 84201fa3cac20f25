"""GUI tier: the model algorithms in the real QGIS desktop under Xvfb, as a user runs them.

QGIS is started ONCE for the module with tests/gui/model_desktop_script.py as its ``--code`` script (the
profile, environment and run: tests/gui/desktop_session.py). Inside the desktop the script runs cloudmask,
segment, rasterizelabels and evaluatesegmentation from their algorithm dialogs (Run clicked, outputs opened
after running), then cloudmask from its batch dialog with two rows, and records what reached the project:
layers, renderers, palettes, opacities. This module builds the inputs beforehand (a 4-band GeoTIFF with band
descriptions B02 B03 B04 B08, tiny ONNX models with metadata, a polygon GeoPackage with a class field, a
ground truth), works out by hand what the tiny models must give, and asserts on both the report and the
output files. Report, log and screenshots stay in test-output/gui/ (model_*.json/log, *_canvas.png,
cloudmask_batch*.png).

QGIS's own Python (/usr/bin/python3) has no onnxruntime here; the test exposes the one the .venv holds to it
through a folder holding only an ``onnxruntime`` link on PYTHONPATH (as a user installs onnxruntime into the
Python QGIS runs). The checkout itself never goes on sys.path.
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from labelmigration.tests.gui import desktop_session as session

pytestmark = pytest.mark.gui

QGIS_TIMEOUT_S = 150
WATCHDOG_S = 130
SCRIPT = Path(__file__).with_name("model_desktop_script.py")
SCREENSHOTS = ("cloudmask_canvas.png", "segment_canvas.png", "evaluatesegmentation_dialog.png", "cloudmask_batch.png",
               "cloudmask_batch_log.png")
RESULT = "model_result.json"
LOG = "model_qgis.log"

# plugin styles (qgis_common/styles.py): kept literal here so a change there shows up as a failure
CLOUD_COLOUR = [0x00, 0xE5, 0xFF, 255]
CLOUD_OPACITY = 0.5
LABEL_OPACITY = 0.6
CLASS_CONFIG = [{"name": "forest", "color": "#228b22", "filter": "\"class\" = 'forest'"},
                {"name": "water", "color": "#1e90ff", "filter": "\"class\" = 'water'"}]
CLASS_COLOURS = {"1": [34, 139, 34, 255], "2": [30, 144, 255, 255]}

ROWS, COLS = 40, 50
ORIGIN = (500_000.0, 5_000_000.0)
PIXEL = 10.0
SCALE = 1e-4  # reflectance_scale of both models
CLOUD_W, CLOUD_B = (10.0, 10.0), -6.0  # cloud probability = sigmoid(10 * B02 + 10 * B04 - 6), in reflectance
LANDUSE_W, LANDUSE_B = (0.0, 10.0, -10.0), (3.0, -5.0, 5.0)  # logits on B08: 3, 10x - 5, 5 - 10x


def _scene(cloud: np.ndarray) -> np.ndarray:
    """(4, rows, cols) uint16 B02 B03 B04 B08: land cover in B08 (forest left, water right), clouds bright."""
    _, cols = np.mgrid[0:ROWS, 0:COLS]
    b02 = np.full((ROWS, COLS), 800, np.uint16)
    b03 = np.where(cols < 17, 1400, np.where(cols >= 34, 700, 1100)).astype(np.uint16)
    b04 = np.where(cols < 17, 600, np.where(cols >= 34, 400, 1000)).astype(np.uint16)
    b08 = np.where(cols < 17, 9000, np.where(cols >= 34, 300, 5000)).astype(np.uint16)
    bands = np.stack([b02, b03, b04, b08])
    bands[:, cloud] = np.array([5000, 5200, 5100, 5000], np.uint16)[:, None]
    bands[:, 0, 0] = 0  # one nodata pixel
    return bands


def _expected_cloud_mask(scene: np.ndarray) -> np.ndarray:
    from labelmigration.tests.support.onnx_models import sigmoid

    reflectance = scene.astype(np.float64) * SCALE
    probability = sigmoid(CLOUD_W[0] * reflectance[0] + CLOUD_W[1] * reflectance[2] + CLOUD_B)
    mask = (probability >= 0.5).astype(np.uint8)
    mask[(scene == 0).all(axis=0)] = 255
    return mask


def _expected_classes(scene: np.ndarray) -> np.ndarray:
    x = scene[3].astype(np.float64) * SCALE
    logits = np.stack([w * x + b for w, b in zip(LANDUSE_W, LANDUSE_B)])
    classes = logits.argmax(axis=0).astype(np.uint8)  # softmax keeps the order; no seg_thresh
    classes[(scene == 0).all(axis=0)] = 255
    return classes


def _write_labels_gpkg(path: Path) -> None:
    """Forest: the top-left 20 x 20 pixels; water: the bottom-right 20 x 20 pixels."""
    from osgeo import ogr, osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32632)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = source.CreateLayer("labels", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("class", ogr.OFTString))
    x0, y0 = ORIGIN
    for name, (c0, c1, r0, r1) in (("forest", (0, 20, 0, 20)), ("water", (30, 50, 20, 40))):
        left, right, top, bottom = x0 + c0 * PIXEL, x0 + c1 * PIXEL, y0 - r0 * PIXEL, y0 - r1 * PIXEL
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("class", name)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(
            f"POLYGON(({left} {bottom},{right} {bottom},{right} {top},{left} {top},{left} {bottom}))"))
        layer.CreateFeature(feature)
    source = None


@pytest.fixture(scope="module")
def model_inputs(tmp_path_factory):
    pytest.importorskip("onnx", reason="the onnx package builds the test models")
    from labelmigration.tests.support.onnx_models import conv_model, softmax_model
    from labelmigration.tests.support.rasters import from_origin, write_raster

    folder = tmp_path_factory.mktemp("model-inputs")
    transform = from_origin(ORIGIN[0], ORIGIN[1], PIXEL, PIXEL)
    rows, cols = np.mgrid[0:ROWS, 0:COLS]
    cloud_a = (rows - 15) ** 2 + (cols - 30) ** 2 <= 10 ** 2  # a round cloud
    cloud_b = (rows >= 25) & (rows < 35)  # a band of cloud across the scene
    scenes = {"scene_a": _scene(cloud_a), "scene_b": _scene(cloud_b)}
    paths = {}
    for name, data in scenes.items():
        paths[name] = str(write_raster(folder / f"{name}.tif", data, "EPSG:32632", transform, nodata=0,
                                       descriptions=("B02", "B03", "B04", "B08")))
    weights = np.array([[[[CLOUD_W[0]]], [[CLOUD_W[1]]]]], np.float32)
    paths["cloud_model"] = str(conv_model(
        folder / "cloud.onnx", weights, [CLOUD_B], sigmoid=True,
        metadata={"model_type": "Segmentor", "bands": ["B02", "B04"], "reflectance_scale": SCALE,
                  "class_names": {"0": "clear", "1": "cloud"}, "tile_size": 32, "tiles_overlap": 25}))
    paths["landuse_model"] = str(softmax_model(
        folder / "landuse.onnx", np.array(LANDUSE_W, np.float32).reshape(3, 1, 1, 1), list(LANDUSE_B),
        metadata={"model_type": "Segmentor", "bands": ["B08"], "reflectance_scale": SCALE,
                  "class_names": {"0": "other", "1": "forest", "2": "water"}}))
    _write_labels_gpkg(folder / "labels.gpkg")
    paths["labels_gpkg"] = str(folder / "labels.gpkg")
    expected_a = _expected_cloud_mask(scenes["scene_a"])
    truth = expected_a.copy()
    truth[30:34, 2:6] = 1  # 16 clouds the model misses (false negatives)
    truth[13:17, 28:32] = 0  # 16 of its cloud pixels are clear in truth (false positives)
    paths["truth_a"] = str(write_raster(folder / "truth_a.tif", truth, "EPSG:32632", transform, nodata=255))
    paths["class_config"] = json.dumps(CLASS_CONFIG)
    (folder / "inputs.json").write_text(json.dumps(paths))
    rasterized = np.zeros((ROWS, COLS), np.uint8)
    rasterized[0:20, 0:20] = 1
    rasterized[20:40, 30:50] = 2
    return {"folder": folder, "paths": paths, "truth": truth, "rasterized": rasterized,
            "mask_a": expected_a, "mask_b": _expected_cloud_mask(scenes["scene_b"]),
            "classes_a": _expected_classes(scenes["scene_a"])}


@pytest.fixture(scope="module")
def model_run(start_desktop, tmp_path_factory, model_inputs):
    """Start QGIS once with the plugin and the model script; return its report and the work folder."""
    tmp = tmp_path_factory.mktemp("qgis-model-desktop")
    return start_desktop(tmp, SCRIPT, result=RESULT, log=LOG, screenshots=SCREENSHOTS, timeout_s=QGIS_TIMEOUT_S,
                         watchdog_s=WATCHDOG_S, label="models", python_path=[session.onnxruntime_folder(tmp)],
                         LM_GUI_MODEL_INPUTS=str(model_inputs["folder"] / "inputs.json"))


def _read(path):
    import rasterio

    with rasterio.open(path) as dataset:
        return dataset.read(1), dataset.nodata


def _assert_label_palette(layer, name):
    assert layer["count"] == 1 and layer["valid"] and layer["in_layer_tree"], f"{name}: {layer}"
    assert layer["renderer"] == "paletted" and layer["band"] == 1, f"{name}: {layer}"
    assert layer["opacity"] == pytest.approx(LABEL_OPACITY), f"{name}: {layer}"
    classes = layer["classes"]
    assert classes["0"]["color"][3] == 0, f"{name}: background must be transparent: {classes['0']}"
    for value, colour in CLASS_COLOURS.items():
        assert classes[value]["color"] == colour, f"{name}: class {value} {classes[value]} is not {colour}"


def test_desktop_ran_to_the_end(model_run):
    session.assert_ran_to_the_end(model_run, QGIS_TIMEOUT_S)
    session.assert_checks(model_run, ["desktop_started", "image_loaded", "no_python_errors"])


def test_cloudmask_dialog_output_loads_as_a_translucent_cloud_colour(model_run, model_inputs):
    session.assert_checks(model_run, ["cloudmask_dialog_created", "cloudmask_run", "screenshot_cloudmask_canvas.png"])
    assert session.fact(model_run, "cloudmask_open_after_running")["OUTPUT"] is True
    layer = session.fact(model_run, "cloudmask_layer")
    assert layer["count"] == 1 and layer["valid"] and layer["in_layer_tree"], layer
    assert layer["renderer"] == "paletted" and layer["band"] == 1, layer
    assert layer["opacity"] == pytest.approx(CLOUD_OPACITY), layer
    assert set(layer["classes"]) == {"0", "1"}, layer["classes"]
    assert layer["classes"]["0"]["color"][3] == 0 and layer["classes"]["1"]["color"] == CLOUD_COLOUR, layer
    mask, nodata = _read(model_run["work"] / "cloudmask_a.tif")
    np.testing.assert_array_equal(mask, model_inputs["mask_a"])
    assert nodata == 255
    cloud_percent = session.fact(model_run, "cloudmask_results")["CLOUD_PERCENT"]
    valid = model_inputs["mask_a"] != 255
    assert cloud_percent == pytest.approx(100.0 * (model_inputs["mask_a"][valid] == 1).sum() / valid.sum())


def test_cloud_probability_loads(model_run):
    """The plugin sets no style on the probability: it must load, one band, in QGIS's default style."""
    layer = session.fact(model_run, "cloudprob_layer")
    assert layer["count"] == 1 and layer["valid"] and layer["bands"] == 1 and layer["in_layer_tree"], layer
    assert layer["renderer"] == "singlebandgray", layer


def test_segment_dialog_output_loads_in_the_class_colours(model_run, model_inputs):
    session.assert_checks(model_run, ["segment_dialog_created", "segment_run", "screenshot_segment_canvas.png"])
    _assert_label_palette(session.fact(model_run, "segment_layer"), "segment classes")
    classes, _ = _read(model_run["work"] / "segment_classes.tif")
    np.testing.assert_array_equal(classes, model_inputs["classes_a"])
    heatmaps = session.fact(model_run, "heatmaps_layer")
    assert heatmaps["count"] == 1 and heatmaps["valid"] and heatmaps["bands"] == 3, heatmaps


def test_rasterized_labels_load_in_the_class_colours(model_run, model_inputs):
    session.assert_checks(model_run, ["rasterizelabels_dialog_created", "rasterizelabels_run"])
    _assert_label_palette(session.fact(model_run, "rasterized_layer"), "rasterized labels")
    labels, _ = _read(model_run["work"] / "rasterized_labels.tif")
    np.testing.assert_array_equal(labels, model_inputs["rasterized"])


def test_evaluation_metrics_from_the_dialog(model_run, model_inputs):
    session.assert_checks(model_run, ["evaluatesegmentation_dialog_created", "evaluatesegmentation_run",
                                      "screenshot_evaluatesegmentation_dialog.png"])
    truth, prediction = model_inputs["truth"], model_inputs["mask_a"]
    valid = (truth != 255) & (prediction != 255)
    tp = ((truth == 1) & (prediction == 1) & valid).sum()
    fp = ((truth == 0) & (prediction == 1) & valid).sum()
    fn = ((truth == 1) & (prediction == 0) & valid).sum()
    assert (fp, fn) == (16, 16)  # the test's own inputs, as meant
    results = session.fact(model_run, "evaluatesegmentation_results")
    assert results["IOU"] == pytest.approx(tp / (tp + fp + fn))
    assert results["ACCURACY"] == pytest.approx(1 - (fp + fn) / valid.sum())
    assert os.path.realpath(results["OUTPUT_TABLE"]) == os.path.realpath(model_run["work"] / "confusion.csv")
    table = session.fact(model_run, "confusion_loadable")  # QGIS can open the CSV as a table (classes 0, 1, total)
    assert table["valid"] and table["features"] == 3 and table["fields"][0] == "truth", table


def test_evaluation_table_opens_after_running(model_run):
    table = session.fact(model_run, "confusion_layer")
    assert table["count"] == 1 and table["valid"] and table["kind"] == "vector" and table["in_layer_tree"], \
        f"the confusion matrix CSV was not opened after running: {table}; " \
        f"open-after-running box: {session.fact(model_run, 'evaluatesegmentation_open_after_running_default')}"
    assert table["features"] == 3 and table["fields"][0] == "truth", table


@pytest.mark.parametrize("fact", ["segment_layer", "rasterized_layer"])
def test_class_legend_lists_only_the_classes(model_run, fact):
    classes = session.fact(model_run, fact)["classes"]
    assert set(classes) - {"0", "255"} == set(CLASS_COLOURS), f"{len(classes)} legend entries: {sorted(classes)}"


def test_batch_dialog_runs_two_rows(model_run, model_inputs):
    session.assert_checks(model_run, ["batch_filled", "screenshot_cloudmask_batch.png", "batch_run"])
    for name, expected in (("batch_mask_a.tif", model_inputs["mask_a"]), ("batch_mask_b.tif", model_inputs["mask_b"])):
        mask, nodata = _read(model_run["work"] / name)
        np.testing.assert_array_equal(mask, expected, err_msg=name)
        assert nodata == 255
    assert not np.array_equal(model_inputs["mask_a"], model_inputs["mask_b"])  # two different answers
    # "Load layers on completion" ticked: styled as from the dialog
    for layer in session.fact(model_run, "batch_layers"):
        assert layer["count"] == 1 and layer["valid"] and layer["renderer"] == "paletted", layer
        assert layer["classes"]["1"]["color"] == CLOUD_COLOUR and layer["opacity"] == pytest.approx(CLOUD_OPACITY)


def test_batch_rows_load_without_errors(model_run):
    session.assert_checks(model_run, ["batch_run"])
    assert session.fact(model_run, "batch_load_errors") == 0, session.fact(model_run, "batch_log_tail")
