"""Runs INSIDE the QGIS desktop (``qgis --code``), started by tests/gui/test_package_install.py.

The profile holds only the plugin unzipped from labelmigration.zip. The script checks that the plugin
QGIS loaded is that copy (module __file__ under the profile's plugins folder, not the checkout), then runs
``cloudmask`` (no model given: the bundled one) and ``cropscene`` the way a user does: Processing toolbox
shown, the algorithm's name typed into its search box, the algorithm double-clicked in the tree, the
dialog's parameters filled, Run clicked, the task waited for, the dialog closed. Environment:

  LM_GUI_RESULT, LM_GUI_OUTPUT_DIR, LM_GUI_WATCHDOG_S, LM_GUI_EARLY_ERRORS  (as desktop_script.py)
  LM_PKG_PLUGIN_DIR   <profile>/python/plugins/labelmigration (the unzipped copy)
  LM_PKG_CHECKOUT     the repository (the plugin must NOT come from there)
  LM_PKG_INPUTS       JSON: {"scene": ..., "label": ..., "cloudmask": {...params}, "cropscene": {...params}}
"""
import json
import os
import sys
import time
import traceback

from qgis.core import Qgis, QgsApplication, QgsProject
from qgis.PyQt.QtCore import QPoint, Qt, QTimer
from qgis.PyQt.QtTest import QTest
from qgis.PyQt.QtWidgets import QApplication

import qgis.utils

_PK_PROVIDER = "labelmigration"
_PK = {
    "result_path": os.environ["LM_GUI_RESULT"],
    "output_dir": os.environ["LM_GUI_OUTPUT_DIR"],
    "watchdog_s": float(os.environ.get("LM_GUI_WATCHDOG_S", "120")),
    "plugin_dir": os.path.realpath(os.environ["LM_PKG_PLUGIN_DIR"]),
    "checkout": os.path.realpath(os.environ["LM_PKG_CHECKOUT"]),
    "started": time.monotonic(),
    "finished": False,
}
with open(os.environ["LM_PKG_INPUTS"], encoding="utf-8") as _pk_stream:
    _PK_IN = json.load(_pk_stream)

_pk_results = {"finished": False, "qgis_version": Qgis.QGIS_VERSION, "current_step": None, "steps": {},
               "checks": {}, "facts": {}, "exceptions": [], "python_log": [], "stack_dialogs": [],
               "startup_errors": [], "screenshots": {}}


def _pk_save():
    _pk_results["elapsed_s"] = round(time.monotonic() - _PK["started"], 2)
    temporary = _PK["result_path"] + ".part"
    with open(temporary, "w", encoding="utf-8") as stream:
        json.dump(_pk_results, stream, indent=2, default=str)
    os.replace(temporary, _PK["result_path"])


def _pk_check(name, ok, detail=""):
    _pk_results["checks"][name] = {"ok": bool(ok), "detail": str(detail)}
    print(f"[labelmigration-package] {'PASS' if ok else 'FAIL'} {name}: {detail}", file=sys.stderr, flush=True)
    return bool(ok)


def _pk_fact(name, value):
    _pk_results["facts"][name] = value


def _pk_excepthook(exc_type, value, tb):
    _pk_results["exceptions"].append({"step": _pk_results["current_step"],
                                      "traceback": "".join(traceback.format_exception(exc_type, value, tb))})


def _pk_stack_dialog(exc_type, value, tb, msg, pop_error=True):
    text = "".join(traceback.format_exception(exc_type, value, tb)) if exc_type else ""
    _pk_results["stack_dialogs"].append({"step": _pk_results["current_step"], "message": str(msg), "traceback": text})


def _pk_on_message(message, tag, level):
    if tag.startswith("Python") or int(level) >= int(Qgis.Critical) or tag == "Label Migration":
        _pk_results["python_log"].append({"step": _pk_results["current_step"], "tag": tag, "level": int(level),
                                          "message": message})


_pk_early = os.environ.get("LM_GUI_EARLY_ERRORS")
os.environ["LM_GUI_EARLY_DONE"] = "1"
if _pk_early and os.path.exists(_pk_early):
    with open(_pk_early, encoding="utf-8") as _pk_stream:
        _pk_results["startup_errors"] = [json.loads(line) for line in _pk_stream if line.strip()]
sys.excepthook = _pk_excepthook
qgis.utils.open_stack_dialog = _pk_stack_dialog
QgsApplication.messageLog().messageReceived[str, str, Qgis.MessageLevel].connect(_pk_on_message)


def _pk_wait_until(predicate, timeout_s, step_ms=100):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if predicate():
                return True
        except Exception:
            pass
        if time.monotonic() > deadline:
            return False
        yield step_ms


def _pk_grab(widget, name):
    path = os.path.join(_PK["output_dir"], name)
    ok = widget.grab().save(path, "PNG")
    _pk_results["screenshots"][name] = path
    _pk_check(f"screenshot_{name}", ok, path)


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
    iface = qgis.utils.iface
    ready = yield from _pk_wait_until(
        lambda: iface is not None and iface.mainWindow().isVisible() and "processing" in qgis.utils.plugins
        and QgsApplication.processingRegistry().providerById(_PK_PROVIDER) is not None and _pk_toolbox() is not None,
        60)
    _pk_check("desktop_started", ready, "main window, Processing and the plugin's provider")
    window = iface.mainWindow()
    screen = QApplication.primaryScreen().geometry()
    window.move(0, 0)
    window.resize(screen.width(), screen.height())
    yield 500


def _pk_step_plugin_origin():
    module = sys.modules.get("labelmigration")
    plugin = qgis.utils.plugins.get("labelmigration")
    files = {name: os.path.realpath(getattr(sys.modules.get(name), "__file__", "") or "")
             for name in ("labelmigration", "labelmigration.plugin", "labelmigration.processing.cloud_mask")}
    _pk_fact("module_files", files)
    _pk_fact("plugin_class_module", type(plugin).__module__ if plugin is not None else None)
    inside = all(path.startswith(_PK["plugin_dir"] + os.sep) for path in files.values())
    from_checkout = any(path.startswith(_PK["checkout"] + os.sep) for path in files.values())
    _pk_check("plugin_loaded_from_zip_copy", module is not None and plugin is not None and inside and not from_checkout,
              f"{files}; expected under {_PK['plugin_dir']}, not {_PK['checkout']}")
    cloud = sys.modules.get("labelmigration.processing.cloud_mask")
    bundled = os.path.realpath(getattr(cloud, "BUNDLED_MODEL", ""))
    _pk_fact("bundled_model", bundled)
    _pk_check("bundled_model_from_zip_copy", bundled.startswith(_PK["plugin_dir"] + os.sep) and os.path.isfile(bundled),
              bundled)
    _pk_fact("metadata_version", qgis.utils.pluginMetadata("labelmigration", "version"))
    _pk_fact("plugin_enabled", QgsApplication.instance() is not None and "labelmigration" in qgis.utils.active_plugins)


def _pk_run_from_toolbox(name, search_text, parameters, screenshot=None, toolbox_screenshot=None):
    """Toolbox search, double-click, fill, Run, wait, close; returns the results (or None)."""
    algorithm_id = f"{_PK_PROVIDER}:{name}"
    toolbox = _pk_toolbox()
    toolbox.setVisible(True)
    toolbox.raise_()
    toolbox.searchBox.clear()
    QTest.keyClicks(toolbox.searchBox, search_text)  # typed, as a user searches the toolbox
    yield 500
    tree = toolbox.algorithmTree
    index = _pk_find_in_tree(tree, algorithm_id)
    if not _pk_check(f"{name}_in_toolbox", index is not None, f"searched {search_text!r}"):
        return None
    tree.scrollTo(index)
    tree.setCurrentIndex(index)
    yield 300
    if toolbox_screenshot:
        _pk_grab(qgis.utils.iface.mainWindow(), toolbox_screenshot)
    rect = tree.visualRect(index)
    # the toolbox runs the dialog with exec_(): double-click from a timer, so this runner keeps going meanwhile
    QTimer.singleShot(0, lambda: _pk_double_click(tree.viewport(), rect.center()))
    opened = yield from _pk_wait_until(lambda: _pk_algorithm_dialogs(algorithm_id), 20)
    if not _pk_check(f"{name}_dialog_from_toolbox", opened, f"double-click at {rect.center()} of {algorithm_id}"):
        return None
    dialog = _pk_algorithm_dialogs(algorithm_id)[0]
    finished = {}
    dialog.algorithmFinished.connect(lambda ok, results: finished.update(ok=ok, results=results))
    dialog.resize(1000, 760)
    dialog.setParameters(parameters)
    yield 500
    filled = dialog.mainWidget().createProcessingParameters()
    _pk_fact(f"{name}_dialog_parameters", {k: str(v) for k, v in filled.items()})
    if screenshot:
        _pk_grab(dialog, screenshot)
    dialog.runButton().click()
    done = yield from _pk_wait_until(lambda: "ok" in finished, 120)
    yield 500
    from qgis.PyQt.QtWidgets import QTextEdit

    log = "\n".join(w.toPlainText() for w in dialog.findChildren(QTextEdit))
    results = {k: (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
               for k, v in (finished.get("results") or {}).items()}
    _pk_fact(f"{name}_results", results)
    _pk_fact(f"{name}_log_tail", log[-2000:])
    _pk_check(f"{name}_run", done and finished.get("ok"), f"finished {done}, ok {finished.get('ok')}, "
              f"results {results}; log tail: {log[-1500:]}")
    if screenshot:
        _pk_grab(dialog, screenshot.replace("_dialog", "_log"))
    dialog.close()
    closed = yield from _pk_wait_until(lambda: not _pk_algorithm_dialogs(algorithm_id), 10)
    _pk_check(f"{name}_dialog_closed", closed)
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
    _pk_fact("project_layers", sorted(layer.name() for layer in layers))
    canvas = qgis.utils.iface.mapCanvas()
    canvas.zoomToFullExtent()
    canvas.refreshAllLayers()
    yield 500
    yield from _pk_wait_until(lambda: not canvas.isDrawing(), 15)
    yield 300
    _pk_grab(qgis.utils.iface.mainWindow(), "package_main_window.png")


def _pk_step_final():
    QgsProject.instance().removeAllMapLayers()  # see model_desktop_script.py: QGIS 3.22 exits cleanly then
    errors = [e for e in _pk_results["python_log"] if e["tag"] == "Python error" or e["level"] >= int(Qgis.Critical)]
    _pk_check("no_python_errors", not errors and not _pk_results["exceptions"] and not _pk_results["stack_dialogs"],
              f"{errors} {_pk_results['exceptions']} {_pk_results['stack_dialogs']}")


_PK_STEPS = [("wait_for_desktop", _pk_step_wait_for_desktop), ("plugin_origin", _pk_step_plugin_origin),
             ("cloudmask", _pk_step_cloudmask), ("cropscene", _pk_step_cropscene), ("canvas", _pk_step_canvas),
             ("final", _pk_step_final)]


class _PkRunner:
    def __init__(self, steps):
        self.steps = list(steps)
        self.generator = None
        self.step_started = None

    def end_step(self):
        name = _pk_results["current_step"]
        if name is not None and self.step_started is not None:
            _pk_results["steps"][name] = round(time.monotonic() - self.step_started, 2)
        self.generator = None
        _pk_save()

    def advance(self):
        if _PK["finished"]:
            return
        wait = 0
        try:
            if self.generator is None:
                if not self.steps:
                    _pk_finish(0)
                    return
                name, function = self.steps.pop(0)
                _pk_results["current_step"] = name
                self.step_started = time.monotonic()
                outcome = function()
                if hasattr(outcome, "__next__"):
                    self.generator = outcome
                else:
                    self.end_step()
            if self.generator is not None:
                wait = next(self.generator) or 0
        except StopIteration:
            self.end_step()
        except Exception:
            text = traceback.format_exc()
            _pk_check(f"step_{_pk_results['current_step']}", False, text)
            _pk_results["exceptions"].append({"step": _pk_results["current_step"], "traceback": text})
            self.end_step()
        QTimer.singleShot(int(wait), self.advance)


def _pk_finish(code):
    if _PK["finished"]:
        return
    _PK["finished"] = True
    _pk_results["finished"] = code == 0
    _pk_results["current_step"] = None
    try:
        _pk_save()
    finally:
        for widget in QApplication.topLevelWidgets():  # a dialog still in exec_() would keep QGIS running
            if widget.isVisible() and widget is not qgis.utils.iface.mainWindow() and widget.isModal():
                widget.close()
        QgsProject.instance().setDirty(False)
        QgsApplication.exit(code)


def _pk_watchdog():
    if not _PK["finished"]:
        _pk_check("watchdog", False, f"gave up after {_PK['watchdog_s']} s in step {_pk_results['current_step']!r}; "
                  f"modal widget: {QApplication.activeModalWidget()!r}")
        _pk_finish(3)


try:
    QTimer.singleShot(int(_PK["watchdog_s"] * 1000), _pk_watchdog)
    _pk_runner = _PkRunner(_PK_STEPS)
    QTimer.singleShot(0, _pk_runner.advance)
    _pk_save()
except Exception:
    _pk_results["exceptions"].append({"step": "setup", "traceback": traceback.format_exc()})
    _pk_finish(2)
