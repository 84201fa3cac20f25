"""GUI tier: the real QGIS desktop under Xvfb with the plugin installed in a fresh profile.

QGIS is started ONCE for the module (about 10-20 s) with tests/gui/desktop_script.py as its
``--code`` script; the script does every check inside the desktop and writes a JSON report, and
the tests below assert on that report, grouped by topic. The report, QGIS's log and the
screenshots stay in test-output/gui/ (git-ignored) for a person to look at.

The profile, environment and run are tests/gui/desktop_session.py's: the profile is temporary, so the user's
own QGIS profile is never read or written.
"""
import json
from pathlib import Path

import pytest

from labelmigration.tests.gui import desktop_session as session

pytestmark = pytest.mark.gui

QGIS_TIMEOUT_S = 120
WATCHDOG_S = 100  # the script gives up (and reports where) a little before the test kills QGIS
SCRIPT = Path(__file__).with_name("desktop_script.py")
SCREENSHOTS = ("menu_open.png", "cropscene_dialog.png", "trainsegmentation_dialog.png", "stackbands_dialog.png",
               "demo_pair_canvas.png", "main_window.png", "search_dock.png", "main_window_after_reload.png")


@pytest.fixture(scope="module")
def desktop_run(start_desktop, tmp_path_factory):
    """Start QGIS once with the plugin and the desktop script; return the script's report."""
    return start_desktop(tmp_path_factory.mktemp("qgis-desktop"), SCRIPT, result="result.json", log="qgis.log",
                         screenshots=SCREENSHOTS, timeout_s=QGIS_TIMEOUT_S, watchdog_s=WATCHDOG_S)


def test_desktop_ran_to_the_end(desktop_run):
    report = session.assert_ran_to_the_end(desktop_run, QGIS_TIMEOUT_S)
    assert report["qgis_version"].startswith("3."), report["qgis_version"]


def test_plugin_provider_toolbox_and_menu(desktop_run):
    session.assert_checks(desktop_run, ["desktop_started", "plugin_loaded", "plugin_module", "provider_initial",
                                        "toolbox_initial", "menu_initial", "menu_before_help_initial"])


def test_menu_entry_opens_the_algorithm_dialog(desktop_run):
    session.assert_checks(desktop_run, ["menu_action_opens_dialog"])


def test_trainsegmentation_dialog_shows_its_parameters(desktop_run):
    session.assert_checks(desktop_run, ["trainsegmentation_dialog_created", "trainsegmentation_dialog_parameters",
                                        "trainsegmentation_dialog_title", "screenshot_trainsegmentation_dialog.png"])


def test_cropscene_dialog_shows_its_parameters(desktop_run):
    session.assert_checks(desktop_run, ["cropscene_dialog_created", "cropscene_dialog_parameters",
                                        "cropscene_dialog_title", "screenshot_cropscene_dialog.png"])


def test_stackbands_output_loads_styled_into_the_project(desktop_run):
    session.assert_checks(desktop_run, ["rasters_made", "stackbands_run", "stackbands_run_layer_in_project",
                                        "stackbands_run_layer_valid", "stackbands_run_layer_styled"])


def test_stackbands_runs_from_its_dialog(desktop_run):
    session.assert_checks(desktop_run, ["stackbands_dialog_created", "stackbands_dialog_run",
                                        "stackbands_dialog_layer_in_project", "stackbands_dialog_layer_valid",
                                        "stackbands_dialog_layer_styled"])


def test_demo_chain_outputs_load_styled(desktop_run):
    session.assert_checks(desktop_run, ["demo_label_paletted", "demo_image_true_colour", "demo_footprint_outlined",
                                        "screenshot_demo_pair_canvas.png"])


def test_search_dock_searches_from_the_menu(desktop_run):
    session.assert_checks(desktop_run, ["search_dock_created_hidden", "search_dock_menu_action", "search_dock_shown",
                                        "search_dock_results", "search_dock_layer_in_project",
                                        "search_dock_forgets_removed_layer",
                                        "screenshot_search_dock.png"])


@pytest.mark.parametrize("cycle", [1, 2])
def test_unload_and_reload(desktop_run, cycle):
    label = f"cycle{cycle}"
    session.assert_checks(desktop_run, [f"unload_{label}", f"provider_gone_{label}", f"menu_gone_{label}",
                                        f"menu_deleted_{label}", f"toolbox_gone_{label}", f"reload_{label}",
                                        f"search_dock_deleted_{label}", f"search_dock_reloaded_{label}",
                                        f"provider_reloaded_{label}", f"menu_reloaded_{label}",
                                        f"menu_before_help_reloaded_{label}", f"toolbox_reloaded_{label}"])


def test_algorithms_run_after_reloads(desktop_run):
    session.assert_checks(desktop_run, ["stackbands_after_reload"])


def _is_error(entry) -> bool:
    """As desktop_script._lm_is_error: Python errors, and Critical (2) messages from Python or about the plugin."""
    if entry.get("kind") == "error dialog" or entry["tag"] == "Python error":
        return True
    text = entry["message"].lower()
    about_plugin = entry["tag"].startswith("Python") or "labelmigration" in text or "label migration" in text
    return entry["level"] >= 2 and about_plugin


def test_no_python_errors(desktop_run):
    report = session.report_of(desktop_run)
    details = [f"[start-up] {e['kind']} {e['tag']}: {e['message']}\n{e['traceback']}"
               for e in report.get("startup_errors", []) if _is_error(e)]
    details += [f"[{e['step']}] {e['tag']} ({e['level']}): {e['message']}"
                for e in report["python_log"] if _is_error(e)]
    details += [f"[{e['step']}] uncaught: {e['traceback']}" for e in report["exceptions"]]
    details += [f"[{e['step']}] error dialog: {e['message']}\n{e['traceback']}" for e in report["stack_dialogs"]]
    assert not details, "\n".join(details)
    session.assert_checks(desktop_run, ["no_python_errors"])


def test_every_recorded_check_passed(desktop_run):
    report = session.report_of(desktop_run)
    failed = {name: check["detail"] for name, check in report["checks"].items() if not check["ok"]}
    assert not failed, json.dumps(failed, indent=2)


def _distinct_colours(path: Path) -> int:
    try:
        from PIL import Image
    except ImportError:  # fall back on Qt, which QGIS brings anyway
        from qgis.PyQt.QtGui import QImage

        image = QImage(str(path))
        assert not image.isNull(), f"{path} is not a readable image"
        colours = set()
        step = max(1, min(image.width(), image.height()) // 200)
        for y in range(0, image.height(), step):
            for x in range(0, image.width(), step):
                colours.add(image.pixel(x, y))
        return len(colours)
    with Image.open(path) as image:
        assert image.width > 100 and image.height > 100, f"{path} is only {image.size}"
        return len(image.convert("RGB").getcolors(maxcolors=1 << 24))


@pytest.mark.parametrize("name", SCREENSHOTS)
def test_screenshot_is_not_blank(desktop_run, name):
    report = session.report_of(desktop_run)
    path = desktop_run["output_dir"] / name
    assert path.is_file(), f"{path} was not written (screenshots: {report['screenshots']})"
    colours = _distinct_colours(path)
    assert colours > 1, f"{path} is a single colour"
