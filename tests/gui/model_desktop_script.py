"""Runs INSIDE the QGIS desktop, started as ``qgis --code tests/gui/model_desktop_script.py``.

The model algorithms as a user runs them: the algorithm dialog of cloudmask, segment, rasterizelabels and
evaluatesegmentation, filled in, Run clicked ("Open output file after running" left as QGIS sets it), the
outputs loaded into the project; then the batch dialog of cloudmask ("Execute as Batch Process") with two rows.
The script records facts (layers in the project, their renderers, palettes, opacities, results) as checks in a
JSON report; tests/gui/test_model_desktop.py built the inputs, compares the output files with what the tiny
models give by hand, and asserts on the report.

Environment (set by the test): LM_GUI_RESULT, LM_GUI_OUTPUT_DIR, LM_GUI_WORK_DIR, LM_GUI_WATCHDOG_S as in
desktop_harness.py, and LM_GUI_MODEL_INPUTS: a JSON file with the input paths and the class config.
"""
from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer

import desktop_harness
from desktop_harness import describe, layers_with_source, show_only

lm = desktop_harness.Harness(inputs_env="LM_GUI_MODEL_INPUTS", extra_log_tags=("Processing",))
_LM_IN = lm.inputs


# --- steps -----------------------------------------------------------------------------------

def _lm_step_image():
    """The scene as the user would look at it (true colour, as the plugin styles images)."""
    from labelmigration.qgis_common.styles import style_image

    layer = QgsRasterLayer(_LM_IN["scene_a"], "scene_a")
    ok = layer.isValid()
    if ok:
        style_image(layer)
        QgsProject.instance().addMapLayer(layer)
    lm.state["image_layer"] = layer if ok else None
    lm.check("image_loaded", ok, _LM_IN["scene_a"])


def _lm_show_over_image(path, screenshot):
    """Generator: the layer of that output over the scene, the canvas zoomed to the scene, then a screenshot."""
    found = layers_with_source(path)
    show_only([found[0] if found else None, lm.state["image_layer"]], lm.state["image_layer"])
    yield from lm.canvas_screenshot(screenshot)


def _lm_step_cloudmask():
    results = yield from lm.run_dialog("cloudmask", {
        "INPUT": _LM_IN["scene_a"], "MODEL": _LM_IN["cloud_model"], "OUTPUT": lm.out("cloudmask_a.tif"),
        "OUTPUT_PROBABILITY": lm.out("cloudprob_a.tif")}, "cloudmask")
    lm.fact("cloudmask_layer", describe(lm.out("cloudmask_a.tif")))
    lm.fact("cloudprob_layer", describe(lm.out("cloudprob_a.tif")))
    if results is None:
        return
    yield from _lm_show_over_image(lm.out("cloudmask_a.tif"), "cloudmask_canvas.png")


def _lm_step_segment():
    yield from lm.run_dialog("segment", {
        "INPUT": _LM_IN["scene_a"], "MODEL": _LM_IN["landuse_model"], "CLASSES": _LM_IN["class_config"],
        "OUTPUT": lm.out("segment_classes.tif"), "OUTPUT_HEATMAPS": lm.out("segment_heatmaps.tif"),
        "OUTPUT_COUNTS": lm.out("segment_counts.csv")}, "segment")
    lm.fact("segment_layer", describe(lm.out("segment_classes.tif")))
    lm.fact("heatmaps_layer", describe(lm.out("segment_heatmaps.tif")))
    lm.fact("counts_layer", describe(lm.out("segment_counts.csv")))
    yield from _lm_show_over_image(lm.out("segment_classes.tif"), "segment_canvas.png")


def _lm_step_rasterize():
    yield from lm.run_dialog("rasterizelabels", {
        "INPUT": _LM_IN["labels_gpkg"], "CLASSES": _LM_IN["class_config"], "REFERENCE": _LM_IN["scene_a"],
        "OUTPUT": lm.out("rasterized_labels.tif")}, "rasterizelabels")
    lm.fact("rasterized_layer", describe(lm.out("rasterized_labels.tif")))


def _lm_step_evaluate():
    yield from lm.run_dialog("evaluatesegmentation", {
        "PREDICTION": lm.out("cloudmask_a.tif"), "GROUND_TRUTH": _LM_IN["truth_a"],
        "OUTPUT_TABLE": lm.out("confusion.csv")}, "evaluatesegmentation", tick=("OUTPUT_TABLE",),
        screenshot="evaluatesegmentation_dialog.png")
    lm.fact("confusion_layer", describe(lm.out("confusion.csv")))
    # could QGIS show the table at all? (the CSV as an attribute table, through OGR)
    table = QgsVectorLayer(lm.out("confusion.csv"), "confusion", "ogr")
    lm.fact("confusion_loadable", {"valid": table.isValid(), "features": table.featureCount(),
                                    "fields": table.fields().names()})


def _lm_step_batch():
    """Toolbox > Execute as Batch Process: two rows filled through the panel's widgets, Run clicked."""
    from processing.tools import dataobjects

    dialog = yield from lm.open_batch_dialog("cloudmask", 1400)
    panel = dialog.mainWidget()
    panel.addRow()  # the panel starts with one row; the "+" button adds the second
    context = dataobjects.createContext()
    column = panel.parameter_to_column
    outputs = [lm.out("batch_mask_a.tif"), lm.out("batch_mask_b.tif")]
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
    lm.fact("batch_rows", values)
    lm.fact("batch_load_layers_default", panel.checkLoadLayersOnCompletion.isChecked())
    panel.checkLoadLayersOnCompletion.setChecked(True)  # the user ticks "Load layers on completion"
    lm.check("batch_filled", rows == 2 and sources == [_LM_IN["scene_a"], _LM_IN["scene_b"]]
             and all(v["MODEL"] == _LM_IN["cloud_model"] for v in values), f"{rows} rows: {values} ({sources})")
    yield 100
    yield from lm.run_batch(dialog, outputs, "cloudmask_batch.png", "cloudmask_batch_log.png")


lm.start([
    ("wait_for_desktop", lm.step_wait_for_desktop),
    ("image", _lm_step_image),
    ("cloudmask", _lm_step_cloudmask),
    ("segment", _lm_step_segment),
    ("rasterizelabels", _lm_step_rasterize),
    ("evaluatesegmentation", _lm_step_evaluate),
    ("batch", _lm_step_batch),
    ("final", lm.step_final),
])
