"""Soft labels from a teacher: ukis-csmask's trained U-Nets (PyPI ``ukis-csmask``, Apache-2.0).

ukis-csmask 1.0.0 ships ONNX models for clear / cloud / cloud shadow (EfficientNet-B4 U-Nets, 256 px
tiles) inside its wheel, with a json of their band order and the reflectance mean/std they were
trained with. They were trained on other data than ours (not on L8 Biome, not on On Cloud N), so
their probabilities are a second opinion on any image: on unlabelled frames they are the only label,
on labelled ones they tell shadow from clear where the human label says only "not cloud".
The package is located, not imported (its import pulls in scipy and onnxruntime anyway).
"""
import importlib.util
import json
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

TILE = 256
STRIDE = 128


def package_folder() -> Optional[Path]:
    spec = importlib.util.find_spec("ukis_csmask")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


class Teacher:
    """One ukis-csmask model: ``probabilities(image)`` -> (3, rows, cols) clear/cloud/shadow."""

    def __init__(self, variant: str, threads: int = 0):
        import onnxruntime

        folder = package_folder()
        if folder is None:
            raise ImportError("ukis-csmask is not installed: pip install ukis-csmask==1.0.0")
        path = folder / f"model_{variant}.onnx"
        card = json.loads(path.with_suffix(".json").read_text())["data"]
        mean, std = card["dataset_statistics"]["img"]
        self.bands = [str(name) for name in card["dataset_statistics"]["band_names"]]
        self.mean = np.asarray(mean, np.float32)[:, None, None]
        self.std = np.asarray(std, np.float32)[:, None, None]
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.variant = variant

    def probabilities(self, image: np.ndarray, bands: Sequence[str]) -> np.ndarray:
        """Softmax class probabilities of a reflectance image (bands, rows, cols), tiles blended."""
        order = [list(bands).index(name) for name in self.bands]
        x = np.nan_to_num((image[order] - self.mean) / self.std, nan=0.0).astype(np.float32)
        rows, cols = x.shape[1:]
        pad_rows, pad_cols = max(0, TILE - rows), max(0, TILE - cols)
        x = np.pad(x, ((0, 0), (0, pad_rows), (0, pad_cols)), mode="reflect" if max(pad_rows, pad_cols) < min(
            rows, cols) else "constant")
        height, width = x.shape[1:]
        total = np.zeros((3, height, width), np.float32)
        weights = np.zeros((height, width), np.float32)
        # blend towards tile centres; the floor keeps the weight of pixels only one tile covers above zero
        window = np.maximum(np.outer(*(2 * [np.hanning(TILE + 2)[1:-1]])), 1e-3).astype(np.float32)
        for y in _starts(height):
            for x0 in _starts(width):
                logits = self.session.run(None, {self.input: x[None, :, y:y + TILE, x0:x0 + TILE]})[0][0]
                logits = logits - logits.max(axis=0)
                probability = np.exp(logits)
                probability /= probability.sum(axis=0)
                total[:, y:y + TILE, x0:x0 + TILE] += probability * window
                weights[y:y + TILE, x0:x0 + TILE] += window
        return (total / weights)[:, :rows, :cols]


def _starts(length: int):
    starts = list(range(0, max(1, length - TILE + 1), STRIDE))
    if starts[-1] + TILE < length:
        starts.append(length - TILE)
    return starts


def teacher_variant(bands: Sequence[str], level: str) -> str:
    """The 6-band model where the image has SWIR, else the 4-band one, for L1C (TOA) or L2A."""
    has_swir = {"swir16", "swir22"} <= set(bands)
    return f"{'6b' if has_swir else '4b'}_{level}"


def soft_labels(images: Sequence[Tuple[np.ndarray, Sequence[str], str]],
                cache: Dict[str, Teacher]) -> list:
    """Teacher probabilities (float16) for (image, bands, level) triples."""
    out = []
    for image, bands, level in images:
        variant = teacher_variant(bands, level)
        if variant not in cache:
            cache[variant] = Teacher(variant)
        out.append(cache[variant].probabilities(image, bands).astype(np.float16))
    return out
