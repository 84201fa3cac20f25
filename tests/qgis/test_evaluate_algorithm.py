"""evaluatesegmentation through processing.run, with metrics computed by hand."""
import numpy as np
import pytest

from labelmigration.tests.support.rasters import from_origin, write_raster

pytestmark = pytest.mark.qgis


def test_binary_cloud_mask_scores(run, tmp_path):
    truth = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 255]], np.uint8)
    predicted = np.array([[1, 0, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1]], np.uint8)
    transform = from_origin(500_000, 5_000_000, 10, 10)
    truth_path = write_raster(tmp_path / "truth.tif", truth, "EPSG:32632", transform, nodata=255)
    prediction_path = write_raster(tmp_path / "mask.tif", predicted, "EPSG:32632", transform)
    result = run("evaluatesegmentation", {"PREDICTION": str(prediction_path), "GROUND_TRUTH": str(truth_path),
                                          "OUTPUT_TABLE": str(tmp_path / "confusion.csv")})
    # 15 valid pixels (the truth's nodata corner is left out): TP 3, FN 1, FP 1, TN 10
    assert result["ACCURACY"] == pytest.approx(13 / 15)
    assert result["PRECISION"] == pytest.approx(3 / 4)
    assert result["RECALL"] == pytest.approx(3 / 4)
    assert result["IOU"] == pytest.approx(3 / 5)
    assert result["F1"] == pytest.approx(3 / 4)
    assert "class 1:" in result["PER_CLASS"]
    rows = (tmp_path / "confusion.csv").read_text().splitlines()
    assert rows[0].startswith("truth,") and len(rows) == 4


def test_no_overlap_is_a_clear_error(run, tmp_path):
    from qgis.core import QgsProcessingException

    truth = write_raster(tmp_path / "truth.tif", np.ones((4, 4), np.uint8), "EPSG:32632",
                         from_origin(500_000, 5_000_000, 10, 10))
    far = write_raster(tmp_path / "far.tif", np.ones((4, 4), np.uint8), "EPSG:32632",
                       from_origin(600_000, 5_000_000, 10, 10))
    with pytest.raises(QgsProcessingException, match="do not overlap"):
        run("evaluatesegmentation", {"PREDICTION": str(far), "GROUND_TRUTH": str(truth)})


def test_table_in_a_read_only_folder_is_a_clear_error(run, tmp_path):
    # the issue: a CSV output in a folder that cannot be written ended in a PermissionError traceback
    from qgis.core import QgsProcessingException

    from labelmigration.tests.support.folders import read_only_folder

    truth = write_raster(tmp_path / "truth.tif", np.eye(4, dtype=np.uint8), "EPSG:32632",
                         from_origin(500_000, 5_000_000, 10, 10))
    with read_only_folder(tmp_path) as folder:
        with pytest.raises(QgsProcessingException, match=r"Cannot write the confusion matrix \(OUTPUT_TABLE\) '.*"
                                                         r"read-only/confusion\.csv': the folder .* is not writable"):
            run("evaluatesegmentation", {"PREDICTION": str(truth), "GROUND_TRUTH": str(truth),
                                         "OUTPUT_TABLE": str(folder / "confusion.csv")})
