"""Runs INSIDE the QGIS desktop, started as ``qgis --code tests/gui/migrate_desktop_script.py``.

migratelabels as a user runs it: its algorithm dialog filled in (a label folder, the local-archive backend,
an output folder), Run clicked, the task waited for; then what reached the layer tree is recorded (the group
'Label migration: <folder>' with the label footprints, the chosen scenes, a sub-group per pair with image,
label and cloud mask, their renderers) and screenshots of the dialog and the canvas are saved.
Helpers and the step runner are those of model_desktop_script.py (copied: each script runs alone in QGIS).

Environment: LM_GUI_RESULT, LM_GUI_OUTPUT_DIR, LM_GUI_WORK_DIR, LM_GUI_WATCHDOG_S, and LM_GUI_MIGRATE_INPUTS: a
JSON file with 'archive', 'labels' and 'output'.
"""
import json
import os
import sys
import time
import traceback

from qgis.core import (Qgis, QgsApplication, QgsPalettedRasterRenderer, QgsProject, QgsRasterLayer,
                       QgsVectorLayer)
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QApplication, QDialogButtonBox

import qgis.utils

_LM_PROVIDER = "labelmigration"
_lm_env = os.environ
_LM = {
    "result_path": _lm_env["LM_GUI_RESULT"],
    "output_dir": _lm_env["LM_GUI_OUTPUT_DIR"],
    "work_dir": _lm_env["LM_GUI_WORK_DIR"],
    "watchdog_s": float(_lm_env.get("LM_GUI_WATCHDOG_S", "90")),
    "started": time.monotonic(),
    "finished": False,
}
with open(_lm_env["LM_GUI_MIGRATE_INPUTS"], encoding="utf-8") as _lm_stream:
    _LM_IN = json.load(_lm_stream)

_lm_results = {"finished": False, "qgis_version": Qgis.QGIS_VERSION, "current_step": None, "steps": {},
               "checks": {}, "facts": {}, "exceptions": [], "python_log": [], "stack_dialogs": [],
               "screenshots": {}}


def _lm_save():
    _lm_results["elapsed_s"] = round(time.monotonic() - _LM["started"], 2)
    temporary = _LM["result_path"] + ".part"
    with open(temporary, "w", encoding="utf-8") as stream:
        json.dump(_lm_results, stream, indent=2, default=str)
    os.replace(temporary, _LM["result_path"])


def _lm_check(name, ok, detail=""):
    _lm_results["checks"][name] = {"ok": bool(ok), "detail": str(detail)}
    print(f"[labelmigration-gui] {'PASS' if ok else 'FAIL'} {name}: {detail}", file=sys.stderr, flush=True)
    return bool(ok)


def _lm_fact(name, value):
    _lm_results["facts"][name] = value


def _lm_excepthook(exc_type, value, tb):
    text = "".join(traceback.format_exception(exc_type, value, tb))
    _lm_results["exceptions"].append({"step": _lm_results["current_step"], "traceback": text})


def _lm_stack_dialog(exc_type, value, tb, msg, pop_error=True):
    text = "".join(traceback.format_exception(exc_type, value, tb)) if exc_type else ""
    _lm_results["stack_dialogs"].append({"step": _lm_results["current_step"], "message": str(msg),
                                         "traceback": text})


def _lm_on_message(message, tag, level):
    try:
        level_value = int(level)
    except TypeError:
        level_value = -1
    if tag.startswith("Python") or tag == "Processing" or level_value >= int(Qgis.Critical):
        _lm_results["python_log"].append({"step": _lm_results["current_step"], "tag": tag,
                                          "level": level_value, "message": message})


os.environ["LM_GUI_EARLY_DONE"] = "1"
sys.excepthook = _lm_excepthook
qgis.utils.open_stack_dialog = _lm_stack_dialog
QgsApplication.messageLog().messageReceived[str, str, Qgis.MessageLevel].connect(_lm_on_message)


# --- helpers ---------------------------------------------------------------------------------

def _lm_iface():
    return qgis.utils.iface


def _lm_wait_until(predicate, timeout_s, step_ms=100):
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


def _lm_grab(widget, name):
    path = os.path.join(_LM["output_dir"], name)
    ok = widget.grab().save(path, "PNG")
    if ok:
        _lm_results["screenshots"][name] = path
    return _lm_check(f"screenshot_{name}", ok, path)


def _lm_layers_with_source(path):
    wanted = os.path.realpath(path)
    return [layer for layer in QgsProject.instance().mapLayers().values()
            if os.path.realpath(layer.source().split("|")[0]) == wanted]


def _lm_out(name):
    return os.path.join(_LM["work_dir"], name)


def _lm_colour(colour):
    return [colour.red(), colour.green(), colour.blue(), colour.alpha()]


def _lm_describe(path):
    """What a user sees of the loaded output: the layer(s) with that source, their renderer and palette."""
    layers = _lm_layers_with_source(path)
    facts = {"count": len(layers)}
    if layers:
        layer = layers[0]
        facts["valid"] = layer.isValid()
        facts["name"] = layer.name()
        facts["kind"] = "raster" if isinstance(layer, QgsRasterLayer) else \
            "vector" if isinstance(layer, QgsVectorLayer) else type(layer).__name__
        if isinstance(layer, QgsRasterLayer):
            renderer = layer.renderer()
            facts["bands"] = layer.bandCount()
            facts["renderer"] = renderer.type()
            facts["opacity"] = renderer.opacity()
            if isinstance(renderer, QgsPalettedRasterRenderer):
                facts["band"] = renderer.band()
                facts["classes"] = {str(int(c.value)): {"color": _lm_colour(c.color), "label": c.label}
                                    for c in renderer.classes()}
        else:
            facts["features"] = layer.featureCount()
            facts["fields"] = layer.fields().names()
        node = QgsProject.instance().layerTreeRoot().findLayer(layer.id())
        facts["in_layer_tree"] = node is not None
    return facts


def _lm_log_text(dialog):
    """The text of the dialog's Log tab."""
    from qgis.PyQt.QtWidgets import QTextEdit

    return "\n".join(widget.toPlainText() for widget in dialog.findChildren(QTextEdit))


def _lm_open_after_running_boxes(dialog):
    """{output: (shown, checked)} of each output widget's "Open output file after running" box."""
    from qgis.PyQt.QtWidgets import QCheckBox

    boxes = {}
    for name, wrapper in getattr(dialog.mainWidget(), "wrappers", {}).items():
        definition = dialog.algorithm().parameterDefinition(name)
        if definition is None or not definition.isDestination():
            continue
        found = [box for box in wrapper.wrappedWidget().findChildren(QCheckBox) if "after running" in box.text()]
        boxes[name] = found[0] if found else None
    return boxes


def _lm_run_dialog(algorithm, parameters, label, tick=(), screenshot=None):
    """The toolbox's path: the algorithm dialog filled in, Run clicked, the task waited for.

    ``tick``: outputs whose "Open output file after running" box the user ticks when it is shown.
    """
    import processing

    dialog = processing.createAlgorithmDialog(f"{_LM_PROVIDER}:{algorithm}", parameters)
    if not _lm_check(f"{label}_dialog_created", dialog is not None, repr(dialog)):
        return None
    finished = {}
    dialog.algorithmFinished.connect(lambda ok, results: finished.update(ok=ok, results=results))
    panel = dialog.mainWidget()
    dialog.resize(900, 700)
    dialog.show()
    yield 300
    boxes = _lm_open_after_running_boxes(dialog)
    _lm_fact(f"{label}_open_after_running_default",
             {name: None if box is None else {"shown": box.isVisible(), "checked": box.isChecked()}
              for name, box in boxes.items()})
    for name in tick:
        if boxes.get(name) is not None and boxes[name].isVisible():
            boxes[name].setChecked(True)
    yield 100
    # what the dialog will do: the wrapper property AlgorithmDialog reads to load an output
    _lm_fact(f"{label}_open_after_running", {
        name: bool(wrapper.customProperties().get("OPEN_AFTER_RUNNING"))
        for name, wrapper in getattr(panel, "wrappers", {}).items()
        if dialog.algorithm().parameterDefinition(name) is not None
        and dialog.algorithm().parameterDefinition(name).isDestination()})
    if screenshot:
        _lm_grab(dialog, screenshot)
    run_button = dialog.runButton() if hasattr(dialog, "runButton") else \
        dialog.buttonBox().button(QDialogButtonBox.Ok)
    run_button.click()
    done = yield from _lm_wait_until(lambda: "ok" in finished, 40)
    yield 300
    log = _lm_log_text(dialog)
    results = {k: (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
               for k, v in (finished.get("results") or {}).items()}
    _lm_fact(f"{label}_results", results)
    _lm_check(f"{label}_run", done and finished.get("ok"),
              f"finished {done}, ok {finished.get('ok')}, results {results}; log tail: {log[-1500:]}")
    dialog.close()
    dialog.deleteLater()
    yield 200
    return results


def _lm_show_only(layers, extent_layer):
    wanted = {layer.id() for layer in layers if layer is not None}
    root = QgsProject.instance().layerTreeRoot()
    for layer in QgsProject.instance().mapLayers().values():
        node = root.findLayer(layer.id())
        if node is not None:
            node.setItemVisibilityChecked(layer.id() in wanted)
    for layer in layers:
        node = root.findLayer(layer.id()) if layer is not None else None
        if node is not None:
            node.setExpanded(True)
    canvas = _lm_iface().mapCanvas()
    if extent_layer is not None:
        canvas.setExtent(canvas.mapSettings().layerExtentToOutputExtent(extent_layer, extent_layer.extent()))
    canvas.refreshAllLayers()


def _lm_canvas_screenshot(name):
    canvas = _lm_iface().mapCanvas()
    yield 300
    yield from _lm_wait_until(lambda: not canvas.isDrawing(), 15)
    yield 300
    _lm_grab(_lm_iface().mainWindow(), name)


# --- steps -----------------------------------------------------------------------------------

def _lm_step_wait_for_desktop():
    iface = _lm_iface()
    ready = yield from _lm_wait_until(
        lambda: iface is not None and iface.mainWindow().isVisible() and "processing" in qgis.utils.plugins
        and QgsApplication.processingRegistry().providerById(_LM_PROVIDER) is not None, 60)
    _lm_check("desktop_started", ready, "main window shown, Processing and the plugin's provider loaded")
    window = iface.mainWindow()
    screen = QApplication.primaryScreen().geometry()
    window.move(0, 0)
    window.resize(screen.width(), screen.height())
    yield 300


def _lm_step_migrate_dialog():
    results = yield from _lm_run_dialog("migratelabels", {
        "LABELS": _LM_IN["labels"], "BACKEND": 3, "URL": _LM_IN["archive"], "DAYS_BEFORE": 3, "DAYS_AFTER": 3,
        "MAX_CLOUD": 30.0, "PRODUCT": 1, "CLOUD_MASKS": True, "OUTPUT_FOLDER": _LM_IN["output"]},
        "migratelabels", screenshot="migrate_dialog.png")
    _lm_fact("migrate_results_ok", results is not None)


def _lm_tree(node):
    from qgis.core import QgsLayerTreeGroup

    if isinstance(node, QgsLayerTreeGroup):
        return {"group": node.name(), "expanded": node.isExpanded(), "children": [_lm_tree(c) for c in node.children()]}
    layer = node.layer()
    facts = {"layer": node.name(), "valid": layer is not None and layer.isValid()}
    if isinstance(layer, QgsRasterLayer):
        facts["renderer"] = layer.renderer().type()
        facts["opacity"] = layer.renderer().opacity()
        facts["source"] = layer.source()
    elif isinstance(layer, QgsVectorLayer):
        facts["features"] = layer.featureCount()
        facts["labels"] = layer.labelsEnabled()
    return facts


def _lm_step_layer_tree():
    root = QgsProject.instance().layerTreeRoot()
    _lm_fact("layer_tree", [_lm_tree(child) for child in root.children()])
    name = "Label migration: " + os.path.basename(os.path.normpath(_LM_IN["output"]))
    group = root.findGroup(name)
    _lm_check("group_loaded", group is not None, f"{name} in {[c.name() for c in root.children()]}")
    if group is None:
        return
    # the canvas: every pair expanded and visible, zoomed to the pairs and their footprints
    layers = [node.layer() for node in group.findLayers()]
    pairs = [layer for layer in layers if isinstance(layer, QgsRasterLayer)]
    group.setExpanded(True)
    for node in group.findGroups(True):
        node.setExpanded(True)
    canvas = _lm_iface().mapCanvas()
    extent = None
    for layer in pairs:
        box = canvas.mapSettings().layerExtentToOutputExtent(layer, layer.extent())
        if extent is None:
            extent = box
        else:
            extent.combineExtentWith(box)
    if extent is not None:
        extent.scale(1.4)
        canvas.setExtent(extent)
    canvas.refreshAllLayers()
    yield from _lm_canvas_screenshot("migrate_canvas.png")


def _lm_step_final():
    QgsProject.instance().removeAllMapLayers()
    errors = [e for e in _lm_results["python_log"] if e["tag"] == "Python error" or e["level"] >= int(Qgis.Critical)]
    _lm_check("no_python_errors", not errors and not _lm_results["exceptions"] and not _lm_results["stack_dialogs"],
              f"{errors} {_lm_results['exceptions']} {_lm_results['stack_dialogs']}")


_LM_STEPS = [
    ("wait_for_desktop", _lm_step_wait_for_desktop),
    ("migratelabels", _lm_step_migrate_dialog),
    ("layer_tree", _lm_step_layer_tree),
    ("final", _lm_step_final),
]


# --- runner (as desktop_script.py) -----------------------------------------------------------

class _LmRunner:
    def __init__(self, steps):
        self.steps = list(steps)
        self.generator = None
        self.step_started = None

    def end_step(self):
        name = _lm_results["current_step"]
        if name is not None and self.step_started is not None:
            _lm_results["steps"][name] = round(time.monotonic() - self.step_started, 2)
        self.generator = None
        _lm_save()

    def advance(self):
        if _LM["finished"]:
            return
        wait = 0
        try:
            if self.generator is None:
                if not self.steps:
                    _lm_finish(0)
                    return
                name, function = self.steps.pop(0)
                _lm_results["current_step"] = name
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
            _lm_check(f"step_{_lm_results['current_step']}", False, text)
            _lm_results["exceptions"].append({"step": _lm_results["current_step"], "traceback": text})
            self.end_step()
        QTimer.singleShot(int(wait), self.advance)


def _lm_finish(code):
    if _LM["finished"]:
        return
    _LM["finished"] = True
    _lm_results["finished"] = code == 0
    _lm_results["current_step"] = None
    try:
        _lm_save()
    finally:
        QgsProject.instance().setDirty(False)
        QgsApplication.exit(code)


def _lm_watchdog():
    if _LM["finished"]:
        return
    _lm_check("watchdog", False, f"gave up after {_LM['watchdog_s']} s in step {_lm_results['current_step']!r}; "
              f"modal widget: {QApplication.activeModalWidget()!r}")
    _lm_finish(3)


try:
    QTimer.singleShot(int(_LM["watchdog_s"] * 1000), _lm_watchdog)
    _lm_runner = _LmRunner(_LM_STEPS)
    QTimer.singleShot(0, _lm_runner.advance)
    _lm_save()
except Exception:
    _lm_results["exceptions"].append({"step": "setup", "traceback": traceback.format_exc()})
    _lm_finish(2)
