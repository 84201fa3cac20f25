"""Runs INSIDE the QGIS desktop (``qgis --code``), started by tests/gui/test_installer_desktop.py.

The profile is fresh, the checkout linked as the plugin, and QGIS's own Python has no onnxruntime. The script
does what a user does the first time: Label Migration > Python dependencies… from the menu bar (the menu
clicked open, the entry clicked), the dialog lists onnxruntime as missing, the install goes into the profile's
package folder (the default; the --user box stays unticked), onnxruntime ticked when it is not already,
"Install selected" clicked, pip's output waited for, the dialog screenshotted and closed with its Close button.
Then onnxruntime must import in this QGIS session from ``<profile>/python/labelmigration-packages/python3.X``
(nothing here touches sys.path: the plugin put that folder there when it loaded, the dialog refreshed the
import caches), and ``cloudmask`` runs from its algorithm dialog with the bundled model. Environment:

  LM_GUI_RESULT, LM_GUI_OUTPUT_DIR, LM_GUI_WORK_DIR, LM_GUI_WATCHDOG_S, LM_GUI_EARLY_ERRORS  (desktop_harness.py)
  LM_INST_INPUTS   JSON: {"chip": GeoTIFF path, "cloudmask_output": path, "onnxruntime_pin": "1.31.1",
                          "pip_timeout_s": seconds}
"""
import importlib
import importlib.util
import os
import sys

from qgis.core import QgsApplication, QgsProject, QgsRasterLayer
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtTest import QTest
from qgis.PyQt.QtWidgets import QApplication, QDialogButtonBox

import desktop_harness
from desktop_harness import describe, layers_with_source, show_only, wait_until

import qgis.utils

lm = desktop_harness.Harness(tag="labelmigration-installer", inputs_env="LM_INST_INPUTS",
                             extra_log_tags=("Label Migration", "Processing"), watchdog_default=300)
_IN = lm.inputs
_MENU = "labelMigrationMenu"
_ACTION = "labelMigration_dependencies"
_DIALOG = "labelMigrationDependenciesDialog"


def _expected_site_dir():
    """<profile>/python/labelmigration-packages/python3.X, worked out here from the profile QGIS runs."""
    profile = QgsApplication.qgisSettingsDirPath()
    return os.path.normpath(os.path.join(profile, "python", "labelmigration-packages",
                                         "python%d.%d" % sys.version_info[:2]))


def _dialogs():
    return [w for w in QApplication.topLevelWidgets() if w.objectName() == _DIALOG and w.isVisible()]


def _under(path, folder):
    return bool(path) and os.path.realpath(path).startswith(os.path.realpath(folder) + os.sep)


def _stopped(step):
    """True (and why recorded) when an earlier step found a reason not to go on."""
    if lm.state.get("stop"):
        lm.check(f"{step}_skipped", False, f"not run: {lm.state['stop']}")
        return True
    return False


# --- steps -----------------------------------------------------------------------------------

def _step_wait_for_desktop():
    return lm.step_wait_for_desktop(detail="main window, Processing and the plugin's provider", settle_ms=500)


def _step_before():
    """Nothing installed yet: QGIS's Python cannot find onnxruntime, the package folder is on sys.path."""
    from labelmigration.core.install import plugin_site

    site_dir = _expected_site_dir()
    lm.state["site_dir"] = site_dir
    lm.fact("expected_site_dir", site_dir)
    lm.fact("plugin_site_dir", os.path.normpath(plugin_site.plugin_site_dir()))
    lm.fact("sys_executable", sys.executable)
    lm.fact("python_version", "%d.%d.%d" % sys.version_info[:3])
    lm.fact("pythonpath", os.environ.get("PYTHONPATH", ""))
    lm.fact("sys_path_before", list(sys.path))
    lm.fact("site_dir_existed_before", os.path.exists(site_dir))
    spec = importlib.util.find_spec("onnxruntime")
    lm.fact("onnxruntime_spec_before", None if spec is None else str(spec.origin))
    if not lm.check("onnxruntime_absent_before", spec is None and "onnxruntime" not in sys.modules,
                    "onnxruntime is not importable in QGIS's Python" if spec is None else
                    f"QGIS's Python already finds onnxruntime at {spec.origin} (sys.executable {sys.executable}, "
                    f"PYTHONPATH {os.environ.get('PYTHONPATH', '')!r}): installing it would prove nothing"):
        lm.state["stop"] = "onnxruntime was importable before the install"
    lm.check("plugin_site_dir_is_the_profile_folder", os.path.normpath(plugin_site.plugin_site_dir()) == site_dir,
             f"plugin_site.plugin_site_dir() {plugin_site.plugin_site_dir()}, expected {site_dir}")
    lm.check("site_dir_on_sys_path_at_load", site_dir in (os.path.normpath(p) for p in sys.path if p),
             f"{site_dir} in sys.path: {sys.path[:4]}…")
    # check_on_load's message bar entry, as the user sees it at start-up
    lm.fact("message_bar", [" ".join(filter(None, (item.title(), item.text())))
                            for item in qgis.utils.iface.messageBar().items()])


def _step_open_dialog():
    """The menu bar's Label Migration menu clicked open, then its "Python dependencies…" entry clicked."""
    if _stopped("open_dialog"):
        return
    window = qgis.utils.iface.mainWindow()
    menu_bar = window.menuBar()
    entries = [a for a in menu_bar.actions() if a.menu() is not None and a.menu().objectName() == _MENU]
    if not lm.check("menu_in_menu_bar", len(entries) == 1,
                    f"menu bar: {[a.text() for a in menu_bar.actions()]}"):
        lm.state["stop"] = "no Label Migration menu"
        return
    menu = entries[0].menu()
    action = next((a for a in menu.actions() if a.objectName() == _ACTION), None)
    lm.fact("menu_action_text", None if action is None else action.text())
    if not lm.check("dependencies_action_in_menu", action is not None and action.text() == "Python dependencies…",
                    f"actions: {[(a.objectName(), a.text()) for a in menu.actions()]}"):
        lm.state["stop"] = "no Python dependencies… entry"
        return
    QTest.mouseClick(menu_bar, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     menu_bar.actionGeometry(entries[0]).center())
    shown = yield from wait_until(lambda: menu.isVisible() and not menu.actionGeometry(action).isEmpty(), 10)
    lm.check("menu_opened_by_click", shown, "clicked the menu's title in the menu bar")
    yield 300
    point = menu.actionGeometry(action).center()
    # the entry runs the dialog with exec(): click from a timer, so this runner goes on inside that loop
    if shown:
        QTimer.singleShot(0, lambda: QTest.mouseClick(menu, Qt.MouseButton.LeftButton,
                                                      Qt.KeyboardModifier.NoModifier, point))
    else:
        menu.hide()
        QTimer.singleShot(0, action.trigger)
    opened = yield from wait_until(lambda: _dialogs(), 20)
    if not lm.check("dependencies_dialog_opened", opened, f"objectName {_DIALOG} among the visible windows"):
        lm.state["stop"] = "the dependencies dialog did not open"
        return
    dialog = _dialogs()[0]
    lm.state["dialog"] = dialog
    lm.fact("dialog_modal", dialog.isModal())
    lm.fact("dialog_title", dialog.windowTitle())
    yield 500


def _step_choose():
    """onnxruntime listed as missing; the profile's package folder chosen (the default); onnxruntime ticked."""
    if _stopped("choose"):
        return
    dialog = lm.state["dialog"]
    dialog.resize(1100, 760)
    rows = [list(row) for row in dialog.status_rows()]
    lm.fact("rows_before", rows)
    lm.check("onnxruntime_listed_missing", ["onnxruntime", "missing", ""] in rows, rows)
    lm.fact("dialog_site_dir", dialog.site_dir)
    lm.fact("dialog_python", dialog.python)
    lm.fact("python_label", dialog.python_label.text())
    lm.check("dialog_targets_the_profile_folder", os.path.normpath(dialog.site_dir) == lm.state["site_dir"],
             f"dialog site_dir {dialog.site_dir}, expected {lm.state['site_dir']}")
    if dialog.user_box.isChecked():
        dialog.user_box.setChecked(False)
    lm.check("package_folder_chosen", not dialog.user_box.isChecked(), "the --user box is not ticked")
    row = next((i for i, status in enumerate(dialog.top_statuses) if status.requirement.name == "onnxruntime"), None)
    item = dialog.table.item(row, 0) if row is not None else None
    lm.fact("onnxruntime_ticked_by_default", item is not None and item.checkState() == Qt.CheckState.Checked)
    if item is not None and item.checkState() != Qt.CheckState.Checked:
        item.setCheckState(Qt.CheckState.Checked)  # as a click on the box; itemChanged rebuilds the command
    yield 300
    lm.fact("chosen", dialog.chosen())
    lm.fact("planned", [r.name for r in dialog.planned])
    lm.fact("command", dialog.command_edit.text())
    lm.fact("command_argv", list(dialog.command))
    lm.check("onnxruntime_planned", "onnxruntime" in [r.name for r in dialog.planned]
             and dialog.install_button.isEnabled(),
             f"planned {[r.name for r in dialog.planned]}, install enabled {dialog.install_button.isEnabled()}, "
             f"command {dialog.command_edit.text()!r}")
    lm.grab(dialog, "installer_dialog_missing.png")


def _step_install():
    """Install selected clicked; pip's output streamed into the log until it exits."""
    if _stopped("install"):
        return
    dialog = lm.state["dialog"]
    QTest.mouseClick(dialog.install_button, Qt.MouseButton.LeftButton)
    started = yield from wait_until(lambda: dialog.process is not None or dialog.result_label.text(), 5)
    lm.check("install_started", started and dialog.process is not None,
             f"result: {dialog.result_label.text()!r}; log: {dialog.log.toPlainText()[-500:]}")
    timeout = float(_IN["pip_timeout_s"])
    finished = yield from wait_until(lambda: dialog.process is None, timeout, step_ms=200)
    log = dialog.log.toPlainText()
    lm.fact("pip_log_tail", log[-4000:])
    lm.fact("pip_log_lines", len(log.splitlines()))
    lm.fact("result_text", dialog.result_label.text())
    lm.fact("progress", dialog.progress.value())
    lm.fact("rows_after", [list(row) for row in dialog.status_rows()])
    lm.fact("where_after", {s.requirement.name: s.location for s in dialog.top_statuses})
    if not finished:
        dialog.cancel()
    lm.check("pip_finished", finished, f"pip still running after {timeout} s; log tail: {log[-1500:]}")
    lm.check("install_succeeded", finished and dialog.result_label.text().startswith("✔")
             and "Successfully installed" in log,
             f"result {dialog.result_label.text()!r}; log tail: {log[-2500:]}")
    if not (finished and dialog.result_label.text().startswith("✔")):
        lm.state["stop"] = f"the install failed: {dialog.result_label.text()}"
    yield 500
    lm.grab(dialog, "installer_dialog.png")


def _step_close_dialog():
    dialog = lm.state.get("dialog")
    if dialog is None:
        return
    box = dialog.findChild(QDialogButtonBox)
    close = box.button(QDialogButtonBox.StandardButton.Close) if box is not None else None
    if close is not None:
        QTest.mouseClick(close, Qt.MouseButton.LeftButton)
    else:
        dialog.reject()
    closed = yield from wait_until(lambda: not _dialogs(), 10)
    lm.check("dependencies_dialog_closed", closed, "the dialog's Close button")
    lm.state["dialog"] = None
    yield 300


def _step_after():
    """onnxruntime imports in this session, from the profile's package folder, at the pinned version."""
    if _stopped("after"):
        return
    site_dir = lm.state["site_dir"]
    lm.fact("site_dir_listing", sorted(os.listdir(site_dir)) if os.path.isdir(site_dir) else None)
    lm.fact("sys_path_after", list(sys.path))
    lm.check("site_dir_on_sys_path_after", site_dir in (os.path.normpath(p) for p in sys.path if p), sys.path[:4])
    spec = importlib.util.find_spec("onnxruntime")
    lm.fact("onnxruntime_spec_after", None if spec is None else str(spec.origin))
    try:
        module = importlib.import_module("onnxruntime")
        error = ""
    except Exception as failure:  # a broken binary wheel raises anything
        module, error = None, f"{type(failure).__name__}: {failure}"
    version = getattr(module, "__version__", None)
    location = getattr(module, "__file__", None)
    lm.fact("onnxruntime_version", version)
    lm.fact("onnxruntime_file", location)
    lm.fact("onnxruntime_providers", module.get_available_providers() if module is not None else None)
    dependencies = {}
    for name in ("google.protobuf", "flatbuffers", "packaging", "numpy"):  # where this session finds them
        try:
            found = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            found = None
        dependencies[name] = None if found is None else found.origin
    lm.fact("dependency_files", dependencies)
    lm.check("onnxruntime_imports", module is not None, error or location)
    lm.check("onnxruntime_from_site_dir", _under(location, site_dir), f"{location} under {site_dir}")
    lm.check("onnxruntime_pinned_version", version == _IN["onnxruntime_pin"],
             f"{version}, requirements-plugin.txt pins {_IN['onnxruntime_pin']}")
    if module is None:
        lm.state["stop"] = f"onnxruntime does not import: {error}"
    lm.fact("message_bar_after", [" ".join(filter(None, (item.title(), item.text())))
                                  for item in qgis.utils.iface.messageBar().items()])


def _step_cloudmask():
    """cloudmask from its algorithm dialog, no MODEL: the bundled model, run by the onnxruntime just installed."""
    if _stopped("cloudmask"):
        return
    from labelmigration.qgis_common.styles import style_image

    image = QgsRasterLayer(_IN["chip"], "oncloudn chip")
    if lm.check("chip_loaded", image.isValid(), _IN["chip"]):
        style_image(image)
        QgsProject.instance().addMapLayer(image)
    output = _IN["cloudmask_output"]
    results = yield from lm.run_dialog("cloudmask", {"INPUT": _IN["chip"], "OUTPUT": output}, "cloudmask")
    lm.fact("cloudmask_output_exists", os.path.isfile(output))
    lm.fact("cloudmask_layer", describe(output))
    found = layers_with_source(output)
    lm.check("cloudmask_output_loaded", bool(found) and found[0].isValid(), describe(output))
    if results is None:
        return
    show_only([found[0] if found else None, image if image.isValid() else None], image if image.isValid() else None)
    yield from lm.canvas_screenshot("installer_cloudmask.png", first_wait_ms=500)


lm.start([("wait_for_desktop", _step_wait_for_desktop), ("before", _step_before), ("open_dialog", _step_open_dialog),
          ("choose", _step_choose), ("install", _step_install), ("close_dialog", _step_close_dialog),
          ("after", _step_after), ("cloudmask", _step_cloudmask), ("final", lm.step_final)], close_modals=True)
