"""Did the ground change between the label's acquisition and the Sentinel-2 scene? A score per pair.

The question is whether the Sentinel-2 pixels still fit the label. If they do, a simple classifier
trained on the pair itself reproduces the label; where a field was harvested, a mine grew or water
rose, the pixels of the changed area look like another class and the classifier disagrees with the
label there.

How (``change_score``):

1. The pixels that count are those with image data, a label value and clear sky (the pair's cloud
   mask: cloud, shadow and nodata are left out). Each band is standardised over them.
2. A linear discriminant is trained on the pair: each pixel goes to the class whose centre is nearest
   under one Mahalanobis metric pooled over the classes (LDA with equal priors, so a small class is not
   swamped). It is robust: a class's centre is its per-band median and the pooled covariance comes from
   the closer TRIM share of each class's pixels, so that a changed area inside a class moves neither
   (with plain means, a field a quarter of its class turned to bare soil drags the class towards bare
   soil and the classifier learns the change). It is cheap, has no settings to tune, needs no training
   data from elsewhere, and reads all bands together.
3. Cross-fitting: the pair is cut into blocks of BLOCK x BLOCK pixels in four interleaved folds; each
   fold is classified by the discriminant trained on the other three, so that a pixel never votes for
   its own class centre.
4. Disagreement is counted where it means change: in the interior of each class (EDGE pixels from its
   boundary, where mixed pixels, drawing imprecision and a small misregistration disagree anyway), and
   as areas (a 3 x 3 opening drops scattered pixels).
5. Per class: agreement = the share of its interior classified as that class and not in such an area.
   **change_score = 1 - the lowest agreement over the classes with at least MIN_CLASS_PIXELS pixels.**
   0: every class is reproduced; a field turned to bare soil over a fifth of its class raises the
   score by about a fifth. The lowest class rather than the mean, because a change usually concerns
   one class, and averaging would dilute it by the others.

Besides the score: ``agreement`` per class, ``balanced_agreement`` (their mean) and ``separability``
(the smallest Mahalanobis distance between two class centres under the pooled covariance: how distinct
the classes are at all; below about 1 the score says little). A label with fewer than two classes
present gets no score (None): there is nothing to tell apart.

How alike pairs are differs between scenes (crops in June, snow, desert), so the score is not read
against a fixed threshold: ``outliers`` flags the pairs of a run whose score lies above the median of
the run by more than K_MAD robust standard deviations (1.4826 x the median absolute deviation, with
MIN_SPREAD as a floor so that a set of near-identical scores does not flag tiny differences). With
fewer than MIN_PAIRS scored pairs the median means little, and only a score from ABSOLUTE_LIMIT on is
flagged.
"""
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np
from scipy import ndimage

from ..util.raster_read import open_raster, read_check, valid_mask

BLOCK = 32
MIN_CLASS_PIXELS = 50
SHRINKAGE = 0.05
TRIM = 0.75
EDGE = 2  # pixels along class boundaries left out of the agreement
K_MAD = 3.0
MIN_SPREAD = 0.03
MIN_PAIRS = 5
ABSOLUTE_LIMIT = 0.5


@dataclass
class ChangeScore:
    score: Optional[float]  # None: fewer than two classes with enough clear pixels
    agreement: Dict[int, float] = field(default_factory=dict)  # per class value: share reproduced
    balanced_agreement: Optional[float] = None
    separability: Optional[float] = None
    pixels: int = 0
    note: str = ""


def _folds(rows: int, cols: int, block: int) -> np.ndarray:
    """Fold 0 to 3 per pixel: blocks in a 2 x 2 interleaved pattern."""
    block_rows = (np.arange(rows) // block) % 2
    block_cols = (np.arange(cols) // block) % 2
    return block_rows[:, None] * 2 + block_cols[None, :]


def _fit(features: np.ndarray, labels: np.ndarray, classes: Sequence[int]):
    """Robust class centres (per-band medians) and the inverse of a pooled covariance from the closer
    TRIM share of each class's pixels around its centre, shrunk slightly towards its diagonal; None
    where a class has fewer than two pixels. A changed area inside a class moves neither."""
    centres, centred = [], []
    for value in classes:
        members = features[labels == value]
        if len(members) < 2:
            return None
        centres.append(np.median(members, axis=0))
        offsets = members - centres[-1]
        distance = np.einsum("ij,ij->i", offsets, offsets)
        centred.append(offsets[distance <= np.quantile(distance, TRIM)])
    centred = np.concatenate(centred)
    covariance = centred.T @ centred / max(1, len(centred) - len(classes))
    dims = covariance.shape[0]
    covariance = (1 - SHRINKAGE) * covariance + SHRINKAGE * np.trace(covariance) / dims * np.eye(dims)
    return np.array(centres), np.linalg.pinv(covariance)


def _interiors(label: np.ndarray, classes: Sequence[int], usable: np.ndarray) -> np.ndarray:
    """Pixels EDGE or more pixels inside their class (a whole class where its interior is too small)."""
    inside = np.zeros(label.shape, bool)
    for value in classes:
        members = label == value
        interior = ndimage.binary_erosion(members, np.ones((3, 3), bool), iterations=EDGE) & usable
        inside |= interior if interior.sum() >= MIN_CLASS_PIXELS else members & usable
    return inside


def _predict(features: np.ndarray, means: np.ndarray, inverse: np.ndarray, classes: Sequence[int]) -> np.ndarray:
    weights = means @ inverse  # (classes, bands)
    scores = features @ weights.T - 0.5 * np.sum(weights * means, axis=1)[None, :]
    return np.asarray(classes)[np.argmax(scores, axis=1)]


def change_score(image: np.ndarray, label: np.ndarray, valid: Optional[np.ndarray] = None,
                 ignore: Sequence[int] = (), block: int = BLOCK) -> ChangeScore:
    """The change score of one pair: ``image`` (bands, rows, cols) of Sentinel-2 values, ``label``
    (rows, cols) class values, ``valid`` (rows, cols) the pixels that count (image data, clear sky),
    ``ignore`` label values that are no class (nodata)."""
    image = np.asarray(image, float)
    if image.ndim == 2:
        image = image[None]
    label = np.asarray(label)
    usable = np.isfinite(image).all(axis=0) & ~np.isin(label, list(ignore))
    if valid is not None:
        usable &= np.asarray(valid, bool)
    values, counts = np.unique(label[usable], return_counts=True)
    classes = [int(v) for v, n in zip(values, counts) if n >= MIN_CLASS_PIXELS]
    usable &= np.isin(label, classes)
    total = int(usable.sum())
    if len(classes) < 2:
        return ChangeScore(None, pixels=total, note=(
            f"{len(classes)} class{'es' if len(classes) != 1 else ''} with {MIN_CLASS_PIXELS} or more clear "
            f"pixels: nothing to tell apart"))
    features = image[:, usable].T
    spread = features.std(axis=0)
    features = (features - features.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    truth = label[usable].astype(int)
    folds = _folds(*label.shape, max(1, block))[usable]
    predicted = np.full(truth.shape, -1)
    for fold in range(4):
        held = folds == fold
        if not held.any():
            continue
        model = _fit(features[~held], truth[~held], classes)
        if model is None:  # a class only in this fold: train on everything (no cross-fitting here)
            model = _fit(features, truth, classes)
        predicted[held] = _predict(features[held], *model, classes)
    inside = _interiors(label, classes, usable)
    wrong = np.zeros(label.shape, bool)
    wrong[usable] = predicted != truth
    wrong = ndimage.binary_opening(wrong, np.ones((3, 3), bool))  # areas, not scattered pixels
    agreement = {}
    for value in classes:
        agreement[value] = 1.0 - float(wrong[inside & (label == value)].mean())
    means, inverse = _fit(features, truth, classes)
    separability = min(float(np.sqrt(max(0.0, (a - b) @ inverse @ (a - b))))
                       for i, a in enumerate(means) for b in means[i + 1:])
    return ChangeScore(score=1.0 - min(agreement.values()), agreement=agreement,
                       balanced_agreement=float(np.mean(list(agreement.values()))),
                       separability=separability, pixels=total)


def outliers(scores: Sequence[Optional[float]], k: float = K_MAD, min_spread: float = MIN_SPREAD,
             min_pairs: int = MIN_PAIRS, absolute: float = ABSOLUTE_LIMIT) -> List[bool]:
    """Per score (None: unknown, never flagged): whether it stands out above the others (module doc)."""
    known = np.array([s for s in scores if s is not None and np.isfinite(s)], float)
    if len(known) < min_pairs:
        return [s is not None and np.isfinite(s) and s >= absolute for s in scores]
    limit = outlier_limit(known, k, min_spread)
    return [s is not None and np.isfinite(s) and s > limit for s in scores]


def outlier_limit(known: Sequence[float], k: float = K_MAD, min_spread: float = MIN_SPREAD) -> float:
    """median + k x max(1.4826 MAD, min_spread) of the known scores."""
    known = np.asarray(known, float)
    median = float(np.median(known))
    spread = 1.4826 * float(np.median(np.abs(known - median)))
    return median + k * max(spread, min_spread)


def score_pair(image_path: str, label_path: str, mask_path: Optional[str] = None) -> ChangeScore:
    """change_score of a pair on disk: its image, its label raster (nodata is no class) and, when given
    and present, its cloud mask (core.migration: 0 clear; cloud, shadow and nodata left out)."""
    image = open_raster(image_path, "image")
    label = open_raster(label_path, "label")
    with read_check(image_path, "image"):
        pixels = image.ReadAsArray().astype(float)
        valid = valid_mask(image, 0, 0, image.RasterXSize, image.RasterYSize)
    band = label.GetRasterBand(1)
    with read_check(label_path, "label"):
        values = band.ReadAsArray()
    nodata = band.GetNoDataValue()
    ignore = [int(nodata)] if nodata is not None and float(nodata).is_integer() else []
    if mask_path and os.path.isfile(mask_path):
        mask = open_raster(mask_path, "cloud mask")  # kept while its band is read (GDAL frees it otherwise)
        with read_check(mask_path, "cloud mask"):
            valid &= mask.GetRasterBand(1).ReadAsArray() == 0
    return change_score(pixels, values, valid, ignore)
