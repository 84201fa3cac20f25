"""Rating a Landsat candidate by its QA_PIXEL band over the label's footprint, as SCL rates a Sentinel-2 one
(core.migration.rating): the cloud % and shadow % of the label's pixels that have data.

QA_PIXEL bits (USGS Landsat 8-9 Collection 2 Level-2 Science Product Guide, LSDS-1619, QA_PIXEL table):
bit 0 fill, 1 dilated cloud, 2 cirrus, 3 cloud, 4 cloud shadow, 5 snow, 6 clear, 7 water (8-15: confidences).
Unusable, as SCL_CLOUDY counts cloud, thin cirrus and shadow: dilated cloud, cirrus, cloud and cloud shadow.
The pair's cloud mask (mask_on_grid) takes the same bits, as core.migration.cloud_masks takes SCL's classes.
"""
import os
from dataclasses import dataclass
from typing import Optional

import numpy as np
from osgeo import gdal

from ..labels.crop import crop_scene
from ..models.cloud_classes import MASK_CLEAR, MASK_CLOUD, MASK_NODATA, MASK_SHADOW
from ..util.errors import LabelMigrationError
from ..util.progress import Steps

FILL, DILATED_CLOUD, CIRRUS, CLOUD, CLOUD_SHADOW, SNOW, CLEAR, WATER = range(8)
CLOUDY_BITS = (DILATED_CLOUD, CIRRUS, CLOUD)
QA_NODATA = 1  # a QA_PIXEL value of only the fill bit: no data


def has_bit(values: np.ndarray, bit: int) -> np.ndarray:
    return (values.astype(np.uint32) >> bit) & 1 == 1


@dataclass
class QaCounts:
    """Over the label's pixels: those with data (fill bit clear), and of them cloud (or shadow) and shadow."""
    seen: int
    unusable: int
    shadow: int
    fill: int

    @property
    def cloud_percent(self) -> Optional[float]:
        return 100.0 * self.unusable / self.seen if self.seen else None

    @property
    def shadow_percent(self) -> Optional[float]:
        return 100.0 * self.shadow / self.seen if self.seen else None


def count_qa(values: np.ndarray, inside: np.ndarray) -> QaCounts:
    """QaCounts of the QA_PIXEL values where inside (the label's valid pixels) is true."""
    under = values[inside]
    seen = ~has_bit(under, FILL)
    shadow = has_bit(under, CLOUD_SHADOW) & seen
    cloudy = np.zeros(under.shape, dtype=bool)
    for bit in CLOUDY_BITS:
        cloudy |= has_bit(under, bit)
    return QaCounts(seen=int(seen.sum()), unusable=int(((cloudy & seen) | shadow).sum()), shadow=int(shadow.sum()),
                    fill=int((~seen).sum()))


def mask_from_qa(values: np.ndarray) -> np.ndarray:
    """The cloud mask classes (core.models.cloud_classes) of QA_PIXEL values: 1 where a cloudy bit is set
    (cloud over its own shadow: a shadow under a cloud is not seen), 2 cloud shadow, 255 fill, else 0 (clear,
    snow, water)."""
    cloudy = np.zeros(values.shape, dtype=bool)
    for bit in CLOUDY_BITS:
        cloudy |= has_bit(values, bit)
    mask = np.select([has_bit(values, FILL), cloudy, has_bit(values, CLOUD_SHADOW)],
                     [MASK_NODATA, MASK_CLOUD, MASK_SHADOW], MASK_CLEAR)
    return mask.astype(np.uint8)


def mask_on_grid(qa_pixel: str, reference: str, work: str) -> np.ndarray:
    """mask_from_qa of the QA_PIXEL raster read on the reference's grid (nearest; the pair's own 30 m grid
    is a window of it); where it has no data, fill."""
    reference_dataset = gdal.Open(reference)
    width, height = reference_dataset.RasterXSize, reference_dataset.RasterYSize
    x0, dx, _, y0, _, dy = reference_dataset.GetGeoTransform()
    projection = reference_dataset.GetProjection()
    reference_dataset = None
    os.makedirs(work, exist_ok=True)
    source = gdal.Open(qa_pixel)
    if source is None:
        raise LabelMigrationError(f"The QA_PIXEL raster '{qa_pixel}' cannot be read.")
    nodata = source.GetRasterBand(1).GetNoDataValue()
    warped = gdal.Warp(os.path.join(work, "qa_pixel_pair.tif"), source, format="GTiff",
                       outputBounds=(x0, y0 + height * dy, x0 + width * dx, y0), width=width, height=height,
                       dstSRS=projection, resampleAlg="near", srcNodata=QA_NODATA if nodata is None else nodata,
                       dstNodata=QA_NODATA)
    if warped is None:
        raise LabelMigrationError(f"The QA_PIXEL raster '{qa_pixel}' cannot be read on the pair's grid.")
    values = warped.GetRasterBand(1).ReadAsArray()
    warped = source = None
    return mask_from_qa(values)


def rate_qa_pixel(candidate, label_path: str, work: str, steps: Steps) -> Optional[str]:
    """Set the candidate's footprint cloud and shadow % from its QA_PIXEL (candidate.qa_pixel) cropped to the
    label on the QA grid (the pair's grid: all Landsat SR and QA bands share the 30 m grid); a note when
    the label has no QA data."""
    os.makedirs(work, exist_ok=True)
    result = crop_scene(candidate.qa_pixel, label_path, os.path.join(work, "qa_pixel.tif"),
                        os.path.join(work, "qa_label.tif"), is_cancelled=steps.cancelled)
    qa_dataset, label_dataset = gdal.Open(result.image), gdal.Open(result.label)
    values = qa_dataset.GetRasterBand(1).ReadAsArray()
    band = label_dataset.GetRasterBand(1)
    labels, nodata = band.ReadAsArray(), band.GetNoDataValue()
    qa_nodata = qa_dataset.GetRasterBand(1).GetNoDataValue()
    qa_dataset = label_dataset = None
    inside = np.ones(labels.shape, dtype=bool) if nodata is None else labels != nodata
    if qa_nodata is not None:
        values = np.where(values == qa_nodata, QA_NODATA, values)  # no data counts as fill
    counts = count_qa(values, inside)
    candidate.footprint_cloud, candidate.footprint_shadow = counts.cloud_percent, counts.shadow_percent
    candidate.coverage_pct = result.covered_percent
    total = counts.seen + counts.fill
    candidate.nodata_pct = 100.0 * counts.fill / total if total else result.nodata_percent
    return None if counts.seen else "No QA_PIXEL data under the label: the scene cloud cover was used."
