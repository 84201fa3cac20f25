"""The output rasters of a prediction: the probability GeoTIFF (one float32 band per output channel, NaN where
the input is nodata) and the class GeoTIFF (uint8, one band per output head, CLASSES_NODATA where nodata), the
classes decided from the probabilities as Deepness does, and the statistics gathered while they are written."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from osgeo import gdal

from ..util.errors import LabelMigrationError
from ..util.outputs import check_output_path
from ..util.raster_grid import has_geotransform
from ..util.raster_write import color_table_from, create_gtiff
from .model_info import ModelInfo
from .onnx_model import CLASSES_NODATA, Model

OUTPUT_ROLES = ("probability", "classes")
_UNIT_SLACK = 1e-3  # probabilities this far outside 0..1 still count as probabilities
# predict_raster's only_class: a class, classes (or groups of them) marked 1, 2, ..., or a callable deciding it
OnlyClass = Union[None, int, Sequence[Union[int, Sequence[int]]], Callable[[Model], object]]


class OutputWriters:
    """The output GeoTIFFs (on temporary paths) and their running statistics."""

    def __init__(self, roles: Dict[str, str], source: gdal.Dataset, classes: int, info: ModelInfo,
                 class_colours: Optional[Dict[int, Tuple[int, int, int]]] = None, only_class: OnlyClass = None,
                 heads: Optional[List[int]] = None, names: Optional[List[Dict[int, str]]] = None,
                 labels: Optional[List[str]] = None):
        heads = list(heads or [classes])
        picked = picked_groups(only_class)
        if picked is not None and len(heads) > 1:
            raise LabelMigrationError(f"The model returns {len(heads)} outputs; one class can only be picked "
                                      f"from a model with one output.")
        for number in [number for group in picked or () for number in group]:
            if not 0 <= number < classes:
                raise LabelMigrationError(f"The model returns {classes} class(es); it has no class {number}.")
        self.picked = picked  # the classes (groups of them) the class raster marks 1, 2, ...; None: all classes
        # picked classes with a threshold need only their groups' probabilities: only those are blended (reduce)
        self.reduced = picked is not None and info.seg_thresh is not None
        self.blended_channels = len(picked) if self.reduced else classes
        self.roles, self.classes, self.info = roles, (1 if picked is not None else classes), info
        self.heads = [1] if picked is not None else heads  # channels per head
        self.starts = np.cumsum([0] + self.heads).tolist()  # first channel of each head
        self.names = [(names[i] if names and i < len(names) else {}) for i in range(len(self.heads))]
        self.labels = list(labels or [])[:len(self.heads)]
        self.labels += [f"output {i}" for i in range(len(self.labels), len(self.heads))]
        classes = self.classes
        width, height = source.RasterXSize, source.RasterYSize
        transform = source.GetGeoTransform() if has_geotransform(source) else None
        self.datasets = {}
        for role, path in roles.items():
            bands, kind = (classes, gdal.GDT_Float32) if role == "probability" else (len(self.heads), gdal.GDT_Byte)
            dataset = create_gtiff(path, width, height, bands, kind, source.GetProjection(), transform)
            for number in range(1, bands + 1):
                band = dataset.GetRasterBand(number)
                band.SetNoDataValue(float("nan") if role == "probability" else CLASSES_NODATA)
                band.SetDescription(self._band_name(role, number - 1))
                if role == "classes" and class_colours and number == 1:  # GeoTIFF: a colour table on band 1 only
                    band.SetColorTable(color_table_from(class_colours))
                    band.SetColorInterpretation(gdal.GCI_PaletteIndex)
            self.datasets[role] = dataset
        self.sums = np.zeros(classes, np.float64)
        self.head_counts = ([np.zeros(len(picked) + 1, np.int64)] if picked is not None
                            else [np.zeros(max(2, channels), np.int64) for channels in self.heads])
        self.counts = self.head_counts[0]
        self.valid = 0
        self.not_finite = 0  # valid input pixels where the model returned NaN or infinity
        self.outside_unit = 0  # valid pixels whose output lies outside 0..1 (logits, not probabilities)

    def _band_name(self, role: str, index: int) -> str:
        if role == "classes":
            return "class" if len(self.heads) == 1 else self.labels[index]
        if self.picked is not None:
            return self._group_name(self.picked[0])
        head = int(np.searchsorted(self.starts, index, side="right")) - 1
        channel, names = index - self.starts[head], self.names[head]
        # a one-channel (sigmoid) head gives the probability of its last class: X of (background, X)
        name = names.get(channel + (1 if self.heads[head] == 1 and len(names) > 1 else 0), f"class {channel}")
        return name if len(self.heads) == 1 else f"{self.labels[head]}: {name}"

    def reduce(self, prediction: np.ndarray) -> np.ndarray:
        """What is blended of a (batch, channels, rows, cols) prediction: the picked groups' probabilities when
        a threshold decides (all that write needs; blending is linear, so a group's sum blends alike), else all."""
        if not self.reduced:
            return prediction
        if len(self.picked) == 1 and len(self.picked[0]) == 1:
            return prediction[:, self.picked[0][0]:self.picked[0][0] + 1]  # a view: no copy
        return np.stack([_group_probability(prediction.swapaxes(0, 1), group) for group in self.picked], axis=1)

    def write(self, row: int, probability: np.ndarray, valid: np.ndarray, not_finite: Optional[np.ndarray]) -> None:
        """Rows from ``row`` on: ``probability`` is the blended output, (channels, rows, cols), of what ``reduce``
        kept."""
        if not_finite is not None:
            self.not_finite += int((valid & not_finite).sum())
            valid = valid & ~not_finite
        if self.reduced:
            heads = [_threshold_mask(probability, self.info.seg_thresh)]
            probability = probability[:1]
        elif self.picked is not None:
            heads = [only_class_mask(probability, self.picked, self.info.seg_thresh)]
            probability = _group_probability(probability, self.picked[0])[np.newaxis]
        else:
            heads = [classify(probability[a:b], self.info.seg_thresh) for a, b in zip(self.starts, self.starts[1:])]
        self.valid += int(np.count_nonzero(valid))
        if probability.size and (probability.min() < -_UNIT_SLACK or probability.max() > 1 + _UNIT_SLACK):
            outside = (probability < -_UNIT_SLACK) | (probability > 1 + _UNIT_SLACK)  # blending rounds a little
            self.outside_unit += int((valid & outside.any(axis=0)).sum())
        self.sums += np.where(valid, probability, np.float32(0)).sum(axis=(1, 2), dtype=np.float64)
        if "probability" in self.datasets:
            out = np.where(valid, probability, np.float32(np.nan)).astype(np.float32)
            for index in range(self.classes):
                self.datasets["probability"].GetRasterBand(index + 1).WriteArray(out[index], 0, row)
        for number, (classes, counts) in enumerate(zip(heads, self.head_counts), start=1):
            out = np.where(valid, classes.astype(np.uint8, copy=False), np.uint8(CLASSES_NODATA))
            counts += np.bincount(out.ravel(), minlength=CLASSES_NODATA + 1)[: len(counts)]  # nodata: bin 255
            if "classes" in self.datasets:
                self.datasets["classes"].GetRasterBand(number).WriteArray(out, 0, row)

    def _group_name(self, group: Tuple[int, ...]) -> str:
        return " + ".join(self.info.class_names.get(number, f"class {number}") for number in group)

    def recount(self, counts: List[np.ndarray]) -> None:
        """Replace the class counts (per head, 256 bins) with those of the finished class raster."""
        for mine, theirs in zip(self.head_counts, counts):
            mine[:] = theirs[:len(mine)]

    def close(self) -> None:
        for dataset in self.datasets.values():
            dataset.FlushCache()
        self.datasets.clear()

    def stats(self) -> Dict[str, dict]:
        means = (self.sums / self.valid).tolist() if self.valid else [None] * self.classes
        per_head = []
        for head, counts in enumerate(self.head_counts):
            if self.picked is not None:
                picked = [self._group_name(group) for group in self.picked]
                names = {0: "not " + " or ".join(picked), **{i: name for i, name in enumerate(picked, start=1)}}
                for i in range(2, len(names)):  # counts are keyed by name: keep repeated names apart
                    if names[i] in [names[j] for j in range(i)]:
                        names[i] = f"{names[i]} ({i})"
            else:
                names = {i: self.names[head].get(i, str(i)) for i in range(len(counts))}
            per_head.append({"output": self.labels[head],
                             "counts": {names[i]: int(c) for i, c in enumerate(counts)}})
        return {
            "probability": {"mean": means, "valid_pixels": self.valid},
            "classes": {"counts": per_head[0]["counts"], "valid_pixels": self.valid, "heads": per_head},
        }


def classify(probability: np.ndarray, threshold: Optional[float]) -> np.ndarray:
    """Class per pixel: a single-band model thresholds (default 0.5); several bands take the argmax,
    and pixels whose best probability is below seg_thresh fall back to class 0 (as in Deepness)."""
    if probability.shape[0] == 1:
        return (probability[0] >= (0.5 if threshold is None else threshold)).astype(np.uint8)
    classes = np.argmax(probability, axis=0).astype(np.uint8)
    if threshold is not None:
        classes[probability.max(axis=0) < threshold] = 0
    return classes


def picked_groups(only_class) -> Optional[Tuple[Tuple[int, ...], ...]]:
    """``only_class`` as groups of classes: 3 -> ((3,),); (1, 2) -> ((1,), (2,)); ((1, 2), 3) -> ((1, 2), (3,))."""
    if only_class is None:
        return None
    if isinstance(only_class, (int, np.integer)):
        return ((int(only_class),),)
    groups = tuple(tuple(int(n) for n in group) if isinstance(group, (list, tuple)) else (int(group),)
                   for group in only_class)
    if not groups or not all(groups):
        raise LabelMigrationError(f"No class to pick was given ({only_class!r}).")
    return groups


def _group_probability(probability: np.ndarray, group: Sequence[int]) -> np.ndarray:
    """The probability of a group of classes: the sum of theirs."""
    if len(group) == 1:
        return probability[group[0]]
    return probability[list(group)].sum(axis=0)


def _threshold_mask(groups: np.ndarray, threshold: float) -> np.ndarray:
    """only_class_mask with a threshold, on the groups' probabilities (reduce): 1 where the first reaches it, else
    2 where the second does, ..."""
    if groups.shape[0] == 1:
        return (groups[0] >= threshold).view(np.uint8)
    mask = np.zeros(groups.shape[1:], np.uint8)
    for value in range(groups.shape[0], 0, -1):
        mask[groups[value - 1] >= threshold] = value
    return mask


def only_class_mask(probability: np.ndarray, only_class, threshold: Optional[float]) -> np.ndarray:
    """1 where ``only_class`` wins the argmax (or, given a threshold, where its probability reaches it), else 0.

    Several classes, ``(a, b, ...)``, mark 1 where a wins, 2 where b wins, ...; given a threshold, where a's
    probability reaches it 1, else where b's does 2, and so on (earlier classes first). A class may be a group
    of classes (``((a1, a2), b)``): it wins where one of them wins the argmax, and its probability is their sum.
    """
    groups = picked_groups(only_class)
    mask = np.zeros(probability.shape[1:], np.uint8)
    if threshold is None:
        best = np.argmax(probability, axis=0)
        for value, group in enumerate(groups, start=1):
            mask[best == group[0] if len(group) == 1 else np.isin(best, group)] = value
        return mask
    for value, group in reversed(list(enumerate(groups, start=1))):
        mask[_group_probability(probability, group) >= threshold] = value
    return mask


def check_outputs(outputs: Dict[str, str], extra_outputs: Dict[str, str], input_path: str) -> None:
    if not outputs:
        raise LabelMigrationError(f"No output was requested; ask for one of: {', '.join(OUTPUT_ROLES)}.")
    for role, path in outputs.items():
        if role not in OUTPUT_ROLES:
            raise LabelMigrationError(f"Unknown output '{role}'; the outputs are: {', '.join(OUTPUT_ROLES)}.")
        check_output_path(path, [input_path], f"{role} output")
    for role, path in extra_outputs.items():
        if role in OUTPUT_ROLES:
            raise LabelMigrationError(f"The extra output '{role}' has the name of a raster output.")
        check_output_path(path, [input_path], f"{role} output")
