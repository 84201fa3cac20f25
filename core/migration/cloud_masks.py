"""The pair's cloud mask (0 clear, 1 cloud, 2 cloud shadow, 255 nodata: core.models.cloud_classes), on the
pair's grid, from the cloud model's classes or from SCL; a Landsat pair's from its QA_PIXEL bits."""
import os
import shutil
import uuid
from typing import List, Optional, Tuple

import numpy as np
from osgeo import gdal

from ..landsat.bands import QA_MASK_SOURCE, SENSOR as LANDSAT_SENSOR
from ..landsat.qa_pixel import mask_on_grid
from ..models.cloud_classes import MASK_CLEAR, MASK_CLOUD, MASK_NODATA, MASK_SHADOW
from ..util.errors import Cancelled, LabelMigrationError
from ..util.outputs import atomic_output
from ..util.progress import Steps
from ..util.raster_grid import grid_difference
from ..util.raster_write import create_gtiff
from .options import LabelTask, RunSettings, cloud_model_path
from .pair_files import pair_stem
from .rating import SCL_SHADOW
from .rows import one_line
from .scenes import Candidate

SCL_CLOUD_MASK = (8, 9, 10)  # what a cloud mask made from SCL calls cloud (1); SCL_SHADOW is shadow (2)


def write_cloud_mask(best: Candidate, image: str, target: str, settings: RunSettings, work: str,
                     steps: Steps) -> Optional[str]:
    """The pair's cloud mask (on the pair's grid), atomically; a warning when none can be made.

    The cloud model's output on the candidate's crop is reused when rating ran it (the crop is the
    pair's image); else the model runs on the pair's image; without a model SCL (8, 9, 10 cloud, 3
    shadow) is used. A Landsat pair's mask always comes from its QA_PIXEL (core.landsat.qa_pixel.mask_from_qa):
    the product's own flags, where the model was trained on Sentinel-2.
    """
    model = cloud_model_path(settings)
    note = None
    if best.qa_pixel:
        _write_mask(mask_on_grid(best.qa_pixel, image, work), image, target, QA_MASK_SOURCE)
        return None
    if model:
        clouds = best.clouds if best.clouds and same_grid(best.clouds, image) else None
        if clouds is None:
            clouds = os.path.join(work, "pair-clouds.tif")
            result = _predict_clouds(image, model, clouds, settings, steps)
            if result.warnings:  # e.g. an input implausible for the cloud model (core.models.input_scaling)
                note = f"The cloud mask may be wrong: {one_line(result.warnings[0])}"
        mask, source = _mask_from_classes(clouds), _model_source(model)
    elif best.scl_crop or best.scl_window is not None:
        source = best.scl_crop or _write_scl_window(best.scl_window, os.path.join(work, "scl-window.tif"))
        scl = _onto_grid(source, image, os.path.join(work, "pair-scl.tif"))
        values, _ = _read_band(scl)
        mask = np.where(np.isin(values, SCL_CLOUD_MASK), MASK_CLOUD, MASK_CLEAR).astype(np.uint8)
        mask[values == SCL_SHADOW] = MASK_SHADOW
        mask[values == 0] = MASK_NODATA  # SCL 0: no data
        source = "SCL (classes 8, 9, 10 as 1; 3 as 2; 0 as 255)"
    else:
        return "No cloud mask: no cloud model is installed and the scene has no SCL band."
    _write_mask(mask, image, target, source)
    return note


def mask_for_complete_pair(task: LabelTask, image: str, target: str, steps: Steps) -> List[str]:
    """A pair complete from an earlier run without its mask: the model makes one from the image."""
    model = cloud_model_path(task.settings)
    if (gdal.Open(image).GetMetadata() or {}).get("SENSOR") == LANDSAT_SENSOR:
        return ["No cloud mask for this already complete Landsat pair: qa_pixel is only read while the pair is "
                "made (delete the pair to make it again)."]
    if not model:
        return ["No cloud mask for this already complete pair: SCL is only read while the pair is made "
                "(delete the pair to make it again, or give a cloud model)."]
    work = os.path.join(task.output_folder, ".work", f"{pair_stem(task.label)}-mask-{uuid.uuid4().hex[:8]}")
    try:
        os.makedirs(work, exist_ok=True)
        clouds = os.path.join(work, "clouds.tif")
        result = _predict_clouds(image, model, clouds, task.settings, steps)
        _write_mask(_mask_from_classes(clouds), image, target, _model_source(model))
        if result.warnings:  # e.g. an input implausible for the cloud model (core.models.input_scaling)
            return [f"The cloud mask may be wrong: {one_line(result.warnings[0])}"]
    except Cancelled:
        raise
    except (LabelMigrationError, RuntimeError, OSError) as error:
        return [f"No cloud mask was written: {one_line(error)}"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return []


def _predict_clouds(image: str, model: str, classes_path: str, settings: RunSettings, steps: Steps):
    """The cloud model over an image: ``classes_path`` becomes its mask, 1 cloud and 2 cloud shadow where the model
    has a shadow class (core.models.cloud_classes decides which classes those are), 0 clear, 255 nodata."""
    from ..models.cloud_classes import predict_clouds
    result, _classes = predict_clouds(image, model, {"classes": classes_path}, shadow=True,
                                      is_cancelled=steps.cancelled, input_scaling=settings.input_scaling)
    return result


def _model_source(model: str) -> str:
    return f"the cloud model {os.path.basename(model)}"


def _mask_from_classes(classes_path: str) -> np.ndarray:
    """The cloud model's mask (_predict_clouds: 1 cloud, 2 cloud shadow, 0 clear) as the pair's cloud mask."""
    values, nodata = _read_band(classes_path)
    mask = np.select([values == MASK_CLOUD, values == MASK_SHADOW], [MASK_CLOUD, MASK_SHADOW],
                     MASK_CLEAR).astype(np.uint8)
    mask[values == (MASK_NODATA if nodata is None else nodata)] = MASK_NODATA
    return mask


def _read_band(path: str) -> Tuple[np.ndarray, Optional[float]]:
    dataset = gdal.Open(path)
    band = dataset.GetRasterBand(1)
    return band.ReadAsArray(), band.GetNoDataValue()


def _grid(path: str):
    dataset = gdal.Open(path)
    return dataset.RasterXSize, dataset.RasterYSize, tuple(dataset.GetGeoTransform()), dataset.GetProjection()


def same_grid(first: str, second: str) -> bool:
    return grid_difference(gdal.Open(first), gdal.Open(second)) is None


def _onto_grid(source: str, reference: str, output: str) -> str:
    """source resampled (nearest) onto the reference's grid; source itself when already on it."""
    if same_grid(source, reference):
        return source
    width, height, transform, projection = _grid(reference)
    bounds = (transform[0], transform[3] + height * transform[5], transform[0] + width * transform[1], transform[3])
    result = gdal.Warp(output, source, format="GTiff", outputBounds=bounds, width=width, height=height,
                       dstSRS=projection, resampleAlg="near", srcNodata=0, dstNodata=0)
    if result is None:
        raise LabelMigrationError(f"Cannot resample '{source}' onto the pair's grid.")
    result = None
    return output


def _write_scl_window(window, path: str) -> str:
    """The SCL rating read under the label (core.migration.scl_rating.SclWindow) as a raster (0: no data)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    height, width = window.values.shape
    dataset = create_gtiff(path, width, height, 1, gdal.GDT_Byte, window.srs_wkt, window.transform)
    band = dataset.GetRasterBand(1)
    band.SetNoDataValue(0)
    band.WriteArray(window.values)
    dataset = None
    return path


def _write_mask(mask: np.ndarray, reference: str, target: str, source: Optional[str] = None) -> None:
    """A uint8 GeoTIFF (nodata 255) on the reference's grid, published atomically; ``source`` (what the mask
    was made from, in words) becomes its CLOUD_MASK_SOURCE metadata."""
    width, height, transform, projection = _grid(reference)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with atomic_output(target) as temporary:
        dataset = gdal.GetDriverByName("GTiff").Create(temporary, width, height, 1, gdal.GDT_Byte,
                                                       ["COMPRESS=DEFLATE", "TILED=YES"])
        dataset.SetGeoTransform(transform)
        dataset.SetProjection(projection)
        band = dataset.GetRasterBand(1)
        band.SetNoDataValue(MASK_NODATA)
        band.SetDescription("cloud")
        if source:
            dataset.SetMetadata({"CLOUD_MASK_SOURCE": source})
        band.WriteArray(mask)
        dataset.FlushCache()
        dataset = None
