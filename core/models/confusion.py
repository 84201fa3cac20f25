"""A confusion matrix and the metrics derived from it: per class precision, recall, IoU and F1, their macro means
and the accuracy; the evaluation's CSV and text rows. Pure numpy: the raster comparison (core.models.evaluate) and
the training pipeline (training/metrics.py) score through these functions.

The positive class: with two classes (or one) the headline numbers are the positive class's, so a
positive class that is not among them fails the evaluation; with more classes they are the macro
means and the positive class is not used.

Zero divisions: for a class that occurs in the truth or in the prediction, a ratio whose
denominator is zero counts as ``zero_division`` (by default 0: a class never predicted has precision 0, a class
predicted but absent from the truth has recall 0, as scikit-learn's ``zero_division=0``). A class absent from
both gets NaN for every metric and is left out of the macro means.
"""
import csv
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..util.outputs import atomic_output


@dataclass
class ClassMetrics:
    value: int
    support: int  # truth pixels of the class
    predicted: int  # prediction pixels of the class
    true_positives: int
    precision: float
    recall: float
    iou: float
    f1: float


@dataclass
class Evaluation:
    classes: List[int]
    confusion: np.ndarray  # int64 (truth rows, prediction columns), ordered as classes
    per_class: Dict[int, ClassMetrics]
    accuracy: float
    mean_precision: float
    mean_recall: float
    mean_iou: float
    mean_f1: float
    positive: Optional[int] = None  # the positive class of a binary evaluation, else None
    excluded_pixels: int = 0  # valid in both rasters but with a value outside ``classes``
    warped: bool = False  # the prediction was warped onto the truth's grid
    warnings: List[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return int(self.confusion.sum())

    @property
    def binary(self) -> bool:
        return self.positive is not None

    def _headline(self, name: str) -> float:
        if self.binary:
            return getattr(self.per_class[self.positive], name)
        return getattr(self, f"mean_{name}")

    # The headline numbers: the positive class's for binary, the macro means otherwise.
    @property
    def precision(self) -> float:
        return self._headline("precision")

    @property
    def recall(self) -> float:
        return self._headline("recall")

    @property
    def iou(self) -> float:
        return self._headline("iou")

    @property
    def f1(self) -> float:
        return self._headline("f1")


def _ratio(numerator: int, denominator: int, zero_division: float) -> float:
    return numerator / denominator if denominator else zero_division


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """The int64 confusion matrix (truth rows, prediction columns) of two arrays of class indices 0 .. classes - 1
    (booleans count as 0 and 1)."""
    truth = np.asarray(truth).astype(np.int64, copy=False).ravel()
    predicted = np.asarray(predicted).astype(np.int64, copy=False).ravel()
    return np.bincount(truth * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def metrics_from_confusion(confusion: np.ndarray, classes: Sequence[int], positive: Optional[int] = 1,
                           excluded_pixels: int = 0, zero_division: float = 0.0) -> Evaluation:
    """An Evaluation from a confusion matrix (truth rows, prediction columns); ``zero_division`` is a ratio's
    value where its denominator is 0 (for a class present in the truth or the prediction)."""
    confusion = np.asarray(confusion, dtype=np.int64)
    classes = [int(c) for c in classes]
    total = int(confusion.sum())
    per_class = {}
    for position, value in enumerate(classes):
        tp = int(confusion[position, position])
        support = int(confusion[position, :].sum())
        predicted = int(confusion[:, position].sum())
        fp, fn = predicted - tp, support - tp
        if support == 0 and predicted == 0:
            nan = float("nan")
            per_class[value] = ClassMetrics(value, 0, 0, 0, nan, nan, nan, nan)
            continue
        per_class[value] = ClassMetrics(value, support, predicted, tp, _ratio(tp, tp + fp, zero_division),
                                        _ratio(tp, tp + fn, zero_division), _ratio(tp, tp + fp + fn, zero_division),
                                        _ratio(2 * tp, 2 * tp + fp + fn, zero_division))

    def mean(name: str) -> float:
        values = [getattr(m, name) for m in per_class.values() if not math.isnan(getattr(m, name))]
        return float(np.mean(values)) if values else float("nan")

    return Evaluation(
        classes=classes, confusion=confusion, per_class=per_class,
        accuracy=float(np.trace(confusion)) / total if total else float("nan"),
        mean_precision=mean("precision"), mean_recall=mean("recall"), mean_iou=mean("iou"), mean_f1=mean("f1"),
        positive=positive if (positive is not None and len(classes) == 2 and positive in classes) else None,
        excluded_pixels=excluded_pixels,
    )


def _format(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.6f}"


def write_confusion_csv(path: str, evaluation: Evaluation, names: Optional[Dict[int, str]] = None) -> str:
    """Write the confusion matrix as CSV, atomically.

    One row per truth class: ``truth`` (class value), ``name``, one ``predicted_<value>`` column
    per class, ``total``; then a ``total`` row with the column sums.
    """
    names = names or {}
    classes = evaluation.classes
    confusion = evaluation.confusion
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["truth", "name"] + [f"predicted_{c}" for c in classes] + ["total"])
            for i, value in enumerate(classes):
                writer.writerow([value, names.get(value, "")] + confusion[i].tolist() + [int(confusion[i].sum())])
            writer.writerow(["total", ""] + confusion.sum(axis=0).tolist() + [int(confusion.sum())])
    return path


def metrics_rows(evaluation: Evaluation) -> List[List[str]]:
    """Per-class and mean metrics as text rows (header first), for tables and logs."""
    rows = [["class", "support", "predicted", "precision", "recall", "iou", "f1"]]
    for value in evaluation.classes:
        m = evaluation.per_class[value]
        rows.append([str(value), str(m.support), str(m.predicted), _format(m.precision), _format(m.recall),
                     _format(m.iou), _format(m.f1)])
    rows.append(["mean", str(evaluation.total), str(evaluation.total), _format(evaluation.mean_precision),
                 _format(evaluation.mean_recall), _format(evaluation.mean_iou), _format(evaluation.mean_f1)])
    return rows
