"""exportdataset through processing.run, on a migrated folder written as tests/unit/test_export_dataset.py does."""
import json
import os

import pytest

from labelmigration.tests.unit.test_export_dataset import CHIP, PAIRS, make_migrated_folder

pytestmark = pytest.mark.qgis


def test_exports_chips_catalogue_index_and_splits(run, tmp_path):
    migrated = make_migrated_folder(tmp_path / "migrated")
    output = tmp_path / "dataset"
    result = run("exportdataset", {"INPUT": str(migrated), "CHIP_SIZE": CHIP, "OVERLAP": 0, "MAX_CLOUD": 20,
                                   "BLOCK_SIZE": 200, "SEED": 3, "OUTPUT": str(output)})
    assert result["CHIPS"] == result["TRAIN"] + result["VALIDATION"] + result["TEST"] > 0
    assert min(result["TRAIN"], result["VALIDATION"], result["TEST"]) > 0
    catalog = json.loads((output / "catalog.json").read_text())
    assert result["CATALOG"] == str(output / "catalog.json") and catalog["type"] == "Catalog"
    assert len(os.listdir(output / "items")) == result["CHIPS"]
    assert result["CHIPS_LAYER"].endswith("chips.gpkg|layername=chips")
    from qgis.core import QgsVectorLayer
    layer = QgsVectorLayer(result["CHIPS_LAYER"], "chips", "ogr")
    assert layer.isValid() and layer.featureCount() == result["CHIPS"]
    assert {feature["source_label"] for feature in layer.getFeatures()} <= set(PAIRS)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return
    assert result["INDEX"] == str(output / "chips.parquet") and os.path.isfile(result["INDEX"])


def test_bad_overlap_and_a_foreign_folder_are_clear_errors(run, tmp_path):
    from qgis.core import QgsProcessingException

    migrated = make_migrated_folder(tmp_path / "migrated")
    with pytest.raises(QgsProcessingException, match="overlap must be"):
        run("exportdataset", {"INPUT": str(migrated), "CHIP_SIZE": 16, "OVERLAP": 16,
                              "OUTPUT": str(tmp_path / "dataset")})
    assert not (tmp_path / "dataset").exists()
    with pytest.raises(QgsProcessingException, match="no matches.csv"):
        run("exportdataset", {"INPUT": str(tmp_path / "migrated" / "images"), "OUTPUT": str(tmp_path / "d2")})


def test_help_has_a_runnable_example(provider):
    algorithm = provider.algorithm("exportdataset")
    text = algorithm.shortHelpString()
    assert "qgis_process run labelmigration:exportdataset -- INPUT=" in text
    for name in ("CHIP_SIZE", "OVERLAP", "MAX_NODATA", "MAX_CLOUD", "MAX_SHADOW", "BLOCK_SIZE", "SEED",
                 "GEOPARQUET", "OUTPUT", "TRAIN_SHARE"):
        assert f"({name}" in text and algorithm.parameterDefinition(name) is not None


def test_migratelabels_offers_the_export(provider):
    algorithm = provider.algorithm("migratelabels")
    assert algorithm.parameterDefinition("EXPORT_DATASET") is not None
    assert algorithm.outputDefinition("DATASET") is not None
