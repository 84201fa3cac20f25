"""processing/coregistration_parameters: cropscene and migratelabels declare and read COREGISTER and
MIN_SHIFT_CONFIDENCE through one mixin (CoregistrationParameters), and MIN_SHIFT_CONFIDENCE decides whether
COREGISTER=1 moves a label.

Expected answers: COREGISTER's labels, order and default are what the algorithms declared before the mixin
(0 "Measure the shift only", 1 "Measure and move the label when confident", optional so saved models run);
MIN_SHIFT_CONFIDENCE's default is core.quality.coregistration.DEFAULT_MIN_CONFIDENCE (0.5, the threshold the
help has always documented). The behaviour test uses the demo's misregistered pair, made by
demo/make_migration_data.py: '20200811_planet_fields_label.png' is drawn on a reference georeferenced
SHIFT_M = (20 m east, 10 m north) away from the Sentinel-2 products of the archive it also writes.
"""
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.qgis

SHARING = ("cropscene", "migratelabels")
REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_LABELS = REPO_ROOT / "demo" / "data" / "labels"
DOCUMENTED_CHOICES = ["Measure the shift only", "Measure and move the label when confident"]


def _description(definition):
    """What a user, a script or a saved model sees of a parameter (type, default, limits, choices, flags)."""
    described = {"type": definition.type(), "description": definition.description(),
                 "default": definition.defaultValue(), "flags": int(definition.flags())}
    for attribute in ("minimum", "maximum", "dataType", "options", "allowMultiple"):
        if hasattr(definition, attribute):
            described[attribute] = getattr(definition, attribute)()
    return described


def test_both_algorithms_declare_the_same_coregistration_parameters(provider):
    from qgis.core import QgsProcessingParameterDefinition, QgsProcessingParameterNumber

    from labelmigration.core.quality.coregistration import DEFAULT_MIN_CONFIDENCE
    from labelmigration.processing.coregistration_parameters import CoregistrationParameters

    algorithms = [provider.algorithm(name) for name in SHARING]
    assert CoregistrationParameters.COREGISTRATION_PARAMETERS == ("COREGISTER", "MIN_SHIFT_CONFIDENCE")
    for name in CoregistrationParameters.COREGISTRATION_PARAMETERS:
        cropped, migrated = (_description(algorithm.parameterDefinition(name)) for algorithm in algorithms)
        assert cropped == migrated, name
    for algorithm in algorithms:
        assert isinstance(algorithm, CoregistrationParameters)
        assert (algorithm.COREGISTER, algorithm.MIN_SHIFT_CONFIDENCE) == ("COREGISTER", "MIN_SHIFT_CONFIDENCE")
        coregister = algorithm.parameterDefinition("COREGISTER")
        assert coregister.options() == DOCUMENTED_CHOICES and coregister.defaultValue() == 0
        assert coregister.flags() & QgsProcessingParameterDefinition.Flag.FlagOptional
        assert not coregister.flags() & QgsProcessingParameterDefinition.Flag.FlagAdvanced
        confidence = algorithm.parameterDefinition("MIN_SHIFT_CONFIDENCE")
        assert confidence.dataType() == QgsProcessingParameterNumber.Type.Double
        assert (confidence.minimum(), confidence.maximum()) == (0.0, 1.0)
        assert confidence.defaultValue() == DEFAULT_MIN_CONFIDENCE == 0.5
        assert confidence.flags() & QgsProcessingParameterDefinition.Flag.FlagOptional
        assert confidence.flags() & QgsProcessingParameterDefinition.Flag.FlagAdvanced
        names = [definition.name() for definition in algorithm.parameterDefinitions()]
        assert names.index("MIN_SHIFT_CONFIDENCE") == names.index("COREGISTER") + 1  # side by side in the dialog
        help_text = algorithm.shortHelpString()
        assert "(MIN_SHIFT_CONFIDENCE)" in help_text and "(COREGISTER)" in help_text
        assert "MIN_SHIFT_CONFIDENCE (default 0.5) or more" in help_text and "is 0.5 or more" not in help_text


@pytest.fixture(scope="module")
def shifted_pair_inputs(tmp_path_factory):
    """The demo's misregistered label (with its reference beside it) and the demo's archive."""
    import labelmigration  # noqa: F401  (make_migration_data imports the plugin's test support)
    sys.path.insert(0, str(REPO_ROOT / "demo"))
    try:
        import make_migration_data
    finally:
        sys.path.remove(str(REPO_ROOT / "demo"))
    folder = tmp_path_factory.mktemp("coregistration")
    archive = folder / "archive"
    make_migration_data.write_archive(archive)
    # copies: QGIS caches the statistics of a raster layer it loads (SOURCE_IMAGE) in an .aux.xml beside it, which
    # must not land in the committed label set (tests/qgis/test_demo.py checks that folder file by file)
    labels = folder / "labels"
    labels.mkdir()
    for name in (make_migration_data.SHIFTED_LABEL, make_migration_data.SHIFTED_REFERENCE):
        shutil.copyfile(DEMO_LABELS / name, labels / name)
    return (labels / make_migration_data.SHIFTED_LABEL, archive, make_migration_data.SHIFT_M,
            labels / make_migration_data.SHIFTED_REFERENCE)


def _migrate(run, tmp_path, inputs, name, **parameters):
    """migratelabels on the shifted label alone: (its matches.csv row, its migrated label's pixels)."""
    import csv

    from osgeo import gdal

    label, archive = inputs[:2]
    folder = tmp_path / name
    run("migratelabels", {"LABEL_FILES": [str(label)], "BACKEND": 3, "URL": str(archive), "CLOUD_MASKS": False,
                          "OUTPUT_FOLDER": str(folder), **parameters})
    with open(folder / "matches.csv", newline="", encoding="utf-8") as handle:
        row = next(row for row in csv.DictReader(handle) if row["label"] == label.stem)
    assert row["status"] == "done", row
    dataset = gdal.Open(str(folder / "labels" / f"{label.stem}.tif"))
    return row, dataset.GetRasterBand(1).ReadAsArray()


def test_min_shift_confidence_decides_whether_the_label_moves(run, tmp_path, shifted_pair_inputs):
    """The label's reference lies SHIFT_M (20 m east, 10 m north) off Sentinel-2 (demo/make_migration_data.py):
    with the default threshold COREGISTER=1 measures that shift and moves the label by its length (22.36 m);
    with MIN_SHIFT_CONFIDENCE just above the measured confidence it leaves the label exactly as COREGISTER=0 does,
    and the measurement itself is unchanged."""
    shift_x, shift_y = shifted_pair_inputs[2]
    measured, unmoved = _migrate(run, tmp_path, shifted_pair_inputs, "measure", COREGISTER=0)
    moved_row, moved = _migrate(run, tmp_path, shifted_pair_inputs, "move", COREGISTER=1)
    confidence = float(moved_row["shift_confidence"])
    assert float(moved_row["shift_x_m"]) == pytest.approx(shift_x, abs=2.0)
    assert float(moved_row["shift_y_m"]) == pytest.approx(shift_y, abs=2.0)
    assert 0.5 <= confidence < 0.999  # room above it for a stricter threshold
    assert float(moved_row["label_moved_m"]) == pytest.approx(np.hypot(shift_x, shift_y), abs=1.0)
    assert measured["label_moved_m"] == "0" and not np.array_equal(moved, unmoved)

    # shift_confidence is rounded to 3 digits, so +0.001 lies above the confidence the core compared
    strict_row, strict = _migrate(run, tmp_path, shifted_pair_inputs, "strict", COREGISTER=1,
                                  MIN_SHIFT_CONFIDENCE=round(confidence + 0.001, 3))
    assert strict_row["label_moved_m"] == "0"
    assert strict_row["shift_confidence"] == moved_row["shift_confidence"]
    assert np.array_equal(strict, unmoved)

    # and a threshold at the measured confidence's floor moves it again (the parameter is read, not ignored)
    lenient_row, lenient = _migrate(run, tmp_path, shifted_pair_inputs, "lenient", COREGISTER=1,
                                    MIN_SHIFT_CONFIDENCE=round(confidence - 0.001, 3))
    assert lenient_row["label_moved_m"] == moved_row["label_moved_m"] and np.array_equal(lenient, moved)


def test_cropscene_reads_min_shift_confidence(run, tmp_path, shifted_pair_inputs):
    """The same pair through cropscene: the migrated (unmoved) label cropped from its own Sentinel-2 image, with
    the label's reference (SHIFT_M off, demo/make_migration_data.py) as SOURCE_IMAGE. COREGISTER=1 moves it by
    the shift's length with the default threshold, and not at all, pixel for pixel as COREGISTER=0 leaves it,
    with MIN_SHIFT_CONFIDENCE above the confidence it measured."""
    from osgeo import gdal

    label, _archive, (shift_x, shift_y), reference = shifted_pair_inputs
    _migrate(run, tmp_path, shifted_pair_inputs, "migrated", COREGISTER=0)
    migrated = tmp_path / "migrated"

    def crop(name, **parameters):
        result = run("cropscene", {"SCENE": str(migrated / "images" / f"{label.stem}.tif"),
                                   "LABEL": str(migrated / "labels" / f"{label.stem}.tif"),
                                   "SOURCE_IMAGE": str(reference), "OUTPUT_IMAGE": str(tmp_path / f"{name}_image.tif"),
                                   "OUTPUT_LABEL": str(tmp_path / f"{name}_label.tif"), **parameters})
        dataset = gdal.Open(result["OUTPUT_LABEL"])  # kept while its band is read
        return result, dataset.GetRasterBand(1).ReadAsArray()

    measured, unmoved = crop("measure", COREGISTER=0)
    moved_result, moved = crop("move", COREGISTER=1)
    confidence = moved_result["SHIFT_CONFIDENCE"]
    assert (moved_result["SHIFT_X_M"], moved_result["SHIFT_Y_M"]) == (pytest.approx(shift_x, abs=2.0),
                                                                      pytest.approx(shift_y, abs=2.0))
    assert 0.5 <= confidence < 0.999
    assert moved_result["LABEL_MOVED_M"] == pytest.approx(np.hypot(shift_x, shift_y), abs=1.0)
    assert measured["LABEL_MOVED_M"] == 0 and not np.array_equal(moved, unmoved)
    strict_result, strict = crop("strict", COREGISTER=1, MIN_SHIFT_CONFIDENCE=round(confidence + 0.001, 3))
    assert strict_result["LABEL_MOVED_M"] == 0 and strict_result["SHIFT_CONFIDENCE"] == confidence
    assert np.array_equal(strict, unmoved)
