"""Styles applied when outputs load into the map: labels paletted, footprints outlined, images RGB."""
from typing import Dict, Iterable, Optional

from qgis.core import (QgsExpression, QgsFillSymbol, QgsLayerTree, QgsMultiBandColorRenderer,
                       QgsPalettedRasterRenderer, QgsPalLayerSettings, QgsProcessingLayerPostProcessorInterface,
                       QgsRasterLayer, QgsRuleBasedRenderer,
                       QgsTextBufferSettings, QgsTextFormat, QgsVectorLayer, QgsVectorLayerSimpleLabeling,
                       QgsContrastEnhancement, QgsRasterMinMaxOrigin)
from qgis.PyQt.QtCore import QT_TR_NOOP
from qgis.PyQt.QtGui import QColor, QFontInfo

from ..core.labels.class_colours import palette_colour
from ..core.util.paths import same_file
from ..core.migration.quicklook import rgb_band_indices
from ..core.util.gdal_settings import gdal_errors
from ..core.util.raster_read import open_raster
from .translation import tr

LABEL_OPACITY = 0.6
CLOUD_COLOUR = "#00e5ff"
SHADOW_COLOUR = "#6a3d9a"
CLOUD_OPACITY = 0.5
# The cloud mask's classes (core.models.cloud_classes: 0 clear, 1 cloud, 2 cloud shadow; 255 nodata stays unstyled):
# value, colour (None: transparent), legend name
CLOUD_MASK_CLASSES = ((0, None, QT_TR_NOOP("clear")), (1, CLOUD_COLOUR, QT_TR_NOOP("cloud")),
                      (2, SHADOW_COLOUR, QT_TR_NOOP("cloud shadow")))
FOOTPRINT_COLOUR = "#ff7f00"
# The footprints of pairs the quality checks single out (issue 19), in the QA report's colours
MOVED_COLOUR = "#1e5fa1"  # the label was moved by its measured shift (COREGISTER=1)
FLAGGED_COLOUR = "#d7191c"  # the change score is an outlier of the run: check the label
MOVED_RULE = 'coalesce("label_moved_m", 0) > 0'


def class_colour(index: int) -> QColor:
    """Class ``index``'s colour for labels without a colour table: core.labels.class_colours' palette, the one class
    rasters get written into their colour table, so every layer shows a class in the same colour."""
    return QColor(*palette_colour(index))


def style_label(layer: QgsRasterLayer, names: Optional[Dict[int, str]] = None) -> None:
    """Paletted classes on band 1 (the label's colour table, or the class palette); 0 transparent.

    A GeoTIFF colour table has 256 entries; the unused ones GDAL fills with opaque black are left
    out of the legend, and ``names`` ({value: name}) labels the classes.
    """
    provider = layer.dataProvider()
    table = provider.colorTable(1)
    if table:
        classes = _used_entries(QgsPalettedRasterRenderer.colorTableToClassData(table), names)
    else:
        classes = QgsPalettedRasterRenderer.classDataFromRaster(provider, 1)
        for item in classes:
            item.color = class_colour(int(item.value))
    for item in classes:
        if item.value == 0:
            item.color = QColor(0, 0, 0, 0)
        if names and int(item.value) in names:
            item.label = names[int(item.value)]
    renderer = QgsPalettedRasterRenderer(provider, 1, classes)
    renderer.setOpacity(LABEL_OPACITY)
    layer.setRenderer(renderer)
    layer.triggerRepaint()


def _used_entries(classes, names: Optional[Dict[int, str]]):
    """Class 0, named classes, and entries with a colour other than the black (opaque or
    transparent) GDAL gives the unused entries of a GeoTIFF's 256-entry table."""
    def used(item) -> bool:
        colour = item.color
        return int(item.value) == 0 or (names is not None and int(item.value) in names) or \
            (colour.red(), colour.green(), colour.blue()) != (0, 0, 0)

    return [item for item in classes if used(item)]


def style_cloud_mask(layer: QgsRasterLayer, shadow: bool = True) -> None:
    """Clouds in a semi-transparent cloud colour over the image, cloud shadow (value 2; in the legend only with
    ``shadow``) in a shadow colour; clear pixels invisible."""
    classes = [QgsPalettedRasterRenderer.Class(value, QColor(colour) if colour else QColor(0, 0, 0, 0), tr(name))
               for value, colour, name in CLOUD_MASK_CLASSES if shadow or value != 2]
    renderer = QgsPalettedRasterRenderer(layer.dataProvider(), 1, classes)
    renderer.setOpacity(CLOUD_OPACITY)
    layer.setRenderer(renderer)
    layer.triggerRepaint()


def style_image(layer: QgsRasterLayer) -> None:
    """True colour from the bands named B04/B03/B02 (or red/green/blue), stretched 2-98 %."""
    if layer.bandCount() < 3:
        return
    with gdal_errors():
        red, green, blue = rgb_band_indices(open_raster(layer.source(), "image"))
    renderer = QgsMultiBandColorRenderer(layer.dataProvider(), red, green, blue)
    layer.setRenderer(renderer)
    layer.setContrastEnhancement(QgsContrastEnhancement.ContrastEnhancementAlgorithm.StretchToMinimumMaximum,
                                 QgsRasterMinMaxOrigin.Limits.CumulativeCut)
    layer.triggerRepaint()


def style_footprints(layer: QgsVectorLayer, label_field: str = "label") -> None:
    """Outlines without fill, labelled with each feature's name."""
    symbol = QgsFillSymbol.createSimple(
        {"color": "0,0,0,0", "outline_color": FOOTPRINT_COLOUR, "outline_width": "0.6", "style": "no"}
    )
    layer.renderer().setSymbol(symbol)
    settings = QgsPalLayerSettings()
    settings.fieldName = label_field
    text = QgsTextFormat()
    # the family the default font resolves to: Qt's own fallback name (e.g. "DejaVu LGC Sans" without a
    # display) is no installed font, and QGIS warns about it when a saved project is opened
    font = text.font()
    font.setFamily(QFontInfo(font).family())
    text.setFont(font)
    text.setColor(QColor(FOOTPRINT_COLOUR))
    buffer = QgsTextBufferSettings()
    buffer.setEnabled(True)
    text.setBuffer(buffer)
    settings.setFormat(text)
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)
    layer.triggerRepaint()


def flagged_expression(flagged: Iterable[str]) -> str:
    """The expression selecting the footprints of the labels ``flagged`` (none: an expression that is false)."""
    names = sorted(set(flagged))
    if not names:
        return "FALSE"
    return '"label" IN ({})'.format(", ".join(QgsExpression.quotedString(name) for name in names))


def _outline(colour: str, width: float, style: str = "solid") -> QgsFillSymbol:
    return QgsFillSymbol.createSimple({"color": "0,0,0,0", "outline_color": colour, "outline_width": str(width),
                                       "outline_style": style, "style": "no"})


def style_pair_quality(layer: QgsVectorLayer, flagged: Iterable[str] = ()) -> None:
    """The label footprints by their quality (issue 19), with a legend: change outliers (``flagged``, the labels
    the QA report lists under "Check these labels") in thick red, labels moved by their shift in dashed blue,
    the others outlined as style_footprints does. A pair both moved and flagged shows both outlines.
    The labelling of style_footprints is kept."""
    root = QgsRuleBasedRenderer.Rule(None)
    rules = ((tr("Change outlier: check the label"), flagged_expression(flagged), _outline(FLAGGED_COLOUR, 1.4)),
             (tr("Label moved by its shift"), MOVED_RULE, _outline(MOVED_COLOUR, 0.8, "dash")),
             (tr("Other pairs"), "ELSE", _outline(FOOTPRINT_COLOUR, 0.6)))
    for title, expression, symbol in rules:
        rule = QgsRuleBasedRenderer.Rule(symbol, 0, 0, "" if expression == "ELSE" else expression, title)
        if expression == "ELSE":
            rule.setIsElse(True)
        root.appendChild(rule)
    layer.setRenderer(QgsRuleBasedRenderer(root))
    layer.triggerRepaint()


# Where a loaded output goes in the layer list, for QGIS 3.32 and later (LayerDetails.layerSortKey: a greater key
# lies above): a label above the image it was cut from.
LAYER_ORDER = {"image": 1, "label": 2}


def qgis_orders_loaded_outputs() -> bool:
    """Whether QGIS adds loaded outputs in their sort key order itself (QgsProcessingGuiUtils.addResultLayers,
    QGIS 3.44 and later). QGIS 3.40's Python code inserts each output above the layer selected in the Layers panel,
    which turns the sorted order upside down, and QGIS 3.22 has no sort key: there place_above does it."""
    try:
        from qgis.gui import QgsProcessingGuiUtils
    except ImportError:
        return False
    return hasattr(QgsProcessingGuiUtils, "addResultLayers")


def place_above(layer, path: str, project) -> bool:
    """Move the layer's node directly above the node of the layer read from path, when that one lies above it in
    the same group (a label loaded under its image hides nothing and shows nothing). Returns whether it moved.
    Only for QGIS that does not order loaded outputs itself: QGIS 3.44 keeps pointers to the nodes it added
    until its post-processing ends, so a node replaced there would crash it."""
    node = project.layerTreeRoot().findLayer(layer.id()) if project is not None else None
    parent = node.parent() if node is not None else None
    if parent is None:
        return False
    children = parent.children()
    below = [index for index, child in enumerate(children)
             if QgsLayerTree.isLayer(child) and child.layer() is not None and child.layer() is not layer
             and same_file(child.layer().source().split("|")[0], path)]
    if not below or min(below) > children.index(node):
        return False
    parent.insertChildNode(min(below), node.clone())
    parent.removeChildNode(node)
    return True


class _Styler(QgsProcessingLayerPostProcessorInterface):
    def __init__(self, function, order: str = "", above: Optional[str] = None):
        super().__init__()
        self._function = function
        self.layer_order = LAYER_ORDER.get(order, 0)
        self._above = above

    def postProcessLayer(self, layer, context, feedback):
        try:
            self._function(layer)
            if self._above and not qgis_orders_loaded_outputs():
                place_above(layer, self._above, context.project())
        except Exception as error:  # a style must never fail the algorithm
            feedback.reportError(tr("Could not style '{}': {}").format(layer.name(), error))


def label_styler(names: Optional[Dict[int, str]] = None,
                 above: Optional[str] = None) -> QgsProcessingLayerPostProcessorInterface:
    """Paletted class colours; with above, the layer is placed above the layer read from that file."""
    return _Styler(lambda layer: style_label(layer, names), "label" if above else "", above)


def image_styler() -> QgsProcessingLayerPostProcessorInterface:
    return _Styler(style_image, "image")


def cloud_mask_styler(shadow: bool = True) -> QgsProcessingLayerPostProcessorInterface:
    return _Styler(lambda layer: style_cloud_mask(layer, shadow))


def footprint_styler() -> QgsProcessingLayerPostProcessorInterface:
    return _Styler(style_footprints)
