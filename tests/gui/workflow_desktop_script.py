"""Runs INSIDE the QGIS desktop, started as ``qgis --code tests/gui/workflow_desktop_script.py``.

Two workflows a user builds from the plugin's algorithms (tests/gui/test_workflow_desktop.py asserts), the
batch first (see the note at lm.start below):

1. A graphical-modeler model chaining labelmigration:geocodemask -> maskfootprint -> searchscenes (local
   archive) -> cropscene -> cloudmask, built as a QgsProcessingModelAlgorithm, opened in the real Model
   Designer (screenshot modeler_chain.png), then run through the model's own algorithm dialog (the dialog
   the designer's Run button opens), Run clicked.

   cropscene takes the search result itself (SCENES = the searchscenes child's output) and crops its
   rank-1 scene (RANK, default 1).

2. cropscene from its batch dialog (Execute as Batch Process) over three labels against one scene, rows
   filled through the panel's widgets, Run clicked (screenshot cropscene_batch.png).

Environment: LM_GUI_RESULT, LM_GUI_OUTPUT_DIR, LM_GUI_WORK_DIR, LM_GUI_WATCHDOG_S (desktop_harness.py),
and LM_GUI_WORKFLOW_INPUTS: a JSON file with the input paths.
"""
import os
import time

from qgis.core import (QgsApplication, QgsProcessingModelAlgorithm, QgsProcessingModelChildParameterSource,
                       QgsProcessingModelParameter,
                       QgsProcessingParameterDateTime, QgsProcessingParameterFile, QgsProcessingParameterRasterLayer,
                       QgsProject)
from qgis.PyQt.QtCore import QDate, QPointF, QTimer
from qgis.PyQt.QtWidgets import QApplication

import desktop_harness
from desktop_harness import PROVIDER as _LM_PROVIDER
from desktop_harness import describe, layers_with_source, show_only
from model_children import model_child

lm = desktop_harness.Harness(inputs_env="LM_GUI_WORKFLOW_INPUTS", extra_log_tags=("Processing",))
_LM_IN = lm.inputs


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
        return model_child(f"{_LM_PROVIDER}:{algorithm}", child_id, description, position, parameters, outputs)

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
        "SCENES": source.fromChildOutput("search", "OUTPUT"),
        "LABEL": source.fromChildOutput("geocode", "OUTPUT"), "BAND_NAMES": source.fromStaticValue("B02,B03,B04,B08")},
        [("pair_image", "OUTPUT_IMAGE"), ("pair_label", "OUTPUT_LABEL")])
    model.addChildAlgorithm(crop)
    model.addChildAlgorithm(child("cloud", "cloudmask", "Cloud mask", (420, 650), {
        "INPUT": source.fromChildOutput("crop", "OUTPUT_IMAGE"), "MODEL": source.fromModelParameter("cloud_model")},
        [("cloud_mask", "OUTPUT")]))
    return model


def _lm_step_designer():
    """The model opened in the real Model Designer, as after Processing > Graphical Modeler > Open."""
    from processing.modeler.ModelerDialog import ModelerDialog
    from qgis.PyQt.QtWidgets import QAction

    model = _lm_build_model()
    valid, errors = model.validate()
    lm.fact("model_children", sorted(c.algorithmId() for c in model.childAlgorithms().values()))
    lm.fact("model_dependencies", {cid: sorted(model.dependsOnChildAlgorithms(cid)) for cid in model.childAlgorithms()})
    lm.fact("model_parameters", [p.name() for p in model.parameterDefinitions()])
    lm.check("model_valid", valid and all(c.algorithm() is not None for c in model.childAlgorithms().values()),
             f"valid {valid}: {errors}")
    from processing.modeler.ModelerUtils import ModelerUtils

    # saved where Processing > Graphical Modeler > Save puts models: they show in the toolbox under Models
    model_path = os.path.join(ModelerUtils.defaultModelsFolder(), "label_to_cloud_masked_pair.model3")
    lm.check("model_saved", model.toFile(model_path), model_path)
    QgsApplication.processingRegistry().providerById("model").refreshAlgorithms()
    registered = QgsApplication.processingRegistry().algorithmById(_LM_MODEL_ID)
    lm.check("model_reloaded", registered is not None and len(registered.childAlgorithms()) == 5,
             f"{_LM_MODEL_ID}: {registered!r}")
    lm.state["model_file"] = model_path
    dialog = ModelerDialog.create(registered or model)
    dialog.resize(1500, 950)
    dialog.show()
    yield 500
    zoom = dialog.findChild(QAction, "mActionZoomToItems")
    if zoom is not None:
        zoom.trigger()
    yield 300
    scene_items = dialog.view().scene().items()
    lm.fact("designer_items", len(scene_items))
    lm.fact("designer_model_children", sorted(c.childId() for c in dialog.model().childAlgorithms().values()))
    lm.check("designer_open", dialog.isVisible() and len(dialog.model().childAlgorithms()) == 5,
             f"visible {dialog.isVisible()}, {len(scene_items)} graphics items")
    lm.grab(dialog, "modeler_chain.png")
    lm.state["designer"] = dialog


def _lm_step_run_model():
    """The model's algorithm dialog (what the designer's Run opens), filled in, Run clicked."""
    designer = lm.state.pop("designer", None)
    parameters = {"label_image": _LM_IN["label_png"], "reference": _LM_IN["reference"], "archive": _LM_IN["archive"],
                  "label_date": QDate.fromString(_LM_IN["label_date"], "yyyy-MM-dd"),
                  "cloud_model": _LM_IN["cloud_model"]}
    # a model's output parameters are named "<child>:<output>" up to QGIS 3.22 and "<output>" in newer QGIS
    model_parameters = {p.name() for p in QgsApplication.processingRegistry().algorithmById(_LM_MODEL_ID)
                        .parameterDefinitions()}
    parameters.update({name if name in model_parameters else name.split(":", 1)[1]: lm.out(file)
                       for name, file in _LM_MODEL_OUTPUTS.items()})
    # the toolbox: Models > the model
    dialog, finished = yield from lm.open_dialog(_LM_MODEL_ID, parameters, "model", size=(900, 800))
    if dialog is None:
        return
    started = time.monotonic()
    QTimer.singleShot(0, dialog.runButton().click)  # a modal question would block a direct click()
    done = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not done:
        modal = QApplication.activeModalWidget()
        if modal is not None and modal is not dialog and "model_modal" not in lm.results["facts"]:
            from qgis.PyQt.QtWidgets import QLabel

            texts = [label.text() for label in modal.findChildren(QLabel) if label.text()]
            lm.fact("model_modal", {"title": modal.windowTitle(), "class": type(modal).__name__, "texts": texts})
            # the progress dialog Processing shows while an algorithm runs in the main thread; a question
            # box would show here too (its texts are recorded; the run then times out)
        # algorithmFinished is not emitted when the model runs in the main thread; the dialog's results are set
        done = "ok" in finished or bool(dialog.results())
        yield 100
    if done and "ok" not in finished:
        finished.update(ok=True, results=dialog.results())
    lm.fact("model_seconds", round(time.monotonic() - started, 2))
    yield 300
    log = desktop_harness.log_text(dialog)
    results = desktop_harness.plain_results(finished.get("results"))
    lm.fact("model_results", results)
    lm.fact("model_log_tail", log[-3000:])
    lm.fact("model_scene_lines", [line for line in log.splitlines() if "Scene of rank" in line])
    lm.check("model_run", done and finished.get("ok") and all(os.path.exists(lm.out(f))
                                                              for f in _LM_MODEL_OUTPUTS.values()),
             f"finished {done}, ok {finished.get('ok')}, results {results}; log tail: {log[-1500:]}")
    lm.fact("model_layers", {name: describe(lm.out(file)) for name, file in _LM_MODEL_OUTPUTS.items()})
    # hidden, not deleted: the model runs in this thread and its dialog is still inside its run, finishing
    # (processing events, so this step runs within it); deleting it there made its own code fail ("wrapped C/C++
    # object has been deleted") and freed what its context held while QGIS still used it, crashing QGIS now
    # and then. It finishes when QGIS quits.
    dialog.hide()
    lm.state["model_dialog"] = dialog
    if designer is not None:
        designer.hide()  # close() would ask about unsaved changes when the designer thinks there are any
        designer.deleteLater()
    yield 200
    image = layers_with_source(lm.out("model_pair_image.tif"))
    mask = layers_with_source(lm.out("model_cloud_mask.tif"))
    label = layers_with_source(lm.out("model_pair_label.tif"))
    shown = [layer[0] for layer in (mask, label, image) if layer]
    root = QgsProject.instance().layerTreeRoot()
    for layer in reversed(shown):  # cloud mask on top, then the label, then the image
        node = root.findLayer(layer.id())
        if node is not None:
            root.insertChildNode(0, node.clone())
            node.parent().removeChildNode(node)
    if shown:
        show_only(shown, shown[-1])
        yield 300
        desktop_harness.iface().mapCanvas().setLayers(shown)  # the tree bridge had not passed the new order on yet
        yield 100
        lm.fact("model_canvas_layers", [layer.name() for layer in desktop_harness.iface().mapCanvas().layers()])
        yield from lm.canvas_screenshot("modeler_chain_canvas.png")


def _lm_step_batch():
    """Toolbox > cropscene > Execute as Batch Process: one row per label, filled through the panel."""
    from processing.tools import dataobjects

    dialog = yield from lm.open_batch_dialog("cropscene", 1500)
    panel = dialog.mainWidget()
    labels = _LM_IN["batch_labels"]
    for _ in labels[1:]:
        panel.addRow()
    context = dataobjects.createContext()
    column = panel.parameter_to_column
    for row, label in enumerate(labels):
        panel.wrappers[row][column["SCENE"]].setParameterValue(_LM_IN["batch_scene"], context)
        panel.wrappers[row][column["LABEL"]].setParameterValue(label, context)
        panel.tblParameters.cellWidget(row + 1, column["OUTPUT_IMAGE"]).setValue(lm.out(f"batch_image_{row}.tif"))
        panel.tblParameters.cellWidget(row + 1, column["OUTPUT_LABEL"]).setValue(lm.out(f"batch_label_{row}.tif"))
    yield 300
    rows = panel.batchRowCount()
    values = [{name: str(panel.valueForParameter(row, name)) for name in ("SCENE", "LABEL")} for row in range(rows)]

    def as_path(value):
        layer = QgsProject.instance().mapLayer(value)
        return layer.source() if layer is not None else value

    lm.fact("batch_rows", values)
    lm.check("batch_filled", rows == len(labels)
             and [as_path(v["LABEL"]) for v in values] == labels
             and all(as_path(v["SCENE"]) == _LM_IN["batch_scene"] for v in values), f"{rows} rows: {values}")
    panel.checkLoadLayersOnCompletion.setChecked(True)
    yield 100
    outputs = [lm.out(f"batch_{kind}_{row}.tif") for row in range(len(labels)) for kind in ("image", "label")]
    yield from lm.run_batch(dialog, outputs, "cropscene_batch.png", "cropscene_batch_log.png")


# The batch runs first: the model runs in this thread, and its dialog processes events until QGIS quits (the
# steps after it run inside its run), so a batch run after it loaded its layers inside that run too, which
# crashed QGIS 3.22 now and then on the way out (the canvas bridge setting the project CRS from a freed layer)
lm.start([
    ("wait_for_desktop", lm.step_wait_for_desktop),
    ("batch", _lm_step_batch),
    ("designer", _lm_step_designer),
    ("run_model", _lm_step_run_model),
    ("final", lm.step_final),
])
