"""Rating a candidate scene by the cloud over the label's own footprint: SCL of an L2A product read for
the label's window only, else the cloud model on the candidate's crop (kept for the pair), else the
catalogue's scene cloud cover."""
import logging
import os
from typing import Optional, Tuple

import numpy as np
from osgeo import gdal

from ..labels.crop import crop_scene
from ..landsat.qa_pixel import rate_qa_pixel
from ..models.cloud_classes import MASK_CLOUD, MASK_NODATA, MASK_SHADOW
from ..sentinel2.safe import is_safe_product
from ..util.errors import Cancelled, LabelMigrationError
from ..util.progress import Steps
from .options import RunSettings, cloud_model_path
from .rows import one_line
from .scenes import Candidate
from .scl_rating import LabelPlacements, read_scl_window

LOG = logging.getLogger(__name__)
SCL_CLOUDY = (3, 8, 9, 10)  # cloud shadow, cloud medium / high probability, thin cirrus
SCL_SHADOW = 3


def rate(candidate: Candidate, label_path: str, settings: RunSettings, work: str, steps: Steps,
         placements: Optional[LabelPlacements] = None) -> Optional[str]:
    """Set the candidate's cloud fraction over the label footprint; a note when it is an estimate.
    placements: the label's placements on tile grids, shared by its candidates (core.migration.scl_rating)."""
    if candidate.qa_pixel:  # Landsat: QA_PIXEL's cloud and shadow bits in place of SCL
        return rate_qa_pixel(candidate, label_path, work, steps)
    # SCL of a SAFE product: read in memory, nothing written (other products are cropped to a file)
    if candidate.scl and candidate.scl_is_product and is_safe_product(candidate.scl):
        steps.check()
        window = read_scl_window(candidate.scl, candidate.other_tiles, placements or LabelPlacements(label_path))
        candidate.scl_window = window
        return _rate_scl(candidate, window.values, window.label_inside, window.covered_percent,
                         window.nodata_percent)
    os.makedirs(work, exist_ok=True)
    if candidate.scl:
        other = candidate.other_tiles if candidate.scl_is_product else []
        bands = ["SCL"] if candidate.scl_is_product else None
        result = crop_scene(candidate.scl, label_path, os.path.join(work, "scl.tif"), os.path.join(work, "label.tif"),
                            band_names=bands, other_tiles=other, is_cancelled=steps.cancelled)
        candidate.scl_crop = result.image
        scl, inside = _window_arrays(result.image, result.label)
        return _rate_scl(candidate, scl, inside, result.covered_percent, result.nodata_percent)
    model = cloud_model_path(settings)
    if not model:
        return "No cloud model is installed: candidates were ranked by the scene cloud cover."
    crop = crop_scene(candidate.path, label_path, os.path.join(work, "image.tif"), os.path.join(work, "label.tif"),
                      band_names=candidate.band_names, other_tiles=candidate.other_tiles, is_cancelled=steps.cancelled)
    from ..models.cloud_classes import predict_clouds
    try:
        result, classes = predict_clouds(crop.image, model, {"classes": os.path.join(work, "clouds.tif")},
                                         shadow=True, is_cancelled=steps.cancelled,
                                         input_scaling=settings.input_scaling,
                                         input_name=os.path.basename(candidate.path.rstrip("/\\")))
    except Cancelled:
        raise
    except LabelMigrationError as error:
        return f"The cloud model could not run ({one_line(error)}): the scene cloud cover was used."
    candidate.clouds, candidate.crop = os.path.join(work, "clouds.tif"), crop
    LOG.info("Cloud model on %s: input scaling %s", candidate.path, result.input_scaling)
    clouds, inside = _window_arrays(candidate.clouds, crop.label)
    seen = inside & (clouds != MASK_NODATA)
    if seen.any():  # cloud shadow is as unusable as cloud: both count (as SCL_CLOUDY does for SCL)
        candidate.footprint_cloud = 100.0 * float(np.isin(clouds[seen], (MASK_CLOUD, MASK_SHADOW)).sum()) / seen.sum()
        if classes.has_shadow:
            candidate.footprint_shadow = 100.0 * float((clouds[seen] == MASK_SHADOW).sum()) / seen.sum()
    candidate.coverage_pct, candidate.nodata_pct = crop.covered_percent, crop.nodata_percent
    if result.warnings:  # e.g. an input implausible for the cloud model (core.models.input_scaling): the run says so
        return f"The cloud model's rating may be wrong: {one_line(result.warnings[0])}"
    return None


def _rate_scl(candidate: Candidate, scl: np.ndarray, inside: np.ndarray, covered_pct: float,
              nodata_pct: float) -> Optional[str]:
    seen = inside & (scl != 0)
    if seen.any():
        candidate.footprint_cloud = 100.0 * float(np.isin(scl[seen], SCL_CLOUDY).sum()) / seen.sum()
        candidate.footprint_shadow = 100.0 * float((scl[seen] == SCL_SHADOW).sum()) / seen.sum()
    candidate.coverage_pct, candidate.nodata_pct = covered_pct, nodata_pct
    return None if seen.any() else "No SCL data under the label: the scene cloud cover was used."


def _window_arrays(values_path: str, label_path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Band 1 of values_path and the label's valid pixels, both on the pair grid."""
    # the datasets stay referenced while their bands are read (a band does not keep its dataset alive)
    values_dataset, label_dataset = gdal.Open(values_path), gdal.Open(label_path)
    values = values_dataset.GetRasterBand(1).ReadAsArray()
    band = label_dataset.GetRasterBand(1)
    labels, nodata = band.ReadAsArray(), band.GetNoDataValue()
    inside = np.ones(labels.shape, dtype=bool) if nodata is None else labels != nodata
    return values, inside
