"""Binary segmentation counts and the scores derived from them (IGNORE pixels excluded)."""
from dataclasses import dataclass, fields
from typing import Dict

import numpy as np

from .scene import IGNORE


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: np.ndarray, truth: np.ndarray) -> "Counts":
        known = truth != IGNORE
        predicted, truth = predicted[known].astype(bool), truth[known].astype(bool)
        self.tp += int(np.count_nonzero(predicted & truth))
        self.fp += int(np.count_nonzero(predicted & ~truth))
        self.fn += int(np.count_nonzero(~predicted & truth))
        self.tn += int(np.count_nonzero(~predicted & ~truth))
        return self

    def __iadd__(self, other: "Counts") -> "Counts":
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def scores(self) -> Dict[str, float]:
        total = self.tp + self.fp + self.fn + self.tn
        return {
            "accuracy": _ratio(self.tp + self.tn, total),
            "precision": _ratio(self.tp, self.tp + self.fp),
            "recall": _ratio(self.tp, self.tp + self.fn),
            "iou": _ratio(self.tp, self.tp + self.fp + self.fn),
        }


def _ratio(numerator: int, denominator: int) -> float:
    return float(numerator) / denominator if denominator else float("nan")


def scores(predicted: np.ndarray, truth: np.ndarray) -> Dict[str, float]:
    return Counts().add(predicted, truth).scores()
