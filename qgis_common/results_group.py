"""A migration's outputs as the layer group 'Label migration: <folder>': loaded by migratelabels after its run
(ResultsGroupLoader, a post-processor of the footprints layer) and by the search dock after its background run."""
import logging
import os
from typing import Dict, List, Optional, Set

from qgis.core import (QgsLayerTreeGroup, QgsProcessingLayerPostProcessorInterface, QgsProject, QgsRasterLayer,
                       QgsVectorLayer)
from qgis.PyQt.QtCore import QT_TR_NOOP
from qgis.PyQt.QtGui import QColor

from ..core.migration.pair_files import mask_path, pair_paths
from ..core.migration.match_table import MATCHES_NAME, is_finished, read_matches
from ..core.quality.report_sections import flagged as change_outliers, number
from ..core.util.errors import LabelMigrationError
from ..core.util.paths import path_inside
from .styles import style_cloud_mask, style_footprints, style_image, style_label, style_pair_quality
from .translation import tr

LOG = logging.getLogger(__name__)
GROUP_PREFIX = "Label migration: "
MAX_PAIRS_LOADED = 50  # pairs loaded into the layer group at most (the rest stay on disk, listed in matches.csv)
SCENE_COLOUR = "#1f78b4"


def group_name(output_folder: str) -> str:
    return GROUP_PREFIX + os.path.basename(os.path.normpath(output_folder))


def _pairs(output_folder: str) -> List[Dict[str, str]]:
    """The complete pairs of matches.csv (done or skipped) whose files exist, in the CSV's order."""
    pairs = []
    for name, row in read_matches(os.path.join(output_folder, MATCHES_NAME)).items():
        if row.get("status") not in ("done", "skipped"):
            continue
        try:  # matches.csv may have been edited: its paths are used only inside the output folder
            image, label = pair_paths(output_folder, name)
            image = path_inside(output_folder, row["image"]) if row.get("image") else image
            label = path_inside(output_folder, row["label_raster"]) if row.get("label_raster") else label
            mask = mask_path(output_folder, name)
        except LabelMigrationError:
            continue
        if os.path.isfile(image) and os.path.isfile(label):
            pairs.append({"label": name, "image": image, "label_raster": label,
                          "mask": mask if os.path.isfile(mask) else ""})
    return pairs


def pair_quality(output_folder: str) -> List[Dict[str, object]]:
    """Every row of the run's matches.csv (its order) with 'moved' (the label was moved by its shift) and 'flagged'
    (its change score is an outlier among the run's pairs: core.quality.change.outliers, as the QA report's
    "Check these labels" section decides)."""
    rows = list(read_matches(os.path.join(output_folder, MATCHES_NAME)).values())
    pairs = [row for row in rows if is_finished(row)]
    flags = {id(row): flag for row, flag in zip(pairs, change_outliers(pairs))}
    return [dict(row, moved=bool(number(row.get("label_moved_m"))), flagged=flags.get(id(row), False))
            for row in rows]


def flagged_labels(output_folder: str) -> Set[str]:
    """The labels whose change score is an outlier of the run (pair_quality)."""
    return {str(row["label"]) for row in pair_quality(output_folder) if row["flagged"]}


def style_results_footprints(layer: QgsVectorLayer, output_folder: str) -> None:
    """The footprints layer of a run: outlined and labelled, moved and flagged pairs styled apart."""
    style_footprints(layer)
    style_pair_quality(layer, flagged_labels(output_folder))


def _styled(function, layer) -> None:
    try:
        function(layer)
    except Exception as error:  # a style must never lose the results
        LOG.debug("Styling a result layer with %s failed: %s", getattr(function, "__name__", function), error)


def style_scenes(layer: QgsVectorLayer) -> None:
    """The chosen scenes: outlines in another colour than the label footprints, labelled by tile."""
    style_footprints(layer, "tile")
    symbol = layer.renderer().symbol()
    symbol.symbolLayer(0).setStrokeColor(QColor(SCENE_COLOUR))
    settings = layer.labeling().settings()
    text = settings.format()
    text.setColor(QColor(SCENE_COLOUR))
    settings.setFormat(text)
    layer.labeling().setSettings(settings)
    layer.triggerRepaint()


def load_results_group(project: QgsProject, output_folder: str, footprints: Optional[QgsVectorLayer] = None,
                       max_pairs: int = MAX_PAIRS_LOADED) -> Dict[str, object]:
    """Load a migration's outputs into the layer group 'Label migration: <folder>' at the top of the
    layer tree: label footprints, chosen scenes, and a collapsed sub-group per pair (label, cloud mask,
    image). ``footprints``: the footprints layer when it is already in the project (moved into the
    group). A group of the same name from an earlier run is replaced. Returns {'group', 'pairs',
    'loaded', 'message'}: message says when pairs were left out."""
    root = project.layerTreeRoot()
    name = group_name(output_folder)
    for old in [g for g in root.children() if isinstance(g, QgsLayerTreeGroup) and g.name() == name]:
        ids = [layer_id for layer_id in old.findLayerIds() if footprints is None or layer_id != footprints.id()]
        root.removeChildNode(old)
        project.removeMapLayers(ids)
    group = root.insertGroup(0, name)
    gpkg = os.path.join(output_folder, "footprints.gpkg")
    if footprints is None:
        footprints = QgsVectorLayer(gpkg + "|layername=footprints", tr("Label footprints"), "ogr")
        if footprints.isValid():
            _styled(lambda layer: style_results_footprints(layer, output_folder), footprints)
            project.addMapLayer(footprints, False)
            group.addLayer(footprints)
    else:
        node = root.findLayer(footprints.id())
        if node is not None:
            parent = node.parent()
            group.insertChildNode(0, node.clone())
            parent.removeChildNode(node)
        else:
            group.addLayer(footprints)
    scenes = QgsVectorLayer(gpkg + "|layername=scenes", tr("Chosen scenes"), "ogr")
    if scenes.isValid():
        _styled(style_scenes, scenes)
        project.addMapLayer(scenes, False)
        group.addLayer(scenes)
    pairs = _pairs(output_folder)
    shown = pairs[:max_pairs]
    pairs_group = group.addGroup(tr("Pairs ({})").format(len(pairs)))
    for pair in shown:
        sub = pairs_group.addGroup(pair["label"])
        for path, suffix, function in ((pair["label_raster"], QT_TR_NOOP("label"), style_label),
                                       (pair["mask"], QT_TR_NOOP("cloud mask"), style_cloud_mask),
                                       (pair["image"], QT_TR_NOOP("image"), style_image)):
            if not path:
                continue
            layer = QgsRasterLayer(path, f"{pair['label']} {tr(suffix)}", "gdal")
            if not layer.isValid():
                continue
            _styled(function, layer)
            project.addMapLayer(layer, False)
            sub.addLayer(layer)
        sub.setExpanded(False)
    pairs_group.setExpanded(len(shown) <= 5)
    message = ""
    if len(pairs) > len(shown):
        message = tr("{} pairs: the first {} are loaded; all are in {} (matches.csv).").format(
            len(pairs), len(shown), output_folder)
    return {"group": group, "pairs": len(pairs), "loaded": len(shown), "message": message}


class ResultsGroupLoader(QgsProcessingLayerPostProcessorInterface):
    """Post-processor of the footprints layer: styles it and loads the rest of the results around it."""

    def __init__(self, output_folder: str):
        super().__init__()
        self.output_folder = output_folder

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS's name)
        try:
            style_results_footprints(layer, self.output_folder)
        except Exception as error:  # a style must never fail the algorithm
            feedback.reportError(tr("Could not style '{}': {}").format(layer.name(), error))
        try:
            project = context.project() or QgsProject.instance()
            loaded = load_results_group(project, self.output_folder, layer)
            if loaded["message"]:
                feedback.pushWarning(loaded["message"])
        except Exception as error:  # the outputs are on disk whatever happens here
            feedback.reportError(tr("Could not load the results into a layer group: {}").format(error))
