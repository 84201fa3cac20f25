"""Runs INSIDE the QGIS desktop, started as ``qgis --code tests/gui/migrate_desktop_script.py``.

migratelabels as a user runs it: its algorithm dialog filled in (a label folder, the local-archive backend,
an output folder), Run clicked, the task waited for; then what reached the layer tree is recorded (the group
'Label migration: <folder>' with the label footprints, the chosen scenes, a sub-group per pair with image,
label and cloud mask, their renderers) and screenshots of the dialog and the canvas are saved.
Helpers and the step runner: tests/gui/desktop_harness.py.

Environment: LM_GUI_RESULT, LM_GUI_OUTPUT_DIR, LM_GUI_WORK_DIR, LM_GUI_WATCHDOG_S, and LM_GUI_MIGRATE_INPUTS: a
JSON file with 'archive', 'labels' and 'output'.
"""
import os

from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer

import desktop_harness

lm = desktop_harness.Harness(inputs_env="LM_GUI_MIGRATE_INPUTS", extra_log_tags=("Processing",))
_LM_IN = lm.inputs


# --- steps -----------------------------------------------------------------------------------

def _lm_step_migrate_dialog():
    results = yield from lm.run_dialog("migratelabels", {
        "LABELS": _LM_IN["labels"], "BACKEND": 3, "URL": _LM_IN["archive"], "DAYS_BEFORE": 3, "DAYS_AFTER": 3,
        "MAX_CLOUD": 30.0, "PRODUCT": 1, "CLOUD_MASKS": True, "OUTPUT_FOLDER": _LM_IN["output"]},
        "migratelabels", screenshot="migrate_dialog.png")
    lm.fact("migrate_results_ok", results is not None)


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
    lm.fact("layer_tree", [_lm_tree(child) for child in root.children()])
    name = "Label migration: " + os.path.basename(os.path.normpath(_LM_IN["output"]))
    group = root.findGroup(name)
    lm.check("group_loaded", group is not None, f"{name} in {[c.name() for c in root.children()]}")
    if group is None:
        return
    # the canvas: every pair expanded and visible, zoomed to the pairs and their footprints
    layers = [node.layer() for node in group.findLayers()]
    pairs = [layer for layer in layers if isinstance(layer, QgsRasterLayer)]
    group.setExpanded(True)
    for node in group.findGroups(True):
        node.setExpanded(True)
    canvas = desktop_harness.iface().mapCanvas()
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
    yield from lm.canvas_screenshot("migrate_canvas.png")


lm.start([
    ("wait_for_desktop", lm.step_wait_for_desktop),
    ("migratelabels", _lm_step_migrate_dialog),
    ("layer_tree", _lm_step_layer_tree),
    ("final", lm.step_final),
])
