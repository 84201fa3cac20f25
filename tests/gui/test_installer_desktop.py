"""GUI tier: the plugin's own installer, for real, in the QGIS 3.40 desktop of the version matrix (issue 14).

Where: only on the matrix's 3.40 leg (tools/matrix/run_tests.sh 3.40 sets LM_MATRIX_QGIS=3.40; Debian 13, QGIS
3.40.6, Python 3.13, pip 25), skipped elsewhere with that reason. It needs the package registry (PyPI): on that
leg an unreachable registry FAILS the tests (it does not skip them).

What runs: a fresh profile with the checkout linked as the plugin (desktop_session.make_profile), and QGIS's
own Python WITHOUT onnxruntime (nothing is added to QGIS's PYTHONPATH but tests/gui, and QGIS runs with the test
venv's bin folder left off PATH: see desktop_session.path_without_venvs). QGIS is started once with
tests/gui/installer_desktop_script.py, which checks first that onnxruntime cannot be found, then opens Label
Migration > Python dependencies… from the menu bar, installs onnxruntime (and the dependencies the dialog
plans: what QGIS's Python lacks of flatbuffers, packaging, protobuf) into the profile's package folder with the
dialog's Install button (pip downloads from the registry; nothing is faked), checks that onnxruntime then
imports in that same session from ``<profile>/python/labelmigration-packages/python3.X``, and runs
``cloudmask`` from its algorithm dialog with the bundled model.

Expected answers: the version is the pin in requirements-plugin.txt (read here with
core.install.plugin_requirements); the
installed folder is read here with importlib.metadata; the cloud mask is compared with what the plugin's core
(core.models.cloud_classes.predict_clouds, with the test venv's onnxruntime) computes from the same chip and model, and
with the chip's human cloud label. Input: the first On Cloud N chip in tests/data/imagery/oncloudn (skipped
without it). Report, log and screenshots: test-output/gui/installer_* (on the matrix: $LM_MATRIX_OUTPUT/gui/).
"""
import importlib.metadata
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from labelmigration.tests.gui import desktop_session as session

LEG = "3.40"
pytestmark = [
    pytest.mark.gui,
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("LM_MATRIX_QGIS") != LEG,
                       reason=f"issue 14 asks for a real install on the QGIS {LEG} leg of the version matrix only "
                              f"(tools/matrix/run_tests.sh {LEG} sets LM_MATRIX_QGIS={LEG}; here it is "
                              f"{os.environ.get('LM_MATRIX_QGIS')!r})"),
]

PIP_TIMEOUT_S = 240   # onnxruntime (~24 MB) + protobuf + flatbuffers from the registry, fresh pip cache
WATCHDOG_S = 300
QGIS_TIMEOUT_S = 330
SCRIPT = Path(__file__).with_name("installer_desktop_script.py")
RESULT = "installer_result.json"
LOG = "installer_qgis.log"
SCREENSHOTS = ("installer_dialog_missing.png", "installer_dialog.png", "installer_cloudmask.png")
PACKAGE = "onnxruntime"


def _requirements():
    from labelmigration.core.install import plugin_requirements

    return plugin_requirements.read_requirements()


def _pin(name):
    return next(r.version for r in _requirements() if r.name == name)


def _onnxruntime_closure():
    """onnxruntime and the lines that say via=onnxruntime: all the dialog may install for it."""
    return {r.name for r in _requirements() if r.name == PACKAGE or PACKAGE in r.via}


def registry_problem(python: str = session.SYSTEM_PYTHON) -> str:
    """'' when pip (of QGIS's Python) reaches the registry and it offers the pinned onnxruntime, else why not."""
    pin = _pin(PACKAGE)
    try:
        result = subprocess.run([python, "-m", "pip", "index", "versions", PACKAGE, "--disable-pip-version-check"],
                                capture_output=True, text=True, timeout=90)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"pip could not ask the package registry: {error}"
    versions = result.stdout.split("Available versions:")[-1].replace(",", " ").split()
    if result.returncode != 0 or pin not in versions:
        return (f"the package registry cannot be reached or does not offer {PACKAGE} {pin} "
                f"(exit {result.returncode}): {(result.stderr or result.stdout)[-500:]}")
    return ""


@pytest.fixture(scope="module")
def registry():
    problem = registry_problem()
    if problem:
        pytest.fail(f"on the {LEG} leg the real install needs the package registry: {problem}")


@pytest.fixture(scope="module")
def chip(data_dir, tmp_path_factory):
    scene, chips = session.oncloudn_chip(data_dir, tmp_path_factory.mktemp("installer-inputs"))
    return {"scene": str(scene), "cloud_label": chips["label"][0]}


@pytest.fixture(scope="module")
def installer_run(start_desktop, tmp_path_factory, chip, registry):
    tmp = tmp_path_factory.mktemp("qgis-installer")
    work = tmp / "work"
    work.mkdir()
    inputs = {"chip": chip["scene"], "cloudmask_output": str(work / "cloudmask.tif"),
              "onnxruntime_pin": _pin(PACKAGE), "pip_timeout_s": PIP_TIMEOUT_S}
    (tmp / "inputs.json").write_text(json.dumps(inputs))
    run = start_desktop(tmp, SCRIPT, result=RESULT, log=LOG, screenshots=SCREENSHOTS, timeout_s=QGIS_TIMEOUT_S,
                        watchdog_s=WATCHDOG_S, label="installer", LM_INST_INPUTS=str(tmp / "inputs.json"))
    profile = tmp / "profiles-root" / "profiles" / session.PROFILE
    run.update(inputs=inputs, profile=profile, packages=profile / "python" / "labelmigration-packages")
    return run


def test_qgis_ran_the_script_to_the_end(installer_run):
    session.assert_ran_to_the_end(installer_run, QGIS_TIMEOUT_S)


def test_onnxruntime_was_missing_in_qgis_before(installer_run):
    session.assert_checks(installer_run, ["desktop_started", "onnxruntime_absent_before",
                                          "plugin_site_dir_is_the_profile_folder", "site_dir_on_sys_path_at_load"])
    assert session.fact(installer_run, "site_dir_existed_before") is False
    site_dir = session.fact(installer_run, "expected_site_dir")
    assert Path(site_dir).parent == installer_run["packages"], site_dir
    # the plugin said so at start-up (ui.dependencies_dialog.check_on_load)
    assert any("onnxruntime" in text for text in session.fact(installer_run, "message_bar")), \
        session.fact(installer_run, "message_bar")


def test_the_start_up_warning_goes_once_nothing_is_missing(installer_run):
    """ui.dependencies_dialog.dismiss_load_warnings: the message bar no longer asks for what was installed."""
    after = session.fact(installer_run, "message_bar_after")
    assert not any("need installing" in text for text in after), after


def test_dialog_opens_from_the_menu_and_lists_onnxruntime_missing(installer_run):
    session.assert_checks(installer_run, ["menu_in_menu_bar", "dependencies_action_in_menu", "menu_opened_by_click",
                                          "dependencies_dialog_opened", "onnxruntime_listed_missing",
                                          "dialog_targets_the_profile_folder", "package_folder_chosen",
                                          "onnxruntime_planned", "screenshot_installer_dialog_missing.png"])
    assert session.fact(installer_run, "dialog_modal") is True  # the menu runs it with exec()
    assert session.fact(installer_run, "onnxruntime_ticked_by_default") is True  # a required package
    planned = session.fact(installer_run, "planned")
    assert PACKAGE in planned and set(planned) <= _onnxruntime_closure(), planned
    argv = session.fact(installer_run, "command_argv")
    site_dir = session.fact(installer_run, "expected_site_dir")
    assert argv[1:4] == ["-m", "pip", "install"] and "--no-deps" in argv and "--user" not in argv, argv
    assert argv[argv.index("--target") + 1] == site_dir, argv
    assert os.path.basename(argv[0]).startswith("python"), argv


def test_install_button_installs_onnxruntime_from_the_registry(installer_run):
    log = session.fact(installer_run, "pip_log_tail")
    print(f"pip's log (tail):\n{log[-2500:]}")
    session.assert_checks(installer_run, ["install_started", "pip_finished", "install_succeeded",
                                          "screenshot_installer_dialog.png", "dependencies_dialog_closed"])
    pin = _pin(PACKAGE)
    assert f"onnxruntime-{pin}" in log and "Successfully installed" in log, log[-2500:]
    rows = session.fact(installer_run, "rows_after")
    assert [PACKAGE, "ok", pin] in rows, rows
    assert session.fact(installer_run, "progress") == 100
    result = session.fact(installer_run, "result_text")
    assert result.startswith("✔ Installed onnxruntime") and "without restarting QGIS" in result, result


def test_installed_files_are_in_the_profile_package_folder(installer_run):
    site_dir = Path(session.fact(installer_run, "expected_site_dir"))
    packages = installer_run["packages"]
    assert site_dir.is_dir(), f"{site_dir} missing; {packages} holds " \
                              f"{sorted(os.listdir(packages)) if packages.is_dir() else None}"
    found = {d.metadata["Name"]: d.version for d in importlib.metadata.distributions(path=[str(site_dir)])}
    planned = session.fact(installer_run, "planned")
    expected = {r.name: r.version for r in _requirements() if r.name in planned}
    assert found == expected, f"in {site_dir}: {found}; the dialog planned {expected}"
    assert (site_dir / "onnxruntime" / "__init__.py").is_file()
    # --no-deps: nothing QGIS ships (numpy above all) was copied into the folder
    assert not any(name.lower().startswith(("numpy", "osgeo", "gdal", "pyqt")) for name in os.listdir(site_dir)), \
        sorted(os.listdir(site_dir))


def test_onnxruntime_imports_in_qgis_from_that_folder(installer_run):
    session.assert_checks(installer_run, ["site_dir_on_sys_path_after", "onnxruntime_imports",
                                          "onnxruntime_from_site_dir", "onnxruntime_pinned_version"])
    assert session.fact(installer_run, "onnxruntime_version") == _pin(PACKAGE)
    site_dir = session.fact(installer_run, "expected_site_dir")
    assert session.fact(installer_run, "onnxruntime_file") == os.path.join(site_dir, "onnxruntime", "__init__.py")
    assert "CPUExecutionProvider" in session.fact(installer_run, "onnxruntime_providers")
    files = session.fact(installer_run, "dependency_files")
    planned = session.fact(installer_run, "planned")
    # what the dialog installed is imported from the folder, what QGIS's Python had (numpy above all) from there
    for distribution, module in (("protobuf", "google.protobuf"), ("flatbuffers", "flatbuffers"),
                                 ("packaging", "packaging"), ("numpy", "numpy")):
        assert files[module], f"{module} cannot be found in QGIS after the install: {files}"
        assert files[module].startswith(site_dir + os.sep) == (distribution in planned), (distribution, planned, files)


def test_cloudmask_runs_with_the_installed_onnxruntime(installer_run, chip):
    session.assert_checks(installer_run, ["chip_loaded", "cloudmask_dialog_created", "cloudmask_run",
                                          "cloudmask_output_loaded", "screenshot_installer_cloudmask.png"])
    import rasterio

    from labelmigration.core.models.cloud_classes import predict_clouds
    from labelmigration.processing.cloud_mask import BUNDLED_MODEL

    output = installer_run["inputs"]["cloudmask_output"]
    assert session.fact(installer_run, "cloudmask_open_after_running")["OUTPUT"] is True
    layer = session.fact(installer_run, "cloudmask_layer")
    assert layer["count"] == 1 and layer["valid"] and layer["renderer"] == "paletted" and layer["band"] == 1, layer
    assert layer["classes"]["0"]["color"][3] == 0, layer["classes"]  # clear sky transparent
    assert layer["classes"]["1"]["color"] == [0x00, 0xE5, 0xFF, 255], layer["classes"]  # qgis_common/styles.py
    expected = str(installer_run["work"] / "expected_mask.tif")
    # the core's cloud mask of the same model (its classes decided by core.models.cloud_classes, whatever its channels)
    predict_clouds(chip["scene"], BUNDLED_MODEL, {"classes": expected})
    with rasterio.open(output) as mask, rasterio.open(expected) as reference:
        values = mask.read(1)
        np.testing.assert_array_equal(values, reference.read(1))
    assert (values == chip["cloud_label"]).mean() > 0.75  # agrees with the human label of this real chip
    cloud_percent = session.fact(installer_run, "cloudmask_results")["CLOUD_PERCENT"]
    valid = values != 255  # the mask's nodata
    assert cloud_percent == pytest.approx(100.0 * (values[valid] == 1).mean())


def test_no_python_errors(installer_run):
    session.assert_no_python_errors(installer_run)


@pytest.mark.parametrize("name", SCREENSHOTS)
def test_screenshots_written(installer_run, gui_output_dir, name):
    session.assert_screenshot_written(installer_run, gui_output_dir / name)
