"""Runs INSIDE the QGIS desktop, started as ``qgis --code tests/gui/workflow_desktop_script.py``.

Two workflows a user builds from the plugin's algorithms (tests/gui/test_workflow_desktop.py asserts):

1. A graphical-modeler model chaining labelmigration:geocodemask -> maskfootprint -> searchscenes (local
   archive) -> cropscene -> cloudmask, built as a QgsProcessingModelAlgorithm, opened in the real Model
   Designer (screenshot modeler_chain.png), then run through the model's own algorithm dialog (the dialog
   the designer's Run button opens), Run clicked.

   cropscene's SCENE comes from the search result. QGIS 3.22's modeler has no algorithm that turns a
   feature attribute into a value ("Calculate expression" does not exist in 3.22), and its expression
   functions that read layers (get_feature, aggregate, layer_property) only find layers of the project,
   not a child algorithm's temporary output (checked: they return NULL on @Search_scenes_OUTPUT). The
   modeler does hand the child's output to an expression as the layer itself, so SCENE is a "pre-calculated
   value" expression calling a user expression function (as defined in QGIS's Function Editor):
   ``lm_best_scene(@Search_scenes_OUTPUT)``: the url of the rank-1 scene.

2. cropscene from its batch dialog (Execute as Batch Process) over three labels against one scene, rows
   filled through the panel's widgets, Run clicked (screenshot cropscene_batch.png).

Environment: LM_GUI_RESULT, LM_GUI_OUTPUT_DIR, LM_GUI_WORK_DIR, LM_GUI_WATCHDOG_S as in desktop_script.py,
and LM_GUI_WORKFLOW_INPUTS: a JSON file with the input paths.
"""
import json
import os
import sys
import time
import traceback

from qgis.core import (Qgis, QgsApplication, QgsPalettedRasterRenderer, QgsProcessingModelAlgorithm,
                       QgsProcessingModelChildAlgorithm, QgsProcessingModelChildDependency,
                       QgsProcessingModelChildParameterSource, QgsProcessingModelOutput, QgsProcessingModelParameter,
                       QgsProcessingParameterDateTime, QgsProcessingParameterFile, QgsProcessingParameterRasterLayer,
                       QgsProject, QgsRasterLayer, QgsVectorLayer, qgsfunction)
from qgis.PyQt.QtCore import QDate, QPointF, QTimer
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
with open(_lm_env["LM_GUI_WORKFLOW_INPUTS"], encoding="utf-8") as _lm_stream:
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




# --- the user's expression function (QGIS Function Editor) -----------------------------------

_LM_SCENE_CALLS = []


@qgsfunction(args="auto", group="Label Migration", register=True)
def lm_best_scene(scenes, feature, parent):
    """The product path (url) of the rank-1 scene of a searchscenes output: a layer, a layer id or a file."""
    layer = scenes
    if isinstance(scenes, str):
        layer = QgsProject.instance().mapLayer(scenes) or QgsVectorLayer(scenes, "scenes", "ogr")
    if not isinstance(layer, QgsVectorLayer) or not layer.isValid():
        parent.setEvalErrorString(f"lm_best_scene: not a scenes layer: {scenes!r}")
        _LM_SCENE_CALLS.append({"input": repr(scenes), "url": None})
        return None
    best = [f for f in layer.getFeatures() if f["rank"] == 1]
    url = best[0]["url"] if best else None
    _LM_SCENE_CALLS.append({"input": repr(scenes), "features": layer.featureCount(), "url": url,
                            "ranks": sorted((f["rank"], f["id"]) for f in layer.getFeatures())})
    return url


# --- steps -----------------------------------------------------------------------------------

_LM_MODEL_ID = "model:label_to_cloud_masked_pair"
_LM_MODEL_OUTPUTS = {"geocode:label": "model_label.tif", "crop:pair_image": "model_pair_image.tif",
                     "crop:pair_label": "model_pair_label.tif", "cloud:cloud_mask": "model_cloud_mask.tif"}


def _lm_build_model():
    """label image + reference -> geocodemask -> maskfootprint -> searchscenes -> cropscene -> cloudmask."""
    source = QgsProcessingModelChildParameterSource
    model = QgsProcessingModelAlgorithm("label_to_cloud_masked_pair", "Label Migration")
    inputs = (QgsProcessingParameterFile("label_image", "Label image"),
              QgsProcessingParameterRasterLayer("reference", "Reference raster"),
              QgsProcessingParameterFile("archive", "Local archive folder", QgsProcessingParameterFile.Folder),
              QgsProcessingParameterDateTime("label_date", "Label date", QgsProcessingParameterDateTime.Date),
              QgsProcessingParameterFile("cloud_model", "Cloud model (ONNX)", extension="onnx"))
    for row, definition in enumerate(inputs):
        component = QgsProcessingModelParameter(definition.name())
        component.setPosition(QPointF(120, 60 + 110 * row))
        model.addModelParameter(definition, component)

    def child(child_id, algorithm, description, position, parameters, outputs=()):
        component = QgsProcessingModelChildAlgorithm(f"{_LM_PROVIDER}:{algorithm}")
        component.setChildId(child_id)
        component.setDescription(description)
        component.setPosition(QPointF(*position))
        for name, value in parameters.items():
            component.addParameterSources(name, value if isinstance(value, list) else [value])
        for definition in component.algorithm().parameterDefinitions():  # as the designer fills in defaults
            if definition.name() not in parameters and not definition.isDestination() \
                    and definition.defaultValue() is not None:
                component.addParameterSources(definition.name(), [source.fromStaticValue(definition.defaultValue())])
        model_outputs = {}
        for index, (name, child_output) in enumerate(outputs):
            output = QgsProcessingModelOutput(name, name)
            output.setChildId(child_id)
            output.setChildOutputName(child_output)
            output.setPosition(QPointF(position[0] + 230, position[1] + 50 + 45 * index))
            model_outputs[name] = output
        component.setModelOutputs(model_outputs)
        return component

    model.addChildAlgorithm(child("geocode", "geocodemask", "Geocode label", (420, 90), {
        "INPUT": source.fromModelParameter("label_image"), "REFERENCE": source.fromModelParameter("reference")},
        [("label", "OUTPUT")]))
    model.addChildAlgorithm(child("footprint", "maskfootprint", "Label footprint", (420, 230), {
        "INPUT": [source.fromChildOutput("geocode", "OUTPUT")], "TARGET_CRS": source.fromStaticValue("EPSG:4326")}))
    model.addChildAlgorithm(child("search", "searchscenes", "Search scenes", (420, 370), {
        "FOOTPRINTS": source.fromChildOutput("footprint", "OUTPUT"), "DATE": source.fromModelParameter("label_date"),
        "BACKEND": source.fromStaticValue(3), "URL": source.fromModelParameter("archive"),
        "MAX_CLOUD": source.fromStaticValue(20.0), "PRODUCT": source.fromStaticValue(1)}))
    crop = child("crop", "cropscene", "Crop scene", (420, 510), {
        "SCENE": source.fromExpression("lm_best_scene(@Search_scenes_OUTPUT)"),
        "LABEL": source.fromChildOutput("geocode", "OUTPUT"), "BAND_NAMES": source.fromStaticValue("B02,B03,B04,B08")},
        [("pair_image", "OUTPUT_IMAGE"), ("pair_label", "OUTPUT_LABEL")])
    crop.setDependencies([QgsProcessingModelChildDependency("search")])  # the expression reads its output
    model.addChildAlgorithm(crop)
    model.addChildAlgorithm(child("cloud", "cloudmask", "Cloud mask", (420, 650), {
        "INPUT": source.fromChildOutput("crop", "OUTPUT_IMAGE"), "MODEL": source.fromModelParameter("cloud_model")},
        [("cloud_mask", "OUTPUT")]))
    return model


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


def _lm_step_designer():
    """The model opened in the real Model Designer, as after Processing > Graphical Modeler > Open."""
    from processing.modeler.ModelerDialog import ModelerDialog
    from qgis.PyQt.QtWidgets import QAction

    model = _lm_build_model()
    valid, errors = model.validate()
    _lm_fact("model_children", sorted(c.algorithmId() for c in model.childAlgorithms().values()))
    _lm_fact("model_dependencies", {cid: sorted(model.dependsOnChildAlgorithms(cid)) for cid in model.childAlgorithms()})
    _lm_fact("model_parameters", [p.name() for p in model.parameterDefinitions()])
    _lm_check("model_valid", valid and all(c.algorithm() is not None for c in model.childAlgorithms().values()),
              f"valid {valid}: {errors}")
    from processing.modeler.ModelerUtils import ModelerUtils

    # saved where Processing > Graphical Modeler > Save puts models: they show in the toolbox under Models
    model_path = os.path.join(ModelerUtils.defaultModelsFolder(), "label_to_cloud_masked_pair.model3")
    _lm_check("model_saved", model.toFile(model_path), model_path)
    QgsApplication.processingRegistry().providerById("model").refreshAlgorithms()
    registered = QgsApplication.processingRegistry().algorithmById(_LM_MODEL_ID)
    _lm_check("model_reloaded", registered is not None and len(registered.childAlgorithms()) == 5,
              f"{_LM_MODEL_ID}: {registered!r}")
    _LM["model_file"] = model_path
    dialog = ModelerDialog.create(registered or model)
    dialog.resize(1500, 950)
    dialog.show()
    yield 500
    zoom = dialog.findChild(QAction, "mActionZoomToItems")
    if zoom is not None:
        zoom.trigger()
    yield 300
    scene_items = dialog.view().scene().items()
    _lm_fact("designer_items", len(scene_items))
    _lm_fact("designer_model_children", sorted(c.childId() for c in dialog.model().childAlgorithms().values()))
    _lm_check("designer_open", dialog.isVisible() and len(dialog.model().childAlgorithms()) == 5,
              f"visible {dialog.isVisible()}, {len(scene_items)} graphics items")
    _lm_grab(dialog, "modeler_chain.png")
    _LM["designer"] = dialog


def _lm_step_run_model():
    """The model's algorithm dialog (what the designer's Run opens), filled in, Run clicked."""

    import processing

    designer = _LM.pop("designer", None)
    parameters = {"label_image": _LM_IN["label_png"], "reference": _LM_IN["reference"], "archive": _LM_IN["archive"],
                  "label_date": QDate.fromString(_LM_IN["label_date"], "yyyy-MM-dd"),
                  "cloud_model": _LM_IN["cloud_model"]}
    parameters.update({name: _lm_out(file) for name, file in _LM_MODEL_OUTPUTS.items()})
    dialog = processing.createAlgorithmDialog(_LM_MODEL_ID, parameters)  # the toolbox: Models > the model
    if not _lm_check("model_dialog_created", dialog is not None, repr(dialog)):
        return
    finished = {}
    dialog.algorithmFinished.connect(lambda ok, results: finished.update(ok=ok, results=results))
    dialog.resize(900, 800)
    dialog.show()
    yield 300
    started = time.monotonic()
    QTimer.singleShot(0, dialog.runButton().click)  # a modal question would block a direct click()
    done = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not done:
        modal = QApplication.activeModalWidget()
        if modal is not None and modal is not dialog and "model_modal" not in _lm_results["facts"]:
            from qgis.PyQt.QtWidgets import QLabel

            texts = [label.text() for label in modal.findChildren(QLabel) if label.text()]
            _lm_fact("model_modal", {"title": modal.windowTitle(), "class": type(modal).__name__, "texts": texts})
            # the progress dialog Processing shows while an algorithm runs in the main thread; a question
            # box would show here too (its texts are recorded; the run then times out)
        # algorithmFinished is not emitted when the model runs in the main thread; the dialog's results are set
        done = "ok" in finished or bool(dialog.results())
        yield 100
    if done and "ok" not in finished:
        finished.update(ok=True, results=dialog.results())
    _lm_fact("model_seconds", round(time.monotonic() - started, 2))
    yield 300
    log = _lm_log_text(dialog)
    results = {k: (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
               for k, v in (finished.get("results") or {}).items()}
    _lm_fact("model_results", results)
    _lm_fact("model_log_tail", log[-3000:])
    _lm_fact("scene_expression_calls", _LM_SCENE_CALLS)
    _lm_check("model_run", done and finished.get("ok") and all(os.path.exists(_lm_out(f))
                                                               for f in _LM_MODEL_OUTPUTS.values()),
              f"finished {done}, ok {finished.get('ok')}, results {results}; log tail: {log[-1500:]}")
    _lm_fact("model_layers", {name: _lm_describe(_lm_out(file)) for name, file in _LM_MODEL_OUTPUTS.items()})
    dialog.close()
    dialog.deleteLater()
    if designer is not None:
        designer.hide()  # close() would ask about unsaved changes when the designer thinks there are any
        designer.deleteLater()
    yield 200
    image = _lm_layers_with_source(_lm_out("model_pair_image.tif"))
    mask = _lm_layers_with_source(_lm_out("model_cloud_mask.tif"))
    label = _lm_layers_with_source(_lm_out("model_pair_label.tif"))
    shown = [layer[0] for layer in (mask, label, image) if layer]
    root = QgsProject.instance().layerTreeRoot()
    for layer in reversed(shown):  # cloud mask on top, then the label, then the image
        node = root.findLayer(layer.id())
        if node is not None:
            root.insertChildNode(0, node.clone())
            node.parent().removeChildNode(node)
    if shown:
        _lm_show_only(shown, shown[-1])
        yield 300
        _lm_iface().mapCanvas().setLayers(shown)  # the tree bridge had not passed the new order on yet
        yield 100
        _lm_fact("model_canvas_layers", [layer.name() for layer in _lm_iface().mapCanvas().layers()])
        yield from _lm_canvas_screenshot("modeler_chain_canvas.png")


def _lm_step_batch():
    """Toolbox > cropscene > Execute as Batch Process: one row per label, filled through the panel."""
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    from processing.tools import dataobjects

    algorithm = QgsApplication.processingRegistry().algorithmById(f"{_LM_PROVIDER}:cropscene")
    dialog = BatchAlgorithmDialog(algorithm.create(), _lm_iface().mainWindow())
    dialog.resize(1500, 600)
    dialog.show()
    yield 300
    panel = dialog.mainWidget()
    labels = _LM_IN["batch_labels"]
    for _ in labels[1:]:
        panel.addRow()
    context = dataobjects.createContext()
    column = panel.parameter_to_column
    for row, label in enumerate(labels):
        panel.wrappers[row][column["SCENE"]].setParameterValue(_LM_IN["batch_scene"], context)
        panel.wrappers[row][column["LABEL"]].setParameterValue(label, context)
        panel.tblParameters.cellWidget(row + 1, column["OUTPUT_IMAGE"]).setValue(_lm_out(f"batch_image_{row}.tif"))
        panel.tblParameters.cellWidget(row + 1, column["OUTPUT_LABEL"]).setValue(_lm_out(f"batch_label_{row}.tif"))
    yield 300
    rows = panel.batchRowCount()
    values = [{name: str(panel.valueForParameter(row, name)) for name in ("SCENE", "LABEL")} for row in range(rows)]

    def as_path(value):
        layer = QgsProject.instance().mapLayer(value)
        return layer.source() if layer is not None else value

    _lm_fact("batch_rows", values)
    _lm_check("batch_filled", rows == len(labels)
              and [as_path(v["LABEL"]) for v in values] == labels
              and all(as_path(v["SCENE"]) == _LM_IN["batch_scene"] for v in values), f"{rows} rows: {values}")
    panel.checkLoadLayersOnCompletion.setChecked(True)
    yield 100
    _lm_grab(dialog, "cropscene_batch.png")
    started = time.monotonic()
    dialog.runButton().click()  # BatchAlgorithmDialog.runAlgorithm runs every row before it returns
    _lm_fact("batch_seconds", round(time.monotonic() - started, 2))
    yield 500
    log = _lm_log_text(dialog)
    _lm_fact("batch_log_tail", log[-3000:])
    _lm_fact("batch_load_errors", log.count("were not correctly generated"))
    outputs = [_lm_out(f"batch_{kind}_{row}.tif") for row in range(len(labels)) for kind in ("image", "label")]
    _lm_check("batch_run", all(os.path.exists(path) for path in outputs),
              f"outputs {[(p, os.path.exists(p)) for p in outputs]}; log tail: {log[-1500:]}")
    _lm_fact("batch_layers", [_lm_describe(path) for path in outputs])
    _lm_grab(dialog, "cropscene_batch_log.png")
    dialog.close()
    dialog.deleteLater()
    yield 200


def _lm_step_final():
    # as model_desktop_script.py: leave an empty project (QGIS 3.22 can abort on exit otherwise)
    QgsProject.instance().removeAllMapLayers()
    errors = [e for e in _lm_results["python_log"] if e["tag"] == "Python error" or e["level"] >= int(Qgis.Critical)]
    _lm_check("no_python_errors", not errors and not _lm_results["exceptions"] and not _lm_results["stack_dialogs"],
              f"{errors} {_lm_results['exceptions']} {_lm_results['stack_dialogs']}")


_LM_STEPS = [
    ("wait_for_desktop", _lm_step_wait_for_desktop),
    ("designer", _lm_step_designer),
    ("run_model", _lm_step_run_model),
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
