"""evaluate: confusion matrix and metrics checked against values worked out by hand."""
import csv
import math

import numpy as np
import pytest

from labelmigration.core.models import evaluate as evaluate_module
from labelmigration.core.util.errors import Cancelled, LabelMigrationError
from labelmigration.core.models.confusion import metrics_from_confusion, metrics_rows, write_confusion_csv
from labelmigration.core.models.evaluate import evaluate
from labelmigration.tests.support.rasters import from_origin, write_raster

CRS = "EPSG:32632"
ORIGIN = (690_000.0, 5_340_000.0)
GRID = from_origin(*ORIGIN, 10, 10)

# Binary 4x4 example (rows = truth, columns = prediction in the confusion matrix).
TRUTH = np.array([[1, 1, 0, 0],
                  [1, 1, 0, 0],
                  [0, 0, 0, 0],
                  [0, 0, 1, 1]], np.uint8)
PREDICTION = np.array([[1, 0, 0, 0],
                       [1, 1, 1, 0],
                       [0, 0, 0, 0],
                       [0, 0, 1, 0]], np.uint8)
# By hand: TP = (0,0) (1,0) (1,1) (3,2) = 4; FP = (1,2) = 1; FN = (0,1) (3,3) = 2; TN = 16 - 7 = 9.


def pair(tmp_path, truth, prediction, truth_nodata=None, prediction_nodata=None,
         prediction_transform=GRID, prediction_crs=CRS):
    t = write_raster(tmp_path / "truth.tif", truth, CRS, GRID, nodata=truth_nodata)
    p = write_raster(tmp_path / "prediction.tif", prediction, prediction_crs, prediction_transform,
                     nodata=prediction_nodata)
    return str(p), str(t)


def test_binary_by_hand(tmp_path):
    result = evaluate(*pair(tmp_path, TRUTH, PREDICTION))
    assert result.classes == [0, 1]
    assert result.confusion.tolist() == [[9, 1], [2, 4]]
    assert result.binary and result.positive == 1
    assert result.total == 16 and not result.warped
    assert result.accuracy == pytest.approx(13 / 16)
    assert result.precision == pytest.approx(4 / 5)
    assert result.recall == pytest.approx(4 / 6)
    assert result.iou == pytest.approx(4 / 7)
    assert result.f1 == pytest.approx(8 / 11)
    background = result.per_class[0]  # TP 9, FP 2, FN 1
    assert (background.support, background.predicted, background.true_positives) == (10, 11, 9)
    assert background.precision == pytest.approx(9 / 11)
    assert background.recall == pytest.approx(9 / 10)
    assert background.iou == pytest.approx(9 / 12)
    assert background.f1 == pytest.approx(18 / 21)
    assert result.mean_iou == pytest.approx((9 / 12 + 4 / 7) / 2)
    assert result.per_class[1].support == 6


def test_positive_class_can_be_zero(tmp_path):
    result = evaluate(*pair(tmp_path, TRUTH, PREDICTION), positive=0)
    assert result.positive == 0
    assert result.precision == pytest.approx(9 / 11)


MULTI_TRUTH = np.array([[0, 0, 1],
                        [1, 1, 2],
                        [2, 2, 2]], np.uint8)
MULTI_PREDICTION = np.array([[0, 1, 1],
                             [1, 2, 2],
                             [2, 0, 2]], np.uint8)


def test_three_classes_by_hand(tmp_path):
    result = evaluate(*pair(tmp_path, MULTI_TRUTH, MULTI_PREDICTION))
    assert not result.binary
    assert result.confusion.tolist() == [[1, 1, 0], [0, 2, 1], [1, 0, 3]]
    assert result.accuracy == pytest.approx(6 / 9)
    expected = {0: (1 / 2, 1 / 2, 1 / 3, 1 / 2), 1: (2 / 3, 2 / 3, 2 / 4, 2 / 3), 2: (3 / 4, 3 / 4, 3 / 5, 3 / 4)}
    for value, (precision, recall, iou, f1) in expected.items():
        m = result.per_class[value]
        assert (m.precision, m.recall, m.iou, m.f1) == pytest.approx((precision, recall, iou, f1))
    assert result.mean_precision == pytest.approx((1 / 2 + 2 / 3 + 3 / 4) / 3)
    assert result.mean_iou == pytest.approx((1 / 3 + 1 / 2 + 3 / 5) / 3)
    assert result.iou == result.mean_iou  # multi-class headline numbers are the means


def test_class_absent_from_both_is_nan_and_left_out_of_means(tmp_path):
    result = evaluate(*pair(tmp_path, MULTI_TRUTH, MULTI_PREDICTION), classes=[0, 1, 2, 3])
    assert result.confusion.shape == (4, 4) and result.confusion[3].sum() == 0
    assert all(math.isnan(getattr(result.per_class[3], name)) for name in ("precision", "recall", "iou", "f1"))
    assert result.mean_iou == pytest.approx((1 / 3 + 1 / 2 + 3 / 5) / 3)


def test_zero_division_for_a_present_class_is_zero():
    # class 2 in the truth but never predicted; class 1 predicted but never in the truth
    result = metrics_from_confusion(np.array([[3, 1, 0], [0, 0, 0], [1, 0, 0]]), [0, 1, 2])
    assert result.per_class[2].precision == 0 and result.per_class[2].recall == 0
    assert result.per_class[1].recall == 0 and result.per_class[1].iou == 0


def test_classes_subset_excludes_other_values(tmp_path):
    result = evaluate(*pair(tmp_path, MULTI_TRUTH, MULTI_PREDICTION), classes=[1, 2])
    # pairs with a 0 on either side are left out: (0,0) (0,1) (2,0)
    assert result.confusion.tolist() == [[2, 1], [0, 3]]
    assert result.excluded_pixels == 3 and result.warnings
    assert result.positive == 1  # two classes, one of them the positive class: binary
    assert result.precision == pytest.approx(2 / 2) and result.recall == pytest.approx(2 / 3)
    # two classes without the positive one: refused rather than reporting another class's numbers
    with pytest.raises(LabelMigrationError, match=r"positive class 1 \(POSITIVE\) is not among the classes to "
                                                  r"evaluate: 0, 2"):
        evaluate(*pair(tmp_path, MULTI_TRUTH, MULTI_PREDICTION), classes=[0, 2])
    assert not evaluate(*pair(tmp_path, MULTI_TRUTH, MULTI_PREDICTION), classes=[0, 2], positive=None).binary


def test_nodata_of_either_raster_is_excluded(tmp_path):
    truth = TRUTH.copy()
    prediction = PREDICTION.copy()
    truth[0, 0] = 255  # was a TP
    prediction[3, 3] = 255  # was a FN
    result = evaluate(*pair(tmp_path, truth, prediction, truth_nodata=255, prediction_nodata=255))
    assert result.classes == [0, 1]
    assert result.confusion.tolist() == [[9, 1], [1, 3]]
    assert result.total == 14


def test_float_prediction_with_nan_nodata(tmp_path):
    prediction = PREDICTION.astype(np.float32)
    prediction[0, 0] = np.nan
    result = evaluate(*pair(tmp_path, TRUTH, prediction, prediction_nodata=float("nan")))
    assert result.confusion.tolist() == [[9, 1], [2, 3]]


def test_fractional_values_are_refused(tmp_path):
    prediction = PREDICTION.astype(np.float32) * 0.5
    with pytest.raises(LabelMigrationError, match="fractional.*prediction|prediction.*fractional"):
        evaluate(*pair(tmp_path, TRUTH, prediction))


def test_prediction_at_half_resolution_is_warped_with_nearest(tmp_path):
    coarse = np.array([[1, 0],
                       [0, 1]], np.uint8)  # 20 m pixels over the same 40 m square
    result = evaluate(*pair(tmp_path, TRUTH, coarse, prediction_transform=from_origin(*ORIGIN, 20, 20)))
    # on the truth's grid the prediction is 2x2 blocks: TP 6, FP 2 (row 2, columns 2-3), FN 0, TN 8
    assert result.warped
    assert result.confusion.tolist() == [[8, 2], [0, 6]]
    assert result.precision == pytest.approx(6 / 8) and result.recall == 1.0


def test_partly_overlapping_prediction_counts_only_the_overlap(tmp_path):
    shifted = from_origin(ORIGIN[0] + 20, ORIGIN[1], 10, 10)  # two columns east
    result = evaluate(*pair(tmp_path, TRUTH, PREDICTION, prediction_transform=shifted))
    # truth columns 2-3 meet prediction columns 0-1
    truth = TRUTH[:, 2:].ravel()
    prediction = PREDICTION[:, :2].ravel()
    expected = [[int(np.sum((truth == t) & (prediction == p))) for p in (0, 1)] for t in (0, 1)]
    assert result.warped and result.total == 8
    assert result.confusion.tolist() == expected


def test_prediction_in_another_crs_is_warped(tmp_path):
    # the same 40 m square in a CRS that differs only by its false easting: a pure shift
    other = "+proj=tmerc +lat_0=0 +lon_0=9 +k=0.9996 +x_0=400000 +y_0=0 +datum=WGS84 +units=m +no_defs"
    shifted = from_origin(ORIGIN[0] - 100_000, ORIGIN[1], 10, 10)
    result = evaluate(*pair(tmp_path, TRUTH, PREDICTION, prediction_transform=shifted, prediction_crs=other))
    assert result.warped
    assert result.confusion.tolist() == [[9, 1], [2, 4]]


def test_strips_give_the_same_counts(tmp_path, monkeypatch):
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 4, (37, 23)).astype(np.uint8)
    prediction = np.where(rng.random((37, 23)) < 0.7, truth, rng.integers(0, 4, (37, 23))).astype(np.uint8)
    expected = np.zeros((4, 4), np.int64)
    np.add.at(expected, (truth.ravel(), prediction.ravel()), 1)
    monkeypatch.setattr(evaluate_module, "strip_height_for", lambda *args, **kwargs: 5)
    fractions = []
    result = evaluate(*pair(tmp_path, truth, prediction), progress=fractions.append)
    assert result.confusion.tolist() == expected.tolist()
    assert len(fractions) >= 8 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)


def test_cancel(tmp_path):
    with pytest.raises(Cancelled):
        evaluate(*pair(tmp_path, TRUTH, PREDICTION), is_cancelled=lambda: True)


def test_no_overlap_is_a_clear_error(tmp_path):
    far = from_origin(ORIGIN[0] + 10_000, ORIGIN[1], 10, 10)
    prediction, truth = pair(tmp_path, TRUTH, PREDICTION, prediction_transform=far)
    with pytest.raises(LabelMigrationError, match="do not overlap") as error:
        evaluate(prediction, truth)
    assert "prediction.tif" in str(error.value) and "truth.tif" in str(error.value)


def test_no_common_valid_pixels(tmp_path):
    truth = np.full((4, 4), 255, np.uint8)
    with pytest.raises(LabelMigrationError, match="no valid pixels in common"):
        evaluate(*pair(tmp_path, truth, PREDICTION, truth_nodata=255))


@pytest.mark.parametrize("which", ["prediction", "truth"])
def test_raster_without_crs_is_named(tmp_path, which):
    truth = write_raster(tmp_path / "truth.tif", TRUTH, None if which == "truth" else CRS, GRID)
    prediction = write_raster(tmp_path / "prediction.tif", PREDICTION, None if which == "prediction" else CRS, GRID)
    with pytest.raises(LabelMigrationError, match="not georeferenced") as error:
        evaluate(str(prediction), str(truth))
    assert f"{which}.tif" in str(error.value)


def test_missing_file(tmp_path):
    truth = write_raster(tmp_path / "truth.tif", TRUTH, CRS, GRID)
    with pytest.raises(LabelMigrationError, match="does not exist"):
        evaluate(str(tmp_path / "nope.tif"), str(truth))


def test_confusion_csv(tmp_path):
    result = evaluate(*pair(tmp_path, TRUTH, PREDICTION))
    target = tmp_path / "out" / "confusion.csv"
    target.parent.mkdir()
    write_confusion_csv(str(target), result, names={0: "background", 1: "building"})
    with open(target, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["truth", "name", "predicted_0", "predicted_1", "total"],
        ["0", "background", "9", "1", "10"],
        ["1", "building", "2", "4", "6"],
        ["total", "", "11", "5", "16"],
    ]
    assert sorted(p.name for p in target.parent.iterdir()) == ["confusion.csv"]  # no temporary left


def test_metrics_rows(tmp_path):
    rows = metrics_rows(evaluate(*pair(tmp_path, MULTI_TRUTH, MULTI_PREDICTION), classes=[0, 1, 2, 3]))
    assert rows[0] == ["class", "support", "predicted", "precision", "recall", "iou", "f1"]
    assert rows[2][:3] == ["1", "3", "3"] and rows[2][5] == "0.500000"
    assert rows[4][3:] == ["", "", "", ""]  # class 3: NaN


def test_warped_prediction_keeps_its_nodata_out(tmp_path):
    coarse = np.array([[1, 255],
                       [0, 1]], np.uint8)  # the top-right 20 m pixel is nodata
    result = evaluate(*pair(tmp_path, TRUTH, coarse, prediction_nodata=255,
                            prediction_transform=from_origin(*ORIGIN, 20, 20)))
    # as the half-resolution test, less the top-right 2x2 truth block (all 0, predicted 0: 4 TN)
    assert result.warped
    assert result.confusion.tolist() == [[4, 2], [0, 6]]


# ----- issue 13: what used to pass silently or end in a traceback ----------------------------------------------

def test_a_positive_class_not_present_is_refused_with_the_classes_present(tmp_path):
    # the issue: POSITIVE not among the classes was ignored (the numbers were another class's)
    with pytest.raises(LabelMigrationError, match=r"positive class 7 \(POSITIVE\) is not among the classes present "
                                                  r"in the two rasters: 0, 1\."):
        evaluate(*pair(tmp_path, TRUTH, PREDICTION), positive=7)


def test_a_single_class_cannot_score_another_positive_class(tmp_path):
    zeros = np.zeros((4, 4), np.uint8)
    with pytest.raises(LabelMigrationError, match=r"classes present in the two rasters: 0\. .* undefined"):
        evaluate(*pair(tmp_path, zeros, zeros))
    assert evaluate(*pair(tmp_path, zeros, zeros), positive=0).accuracy == 1.0


def test_more_classes_than_two_report_means_whatever_the_positive_class(tmp_path):
    result = evaluate(*pair(tmp_path, MULTI_TRUTH, MULTI_PREDICTION), positive=7)
    assert not result.binary and result.iou == result.mean_iou


def test_a_raster_of_many_values_is_no_class_raster(tmp_path):
    image = np.arange(40 * 40, dtype=np.uint16).reshape(40, 40)
    truth = write_raster(tmp_path / "truth.tif", image, CRS, from_origin(*ORIGIN, 1, 1))
    prediction = write_raster(tmp_path / "prediction.tif", np.zeros((40, 40), np.uint8), CRS,
                              from_origin(*ORIGIN, 1, 1))
    with pytest.raises(LabelMigrationError, match=r"ground truth '.*truth\.tif' holds more than 1024 distinct values"):
        evaluate(str(prediction), str(truth))


def test_float_values_beyond_any_class_number(tmp_path):
    prediction = np.full((4, 4), 3e10, np.float32)
    with pytest.raises(LabelMigrationError, match=r"prediction '.*prediction\.tif' holds values such as 3e\+10"):
        evaluate(*pair(tmp_path, TRUTH, prediction))


def test_a_truth_over_the_pixel_limit_is_refused(tmp_path):
    from osgeo import gdal

    from labelmigration.core.util import limits

    prediction, truth = pair(tmp_path, TRUTH, PREDICTION)
    vrt = str(tmp_path / "big.vrt")
    gdal.Translate(vrt, truth, format="VRT", width=4000, height=4000)
    with limits.using(limits.with_values(max_megapixels=10)):
        with pytest.raises(LabelMigrationError, match=r"ground truth '.*big\.vrt' is 4,000 x 4,000 pixels \(16 "
                                                      r"megapixels\), more than the limit of 10 megapixels. To go on, "
                                                      r"crop both rasters"):
            evaluate(prediction, vrt)
