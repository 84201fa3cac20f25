"""Binary segmentation counts and the scores derived from them (IGNORE pixels excluded), computed by the plugin's
own metrics (core/models/confusion.py), so training and the evaluatesegmentation algorithm score alike."""
from dataclasses import dataclass, fields
from typing import Dict

import numpy as np

from .scene import IGNORE

try:
    from ..core.models.confusion import confusion_matrix, metrics_from_confusion
except ImportError:  # run as ``python -m training.cloud``: training and core are top-level packages side by side
    from core.models.confusion import confusion_matrix, metrics_from_confusion


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: np.ndarray, truth: np.ndarray) -> "Counts":
        known = truth != IGNORE
        (tn, fp), (fn, tp) = confusion_matrix(truth[known].astype(bool), predicted[known].astype(bool), 2).tolist()
        self.tp, self.fp, self.fn, self.tn = self.tp + tp, self.fp + fp, self.fn + fn, self.tn + tn
        return self

    def __iadd__(self, other: "Counts") -> "Counts":
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def scores(self) -> Dict[str, float]:
        """The positive class's scores; NaN where a ratio's denominator is 0 (no pixel to score it on)."""
        evaluation = metrics_from_confusion([[self.tn, self.fp], [self.fn, self.tp]], (0, 1), positive=1,
                                            zero_division=float("nan"))
        return {"accuracy": evaluation.accuracy, "precision": evaluation.precision, "recall": evaluation.recall,
                "iou": evaluation.iou}


def scores(predicted: np.ndarray, truth: np.ndarray) -> Dict[str, float]:
    return Counts().add(predicted, truth).scores()
