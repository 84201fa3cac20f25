"""The cloud and cloud-shadow U-Nets of ukis-csmask (PyPI, Apache-2.0), run by our own inference engine.

ukis-csmask 1.0.0 ships four ONNX models inside its package, ``model_{4b,6b}_{l1c,l2a}.onnx``, each
with a ``.json`` beside it holding the band order and the per-band mean/std of its training data.
The models return logits of three classes (0 clear, 1 cloud, 2 cloud shadow) for 256 x 256 tiles.
Its own code takes reflectance in [0, 1], standardises it with those statistics, tiles with 20%
overlap, applies a softmax per tile, blends the tiles and takes the argmax. ``ukis_model`` turns the
json into a ModelInfo that makes ``predict_raster`` do the same (Hann instead of Tukey blending),
so the package is only needed for its model files: it is located without being imported.

Their class names (UKIS_CLASS_NAMES) tell core.models.cloud_classes, which decides for every cloud model, that
class 1 is cloud and class 2 cloud shadow: the mask is 1 where the cloud class wins the argmax (shadow
counts as not cloud, or is marked 2 when cloudmask's SHADOW asks for it) and the probability is the cloud
class's softmax.
"""
import importlib.util
import json
import os
from typing import Tuple

from ..util.errors import LabelMigrationError, MissingDependency
from .model_info import ModelInfo

UKIS_VARIANTS = ("4b-l1c", "4b-l2a", "6b-l1c", "6b-l2a")
UKIS_REQUIREMENT = "ukis-csmask==1.0.0"
UKIS_CLASS_NAMES = {0: "clear", 1: "cloud", 2: "shadow"}
CLOUD_CLASS = 1
SHADOW_CLASS = 2
TILE_OVERLAP_PERCENT = 20.0  # ukis-csmask tiles with overlap=0.2
DN_REFLECTANCE_SCALE = 1e-4  # Sentinel-2 DN / 10000, used only when the raster declares no scale of its own


def ukis_package_dir() -> str:
    """The installed ukis_csmask package folder, found without importing the package."""
    try:
        spec = importlib.util.find_spec("ukis_csmask")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise MissingDependency(
            f"The ukis-csmask cloud models need the Python package 'ukis-csmask', which is not installed in "
            f"the Python that QGIS runs. Install it with: python -m pip install \"{UKIS_REQUIREMENT}\""
        )
    return locations[0]


def ukis_model(variant: str) -> Tuple[str, ModelInfo]:
    """The ONNX path of one ukis-csmask model ('4b-l2a', ...) and the metadata to run it with."""
    if variant not in UKIS_VARIANTS:
        raise LabelMigrationError(f"Unknown ukis-csmask model '{variant}'; the models are: {', '.join(UKIS_VARIANTS)}.")
    folder = ukis_package_dir()
    path = os.path.join(folder, f"model_{variant.replace('-', '_')}.onnx")
    card = os.path.splitext(path)[0] + ".json"
    if not (os.path.isfile(path) and os.path.isfile(card)):
        raise LabelMigrationError(
            f"The ukis-csmask package in '{folder}' lacks its model file '{os.path.basename(path)}' or its .json; "
            f"reinstall it with: python -m pip install --force-reinstall \"{UKIS_REQUIREMENT}\""
        )
    try:
        with open(card, encoding="utf-8") as handle:
            data = json.load(handle)["data"]
        statistics = data["dataset_statistics"]
        mean, std = statistics["img"]
        bands = [str(name).lower() for name in statistics["band_names"]]
        rows, cols = data["target_size"]
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise LabelMigrationError(f"The ukis-csmask model card '{card}' cannot be read: {error!r}.") from error
    if not len(mean) == len(std) == len(bands) or rows != cols:
        raise LabelMigrationError(f"The ukis-csmask model card '{card}' is inconsistent (bands, mean, std, size).")
    info = ModelInfo(
        model_type="Segmentor",
        class_names=dict(UKIS_CLASS_NAMES),
        tile_size=int(rows),
        tiles_overlap=TILE_OVERLAP_PERCENT,
        # ukis-csmask standardises reflectance, (DN / 10000 - mean) / std; Deepness's convention (ours too,
        # core.models.input_scaling) is (r / 255 - mean') / std' with r = DN: mean' = mean / (255 x 1e-4), std' alike
        standardization_mean=[float(v) / (255.0 * DN_REFLECTANCE_SCALE) for v in mean],
        standardization_std=[float(v) / (255.0 * DN_REFLECTANCE_SCALE) for v in std],
        bands=bands,
        reflectance_scale=DN_REFLECTANCE_SCALE,
        output_activation="softmax",
    )
    return path, info
