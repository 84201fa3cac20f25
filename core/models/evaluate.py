"""Compare a predicted class raster with a ground-truth class raster: confusion matrix and metrics.

The comparison happens on the ground truth's grid. A prediction on another grid (other CRS,
resolution or extent) is warped onto it with nearest neighbour through a warped VRT, so nothing
is written to disk and only row strips are ever held in memory. Pixels that are nodata (or
outside the data) in either raster are left out. The confusion matrix has the truth in rows and
the prediction in columns and accumulates strip by strip with ``np.bincount``; core.models.confusion
derives the metrics from it (the positive class and zero divisions are explained there).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal

from ..labels.footprint import transform_geometry
from ..util.errors import LabelMigrationError
from ..util.limits import check_pixels
from ..util.progress import CancelCheck, ProgressCallback, Steps
from ..util.gdal_settings import gdal_errors
from ..util.raster_grid import grid_difference, pixel_to_world, raster_outline, require_georeferenced
from ..util.raster_read import open_raster, read_check, row_strips, strip_height_for, valid_mask
from ..util.raster_write import numpy_dtype
from .confusion import Evaluation, metrics_from_confusion


# Value range up to which a strip's (truth, prediction) pairs are counted with one bincount.
_BINCOUNT_LIMIT = 1 << 22
MAX_CLASSES = 1024  # distinct values a class raster may hold; more means it is no class raster


def _warped_prediction(prediction: gdal.Dataset, prediction_path: str, truth: gdal.Dataset, truth_srs,
                       truth_transform) -> Tuple[gdal.Dataset, gdal.Dataset]:
    """A warped VRT of the prediction's first band on the truth's grid (nearest), with an alpha band
    that is 0 where the prediction has no data."""
    if truth_transform[2] or truth_transform[4]:
        raise LabelMigrationError("The ground truth has a rotated grid; warp it to a north-up grid first.")
    x0, y0 = pixel_to_world(truth_transform, 0, 0)
    x1, y1 = pixel_to_world(truth_transform, truth.RasterXSize, truth.RasterYSize)
    with read_check(prediction_path, "prediction"):
        single = gdal.Translate("", prediction, format="VRT", bandList=[1])
        warped = gdal.Warp("", single, format="VRT", outputBounds=(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)),
                           width=truth.RasterXSize, height=truth.RasterYSize, dstSRS=truth_srs.ExportToWkt(),
                           resampleAlg="near", dstAlpha=True, errorThreshold=0, multithread=False)
    if warped is None:
        raise LabelMigrationError(f"The prediction '{prediction_path}' cannot be warped onto the ground truth's grid.")
    return warped, single  # the band-selecting VRT must live as long as the warped one


def _integer_values(values: np.ndarray, path: str, role: str) -> np.ndarray:
    if np.issubdtype(values.dtype, np.floating):
        if values.size and not np.all(values == np.round(values)):
            raise LabelMigrationError(
                f"The {role} '{path}' holds fractional values (such as {_first_fraction(values)}); class rasters "
                f"must hold whole class numbers. Is it a probability or a measurement rather than classes?"
            )
        if values.size and np.abs(values).max() >= 2 ** 31:
            raise LabelMigrationError(
                f"The {role} '{path}' holds values such as {values[np.abs(values) >= 2 ** 31][0]:g}, far beyond "
                f"any class number; class rasters must hold whole class numbers.")
    return values.astype(np.int64, copy=False)


def _first_fraction(values: np.ndarray) -> str:
    return f"{values[values != np.round(values)][0]:g}"


class _PairCounter:
    """Counts (truth, prediction) value pairs strip by strip; refuses more distinct values than
    MAX_CLASSES (a continuous raster given as classes would make the matrix explode)."""

    def __init__(self, prediction_path: str, truth_path: str):
        self.counts: Dict[Tuple[int, int], int] = {}
        self.paths = {"ground truth": truth_path, "prediction": prediction_path}
        self.values = {"ground truth": set(), "prediction": set()}

    def add(self, truth: np.ndarray, prediction: np.ndarray) -> None:
        if truth.size == 0:
            return
        low = int(min(truth.min(), prediction.min()))
        span = int(max(truth.max(), prediction.max())) - low + 1
        if span * span <= _BINCOUNT_LIMIT:
            counts = np.bincount((truth - low) * span + (prediction - low), minlength=span * span)
            codes = np.flatnonzero(counts)
            pairs = zip((codes // span + low).tolist(), (codes % span + low).tolist(), counts[codes].tolist())
        else:
            unique, counts = np.unique(np.stack([truth, prediction]), axis=1, return_counts=True)
            pairs = zip(unique[0].tolist(), unique[1].tolist(), counts.tolist())
        for t, p, n in pairs:
            if (t, p) not in self.counts:
                self._see(t, p)
            self.counts[(t, p)] = self.counts.get((t, p), 0) + n

    def _see(self, truth: int, prediction: int) -> None:
        for role, value in (("ground truth", truth), ("prediction", prediction)):
            seen = self.values[role]
            seen.add(value)
            if len(seen) > MAX_CLASSES:
                raise LabelMigrationError(
                    f"The {role} '{self.paths[role]}' holds more than {MAX_CLASSES} distinct values; a class raster "
                    f"holds class numbers. Is it an image or a probability rather than classes?")


def evaluate(prediction_path: str, truth_path: str, classes: Optional[Sequence[int]] = None,
             positive: Optional[int] = 1, progress: Optional[ProgressCallback] = None,
             is_cancelled: Optional[CancelCheck] = None) -> Evaluation:
    """Compare the first bands of a prediction and a ground truth on the truth's grid.

    classes: the class values to score (matrix order); by default every value seen in either raster.
    Pixels valid in both rasters whose value lies outside ``classes`` are counted in
    ``excluded_pixels`` and left out. With exactly two classes, one of them ``positive``, the
    evaluation is binary and its headline numbers are the positive class's.
    """
    steps = Steps(progress, is_cancelled)
    with gdal_errors():
        truth = open_raster(truth_path, "ground truth")
        prediction = open_raster(prediction_path, "prediction")
        check_pixels(truth.RasterXSize, truth.RasterYSize, f"The ground truth '{truth_path}'",
                     "crop both rasters to the area to score first")
        check_pixels(prediction.RasterXSize, prediction.RasterYSize, f"The prediction '{prediction_path}'",
                     "crop both rasters to the area to score first")
        truth_srs, truth_transform = require_georeferenced(truth, truth_path, "ground truth")
        prediction_srs, prediction_transform = require_georeferenced(prediction, prediction_path, "prediction")
        truth_outline = raster_outline(truth_transform, truth.RasterXSize, truth.RasterYSize)
        outline = raster_outline(prediction_transform, prediction.RasterXSize, prediction.RasterYSize)
        min_x, max_x, min_y, max_y = outline.GetEnvelope()
        try:
            outline = transform_geometry(outline, prediction_srs, truth_srs, max(max_x - min_x, max_y - min_y) / 64)
        except RuntimeError as error:
            raise LabelMigrationError(
                f"The prediction '{prediction_path}' cannot be placed in the ground truth's "
                "coordinate reference system."
            ) from error
        overlap = outline.Intersection(truth_outline)
        if overlap is None or overlap.IsEmpty() or overlap.GetArea() <= 0:
            raise LabelMigrationError(
                f"The prediction '{prediction_path}' and the ground truth '{truth_path}' do not overlap: "
                f"there is nothing to compare."
            )
        warped = grid_difference(prediction, truth) is not None
        source, keep = (_warped_prediction(prediction, prediction_path, truth, truth_srs, truth_transform)
                        if warped else (prediction, None))
        steps.report(0.02)

        width, height = truth.RasterXSize, truth.RasterYSize
        truth_band, prediction_band = truth.GetRasterBand(1), source.GetRasterBand(1)
        bytes_per_row = width * (numpy_dtype(truth_band.DataType).itemsize
                                 + numpy_dtype(prediction_band.DataType).itemsize + 8 * 3)
        strip = strip_height_for(truth, bytes_per_row, 32 << 20)
        counter = _PairCounter(prediction_path, truth_path)
        for row, rows in row_strips(height, strip):
            with read_check(truth_path, "ground truth"):
                truth_values = truth_band.ReadAsArray(0, row, width, rows)
                valid = valid_mask(truth, 0, row, width, rows)
            with read_check(prediction_path, "prediction"):
                prediction_values = prediction_band.ReadAsArray(0, row, width, rows)
                valid &= valid_mask(source, 0, row, width, rows)
            for values in (truth_values, prediction_values):
                if np.issubdtype(values.dtype, np.floating):
                    valid &= np.isfinite(values)
            counter.add(_integer_values(truth_values[valid], truth_path, "ground truth"),
                        _integer_values(prediction_values[valid], prediction_path, "prediction"))
            steps.report(0.02 + 0.96 * (row + rows) / height)
        del source, keep  # close the warped VRT before its band-selecting source
        prediction = truth = None

    if not counter.counts:
        raise LabelMigrationError(
            f"The prediction '{prediction_path}' and the ground truth '{truth_path}' have no valid pixels in "
            f"common: where one has data the other is nodata."
        )
    seen = sorted({t for t, _ in counter.counts} | {p for _, p in counter.counts})
    classes = [int(c) for c in classes] if classes is not None else seen
    if len(set(classes)) != len(classes):
        raise LabelMigrationError("The class values to evaluate contain duplicates.")
    _check_positive(positive, classes, explicit=classes is not seen)
    position = {value: i for i, value in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    excluded = 0
    for (t, p), n in counter.counts.items():
        if t in position and p in position:
            confusion[position[t], position[p]] += n
        else:
            excluded += n
    result = metrics_from_confusion(confusion, classes, positive, excluded)
    result.warped = warped
    if excluded:
        result.warnings.append(f"{excluded} pixels hold values outside the evaluated classes and were left out.")
    if result.total == 0:
        raise LabelMigrationError("No pixel holds one of the evaluated classes in both rasters.")
    steps.report(1.0)
    return result


def _check_positive(positive: Optional[int], classes: List[int], explicit: bool) -> None:
    """A binary evaluation (two classes or fewer) reports the positive class's numbers: refuse a positive
    class that is not there rather than quietly report something else."""
    if positive is None or len(classes) > 2 or positive in classes:
        return
    where = "the classes to evaluate" if explicit else "the classes present in the two rasters"
    raise LabelMigrationError(
        f"The positive class {positive} (POSITIVE) is not among {where}: {', '.join(map(str, classes))}. Set "
        f"POSITIVE to the class whose precision, recall, IoU and F1 you want"
        + (" (with a single class present they would be undefined for any other class)." if len(classes) == 1
           else "."))
