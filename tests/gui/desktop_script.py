"""Runs INSIDE the QGIS desktop, started as ``qgis --code tests/gui/desktop_script.py``.

QGIS executes this file with ``exec()`` in its Python console namespace once the main window
exists (``__file__`` is not set), so everything it needs comes from environment variables that
tests/gui/test_desktop.py sets:

  LM_GUI_RESULT      JSON file written with every check's outcome (rewritten after each step)
  LM_GUI_OUTPUT_DIR  folder for the screenshots (PNG)
  LM_GUI_WORK_DIR    scratch folder for the rasters this script makes and the algorithm outputs
  LM_GUI_WATCHDOG_S  seconds after which the script gives up, records why, and quits QGIS

The recording, the step runner and the watchdog are tests/gui/desktop_harness.py's (QGIS finds it on
PYTHONPATH, which the test sets): the steps run one after another from the Qt event loop, every check is
recorded as {"ok": bool, "detail": str}, Python exceptions and QgsMessageLog messages from the Python tags
are recorded too, and at the end QGIS quits with QgsApplication.exit().
"""
import os
import sys

from osgeo import gdal, osr
from qgis.core import Qgis, QgsApplication, QgsContrastEnhancement, QgsProject
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import QApplication, QMenu

import desktop_harness
from desktop_harness import iface, layers_with_source, wait_until

import qgis.utils

_LM_PLUGIN = "labelmigration"
_LM_PROVIDER = "labelmigration"
_LM_ALGORITHMS = ("cloudmask", "cropscene", "downloadscenes", "evaluatesegmentation", "exportdataset", "geocodemask",
                  "maskfootprint", "migratelabels", "rasterizelabels", "safetogeotiff", "searchscenes", "segment",
                  "stackbands", "trainsegmentation")
_LM_MENU_NAME = "labelMigrationMenu"
_LM_SEARCH_PANEL_ACTION = "labelMigration_searchPanel"
_LM_SEARCH_DOCK_NAME = "labelMigrationSearchDock"
_LM_CROPSCENE_PARAMETERS = ("SCENE", "LABEL", "BANDS", "BAND_NAMES", "OTHER_TILES", "LABEL_RESAMPLING", "OUTPUT_IMAGE",
                            "OUTPUT_LABEL")
_LM_RELOAD_CYCLES = 2

lm = desktop_harness.Harness(env_defaults=True)


# --- helpers ---------------------------------------------------------------------------------

def _lm_registry():
    return QgsApplication.processingRegistry()


def _lm_provider_state():
    provider = _lm_registry().providerById(_LM_PROVIDER)
    if provider is None:
        return None, []
    return provider, sorted(algorithm.name() for algorithm in provider.algorithms())


def _lm_menus_in_menubar():
    menu_bar = iface().mainWindow().menuBar()
    return [action for action in menu_bar.actions()
            if action.menu() is not None and action.menu().objectName() == _LM_MENU_NAME]


def _lm_toolbox_tree():
    processing_plugin = qgis.utils.plugins.get("processing")
    toolbox = getattr(processing_plugin, "toolbox", None)
    return getattr(toolbox, "algorithmTree", None)


def _lm_toolbox_algorithms(expand=False):
    """Algorithm ids listed under the Label Migration provider's node of the Processing toolbox."""
    tree = _lm_toolbox_tree()
    if tree is None:
        return None
    proxy = tree.model()
    provider = _lm_registry().providerById(_LM_PROVIDER)
    provider_name = provider.name() if provider is not None else "Label Migration"
    # Top-level nodes are the providers (plus "Recently used"); find ours by its displayed name.
    provider_index = None
    for row in range(proxy.rowCount()):
        index = proxy.index(row, 0)
        if tree.algorithmForIndex(index) is None and proxy.data(index, Qt.DisplayRole) == provider_name:
            provider_index = index
    if provider_index is None:
        return []
    found = []

    def walk(index):
        if expand:
            tree.expand(index)
        for row in range(proxy.rowCount(index)):
            child = proxy.index(row, 0, index)
            algorithm = tree.algorithmForIndex(child)
            if algorithm is not None:
                found.append(algorithm.id())
            walk(child)

    walk(provider_index)
    return sorted(found)


def _lm_write_band(path, array):
    rows, cols = array.shape
    dataset = gdal.GetDriverByName("GTiff").Create(path, cols, rows, 1, gdal.GDT_Byte)
    dataset.SetGeoTransform((500000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    dataset.SetProjection(srs.ExportToWkt())
    dataset.GetRasterBand(1).WriteArray(array)
    dataset.FlushCache()
    dataset = None
    return path


# --- steps -----------------------------------------------------------------------------------

def _lm_step_wait_for_desktop():
    return lm.step_wait_for_desktop(require_provider=False,
                                    detail="main window shown and the Processing plugin loaded", settle_ms=500)


def _lm_step_plugin_loaded():
    plugin = qgis.utils.plugins.get(_LM_PLUGIN)
    startup = [f"{e['message'][:300]} {e['traceback'][-600:]}" for e in lm.results["startup_errors"]]
    lm.check("plugin_loaded", plugin is not None and qgis.utils.isPluginLoaded(_LM_PLUGIN),
             f"qgis.utils.plugins[{_LM_PLUGIN!r}] = {plugin!r}; active = {qgis.utils.active_plugins}; "
             f"start-up errors: {startup}")
    module = sys.modules.get(_LM_PLUGIN)
    lm.check("plugin_module", module is not None and os.path.basename(os.path.dirname(module.__file__)) == _LM_PLUGIN,
             getattr(module, "__file__", None))


def _lm_check_provider(label, expect_present=True):
    provider, algorithms = _lm_provider_state()
    if not expect_present:
        return lm.check(f"provider_gone_{label}", provider is None, f"provider = {provider!r}")
    missing = [aid for aid in _LM_ALGORITHMS if _lm_registry().algorithmById(f"{_LM_PROVIDER}:{aid}") is None]
    return lm.check(
        f"provider_{label}",
        provider is not None and tuple(algorithms) == _LM_ALGORITHMS and not missing
        and provider.name() == "Label Migration",
        f"provider = {provider.name() if provider else None!r}, algorithms = {algorithms}, "
        f"missing from the registry = {missing}")


def _lm_check_menu(label, expect_present=True):
    menus = _lm_menus_in_menubar()
    window = iface().mainWindow()
    if not expect_present:
        return lm.check(f"menu_gone_{label}", not menus,
                        f"{len(menus)} menu bar entries with objectName {_LM_MENU_NAME}")
    if len(menus) != 1:
        return lm.check(f"menu_{label}", False,
                        f"{len(menus)} menu bar entries with objectName {_LM_MENU_NAME} (expected 1); "
                        f"menu bar: {[a.text() for a in window.menuBar().actions()]}")
    menu = menus[0].menu()
    entries = [action for action in menu.actions() if not action.isSeparator()]
    first = entries[0].objectName() if entries else None
    # the first entry shows the scene search panel; the others open one algorithm each
    entries = [action for action in entries if action.objectName() != _LM_SEARCH_PANEL_ACTION]
    # the last two open the dependencies dialog and About
    tools = [action.objectName() for action in entries[-2:]]
    tools_ok = tools == ["labelMigration_dependencies", "labelMigration_about"]
    entries = entries[:-2] if tools_ok else entries
    names = sorted(action.objectName() for action in entries)
    expected = sorted(f"labelMigration_{aid}" for aid in _LM_ALGORITHMS)
    texts = [action.text() for action in entries]
    displays = sorted(_lm_registry().algorithmById(f"{_LM_PROVIDER}:{aid}").displayName() + "…"
                      for aid in _LM_ALGORITHMS if _lm_registry().algorithmById(f"{_LM_PROVIDER}:{aid}"))
    bar_actions = window.menuBar().actions()
    position = bar_actions.index(menus[0])
    help_positions = [i for i, a in enumerate(bar_actions) if a.menu() is not None
                      and a.menu().objectName() == "mHelpMenu"]
    # The plugin inserts its menu right before Help; plugins loaded later (Processing) may insert theirs
    # in between, so the menu only has to stay to the left of Help.
    before_help = bool(help_positions) and position < help_positions[0]
    ok = names == expected and sorted(texts) == displays and menus[0].isVisible() and first == _LM_SEARCH_PANEL_ACTION \
        and tools_ok
    lm.check(f"menu_{label}", ok,
             f"title {menus[0].text()!r}, first {first!r}, actions {names}, texts {texts}, last {tools}, "
             f"visible {menus[0].isVisible()}")
    lm.check(f"menu_before_help_{label}", before_help,
             f"menu at position {position}, Help at {help_positions}, "
             f"menu bar: {[a.text() for a in bar_actions]}")
    return ok


def _lm_check_toolbox(label, expect_present=True):
    found = _lm_toolbox_algorithms(expand=expect_present)
    if found is None:
        return lm.check(f"toolbox_{label}", False, "no Processing toolbox tree found")
    expected = sorted(f"{_LM_PROVIDER}:{aid}" for aid in _LM_ALGORITHMS)
    if not expect_present:
        return lm.check(f"toolbox_gone_{label}", not found, f"toolbox lists {found}")
    return lm.check(f"toolbox_{label}", found == expected, f"toolbox lists {found}")


def _lm_step_provider_and_toolbox():
    _lm_check_provider("initial")
    processing_plugin = qgis.utils.plugins.get("processing")
    toolbox_action = getattr(processing_plugin, "toolboxAction", None)
    if toolbox_action is not None:
        toolbox_action.setChecked(True)  # show the toolbox so it is in the main window screenshot
    yield 300
    _lm_check_toolbox("initial")


def _lm_step_menu():
    _lm_check_menu("initial")
    menus = _lm_menus_in_menubar()
    if not menus:
        return
    menu_bar = iface().mainWindow().menuBar()
    menu = menus[0].menu()
    menu.popup(menu_bar.mapToGlobal(menu_bar.actionGeometry(menus[0]).bottomLeft()))
    yield 500
    lm.grab_screen("menu_open.png")
    menu.hide()
    yield 200


def _lm_step_menu_action_opens_dialog():
    """Trigger the menu entry: it must open the cropscene dialog (modal); close it from a timer."""
    menus = _lm_menus_in_menubar()
    action = None
    if menus:
        action = next((a for a in menus[0].menu().actions() if a.objectName() == "labelMigration_cropscene"), None)
    if action is None:
        lm.check("menu_action_opens_dialog", False, "no labelMigration_cropscene action in the menu")
        return
    seen = {}

    def close_dialog():
        # activeModalWidget() stays None under Xvfb without a window manager: look for the dialog among
        # the visible top-level widgets instead, and poll until it shows.
        candidates = [widget for widget in QApplication.topLevelWidgets()
                      if widget.isVisible() and callable(getattr(widget, "algorithm", None))]
        seen["visible"] = [f"{type(w).__name__} {w.windowTitle()!r} modal={w.isModal()}" for w in candidates]
        for dialog in candidates:
            algorithm = dialog.algorithm()
            seen["algorithm"] = algorithm.id() if algorithm is not None else None
            seen["title"] = dialog.windowTitle()
            seen["modal"] = dialog.isModal()
            dialog.reject()
        if not candidates and seen.setdefault("tries", 0) < 50:
            seen["tries"] += 1
            QTimer.singleShot(200, close_dialog)

    QTimer.singleShot(800, close_dialog)
    action.trigger()  # runs processing.execAlgorithmDialog: blocks in exec() until close_dialog rejects it
    yield 200
    lm.check("menu_action_opens_dialog", seen.get("algorithm") == f"{_LM_PROVIDER}:cropscene" and seen.get("modal"),
             f"algorithm {seen.get('algorithm')}, title {seen.get('title')!r}, modal {seen.get('modal')}, "
             f"visible dialogs {seen.get('visible')}")


def _lm_dialog_shows(algorithm, title, parameters):
    """Generator: the algorithm's dialog as a user opens it from the toolbox: made, every parameter with its
    widget, its title, a screenshot <algorithm>_dialog.png; closed again (nothing run)."""
    import processing

    dialog = processing.createAlgorithmDialog(f"{_LM_PROVIDER}:{algorithm}")
    if not lm.check(f"{algorithm}_dialog_created", dialog is not None, repr(dialog)):
        return
    dialog.resize(900, 700)
    dialog.show()
    yield 800
    wrappers = sorted(getattr(dialog.mainWidget(), "wrappers", {}).keys())
    lm.check(f"{algorithm}_dialog_parameters", all(name in wrappers for name in parameters),
             f"parameter widgets {wrappers}")
    lm.check(f"{algorithm}_dialog_title", title in dialog.windowTitle(), dialog.windowTitle())
    lm.grab(dialog, f"{algorithm}_dialog.png")
    dialog.close()
    dialog.deleteLater()
    yield 200


def _lm_step_cropscene_dialog():
    yield from _lm_dialog_shows("cropscene", "Crop scene to label", _LM_CROPSCENE_PARAMETERS)


def _lm_step_trainsegmentation_dialog():
    """No run: training needs PyTorch in QGIS's Python, which this desktop may lack (tests/qgis runs it)."""
    yield from _lm_dialog_shows("trainsegmentation", "Train segmentation model",
                                ("DATASET", "EPOCHS", "BATCH_SIZE", "LEARNING_RATE", "PATCH_SIZE", "SEED",
                                 "OUTPUT_MODEL", "OUTPUT_CARD"))


def _lm_step_make_rasters():
    import numpy as np

    rows, cols = 48, 64
    y, x = np.mgrid[0:rows, 0:cols]
    blue = (255 * x / (cols - 1)).astype(np.uint8)
    green = (255 * y / (rows - 1)).astype(np.uint8)
    red = np.where(((x // 8) + (y // 8)) % 2 == 0, 230, 30).astype(np.uint8)
    # 38-Cloud style names: band names come from the prefix; the order is blue, green, red, so the
    # image styler (style on load) must pick red = band 3, blue = band 1 (QGIS's default is 1, 2, 3).
    lm.state["bands"] = [
        _lm_write_band(os.path.join(lm.state["work_dir"], "blue_patch_1.tif"), blue),
        _lm_write_band(os.path.join(lm.state["work_dir"], "green_patch_1.tif"), green),
        _lm_write_band(os.path.join(lm.state["work_dir"], "red_patch_1.tif"), red),
    ]
    lm.check("rasters_made", all(os.path.exists(p) for p in lm.state["bands"]), lm.state["bands"])


def _lm_check_stacked_layer(label, output):
    layers = layers_with_source(output)
    if not lm.check(f"{label}_layer_in_project", len(layers) == 1,
                    f"{len(layers)} layers with source {output}; project layers: "
                    f"{[l.source() for l in QgsProject.instance().mapLayers().values()]}"):
        return
    layer = layers[0]
    renderer = layer.renderer()
    bands = (renderer.redBand(), renderer.greenBand(), renderer.blueBand()) if renderer.type() == "multibandcolor" \
        else None
    stretch = None
    if renderer.type() == "multibandcolor" and renderer.redContrastEnhancement() is not None:
        stretch = renderer.redContrastEnhancement().contrastEnhancementAlgorithm()
    lm.check(f"{label}_layer_valid", layer.isValid() and layer.bandCount() == 3,
             f"valid {layer.isValid()}, bands {layer.bandCount()}, name {layer.name()!r}")
    lm.check(f"{label}_layer_styled", bands == (3, 2, 1)
             and stretch == QgsContrastEnhancement.StretchToMinimumMaximum,
             f"renderer {renderer.type()}, RGB bands {bands}, contrast enhancement {stretch}")


def _lm_step_run_stackbands():
    import processing

    output = os.path.join(lm.state["work_dir"], "stacked_run.tif")
    results = processing.runAndLoadResults(f"{_LM_PROVIDER}:stackbands",
                                           {"INPUTS": list(lm.state["bands"]), "OUTPUT": output})
    lm.check("stackbands_run", bool(results) and os.path.exists(output)
             and os.path.realpath(results.get("OUTPUT", "")) == os.path.realpath(output),
             f"results {results}")
    yield 300
    _lm_check_stacked_layer("stackbands_run", output)


def _lm_step_run_stackbands_dialog():
    """The user's path: the algorithm dialog, its Run button, a background task, layers loaded."""
    output = os.path.join(lm.state["work_dir"], "stacked_dialog.tif")
    dialog, finished = yield from lm.open_dialog(f"{_LM_PROVIDER}:stackbands",
                                                 {"INPUTS": list(lm.state["bands"]), "OUTPUT": output},
                                                 "stackbands", settle_ms=500)
    if dialog is None:
        return
    desktop_harness.run_button(dialog).click()
    done = yield from wait_until(lambda: "ok" in finished, 30)
    yield 500
    lm.check("stackbands_dialog_run", done and finished.get("ok") and os.path.exists(output),
             f"finished {finished}")
    lm.grab(dialog, "stackbands_dialog.png")
    dialog.close()
    dialog.deleteLater()
    yield 200
    _lm_check_stacked_layer("stackbands_dialog", output)


def _lm_step_demo_chain():
    """The demo's chain with every output loaded: the styles a user sees on the canvas."""
    import processing
    from qgis.core import QgsPalettedRasterRenderer, QgsVectorLayer

    data = os.path.join(os.path.dirname(sys.modules[_LM_PLUGIN].__file__), "demo", "data")
    work = lm.state["work_dir"]
    geocoded = os.path.join(work, "demo_label.tif")
    processing.runAndLoadResults(f"{_LM_PROVIDER}:geocodemask", {
        "INPUT": os.path.join(data, "20200812_101512_1014_label.png"),
        "REFERENCE": os.path.join(data, "20200812_101512_1014_3B_Visual.tif"), "OUTPUT": geocoded})
    processing.runAndLoadResults(f"{_LM_PROVIDER}:maskfootprint", {
        "INPUT": [geocoded], "OUTPUT": os.path.join(work, "demo_footprint.gpkg")})
    image, label = os.path.join(work, "demo_pair_image.tif"), os.path.join(work, "demo_pair_label.tif")
    processing.runAndLoadResults(f"{_LM_PROVIDER}:cropscene", {
        "SCENE": os.path.join(data, "S2B_MSIL2A_20200815T102559_N0214_R108_T32UPU_subset.tif"),
        "LABEL": geocoded, "OUTPUT_IMAGE": image, "OUTPUT_LABEL": label})
    yield 300
    loaded = {os.path.realpath(l.source().split("|")[0]): l for l in QgsProject.instance().mapLayers().values()}
    pair_label = loaded.get(os.path.realpath(label))
    pair_image = loaded.get(os.path.realpath(image))
    footprint = next((l for l in loaded.values() if isinstance(l, QgsVectorLayer)
                      and "demo_footprint" in l.source()), None)
    lm.check("demo_label_paletted", pair_label is not None
             and isinstance(pair_label.renderer(), QgsPalettedRasterRenderer), repr(pair_label))
    lm.check("demo_image_true_colour", pair_image is not None and pair_image.renderer().type() == "multibandcolor"
             and (pair_image.renderer().redBand(), pair_image.renderer().blueBand()) == (3, 1), repr(pair_image))
    lm.check("demo_footprint_outlined", footprint is not None and footprint.labelsEnabled(), repr(footprint))
    order = [node.layerId() for node in QgsProject.instance().layerTreeRoot().findLayers()]
    stack = [name for _, name in sorted((order.index(layer.id()), name) for layer, name in (
        (footprint, "footprints"), (pair_label, "label"), (pair_image, "image"))
        if layer is not None and layer.id() in order)]
    # qgis_common/styles.place_above: QGIS 3.40 alone would load the label under its image
    lm.check("demo_label_above_image", stack.index("label") < stack.index("image") if {"label", "image"} <= set(stack)
             else False, f"top to bottom: {stack}")
    for layer in QgsProject.instance().mapLayers().values():  # show only the demo layers
        node = QgsProject.instance().layerTreeRoot().findLayer(layer.id())
        if node is not None:
            node.setItemVisibilityChecked(layer in (pair_label, pair_image, footprint))
    canvas = iface().mapCanvas()
    if pair_image is not None:
        canvas.setExtent(canvas.mapSettings().layerExtentToOutputExtent(pair_image, pair_image.extent()))
    canvas.refreshAllLayers()
    yield from lm.canvas_screenshot("demo_pair_canvas.png")
    for layer in (pair_label, pair_image, footprint):
        if layer is not None:
            QgsProject.instance().layerTreeRoot().findLayer(layer.id()).setItemVisibilityChecked(False)
    for layer in QgsProject.instance().mapLayers().values():
        node = QgsProject.instance().layerTreeRoot().findLayer(layer.id())
        if node is not None and layer not in (pair_label, pair_image, footprint):
            node.setItemVisibilityChecked(True)


def _lm_step_screenshot_main_window():
    canvas = iface().mapCanvas()
    layers = layers_with_source(os.path.join(lm.state["work_dir"], "stacked_run.tif"))
    if layers:
        iface().setActiveLayer(layers[0])
        canvas.setExtent(canvas.mapSettings().layerExtentToOutputExtent(layers[0], layers[0].extent()))
    canvas.refreshAllLayers()
    yield from lm.canvas_screenshot("main_window.png")


def _lm_find_search_dock():
    from qgis.PyQt.QtWidgets import QDockWidget

    return iface().mainWindow().findChildren(QDockWidget, _LM_SEARCH_DOCK_NAME)


def _lm_step_search_dock():
    """The scene search panel: opened from the menu, a search against a small local archive, results shown."""
    import datetime as dt

    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer
    from qgis.PyQt.QtCore import QDate

    from labelmigration.tests.support.safe_products import make_safe_product

    docks = _lm_find_search_dock()
    lm.check("search_dock_created_hidden", len(docks) == 1 and docks[0].isHidden(),
             f"{len(docks)} docks named {_LM_SEARCH_DOCK_NAME}, hidden {[d.isHidden() for d in docks]}")
    menus = _lm_menus_in_menubar()
    action = next((a for a in menus[0].menu().actions() if a.objectName() == _LM_SEARCH_PANEL_ACTION), None) \
        if menus else None
    if not lm.check("search_dock_menu_action", action is not None, f"{_LM_SEARCH_PANEL_ACTION} in the menu"):
        return
    action.trigger()
    yield 500
    dock = docks[0] if docks else None
    if not lm.check("search_dock_shown", dock is not None and dock.isVisible(),
                    f"visible {dock.isVisible() if dock else None}"):
        return

    archive = os.path.join(lm.state["work_dir"], "archive")
    os.makedirs(archive, exist_ok=True)
    titles = [make_safe_product(archive, "L2A", size_10m=546, sensing=dt.datetime(2020, 8, day, 10, 25, 59),
                                cloud_cover=cloud).name for day, cloud in ((14, 0.5), (18, 0.5), (16, 40.0))]
    layer = QgsVectorLayer("Polygon?crs=EPSG:32632&field=label:string&field=date:date", "label footprints",
                           "memory")
    features = []
    for index, day in enumerate((15, 17)):
        feature = QgsFeature(layer.fields())
        x0, y0 = 699960.0 + 1000 + index * 1500, 5400000.0 - 3000
        feature.setGeometry(QgsGeometry.fromWkt(
            f"POLYGON(({x0} {y0},{x0 + 1000} {y0},{x0 + 1000} {y0 + 1000},{x0} {y0 + 1000},{x0} {y0}))"))
        feature.setAttributes([f"label_{index}", QDate(2020, 8, day)])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    previous_active = iface().activeLayer()
    QgsProject.instance().addMapLayer(layer)
    for other in QgsProject.instance().mapLayers().values():  # show only the footprints and the scenes
        node = QgsProject.instance().layerTreeRoot().findLayer(other.id())
        if node is not None:
            node.setItemVisibilityChecked(other is layer)
    yield 300

    dock.layer_combo.setLayer(layer)
    dock.date_field_combo.setField("date")
    dock.max_cloud.setValue(5)
    dock.backend_combo.setCurrentIndex(dock.backend_combo.findData("local"))
    dock.url_edit.setText(archive)
    dock.search_button.click()
    busy = dock.is_busy()
    done = yield from wait_until(lambda: not dock.is_busy() and dock.table.rowCount() > 0, 30)
    rows = dock.table_rows() if done else []
    found = sorted((r[0], r[1], r[2]) for r in rows)
    # equal coverage and cloud: ranked by |offset| from the label date (15th: the 14th first; 17th: the 18th)
    expected = sorted([("label_0", "1", titles[0]), ("label_0", "2", titles[1]),
                       ("label_1", "1", titles[1]), ("label_1", "2", titles[0])])
    lm.check("search_dock_results", busy and done and found == expected,
             f"ran as a task {busy}, finished {done}, rows {rows}, expected {expected}, "
             f"status {dock.status_label.text()!r}")
    result = dock.result_layer
    lm.check("search_dock_layer_in_project", result is not None and result.id() in QgsProject.instance().mapLayers()
             and result.featureCount() == 4, repr(result))
    dock.table.selectRow(0)
    toolbox_action = getattr(qgis.utils.plugins.get("processing"), "toolboxAction", None)
    if toolbox_action is not None:
        toolbox_action.setChecked(False)  # give the dock the whole right-hand side for the screenshot
    canvas = iface().mapCanvas()
    if result is not None:
        canvas.setExtent(canvas.mapSettings().layerExtentToOutputExtent(result, result.extent()))
    canvas.refreshAllLayers()
    yield from lm.canvas_screenshot("search_dock.png", first_wait_ms=500)
    dock.hide()
    if toolbox_action is not None:
        toolbox_action.setChecked(True)
    # leave the project as it was: the later steps (and QGIS's exit) see the same layers as before
    QgsProject.instance().removeMapLayers([layer.id()] + ([result.id()] if result is not None else []))
    yield 200
    lm.check("search_dock_forgets_removed_layer", dock.result_layer is None and dock.table.rowCount() == 0,
             f"result layer {dock.result_layer!r}, {dock.table.rowCount()} rows")
    for other in QgsProject.instance().mapLayers().values():
        node = QgsProject.instance().layerTreeRoot().findLayer(other.id())
        if node is not None:
            node.setItemVisibilityChecked(True)
    if previous_active is not None:
        iface().setActiveLayer(previous_active)
    yield 200


def _lm_step_reload(cycle):
    def step():
        label = f"cycle{cycle}"
        unloaded = qgis.utils.unloadPlugin(_LM_PLUGIN)
        lm.check(f"unload_{label}", unloaded and _LM_PLUGIN not in qgis.utils.plugins
                 and _LM_PLUGIN not in sys.modules,
                 f"unloadPlugin -> {unloaded}; in plugins: {_LM_PLUGIN in qgis.utils.plugins}; "
                 f"module still imported: {_LM_PLUGIN in sys.modules}")
        _lm_check_provider(label, expect_present=False)
        _lm_check_menu(label, expect_present=False)
        yield 300  # let deleteLater() run
        leftovers = iface().mainWindow().findChildren(QMenu, _LM_MENU_NAME)
        lm.check(f"menu_deleted_{label}", not leftovers, f"{len(leftovers)} QMenu objects still alive")
        docks = _lm_find_search_dock()
        lm.check(f"search_dock_deleted_{label}", not docks, f"{len(docks)} search docks still alive")
        _lm_check_toolbox(label, expect_present=False)

        loaded = qgis.utils.loadPlugin(_LM_PLUGIN)
        started = qgis.utils.startPlugin(_LM_PLUGIN)
        lm.check(f"reload_{label}", loaded and started and qgis.utils.isPluginLoaded(_LM_PLUGIN),
                 f"loadPlugin -> {loaded}, startPlugin -> {started}")
        yield 300
        _lm_check_provider(f"reloaded_{label}")
        _lm_check_menu(f"reloaded_{label}")
        docks = _lm_find_search_dock()
        lm.check(f"search_dock_reloaded_{label}", len(docks) == 1 and docks[0].isHidden(),
                 f"{len(docks)} search docks, hidden {[d.isHidden() for d in docks]}")
        _lm_check_toolbox(f"reloaded_{label}")
    return step


def _lm_step_run_after_reload():
    import processing

    output = os.path.join(lm.state["work_dir"], "stacked_after_reload.tif")
    results = processing.run(f"{_LM_PROVIDER}:stackbands", {"INPUTS": list(lm.state["bands"]), "OUTPUT": output})
    lm.check("stackbands_after_reload", bool(results) and os.path.exists(output), f"results {results}")


def _lm_is_error(entry):
    """Python errors, and Critical messages from Python or about this plugin (other providers' Critical
    messages, such as 'GRASS was not found', are recorded but are not this plugin's problem)."""
    if entry.get("kind") == "error dialog" or entry["tag"] == "Python error":
        return True
    about_plugin = entry["tag"].startswith("Python") or "labelmigration" in entry["message"].lower() \
        or "label migration" in entry["message"].lower()
    return entry["level"] >= int(Qgis.Critical) and about_plugin


def _lm_step_final():
    lm.grab(iface().mainWindow(), "main_window_after_reload.png")
    plugin_errors = [entry for entry in lm.results["python_log"] if _lm_is_error(entry)]
    startup_errors = [entry for entry in lm.results["startup_errors"] if _lm_is_error(entry)]
    lm.check("no_python_errors", not plugin_errors and not lm.results["exceptions"]
             and not lm.results["stack_dialogs"] and not startup_errors,
             f"{len(startup_errors)} errors while QGIS started, "
             f"{len(plugin_errors)} Python error/critical log messages, "
             f"{len(lm.results['exceptions'])} uncaught exceptions, "
             f"{len(lm.results['stack_dialogs'])} error dialogs")


_LM_STEPS = [
    ("wait_for_desktop", _lm_step_wait_for_desktop),
    ("plugin_loaded", _lm_step_plugin_loaded),
    ("provider_and_toolbox", _lm_step_provider_and_toolbox),
    ("menu", _lm_step_menu),
    ("menu_action_opens_dialog", _lm_step_menu_action_opens_dialog),
    ("cropscene_dialog", _lm_step_cropscene_dialog),
    ("trainsegmentation_dialog", _lm_step_trainsegmentation_dialog),
    ("make_rasters", _lm_step_make_rasters),
    ("run_stackbands", _lm_step_run_stackbands),
    ("run_stackbands_dialog", _lm_step_run_stackbands_dialog),
    ("demo_chain", _lm_step_demo_chain),
    ("screenshot_main_window", _lm_step_screenshot_main_window),
    ("search_dock", _lm_step_search_dock),
] + [(f"reload_cycle{cycle}", _lm_step_reload(cycle)) for cycle in range(1, _LM_RELOAD_CYCLES + 1)] + [
    ("run_after_reload", _lm_step_run_after_reload),
    ("final", _lm_step_final),
]


lm.start(_LM_STEPS)
