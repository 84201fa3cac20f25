"""The quality columns of one pair (issue 19): the shift between its source image and Sentinel-2, the
label moved by it when asked (COREGISTER=1), and the change score. migrate_label calls ``assess_pair``
once the pair is verified; every failure here is a warning, never a failed pair.

A label's source image is, in this order: the reference raster of a PNG/JPEG + reference pair; a raster
with the label's name (any extension) in the SOURCE_IMAGES folder; ``<label>_source.tif`` beside the label.
"""
import math
import os
from typing import Dict, List, Optional, Tuple

import numpy as np
from osgeo import gdal

from ..util.errors import LabelMigrationError
from ..util.gdal_settings import gdal_errors
from ..util.outputs import atomic_output
from ..util.raster_read import open_raster
from .change import score_pair
from .coregistration import DEFAULT_MAX_SHIFT_PX, DEFAULT_MIN_CONFIDENCE, measure_shift, should_move

COREGISTER_MEASURE, COREGISTER_MOVE = 0, 1
_RASTER_EXTENSIONS = (".tif", ".tiff", ".vrt", ".jp2", ".png", ".jpg", ".jpeg", ".img")


SOURCE_SUFFIX = "_source.tif"  # <label>_source.tif beside a label is that label's source image


def is_source_image_of(path: str, label_paths) -> bool:
    """Whether ``path`` is ``<label>_source.tif`` for one of ``label_paths`` (so it is no label itself)."""
    name = os.path.basename(path)
    if not name.endswith(SOURCE_SUFFIX):
        return False
    folder, stem = os.path.dirname(path), name[:-len(SOURCE_SUFFIX)]
    return any(os.path.dirname(other) == folder and os.path.splitext(os.path.basename(other))[0] == stem
               for other in label_paths if other != path)


def source_image_for(label_path: str, reference: Optional[str] = None,
                     source_images: Optional[str] = None) -> Optional[str]:
    """The label's source image (module doc), or None when it has none."""
    if reference and os.path.isfile(reference):
        return reference
    stem = os.path.splitext(os.path.basename(label_path))[0]
    if source_images and os.path.isdir(source_images):
        for name in sorted(os.listdir(source_images)):
            base, extension = os.path.splitext(name)
            if base == stem and extension.lower() in _RASTER_EXTENSIONS:
                return os.path.join(source_images, name)
    beside = os.path.join(os.path.dirname(label_path), stem + SOURCE_SUFFIX)
    return beside if os.path.isfile(beside) else None


def _round(value: Optional[float], digits: int) -> str:
    return "" if value is None or not math.isfinite(value) else str(round(float(value), digits))


def assess_pair(image: str, label: str, mask: Optional[str], source: Optional[str],
                coregister: int = COREGISTER_MEASURE, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                max_shift_px: float = DEFAULT_MAX_SHIFT_PX) -> Tuple[Dict[str, str], List[str]]:
    """(the row's quality columns, warnings) for the verified pair ``image`` + ``label``."""
    values = {"shift_x_m": "", "shift_y_m": "", "shift_confidence": "", "label_moved_m": "", "change_score": ""}
    warnings = []
    mask = mask if mask and os.path.isfile(mask) else None
    if source:
        try:
            with gdal_errors():
                scene = open_raster(image, "image")
                cloud = None
                if mask:
                    mask_dataset = open_raster(mask, "cloud mask")
                    cloud = mask_dataset.GetRasterBand(1).ReadAsArray()
                estimate = measure_shift(scene, open_raster(source, "source image"), cloud, max_shift_px)
                scene = None
            values.update(shift_x_m=_round(estimate.shift_x_m, 2), shift_y_m=_round(estimate.shift_y_m, 2),
                          shift_confidence=_round(estimate.confidence, 3), label_moved_m="0")
            if coregister == COREGISTER_MOVE and should_move(estimate, min_confidence) \
                    and not label.lower().endswith((".tif", ".tiff")):
                warnings.append(f"The label '{label}' is no GeoTIFF: it was not moved by the shift.")
            elif coregister == COREGISTER_MOVE and should_move(estimate, min_confidence):
                move_label(label, estimate.shift_x_m, estimate.shift_y_m, image)
                values["label_moved_m"] = _round(math.hypot(estimate.shift_x_m, estimate.shift_y_m), 2)
        except (LabelMigrationError, RuntimeError, OSError, ValueError) as error:
            warnings.append(f"The shift against the source image '{source}' was not measured: {error}")
    try:
        with gdal_errors():
            score = score_pair(image, label, mask)
        values["change_score"] = _round(score.score, 3)
    except (LabelMigrationError, RuntimeError, OSError, ValueError) as error:
        warnings.append(f"No change score: {error}")
    return values, warnings


def move_label(label: str, shift_x_m: float, shift_y_m: float, image: Optional[str] = None) -> None:
    """Rewrite the pair's label raster (atomically, same grid) moved by minus the shift: what the source
    image, and so the label, shows at p + shift lands on Sentinel-2's p. Nearest neighbour, so a move
    is rounded to whole pixels; pixels moved in from outside, and pixels the pair's image has no data
    under (given ``image``, on the label's grid), are nodata."""
    dataset = open_raster(label, "label")
    transform = dataset.GetGeoTransform()
    determinant = transform[1] * transform[5] - transform[2] * transform[4]
    col = (transform[5] * shift_x_m - transform[2] * shift_y_m) / determinant  # the shift in pixels
    row = (-transform[4] * shift_x_m + transform[1] * shift_y_m) / determinant
    band = dataset.GetRasterBand(1)
    values = band.ReadAsArray()
    nodata = band.GetNoDataValue()
    fill = nodata if nodata is not None else 0
    moved = np.full_like(values, fill)
    dc, dr = int(round(col)), int(round(row))
    rows, cols = values.shape
    # moved[r, c] = values[r + dr, c + dc]
    target = (slice(max(0, -dr), min(rows, rows - dr)), slice(max(0, -dc), min(cols, cols - dc)))
    source = (slice(max(0, dr), min(rows, rows + dr)), slice(max(0, dc), min(cols, cols + dc)))
    if target[0].start < target[0].stop and target[1].start < target[1].stop:
        moved[target] = values[source]
    if image:
        moved[_image_nodata(image, values.shape)] = fill
    metadata = dict(dataset.GetMetadata() or {}, LABEL_MOVED_M=f"{-shift_x_m:.2f},{-shift_y_m:.2f}")
    with gdal_errors(), atomic_output(label) as temporary:
        copy = gdal.GetDriverByName("GTiff").CreateCopy(temporary, dataset, options=["COMPRESS=DEFLATE"])
        copy.GetRasterBand(1).WriteArray(moved)
        copy.SetMetadata(metadata)
        copy.FlushCache()
        copy = None
    dataset = None


def _image_nodata(image: str, shape) -> np.ndarray:
    """Where every band of the pair's image is nodata (the pair's image and label share one grid)."""
    dataset = open_raster(image, "image")
    empty = np.ones(shape, dtype=bool)
    for index in range(1, dataset.RasterCount + 1):
        band = dataset.GetRasterBand(index)
        nodata = band.GetNoDataValue()
        values = band.ReadAsArray()
        if values.shape != tuple(shape):
            return np.zeros(shape, dtype=bool)
        empty &= (values == nodata) if nodata is not None else np.zeros(shape, dtype=bool)
    return empty
