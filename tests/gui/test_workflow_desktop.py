"""GUI tier: the plugin's algorithms chained as a user chains them in the real QGIS desktop (Xvfb).

QGIS is started ONCE for the module with tests/gui/workflow_desktop_script.py as its ``--code`` script
(profile, environment, run and onnxruntime exposed: tests/gui/desktop_session.py). Inside the
desktop the script

1. runs cropscene from its batch dialog over three labels against one scene (cropscene_batch.png);
2. builds a graphical-modeler model geocodemask -> maskfootprint -> searchscenes (local archive) -> cropscene
   -> cloudmask, saves it as .model3, reads it back, opens it in the Model Designer (modeler_chain.png) and
   runs it from the model's algorithm dialog (Run clicked).

This module builds the inputs: a local archive of three small SAFE products (tests/support/safe_products.py)
over the bundled demo label, of which only one is the best match (two pass the cloud limit, the less cloudy
one ranks first; the third is too cloudy), a one-band ONNX cloud model whose threshold splits the scene, and
three label rasters for the batch. It then checks every output file with GDAL against values worked out here.
Report, log and screenshots stay in test-output/gui/ (workflow_*.json/log, modeler_chain*.png,
cropscene_batch*.png).
"""
import json
import os
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from labelmigration.tests.gui import desktop_session as session

pytestmark = pytest.mark.gui

QGIS_TIMEOUT_S = 150
WATCHDOG_S = 100
SCRIPT = Path(__file__).with_name("workflow_desktop_script.py")
SCREENSHOTS = ("modeler_chain.png", "modeler_chain_canvas.png", "cropscene_batch.png", "cropscene_batch_log.png")
RESULT = "workflow_result.json"
LOG = "workflow_qgis.log"

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo" / "data"
LABEL_PNG = DEMO / "20200812_101512_1014_label.png"
REFERENCE = DEMO / "20200812_101512_1014_3B_Visual.tif"
DEMO_SCENE = DEMO / "S2B_MSIL2A_20200815T102559_N0214_R108_T32UPU_subset.tif"
LABEL_DATE = "2020-08-12"

# the archive: three products of the same tile over the demo label (UTM 32N, 3.6 km x 3.6 km)
TILE_ULX, TILE_ULY, TILE_SIZE = 690000.0, 5340000.0, 360
PRODUCTS = {"best": dict(sensing=datetime(2020, 8, 15, 10, 25, 59), cloud_cover=5.0, seed=0),
            "second": dict(sensing=datetime(2020, 8, 14, 10, 25, 59), cloud_cover=15.0, seed=1),
            "too_cloudy": dict(sensing=datetime(2020, 8, 13, 10, 25, 59), cloud_cover=60.0, seed=2)}
PAIR_BANDS = ("B02", "B03", "B04", "B08")
CLOUD_WEIGHT = 50.0  # cloud probability = sigmoid(50 * (B02 reflectance - median B02 under the label))

# batch labels against the demo scene (EPSG:32632, 10 m, upper-left (690000, 5340000), 400 x 400)
SCENE_ULX, SCENE_ULY = 690000.0, 5340000.0
BATCH_LABELS = (  # name, origin x, origin y, pixel size, rows, cols
    ("aligned", 690500.0, 5339500.0, 10.0, 30, 40),
    ("coarse", 692000.0, 5338000.0, 20.0, 15, 12),
    ("shifted", 690803.0, 5338397.0, 10.0, 25, 20),  # 3 m off the scene grid in x and y
)
LABEL_NODATA = 255


def _gdal():
    from osgeo import gdal

    gdal.UseExceptions()
    return gdal


def _read(path):
    """(bands, rows, cols) array, geotransform, CRS WKT, nodata of band 1."""
    dataset = _gdal().Open(str(path))
    data = dataset.ReadAsArray()
    data = data if data.ndim == 3 else data[np.newaxis]
    return data, dataset.GetGeoTransform(), dataset.GetProjection(), dataset.GetRasterBand(1).GetNoDataValue()


def _same_crs(wkt_a, wkt_b):
    from osgeo import osr

    a, b = osr.SpatialReference(), osr.SpatialReference()
    a.ImportFromWkt(wkt_a)
    b.ImportFromWkt(wkt_b)
    return bool(a.IsSame(b))


def _label_bbox_utm():
    """The demo reference's extent (EPSG:3035) in UTM 32N, as (xmin, ymin, xmax, ymax)."""
    from osgeo import osr

    dataset = _gdal().Open(str(REFERENCE))
    gt = dataset.GetGeoTransform()
    source, target = osr.SpatialReference(), osr.SpatialReference()
    source.ImportFromWkt(dataset.GetProjection())
    target.ImportFromEPSG(32632)
    for srs in (source, target):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(source, target)
    corners = [transform.TransformPoint(gt[0] + c * gt[1], gt[3] + r * gt[5])[:2]
               for c in (0, dataset.RasterXSize) for r in (0, dataset.RasterYSize)]
    xs, ys = zip(*corners)
    return min(xs), min(ys), max(xs), max(ys)


@pytest.fixture(scope="module")
def workflow_inputs(tmp_path_factory):
    pytest.importorskip("onnx", reason="the onnx package builds the test cloud model")
    from labelmigration.tests.support.onnx_models import conv_model
    from labelmigration.tests.support.rasters import from_origin, write_raster
    from labelmigration.tests.support.safe_products import make_safe_product

    folder = tmp_path_factory.mktemp("workflow-inputs")
    archive = folder / "archive"
    products = {name: make_safe_product(archive, ulx=TILE_ULX, uly=TILE_ULY, size_10m=TILE_SIZE, **options)
                for name, options in PRODUCTS.items()}
    best = products["best"]
    # the cloud threshold: the median B02 reflectance of the best product under the label's bounding box
    xmin, ymin, xmax, ymax = _label_bbox_utm()
    c0, c1 = int((xmin - TILE_ULX) // 10), int((xmax - TILE_ULX) // 10) + 1
    r0, r1 = int((TILE_ULY - ymax) // 10), int((TILE_ULY - ymin) // 10) + 1
    threshold = float(np.nanmedian(best.expected_reflectance("B02")[r0:r1, c0:c1]))
    cloud_model = conv_model(
        folder / "cloud_b02.onnx", np.array([[[[CLOUD_WEIGHT]]]], np.float32), [-CLOUD_WEIGHT * threshold],
        sigmoid=True, metadata={"model_type": "Segmentor", "bands": ["B02"], "reflectance_scale": 1e-4,
                                "class_names": {"0": "clear", "1": "cloud"}})
    labels, label_arrays = [], {}
    for index, (name, x0, y0, pixel, rows, cols) in enumerate(BATCH_LABELS):
        r, c = np.mgrid[0:rows, 0:cols]
        data = (1 + (r // 4 + c // 3 + index) % 3).astype(np.uint8)  # classes 1..3 in small blocks
        data[:3, :3] = 0  # some background
        path = write_raster(folder / f"label_{name}.tif", data, "EPSG:32632", from_origin(x0, y0, pixel, pixel),
                            nodata=LABEL_NODATA)
        labels.append(str(path))
        label_arrays[str(path)] = (data, (x0, pixel, 0.0, y0, 0.0, -pixel))
    inputs = {"label_png": str(LABEL_PNG), "reference": str(REFERENCE), "archive": str(archive),
              "label_date": LABEL_DATE, "cloud_model": str(cloud_model), "batch_scene": str(DEMO_SCENE),
              "batch_labels": labels}
    (folder / "inputs.json").write_text(json.dumps(inputs))
    return {"folder": folder, "inputs": inputs, "products": products, "threshold": threshold,
            "labels": label_arrays}


@pytest.fixture(scope="module")
def workflow_run(start_desktop, tmp_path_factory, workflow_inputs):
    """Start QGIS once with the plugin and the workflow script; return its report and the work folder."""
    tmp = tmp_path_factory.mktemp("qgis-workflow-desktop")
    return start_desktop(tmp, SCRIPT, result=RESULT, log=LOG, screenshots=SCREENSHOTS, timeout_s=QGIS_TIMEOUT_S,
                         watchdog_s=WATCHDOG_S, label="workflow", python_path=[session.onnxruntime_folder(tmp)],
                         LM_GUI_WORKFLOW_INPUTS=str(workflow_inputs["folder"] / "inputs.json"))


def _assert_same_grid(a, b, what):
    (data_a, gt_a, crs_a, _), (data_b, gt_b, crs_b, _) = a, b
    assert data_a.shape[1:] == data_b.shape[1:], f"{what}: sizes {data_a.shape} vs {data_b.shape}"
    assert np.allclose(gt_a, gt_b, atol=1e-6), f"{what}: geotransforms {gt_a} vs {gt_b}"
    assert _same_crs(crs_a, crs_b), f"{what}: CRS differ"


def _epsg_wkt(code):
    from osgeo import osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(code)
    return srs.ExportToWkt()


def _on_grid(gt, ulx, uly, pixel=10.0):
    return (gt[1] == pixel and gt[5] == -pixel and gt[2] == gt[4] == 0
            and abs((gt[0] - ulx) / pixel - round((gt[0] - ulx) / pixel)) < 1e-9
            and abs((uly - gt[3]) / pixel - round((uly - gt[3]) / pixel)) < 1e-9)


def _window(gt, ulx, uly, shape, pixel=10.0):
    col, row = int(round((gt[0] - ulx) / pixel)), int(round((uly - gt[3]) / pixel))
    return slice(row, row + shape[0]), slice(col, col + shape[1])


# --- the run ---------------------------------------------------------------------------------

def test_desktop_ran_to_the_end(workflow_run):
    session.assert_ran_to_the_end(workflow_run, QGIS_TIMEOUT_S)
    session.assert_checks(workflow_run, ["desktop_started", "no_python_errors"])


# --- 1. the modeler chain --------------------------------------------------------------------

def test_model_opens_in_the_designer(workflow_run):
    session.assert_checks(workflow_run, ["model_valid", "model_saved", "model_reloaded", "designer_open",
                                         "model_dialog_created", "screenshot_modeler_chain.png"])
    assert session.fact(workflow_run, "model_children") == [f"labelmigration:{a}" for a in (
        "cloudmask", "cropscene", "geocodemask", "maskfootprint", "searchscenes")]
    dependencies = session.fact(workflow_run, "model_dependencies")
    assert dependencies["cloud"] == ["crop", "footprint", "geocode", "search"], dependencies
    assert dependencies["search"] == ["footprint", "geocode"], dependencies
    assert session.fact(workflow_run, "designer_items") >= 5 + 5 + 4, "the designer's scene lacks the model's items"


def test_model_run_picks_the_best_scene_of_the_search(workflow_run, workflow_inputs):
    session.assert_checks(workflow_run, ["model_run"])
    products = workflow_inputs["products"]
    # cropscene took the search output (SCENES) and cropped its rank-1 scene: the too-cloudy product is
    # filtered out, of the other two the less cloudy ranks first (the pixels are checked below)
    lines = set(session.fact(workflow_run, "model_scene_lines"))  # the model dialog may echo a child's line
    assert len(lines) == 1, lines
    assert lines.pop().endswith(f"Scene of rank 1 in the search result: {os.path.abspath(str(products['best'].path))}"), lines


def test_model_outputs_load_styled(workflow_run):
    """The model's outputs open in the project after the run, with the plugin's styles (qgis_common/styles.py)."""
    layers = session.fact(workflow_run, "model_layers")
    for name, layer in layers.items():
        assert layer["count"] == 1 and layer["valid"] and layer["in_layer_tree"], f"{name}: {layer}"
    assert layers["crop:pair_image"]["renderer"] == "multibandcolor"
    assert layers["crop:pair_label"]["renderer"] == "paletted"
    mask = layers["cloud:cloud_mask"]
    assert mask["renderer"] == "paletted" and mask["opacity"] == pytest.approx(0.5), mask
    assert mask["classes"]["1"]["color"] == [0x00, 0xE5, 0xFF, 255], mask


def test_model_geocodes_the_label_on_the_reference(workflow_run):
    session.assert_checks(workflow_run, ["model_run"])
    label = _read(workflow_run["work"] / "model_label.tif")
    reference = _read(REFERENCE)
    _assert_same_grid(label, reference, "geocoded label vs reference")
    png = _gdal().Open(str(LABEL_PNG)).ReadAsArray()
    np.testing.assert_array_equal(label[0][0], png)


def test_model_pair_grids_are_aligned(workflow_run, workflow_inputs):
    session.assert_checks(workflow_run, ["model_run"])
    work = workflow_run["work"]
    image = _read(work / "model_pair_image.tif")
    label = _read(work / "model_pair_label.tif")
    _assert_same_grid(image, label, "pair image vs pair label")
    best = workflow_inputs["products"]["best"]
    assert _same_crs(image[2], _epsg_wkt(best.epsg)), "the pair is not in the scene's CRS"
    assert _on_grid(image[1], TILE_ULX, TILE_ULY), f"the pair grid {image[1]} is not the scene's 10 m grid"
    # the window is the label's bounding box on the scene grid: its right and bottom edges (full of label data)
    # snapped outward; the top-left corner of the reference is nodata, so the valid outline may start up to a
    # pixel or two inside the reference's own corner there
    xmin, ymin, xmax, ymax = _label_bbox_utm()
    gt, rows, cols = image[1], image[0].shape[1], image[0].shape[2]
    assert abs(gt[0] - xmin) <= 20 and abs(gt[3] - ymax) <= 20, (gt, (xmin, ymax))
    assert gt[0] + cols * 10 >= xmax > gt[0] + (cols - 1) * 10, (gt, cols, xmax)
    assert gt[3] - rows * 10 <= ymin < gt[3] - (rows - 1) * 10, (gt, rows, ymin)
    # the image holds the best product's own pixels (never resampled), band by band
    window = _window(gt, TILE_ULX, TILE_ULY, (rows, cols))
    valid = (image[0] != 0).any(axis=0)
    assert valid.mean() > 0.4, f"only {valid.mean():.0%} of the pair has image data"
    for index, band in enumerate(PAIR_BANDS):
        expected = best.expected_dn(band, 10)[window]
        np.testing.assert_array_equal(image[0][index][valid], expected[valid], err_msg=band)
    # the label on the pair grid: the geocoded label (band 1 classes, band 2 validity) warped with nearest
    # neighbour onto that grid by GDAL itself; nodata where the label has no valid data
    gdal = _gdal()
    assert label[3] is not None
    warped_dataset = gdal.Warp("", str(work / "model_label.tif"), format="MEM", dstSRS=image[2],
                               outputBounds=(gt[0], gt[3] - rows * 10, gt[0] + cols * 10, gt[3]), width=cols,
                               height=rows, resampleAlg="near")
    warped = warped_dataset.ReadAsArray()  # keep the dataset alive while reading
    expected = np.where(warped[1] == 1, warped[0], label[3])
    np.testing.assert_array_equal(label[0][0], expected)
    assert set(np.unique(label[0][0])) - {label[3]} == {0, 1, 2}, np.unique(label[0][0])


def test_model_cloud_mask_is_on_the_pair_grid(workflow_run, workflow_inputs):
    from labelmigration.tests.support.onnx_models import sigmoid

    session.assert_checks(workflow_run, ["model_run"])
    image = _read(workflow_run["work"] / "model_pair_image.tif")
    mask = _read(workflow_run["work"] / "model_cloud_mask.tif")
    _assert_same_grid(image, mask, "cloud mask vs pair image")
    assert mask[0].shape[0] == 1 and mask[3] == 255
    dataset = _gdal().Open(str(workflow_run["work"] / "model_pair_image.tif"))
    band = dataset.GetRasterBand(1)  # B02, with the product's offset and scale written by cropscene
    scale, offset = band.GetScale() or 1.0, band.GetOffset() or 0.0
    assert (scale, offset) == pytest.approx((1e-4, -0.1)), (scale, offset)
    reflectance = image[0][0].astype(np.float64) * scale + offset
    probability = sigmoid(CLOUD_WEIGHT * (reflectance - workflow_inputs["threshold"]))
    nodata = (image[0] == 0).all(axis=0)
    expected = np.where(nodata, 255, probability >= 0.5).astype(np.uint8)
    decided = np.abs(probability - 0.5) > 1e-3  # float32 inference may flip pixels right at the threshold
    np.testing.assert_array_equal(mask[0][0][decided], expected[decided])
    clouds = (mask[0][0] == 1).sum() / (~nodata).sum()
    assert 0.2 < clouds < 0.8, f"the threshold should split the pair, cloud share {clouds:.2f}"


# --- 2. the batch panel ----------------------------------------------------------------------

def test_batch_dialog_is_filled_with_one_row_per_label(workflow_run):
    session.assert_checks(workflow_run, ["batch_filled", "screenshot_cropscene_batch.png", "batch_run"])
    assert len(session.fact(workflow_run, "batch_rows")) == len(BATCH_LABELS)
    assert session.fact(workflow_run, "batch_load_errors") == 0, session.fact(workflow_run, "batch_log_tail")


@pytest.mark.parametrize("row", range(len(BATCH_LABELS)), ids=[b[0] for b in BATCH_LABELS])
def test_batch_pair(workflow_run, workflow_inputs, row):
    session.assert_checks(workflow_run, ["batch_run"])
    image = _read(workflow_run["work"] / f"batch_image_{row}.tif")
    label = _read(workflow_run["work"] / f"batch_label_{row}.tif")
    scene = _read(DEMO_SCENE)
    _assert_same_grid(image, label, f"row {row}: image vs label")
    assert _same_crs(image[2], scene[2])
    gt, rows, cols = image[1], image[0].shape[1], image[0].shape[2]
    assert _on_grid(gt, SCENE_ULX, SCENE_ULY), f"row {row}: {gt} is not the scene's grid"
    assert image[0].shape[0] == scene[0].shape[0]
    # the scene's own pixels where the image has data
    window = _window(gt, SCENE_ULX, SCENE_ULY, (rows, cols))
    valid = (image[0] != 0).any(axis=0)
    np.testing.assert_array_equal(image[0][:, valid], scene[0][(slice(None),) + window][:, valid])
    # the label at each pair pixel centre, worked out from the label's own grid
    data, (x0, pixel, _, y0, _, _) = workflow_inputs["labels"][workflow_inputs["inputs"]["batch_labels"][row]]
    xs = gt[0] + (np.arange(cols) + 0.5) * 10
    ys = gt[3] - (np.arange(rows) + 0.5) * 10
    c = np.floor((xs - x0) / pixel).astype(int)
    r = np.floor((y0 - ys) / pixel).astype(int)
    inside = (r[:, None] >= 0) & (r[:, None] < data.shape[0]) & (c[None, :] >= 0) & (c[None, :] < data.shape[1])
    expected = np.full((rows, cols), label[3], np.float64)
    expected[inside] = data[np.clip(r, 0, data.shape[0] - 1)[:, None].repeat(cols, 1)[inside],
                            np.clip(c, 0, data.shape[1] - 1)[None, :].repeat(rows, 0)[inside]]
    np.testing.assert_array_equal(label[0][0], expected)
    assert inside.sum() >= data.size * (pixel / 10) ** 2 * 0.9, "the pair misses part of the label"
    # the window is the label's extent snapped outward to the scene grid, and every pixel the (fully valid,
    # rectangular) label touches has image data (cropscene masks the image with ALL_TOUCHED)
    x_right, y_bottom = x0 + data.shape[1] * pixel, y0 - data.shape[0] * pixel
    assert gt[0] == SCENE_ULX + np.floor((x0 - SCENE_ULX) / 10) * 10, (gt, x0)
    assert gt[3] == SCENE_ULY - np.floor((SCENE_ULY - y0) / 10) * 10, (gt, y0)
    assert gt[0] + cols * 10 == SCENE_ULX + np.ceil((x_right - SCENE_ULX) / 10) * 10, (gt, cols, x_right)
    assert gt[3] - rows * 10 == SCENE_ULY - np.ceil((SCENE_ULY - y_bottom) / 10) * 10, (gt, rows, y_bottom)
    assert valid.all(), f"the image lacks data in {(~valid).sum()} pixels the label touches"
