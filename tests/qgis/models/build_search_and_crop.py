"""Builds search_and_crop.model3, the graphical model tests/qgis/test_model_fixture.py runs, in PyQGIS and saves it
with QGIS's own writer (QgsProcessingModelAlgorithm.toFile), as the Model Designer's Save does:

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis/models/build_search_and_crop.py

The model: searchscenes (footprints against a local archive: BACKEND=3, the index saved models keep) ->
cropscene (SCENES = the search result, its rank-1 scene) of a label raster. Its child parameters are the
algorithms' parameters as saved; rebuild it only to record a deliberate change of them.
"""
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
TARGET = HERE / "search_and_crop.model3"


def build_model(provider_id: str = "labelmigration"):
    from qgis.core import (QgsProcessing, QgsProcessingModelAlgorithm, QgsProcessingModelChildParameterSource,
                           QgsProcessingModelParameter, QgsProcessingParameterDateTime,
                           QgsProcessingParameterFeatureSource, QgsProcessingParameterFile,
                           QgsProcessingParameterRasterLayer)
    from qgis.PyQt.QtCore import QPointF

    source = QgsProcessingModelChildParameterSource
    model = QgsProcessingModelAlgorithm("search_and_crop", "Label Migration")
    inputs = (QgsProcessingParameterFeatureSource("footprints", "Label footprints",
                                                  [QgsProcessing.SourceType.TypeVectorPolygon]),
              QgsProcessingParameterFile("archive", "Local archive folder", QgsProcessingParameterFile.Behavior.Folder),
              QgsProcessingParameterDateTime("label_date", "Label date", QgsProcessingParameterDateTime.Type.Date),
              QgsProcessingParameterRasterLayer("label", "Label raster"))
    for row, definition in enumerate(inputs):
        component = QgsProcessingModelParameter(definition.name())
        component.setPosition(QPointF(120, 60 + 110 * row))
        model.addModelParameter(definition, component)

    sys.path.insert(0, str(REPO_ROOT / "tests" / "gui"))
    from model_children import model_child

    def child(child_id, algorithm, position, parameters, outputs):
        return model_child(f"{provider_id}:{algorithm}", child_id, None, position, parameters, outputs)

    model.addChildAlgorithm(child("search", "searchscenes", (420, 90), {
        "FOOTPRINTS": source.fromModelParameter("footprints"), "DATE": source.fromModelParameter("label_date"),
        "BACKEND": source.fromStaticValue(3), "URL": source.fromModelParameter("archive"),
        "MAX_CLOUD": source.fromStaticValue(5.0), "PRODUCT": source.fromStaticValue(1)}, [("scenes", "OUTPUT")]))
    model.addChildAlgorithm(child("crop", "cropscene", (420, 260), {
        "SCENES": source.fromChildOutput("search", "OUTPUT"), "LABEL": source.fromModelParameter("label"),
        "BAND_NAMES": source.fromStaticValue("B04,B08")},
        [("pair_image", "OUTPUT_IMAGE"), ("pair_label", "OUTPUT_LABEL")]))
    return model


def main() -> int:
    # the checkout as the package 'labelmigration' (its own folder on sys.path would shadow QGIS's processing)
    import_root = Path(tempfile.mkdtemp(prefix="labelmigration-import-"))
    (import_root / "labelmigration").symlink_to(REPO_ROOT)
    sys.path.insert(0, str(import_root))
    from qgis.core import QgsApplication

    application = QgsApplication([], False)
    application.initQgis()
    from labelmigration.processing.provider import LabelMigrationProvider

    provider = LabelMigrationProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    model = build_model()
    valid, errors = model.validate()
    if not valid:
        print("the model is not valid:", errors, file=sys.stderr)
        return 1
    if not model.toFile(str(TARGET)):
        return 1
    print(f"wrote {os.path.relpath(TARGET, REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
