"""An exported dataset (exportdataset, core.dataset) as training reads it, through its STAC catalogue only.

    catalog.json -> collection.json       labelmigration:classes (value, name, colour), the item links
    items/<id>.json                       labelmigration:split, the assets image, labels and cloud_mask

The model's output channel c predicts the label value c, so the class raster `segment` writes holds the
dataset's own values; channels for values no chip holds (0 when 0 is not a class) are never a training target.
Pixels that are label or image nodata, cloud or cloud shadow in the chip's mask are left out of the loss and of
every figure. Images become reflectance with their bands' scale/offset, else (integer DN) with Sentinel-2's
1e-4, the numbers the model's metadata then carries (reflectance_scale/offset). No PyTorch here.
"""
import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np
from osgeo import gdal

from ..dataset.export import DATASET_ID
from ..dataset.stac_catalog import PREFIX
from ..models.cloud_classes import MASK_CLOUD, MASK_NODATA, MASK_SHADOW
from ..util.errors import LabelMigrationError
from ..util.raster_read import open_raster

SPLITS = ("train", "validation", "test")
IGNORE = -1                  # target value of the pixels left out
MAX_CLASS_VALUE = 63         # the model has one output channel per value up to the largest class
SENTINEL2_SCALE = 0.0001     # reflectance = DN x 1e-4 for integer images without a scale of their own


@dataclass(frozen=True)
class DatasetClass:
    value: int
    name: str
    colour: Optional[str]    # '#rrggbb' from the label's colour table, or None


@dataclass(frozen=True)
class ChipFiles:
    id: str
    split: str
    image: str               # absolute paths
    label: str
    mask: Optional[str]


@dataclass
class TrainingDataset:
    folder: str
    classes: List[DatasetClass]
    chips: Dict[str, List[ChipFiles]]
    bands: List[str]
    chip_size: int
    resolution_m: float
    reflectance_scale: float
    reflectance_offset: float
    warnings: List[str] = field(default_factory=list)

    @property
    def channels(self) -> int:
        return max(c.value for c in self.classes) + 1

    def channel_names(self) -> Dict[int, str]:
        """A name for every output channel: the dataset's, 'background' or 'unused_<v>' for values it lacks."""
        named = {c.value: c.name for c in self.classes}
        return {v: named.get(v, "background" if v == 0 else f"unused_{v}") for v in range(self.channels)}


def read_dataset(folder: str) -> TrainingDataset:
    """The dataset exported into folder; refuses a folder that is none, or one without train/validation chips."""
    if not os.path.exists(folder):
        raise LabelMigrationError(f"The dataset folder '{folder}' does not exist: give the folder exportdataset "
                                  f"wrote (it holds catalog.json).")
    if not os.path.isdir(folder):
        raise LabelMigrationError(f"The dataset '{folder}' is a file, not a folder: give the folder exportdataset "
                                  f"wrote (it holds catalog.json).")
    catalog = _json(os.path.join(folder, "catalog.json"), folder)
    if catalog.get("id") != DATASET_ID:
        raise LabelMigrationError(f"'{folder}' is no dataset exportdataset wrote (its catalog.json has the id "
                                  f"{catalog.get('id')!r}, not {DATASET_ID!r}).")
    collection = _json(os.path.join(folder, "collection.json"), folder)
    classes = [DatasetClass(int(c["value"]), str(c.get("name") or c["value"]), c.get("color"))
               for c in collection.get(PREFIX + "classes") or []]
    if not classes:
        raise LabelMigrationError(f"The dataset '{folder}' lists no classes (collection.json {PREFIX}classes).")
    if len(classes) < 2:
        raise LabelMigrationError(f"The dataset '{folder}' has one class ({classes[0].name}); a segmentation model "
                                  f"needs labels with two classes or more.")
    if any(not 0 <= c.value <= MAX_CLASS_VALUE for c in classes):
        raise LabelMigrationError(f"The dataset '{folder}' has class values {[c.value for c in classes]}; training "
                                  f"takes values 0 to {MAX_CLASS_VALUE}.")
    chips: Dict[str, List[ChipFiles]] = {name: [] for name in SPLITS}
    for link in collection.get("links", []):
        if link.get("rel") != "item":
            continue
        item_path = os.path.normpath(os.path.join(folder, link["href"]))
        item = _json(item_path, folder)
        split = item.get("properties", {}).get(PREFIX + "split")
        assets = item.get("assets", {})
        if split not in chips or "image" not in assets or "labels" not in assets:
            raise LabelMigrationError(f"The dataset item '{item_path}' has no split or lacks its image or labels.")

        def asset(name: str) -> Optional[str]:
            href = assets.get(name, {}).get("href")
            return os.path.normpath(os.path.join(os.path.dirname(item_path), href)) if href else None

        chips[split].append(ChipFiles(item["id"], split, asset("image"), asset("labels"), asset("cloud_mask")))
    for split in ("train", "validation"):
        if not chips[split]:
            raise LabelMigrationError(f"The dataset '{folder}' has no {split} chips: export it again with a "
                                      f"{split} share above 0 (or a smaller block size, so that there are enough "
                                      f"blocks to share out).")
    dataset = TrainingDataset(folder, classes, chips, *_image_facts(chips["train"][0].image))
    if not chips["test"]:
        dataset.warnings.append(f"The dataset '{folder}' has no test chips: no test figures can be given.")
    return dataset


def _image_facts(path: str) -> Tuple[List[str], int, float, float, float]:
    image = open_raster(path, "image chip")
    band = image.GetRasterBand(1)
    bands = [image.GetRasterBand(i + 1).GetDescription() or f"band {i + 1}" for i in range(image.RasterCount)]
    scale, offset = band.GetScale(), band.GetOffset()
    if scale in (None, 1.0) and offset in (None, 0.0):
        floating = gdal.GetDataTypeName(band.DataType).startswith("Float")
        scale, offset = (1.0, 0.0) if floating else (SENTINEL2_SCALE, 0.0)
    return bands, image.RasterXSize, abs(image.GetGeoTransform()[1]), float(scale), float(offset or 0.0)


def load_chip(chip: ChipFiles, dataset: TrainingDataset) -> Tuple[np.ndarray, np.ndarray]:
    """(reflectance float32 (bands, rows, cols), target int64 (rows, cols) with IGNORE where left out)."""
    image = open_raster(chip.image, "image chip")
    if image.RasterCount != len(dataset.bands):
        raise LabelMigrationError(f"The image chip '{chip.image}' has {image.RasterCount} bands, not "
                                  f"{len(dataset.bands)} as the dataset's first chip.")
    values = image.ReadAsArray().astype(np.float32).reshape(image.RasterCount, image.RasterYSize, image.RasterXSize)
    missing = np.zeros(values.shape[1:], dtype=bool)
    nodata = image.GetRasterBand(1).GetNoDataValue()
    if nodata is not None:
        missing |= np.all(values == nodata, axis=0)
    label = open_raster(chip.label, "label chip")
    target = label.ReadAsArray().astype(np.int64)
    label_nodata = label.GetRasterBand(1).GetNoDataValue()
    if label_nodata is not None:
        missing |= target == label_nodata
    if chip.mask and os.path.exists(chip.mask):
        mask = open_raster(chip.mask, "cloud mask chip").ReadAsArray()
        missing |= np.isin(mask, (MASK_CLOUD, MASK_SHADOW, MASK_NODATA))
    missing |= (target < 0) | (target >= dataset.channels)
    target[missing] = IGNORE
    reflectance = values * dataset.reflectance_scale + dataset.reflectance_offset
    reflectance[:, missing] = 0.0
    return reflectance, target


def band_statistics(arrays: List[Tuple[np.ndarray, np.ndarray]]) -> Tuple[List[float], List[float]]:
    """Per-band mean and standard deviation of the reflectance of the pixels kept (the standardisation)."""
    kept = np.concatenate([image[:, target != IGNORE] for image, target in arrays], axis=1)
    if kept.shape[1] == 0:
        raise LabelMigrationError("The train chips hold no pixel with a label and data (all nodata, cloud or shadow).")
    std = kept.std(axis=1)
    return kept.mean(axis=1).tolist(), np.where(std > 1e-6, std, 1.0).tolist()


def class_weights(arrays: List[Tuple[np.ndarray, np.ndarray]], channels: int) -> List[float]:
    """Loss weights per channel: (mean count / count) ** 0.5 over the classes present in the train chips, so a rare
    class weighs more (capped at 10); 0 for channels no train pixel holds."""
    counts = np.zeros(channels, dtype=np.float64)
    for _image, target in arrays:
        counts += np.bincount(target[target != IGNORE].ravel(), minlength=channels)[:channels]
    present = counts > 0
    weights = np.zeros(channels)
    weights[present] = np.minimum(np.sqrt(counts[present].mean() / counts[present]), 10.0)
    return weights.tolist()


def _json(path: str, folder: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise LabelMigrationError(f"'{folder}' is no exported dataset: '{os.path.basename(path)}' is missing "
                                  f"(run exportdataset first).") from None
    except (OSError, ValueError) as error:
        raise LabelMigrationError(f"Cannot read '{path}': {error}.") from None
