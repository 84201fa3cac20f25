"""GUI tier: labelmigration.zip (tools/package.py, as `make package`) installed into a fresh QGIS profile.

The zip is unzipped into <profile>/python/plugins/ and enabled in QGIS3.ini (as tools/enable_plugin.py does,
as the Plugin Manager's "Install from ZIP" leaves it). QGIS is started once under Xvfb with
tests/gui/package_install_script.py; inside the desktop the script checks that the plugin came from the
unzipped copy (module __file__), then opens ``cloudmask`` and ``cropscene`` from the Processing toolbox
(search box, double-click), fills the dialog, clicks Run and closes it. cloudmask gets no model: it runs the
model bundled in the zip. This module checks the outputs against what the plugin's core computes here.

Input: the first On Cloud N chip in tests/data/imagery/oncloudn (a real Sentinel-2 L2A chip with a human cloud
label); skipped without it. onnxruntime is made visible to QGIS's Python as in test_model_desktop.py.
Report, log and screenshots: test-output/gui/package_*.
"""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from labelmigration.tests.gui import desktop_session as session

pytestmark = pytest.mark.gui

QGIS_TIMEOUT_S = 240
WATCHDOG_S = 210
SCRIPT = Path(__file__).with_name("package_install_script.py")
RESULT = "package_result.json"
LOG = "package_qgis.log"
SCREENSHOTS = ("package_toolbox.png", "package_cloudmask_dialog.png", "package_cloudmask_log.png",
               "package_cropscene_dialog.png", "package_cropscene_log.png", "package_main_window.png")
LABEL_WINDOW = (96, 160, 200, 256)  # rows 96..255, cols 200..455 of the 512 x 512 chip: the label cropscene crops to


def _install_zip(zip_path: Path, profiles_root: Path, repo_root: Path) -> Path:
    """Unzip into a fresh profile and enable the plugin; returns the plugin folder."""
    profile_dir = profiles_root / "profiles" / session.PROFILE
    plugins = profile_dir / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(plugins)
    session.enable_plugin(profile_dir, repo_root)
    return plugins / session.PLUGIN


@pytest.fixture(scope="module")
def chip(data_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("package-inputs")
    from labelmigration.tests.support.rasters import from_origin, write_raster

    scene, chips = session.oncloudn_chip(data_dir, folder)
    epsg = int(chips["epsg"][0])
    x0, y0 = map(float, chips["ul_xy"][0])
    r0, rows, c0, cols = LABEL_WINDOW
    label = np.zeros((rows, cols), np.uint8)
    label[20:80, 30:90] = 1
    label_path = write_raster(folder / "label.tif", label, f"EPSG:{epsg}",
                              from_origin(x0 + c0 * 10, y0 - r0 * 10, 10, 10))
    return {"folder": folder, "scene": str(scene), "label": str(label_path), "image": chips["image"][0],
            "cloud_label": chips["label"][0], "label_array": label}


@pytest.fixture(scope="module")
def package_run(start_desktop, repo_root, tmp_path_factory, chip):
    tmp = tmp_path_factory.mktemp("qgis-package")
    zip_path = tmp / "labelmigration.zip"
    built = subprocess.run([sys.executable, str(repo_root / "tools" / "package.py"), str(zip_path)],
                           check=True, capture_output=True, text=True)
    print(built.stdout.strip())
    profiles_root = tmp / "profiles-root"
    plugin_dir = _install_zip(zip_path, profiles_root, repo_root)
    work = tmp / "work"
    work.mkdir()
    inputs = {
        "cloudmask": {"INPUT": chip["scene"], "OUTPUT": str(work / "cloudmask.tif")},
        "cropscene": {"SCENE": chip["scene"], "LABEL": chip["label"], "OUTPUT_IMAGE": str(work / "pair_image.tif"),
                      "OUTPUT_LABEL": str(work / "pair_label.tif")},
    }
    (tmp / "inputs.json").write_text(json.dumps(inputs))
    run = start_desktop(tmp, SCRIPT, result=RESULT, log=LOG, screenshots=SCREENSHOTS, timeout_s=QGIS_TIMEOUT_S,
                        watchdog_s=WATCHDOG_S, label="package", profiles_root=profiles_root,
                        python_path=[session.onnxruntime_folder(tmp)],
                        LM_PKG_PLUGIN_DIR=str(plugin_dir), LM_PKG_CHECKOUT=str(repo_root),
                        LM_PKG_INPUTS=str(tmp / "inputs.json"))
    run.update(zip=zip_path, plugin_dir=plugin_dir, inputs=inputs)
    return run


def test_qgis_ran_the_script_to_the_end(package_run):
    session.assert_ran_to_the_end(package_run, QGIS_TIMEOUT_S)


def test_plugin_comes_from_the_zip(package_run, repo_root):
    session.assert_checks(package_run, ["desktop_started", "plugin_loaded_from_zip_copy",
                                        "bundled_model_from_zip_copy"])
    facts = session.report_of(package_run)["facts"]
    plugin_dir = os.path.realpath(package_run["plugin_dir"])
    for name, path in facts["module_files"].items():
        assert path.startswith(plugin_dir + os.sep) and not path.startswith(str(repo_root.resolve()) + os.sep), name
    assert facts["bundled_model"] == os.path.join(plugin_dir, "models", "cloud_s2_4band.onnx")
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(repo_root / "metadata.txt", encoding="utf-8")
    assert facts["metadata_version"] == parser["general"]["version"]


def test_cloudmask_from_the_toolbox_uses_the_bundled_model(package_run, chip):
    session.assert_checks(package_run, ["cloudmask_in_toolbox", "cloudmask_dialog_from_toolbox", "cloudmask_run",
                                        "cloudmask_dialog_closed", "screenshot_package_cloudmask_dialog.png"])
    import rasterio

    from labelmigration.core.models.cloud_classes import predict_clouds

    facts = session.report_of(package_run)["facts"]
    parameters = facts["cloudmask_dialog_parameters"]
    assert parameters.get("BUILTIN_MODEL") == "0" and parameters.get("MODEL") in (None, "", "NULL", "None"), parameters
    output = package_run["inputs"]["cloudmask"]["OUTPUT"]
    expected = str(package_run["work"] / "expected_mask.tif")
    # the core's cloud mask of the same model (its classes decided by core.models.cloud_classes, whatever its channels)
    predict_clouds(chip["scene"], str(package_run["plugin_dir"] / "models" / "cloud_s2_4band.onnx"),
                   {"classes": expected})
    with rasterio.open(output) as mask, rasterio.open(expected) as reference:
        values = mask.read(1)
        np.testing.assert_array_equal(values, reference.read(1))
    assert set(np.unique(values)) <= {0, 1}
    assert (values == chip["cloud_label"]).mean() > 0.75  # agrees with the human label of this real chip
    assert facts["cloudmask_results"]["CLOUD_PERCENT"] == pytest.approx(100.0 * values.mean())


def test_cropscene_from_the_toolbox_makes_an_aligned_pair(package_run, chip):
    session.assert_checks(package_run, ["cropscene_in_toolbox", "cropscene_dialog_from_toolbox", "cropscene_run",
                                        "cropscene_dialog_closed"])
    import rasterio

    inputs = package_run["inputs"]["cropscene"]
    r0, rows, c0, cols = LABEL_WINDOW
    with rasterio.open(inputs["OUTPUT_IMAGE"]) as image, rasterio.open(inputs["OUTPUT_LABEL"]) as label, \
            rasterio.open(chip["label"]) as source_label:
        assert (image.width, image.height, image.transform) == (label.width, label.height, label.transform)
        assert image.transform == source_label.transform and (image.height, image.width) == (rows, cols)
        np.testing.assert_array_equal(image.read(), chip["image"][:, r0:r0 + rows, c0:c0 + cols])
        np.testing.assert_array_equal(label.read(1), chip["label_array"])
    assert session.report_of(package_run)["facts"]["cropscene_results"]["COVERED_PERCENT"] == pytest.approx(100.0)


def test_no_python_errors(package_run):
    session.assert_no_python_errors(package_run)


@pytest.mark.parametrize("name", SCREENSHOTS)
def test_screenshots_written(package_run, gui_output_dir, name):
    session.assert_screenshot_written(package_run, gui_output_dir / name)
