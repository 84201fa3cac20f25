"""Runs INSIDE the QGIS desktop, started as ``qgis --code tests/gui/model_desktop_script.py``.

The model algorithms as a user runs them: the algorithm dialog of cloudmask, segment, rasterizelabels and
evaluatesegmentation, filled in, Run clicked ("Open output file after running" left as QGIS sets it), the
outputs loaded into the project; then the batch dialog of cloudmask ("Execute as Batch Process") with two rows.
The script records facts (layers in the project, their renderers, palettes, opacities, results) as checks in a
JSON report; tests/gui/test_model_desktop.py built the inputs, compares the output files with what the tiny
models give by hand, and asserts on the report.

Environment (set by the test): LM_GUI_RESULT, LM_GUI_OUTPUT_DIR, LM_GUI_WORK_DIR, LM_GUI_WATCHDOG_S as in
desktop_script.py, and LM_GUI_MODEL_INPUTS: a JSON file with the input paths and the class config.
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
with open(_lm_env["LM_GUI_MODEL_INPUTS"], encoding="utf-8") as _lm_stream:
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


def _lm_step_image():
    """The scene as the user would look at it (true colour, as the plugin styles images)."""
    from labelmigration.processing.styles import style_image

    layer = QgsRasterLayer(_LM_IN["scene_a"], "scene_a")
    ok = layer.isValid()
    if ok:
        style_image(layer)
        QgsProject.instance().addMapLayer(layer)
    _LM["image_layer"] = layer if ok else None
    _lm_check("image_loaded", ok, _LM_IN["scene_a"])


def _lm_step_cloudmask():
    results = yield from _lm_run_dialog("cloudmask", {
        "INPUT": _LM_IN["scene_a"], "MODEL": _LM_IN["cloud_model"], "OUTPUT": _lm_out("cloudmask_a.tif"),
        "OUTPUT_PROBABILITY": _lm_out("cloudprob_a.tif")}, "cloudmask")
    _lm_fact("cloudmask_layer", _lm_describe(_lm_out("cloudmask_a.tif")))
    _lm_fact("cloudprob_layer", _lm_describe(_lm_out("cloudprob_a.tif")))
    if results is None:
        return
    mask = _lm_layers_with_source(_lm_out("cloudmask_a.tif"))
    _lm_show_only([mask[0] if mask else None, _LM["image_layer"]], _LM["image_layer"])
    yield from _lm_canvas_screenshot("cloudmask_canvas.png")


def _lm_step_segment():
    yield from _lm_run_dialog("segment", {
        "INPUT": _LM_IN["scene_a"], "MODEL": _LM_IN["landuse_model"], "CLASSES": _LM_IN["class_config"],
        "OUTPUT": _lm_out("segment_classes.tif"), "OUTPUT_HEATMAPS": _lm_out("segment_heatmaps.tif"),
        "OUTPUT_COUNTS": _lm_out("segment_counts.csv")}, "segment")
    _lm_fact("segment_layer", _lm_describe(_lm_out("segment_classes.tif")))
    _lm_fact("heatmaps_layer", _lm_describe(_lm_out("segment_heatmaps.tif")))
    _lm_fact("counts_layer", _lm_describe(_lm_out("segment_counts.csv")))
    classes = _lm_layers_with_source(_lm_out("segment_classes.tif"))
    _lm_show_only([classes[0] if classes else None, _LM["image_layer"]], _LM["image_layer"])
    yield from _lm_canvas_screenshot("segment_canvas.png")


def _lm_step_rasterize():
    yield from _lm_run_dialog("rasterizelabels", {
        "INPUT": _LM_IN["labels_gpkg"], "CLASSES": _LM_IN["class_config"], "REFERENCE": _LM_IN["scene_a"],
        "OUTPUT": _lm_out("rasterized_labels.tif")}, "rasterizelabels")
    _lm_fact("rasterized_layer", _lm_describe(_lm_out("rasterized_labels.tif")))


def _lm_step_evaluate():
    yield from _lm_run_dialog("evaluatesegmentation", {
        "PREDICTION": _lm_out("cloudmask_a.tif"), "GROUND_TRUTH": _LM_IN["truth_a"],
        "OUTPUT_TABLE": _lm_out("confusion.csv")}, "evaluatesegmentation", tick=("OUTPUT_TABLE",),
        screenshot="evaluatesegmentation_dialog.png")
    _lm_fact("confusion_layer", _lm_describe(_lm_out("confusion.csv")))
    # could QGIS show the table at all? (the CSV as an attribute table, through OGR)
    table = QgsVectorLayer(_lm_out("confusion.csv"), "confusion", "ogr")
    _lm_fact("confusion_loadable", {"valid": table.isValid(), "features": table.featureCount(),
                                    "fields": table.fields().names()})


def _lm_step_batch():
    """Toolbox > Execute as Batch Process: two rows filled through the panel's widgets, Run clicked."""
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    from processing.tools import dataobjects

    algorithm = QgsApplication.processingRegistry().algorithmById(f"{_LM_PROVIDER}:cloudmask")
    dialog = BatchAlgorithmDialog(algorithm.create(), _lm_iface().mainWindow())
    dialog.resize(1400, 600)
    dialog.show()
    yield 300
    panel = dialog.mainWidget()
    panel.addRow()  # the panel starts with one row; the "+" button adds the second
    context = dataobjects.createContext()
    column = panel.parameter_to_column
    outputs = [_lm_out("batch_mask_a.tif"), _lm_out("batch_mask_b.tif")]
    for row, (scene, output) in enumerate(zip((_LM_IN["scene_a"], _LM_IN["scene_b"]), outputs)):
        panel.wrappers[row][column["INPUT"]].setParameterValue(scene, context)
        panel.wrappers[row][column["MODEL"]].setParameterValue(_LM_IN["cloud_model"], context)
        panel.tblParameters.cellWidget(row + 1, column["OUTPUT"]).setValue(output)
    yield 300
    rows = panel.batchRowCount()
    values = [{name: str(panel.valueForParameter(row, name)) for name in ("INPUT", "MODEL")} for row in range(rows)]
    # a scene that is already a project layer is picked as that layer (its id), as when the user picks it
    sources = [QgsProject.instance().mapLayer(v["INPUT"]).source() if QgsProject.instance().mapLayer(v["INPUT"])
               else v["INPUT"] for v in values]
    _lm_fact("batch_rows", values)
    _lm_fact("batch_load_layers_default", panel.checkLoadLayersOnCompletion.isChecked())
    panel.checkLoadLayersOnCompletion.setChecked(True)  # the user ticks "Load layers on completion"
    _lm_check("batch_filled", rows == 2 and sources == [_LM_IN["scene_a"], _LM_IN["scene_b"]]
              and all(v["MODEL"] == _LM_IN["cloud_model"] for v in values), f"{rows} rows: {values} ({sources})")
    yield 100
    _lm_grab(dialog, "cloudmask_batch.png")
    started = time.monotonic()
    dialog.runButton().click()  # BatchAlgorithmDialog.runAlgorithm runs every row before it returns
    _lm_fact("batch_seconds", round(time.monotonic() - started, 2))
    yield 500
    log = _lm_log_text(dialog)
    _lm_fact("batch_log_tail", log[-3000:])
    # Processing's "The following layers were not correctly generated" lines, one per row that reported one
    _lm_fact("batch_load_errors", log.count("were not correctly generated"))
    _lm_check("batch_run", all(os.path.exists(path) for path in outputs),
              f"outputs {[(p, os.path.exists(p)) for p in outputs]}; log tail: {log[-1500:]}")
    _lm_fact("batch_layers", [_lm_describe(path) for path in outputs])
    _lm_grab(dialog, "cloudmask_batch_log.png")
    dialog.close()
    dialog.deleteLater()
    yield 200


def _lm_step_final():
    # QGIS 3.22 can abort while exiting when the project still holds layers (QgisApp::setMapStyleDockLayer on
    # a deleted style dock, from QgsProject::clear in exitQgis); leave an empty project, as a user closing it
    QgsProject.instance().removeAllMapLayers()
    errors = [e for e in _lm_results["python_log"] if e["tag"] == "Python error" or e["level"] >= int(Qgis.Critical)]
    _lm_check("no_python_errors", not errors and not _lm_results["exceptions"] and not _lm_results["stack_dialogs"],
              f"{errors} {_lm_results['exceptions']} {_lm_results['stack_dialogs']}")


_LM_STEPS = [
    ("wait_for_desktop", _lm_step_wait_for_desktop),
    ("image", _lm_step_image),
    ("cloudmask", _lm_step_cloudmask),
    ("segment", _lm_step_segment),
    ("rasterizelabels", _lm_step_rasterize),
    ("evaluatesegmentation", _lm_step_evaluate),
    ("batch", _lm_step_batch),
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
