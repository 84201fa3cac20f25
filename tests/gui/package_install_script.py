"""Runs INSIDE the QGIS desktop (``qgis --code``), started by tests/gui/test_package_install.py.

The profile holds only the plugin unzipped from labelmigration.zip. The script checks that the plugin
QGIS loaded is that copy (module __file__ under the profile's plugins folder, not the checkout), then runs
``cloudmask`` (no model given: the bundled one) and ``cropscene`` the way a user does: Processing toolbox
shown, the algorithm's name typed into its search box, the algorithm double-clicked in the tree, the
dialog's parameters filled, Run clicked, the task waited for, the dialog closed. Environment:

  LM_GUI_RESULT, LM_GUI_OUTPUT_DIR, LM_GUI_WORK_DIR, LM_GUI_WATCHDOG_S, LM_GUI_EARLY_ERRORS  (desktop_harness.py)
  LM_PKG_PLUGIN_DIR   <profile>/python/plugins/labelmigration (the unzipped copy)
  LM_PKG_CHECKOUT     the repository (the plugin must NOT come from there)
  LM_PKG_INPUTS       JSON: {"scene": ..., "label": ..., "cloudmask": {...params}, "cropscene": {...params}}
"""
import os
import sys

from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtTest import QTest
from qgis.PyQt.QtWidgets import QApplication

import desktop_harness
from desktop_harness import PROVIDER, wait_until

import qgis.utils

lm = desktop_harness.Harness(tag="labelmigration-package", inputs_env="LM_PKG_INPUTS",
                             extra_log_tags=("Label Migration",), watchdog_default=120)
_PK = {"plugin_dir": os.path.realpath(os.environ["LM_PKG_PLUGIN_DIR"]),
       "checkout": os.path.realpath(os.environ["LM_PKG_CHECKOUT"])}
_PK_IN = lm.inputs


def _pk_toolbox():
    return getattr(qgis.utils.plugins.get("processing"), "toolbox", None)


def _pk_algorithm_dialogs(algorithm_id):
    from processing.gui.AlgorithmDialog import AlgorithmDialog

    return [w for w in QApplication.topLevelWidgets() if isinstance(w, AlgorithmDialog) and w.isVisible()
            and w.algorithm() is not None and w.algorithm().id() == algorithm_id]


def _pk_double_click(widget, point):
    """A mouse double-click as the window system sends it: press, release, double-click, release (Qt's views
    emit doubleClicked only for the index the first press hit)."""
    button, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QTest.mousePress(widget, button, modifiers, point)
    QTest.mouseRelease(widget, button, modifiers, point)
    QTest.mouseDClick(widget, button, modifiers, point)  # the toolbox's exec_() starts here
    QTest.mouseRelease(widget, button, modifiers, point)


def _pk_find_in_tree(tree, algorithm_id):
    proxy = tree.model()

    def walk(parent):
        for row in range(proxy.rowCount(parent)):
            index = proxy.index(row, 0, parent)
            algorithm = tree.algorithmForIndex(index)
            if algorithm is not None and algorithm.id() == algorithm_id:
                return index
            found = walk(index)
            if found is not None:
                return found
        return None

    from qgis.PyQt.QtCore import QModelIndex

    return walk(QModelIndex())


# --- steps -----------------------------------------------------------------------------------

def _pk_step_wait_for_desktop():
    return lm.step_wait_for_desktop(require_toolbox=True, detail="main window, Processing and the plugin's provider",
                                    settle_ms=500)


def _pk_step_plugin_origin():
    module = sys.modules.get("labelmigration")
    plugin = qgis.utils.plugins.get("labelmigration")
    files = {name: os.path.realpath(getattr(sys.modules.get(name), "__file__", "") or "")
             for name in ("labelmigration", "labelmigration.plugin", "labelmigration.processing.cloud_mask")}
    lm.fact("module_files", files)
    lm.fact("plugin_class_module", type(plugin).__module__ if plugin is not None else None)
    inside = all(path.startswith(_PK["plugin_dir"] + os.sep) for path in files.values())
    from_checkout = any(path.startswith(_PK["checkout"] + os.sep) for path in files.values())
    lm.check("plugin_loaded_from_zip_copy", module is not None and plugin is not None and inside and not from_checkout,
             f"{files}; expected under {_PK['plugin_dir']}, not {_PK['checkout']}")
    cloud = sys.modules.get("labelmigration.processing.cloud_mask")
    bundled = os.path.realpath(getattr(cloud, "BUNDLED_MODEL", ""))
    lm.fact("bundled_model", bundled)
    lm.check("bundled_model_from_zip_copy", bundled.startswith(_PK["plugin_dir"] + os.sep) and os.path.isfile(bundled),
             bundled)
    lm.fact("metadata_version", qgis.utils.pluginMetadata("labelmigration", "version"))
    lm.fact("plugin_enabled", QgsApplication.instance() is not None and "labelmigration" in qgis.utils.active_plugins)


def _pk_run_from_toolbox(name, search_text, parameters, screenshot=None, toolbox_screenshot=None):
    """Toolbox search, double-click, fill, Run, wait, close; returns the results (or None)."""
    algorithm_id = f"{PROVIDER}:{name}"
    toolbox = _pk_toolbox()
    toolbox.setVisible(True)
    toolbox.raise_()
    toolbox.searchBox.clear()
    QTest.keyClicks(toolbox.searchBox, search_text)  # typed, as a user searches the toolbox
    yield 500
    tree = toolbox.algorithmTree
    index = _pk_find_in_tree(tree, algorithm_id)
    if not lm.check(f"{name}_in_toolbox", index is not None, f"searched {search_text!r}"):
        return None
    tree.scrollTo(index)
    tree.setCurrentIndex(index)
    yield 300
    if toolbox_screenshot:
        lm.grab(qgis.utils.iface.mainWindow(), toolbox_screenshot)
    rect = tree.visualRect(index)
    # the toolbox runs the dialog with exec_(): double-click from a timer, so this runner keeps going meanwhile
    QTimer.singleShot(0, lambda: _pk_double_click(tree.viewport(), rect.center()))
    opened = yield from wait_until(lambda: _pk_algorithm_dialogs(algorithm_id), 20)
    if not lm.check(f"{name}_dialog_from_toolbox", opened, f"double-click at {rect.center()} of {algorithm_id}"):
        return None
    dialog = _pk_algorithm_dialogs(algorithm_id)[0]
    finished = {}
    dialog.algorithmFinished.connect(lambda ok, results: finished.update(ok=ok, results=results))
    dialog.resize(1000, 760)
    dialog.setParameters(parameters)
    yield 500
    filled = dialog.mainWidget().createProcessingParameters()
    lm.fact(f"{name}_dialog_parameters", {k: str(v) for k, v in filled.items()})
    if screenshot:
        lm.grab(dialog, screenshot)
    dialog.runButton().click()
    done = yield from wait_until(lambda: "ok" in finished, 120)
    yield 500
    log = desktop_harness.log_text(dialog)
    results = desktop_harness.plain_results(finished.get("results"))
    lm.fact(f"{name}_results", results)
    lm.fact(f"{name}_log_tail", log[-2000:])
    lm.check(f"{name}_run", done and finished.get("ok"), f"finished {done}, ok {finished.get('ok')}, "
             f"results {results}; log tail: {log[-1500:]}")
    if screenshot:
        lm.grab(dialog, screenshot.replace("_dialog", "_log"))
    dialog.close()
    closed = yield from wait_until(lambda: not _pk_algorithm_dialogs(algorithm_id), 10)
    lm.check(f"{name}_dialog_closed", closed)
    yield 300
    return results


def _pk_step_cloudmask():
    yield from _pk_run_from_toolbox("cloudmask", "Cloud mask", _PK_IN["cloudmask"],
                                    screenshot="package_cloudmask_dialog.png",
                                    toolbox_screenshot="package_toolbox.png")


def _pk_step_cropscene():
    yield from _pk_run_from_toolbox("cropscene", "Crop scene", _PK_IN["cropscene"],
                                    screenshot="package_cropscene_dialog.png")


def _pk_step_canvas():
    """The loaded outputs, as the user sees them after the runs."""
    layers = QgsProject.instance().mapLayers().values()
    lm.fact("project_layers", sorted(layer.name() for layer in layers))
    canvas = qgis.utils.iface.mapCanvas()
    canvas.zoomToFullExtent()
    canvas.refreshAllLayers()
    yield from lm.canvas_screenshot("package_main_window.png", first_wait_ms=500)


lm.start([("wait_for_desktop", _pk_step_wait_for_desktop), ("plugin_origin", _pk_step_plugin_origin),
          ("cloudmask", _pk_step_cloudmask), ("cropscene", _pk_step_cropscene), ("canvas", _pk_step_canvas),
          ("final", lm.step_final)], close_modals=True)
