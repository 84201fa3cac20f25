"""Conventions of the Deepness QGIS plugin (PUTvision/qgis-plugin-deepness) that the inference engine follows,
so that a model made for Deepness gives the same answer here. Pure: GDAL, numpy and scipy only.

* ``class_names``: a JSON object {index: name} for a model with one output, or a list of such objects, one per
  output head (Deepness's ``ModelBase.get_outputs_channel_names``); ``names`` is accepted as an older spelling,
  and a Python-literal dict (integer keys) as Deepness accepts it too.
* A head that returns one channel (N x 1 x H x W) or no channel axis (N x H x W) is a sigmoid head: named with one
  class {"0": "X"} it means the classes (background, X), class 1 where the probability reaches the threshold
  (Deepness's ``Segmentor.__init__`` prepends 'background').
* ``seg_small_segment``: Deepness smooths each head's finished class map with a median filter of the odd size
  ``size // 2 * 2 + 1`` (``MapProcessorSegmentation._run``, OpenCV ``medianBlur``, whose border replicates the
  edge pixels); sizes 0 and 1 leave the map unchanged.
* ``resolution`` (cm per pixel): Deepness reads every tile at that resolution (bilinear). Here the input is seen
  through a warped GDAL VRT at the model's resolution (read lazily, window by window: nothing is loaded whole),
  the model's outputs are written on that grid, and then warped back onto the input's grid (nearest neighbour
  for classes, bilinear for probabilities).
"""
import ast
import json
import math
import os
from typing import Dict, List, Optional, Tuple

import numpy as np
from osgeo import gdal

from ..util.errors import LabelMigrationError
from ..util.raster_grid import has_geotransform
from ..util.raster_write import create_gtiff

BACKGROUND = "background"
RESOLUTION_TOLERANCE = 0.01  # grids within 1 % of the model's resolution are used as they are


# ----- class names ---------------------------------------------------------------------------------------

def parse_class_names(value) -> List[Dict[int, str]]:
    """One {class index: name} per output head, from the metadata value (decoded JSON or raw text)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except ValueError:
            try:
                value = ast.literal_eval(text)  # Deepness accepts {0: 'a'} (integer keys) too
            except (ValueError, SyntaxError) as error:
                raise ValueError(f"class_names must be a JSON object or a list of them, not {text!r}") from error
    if value is None or value == "" or value == {} or value == []:
        return []
    if isinstance(value, dict):
        return [_names(value)]
    if isinstance(value, list):
        if all(isinstance(item, dict) for item in value):
            return [_names(item) for item in value]
        if not any(isinstance(item, (dict, list)) for item in value):
            return [{index: str(name) for index, name in enumerate(value)}]
    raise ValueError(f"class_names must be a JSON object {{index: name}} or a list of them (one per model "
                     f"output), not {value!r}")


def _names(mapping: dict) -> Dict[int, str]:
    return {int(key): str(name) for key, name in mapping.items()}


def head_class_names(names: Dict[int, str], channels: Optional[int]) -> Dict[int, str]:
    """{class value in the class raster: name} for one head: a sigmoid head (one channel, or unknown) named with
    one class X has the classes (background, X)."""
    if len(names) == 1 and 0 in names and channels in (None, 1):
        return {0: BACKGROUND, 1: names[0]}
    return dict(names)


# ----- seg_small_segment: Deepness's median filter of the class map ---------------------------------------

def median_size(small_segment: Optional[int]) -> int:
    """The odd median-filter size Deepness derives from seg_small_segment (1: no filtering)."""
    if not small_segment or small_segment < 0:
        return 1
    return int(small_segment) // 2 * 2 + 1


def filter_small_segments(dataset: gdal.Dataset, size: int, nodata: int,
                          strip_rows: int = 256) -> List[np.ndarray]:
    """Median-filter every band of an open, writable uint8 class raster in place, strip by strip (a halo of
    size // 2 rows above and below each strip), with the edge pixels replicated at the raster's borders.
    Nodata pixels stay nodata and never turn valid pixels into nodata. Returns the counts per class value
    (256 bins) of each band after filtering."""
    from scipy import ndimage

    half = size // 2
    width, height = dataset.RasterXSize, dataset.RasterYSize
    strip_rows = max(strip_rows, 4 * half)
    counts = []
    for number in range(1, dataset.RasterCount + 1):
        band = dataset.GetRasterBand(number)
        total = np.zeros(256, np.int64)
        kept = np.zeros((0, width), np.uint8)  # unfiltered rows just above the strip (already overwritten)
        for row in range(0, height, strip_rows):
            stop = min(height, row + strip_rows)
            below = band.ReadAsArray(0, row, width, min(height, stop + half) - row)
            block = np.vstack([kept, below])
            top = row - len(kept)
            original = block[row - top:stop - top]
            if size > 1:
                filtered = ndimage.median_filter(block, size=size, mode="nearest")[row - top:stop - top]
                filtered = np.where(filtered == nodata, original, filtered)
                out = np.where(original == nodata, original, filtered).astype(np.uint8)
                band.WriteArray(out, 0, row)
            else:
                out = original
            total += np.bincount(out[out != nodata].ravel().astype(np.int64), minlength=256)[:256]
            kept = block[max(0, stop - half - top):stop - top]
        counts.append(total)
    dataset.FlushCache()
    return counts


# ----- resolution: resampling to the model's grid and back -----------------------------------------------

def model_pixel_size(dataset: gdal.Dataset, resolution_cm: float) -> Tuple[Optional[float], Optional[str]]:
    """(pixel size in the raster's CRS units, None) when the raster must be resampled to ``resolution_cm``;
    (None, None) when its pixels already are that size (within 1 %); (None, why) when it cannot be resampled
    (no georeferencing, or a CRS whose units are not lengths)."""
    if not resolution_cm or resolution_cm <= 0:
        return None, None
    if not has_geotransform(dataset):
        return None, "the raster has no georeferencing"
    from osgeo import osr

    srs = osr.SpatialReference()
    if not dataset.GetProjection() or srs.ImportFromWkt(dataset.GetProjection()) != 0 or not srs.IsProjected():
        return None, "its CRS is not projected (its pixel size is not a length)"
    metres_per_unit = srs.GetLinearUnits() or 1.0
    transform = dataset.GetGeoTransform()
    if transform[2] or transform[4]:
        return None, "its grid is rotated"
    target = resolution_cm / 100.0 / metres_per_unit
    current = (abs(transform[1]) + abs(transform[5])) / 2.0
    if abs(current - target) <= RESOLUTION_TOLERANCE * target:
        return None, None
    return target, None


def warped_view(dataset: gdal.Dataset, pixel: float, path: str) -> gdal.Dataset:
    """A VRT (written to ``path``) of ``dataset`` resampled bilinearly to ``pixel``-sized pixels over the same
    extent (rounded up to whole pixels): GDAL reads and warps only the windows asked for."""
    transform = dataset.GetGeoTransform()
    left, top = transform[0], transform[3]
    right = left + transform[1] * dataset.RasterXSize
    bottom = top + transform[5] * dataset.RasterYSize
    cols = max(1, int(math.ceil(abs(right - left) / pixel - 1e-9)))
    rows = max(1, int(math.ceil(abs(top - bottom) / pixel - 1e-9)))
    bounds = (left, top - rows * pixel, left + cols * pixel, top)
    view = gdal.Warp(path, dataset, format="VRT", outputBounds=bounds, width=cols, height=rows,
                     resampleAlg="bilinear", multithread=False)
    if view is None:
        raise LabelMigrationError(f"GDAL could not resample the input raster to {pixel} CRS units per pixel.")
    return view


def warp_back(source_path: str, target_path: str, like: gdal.Dataset, resampling: str) -> None:
    """Write ``source_path`` (a model-grid output) onto the grid of ``like`` (the input) at ``target_path``,
    keeping its data type, nodata, band descriptions and colour tables."""
    source = gdal.Open(source_path)
    first = source.GetRasterBand(1)
    target = create_gtiff(target_path, like.RasterXSize, like.RasterYSize, source.RasterCount, first.DataType,
                          like.GetProjection(), like.GetGeoTransform())
    for number in range(1, source.RasterCount + 1):
        band, out = source.GetRasterBand(number), target.GetRasterBand(number)
        nodata = band.GetNoDataValue()
        if nodata is not None:
            out.SetNoDataValue(nodata)
            out.Fill(nodata)
        out.SetDescription(band.GetDescription())
        table = band.GetColorTable()
        if table is not None and number == 1:  # GeoTIFF keeps a colour table on band 1 only
            out.SetColorTable(table)
            out.SetColorInterpretation(gdal.GCI_PaletteIndex)
    if gdal.Warp(target, source, resampleAlg=resampling, multithread=False) is None:
        raise LabelMigrationError(f"GDAL could not bring the model's output back onto the input's grid "
                                  f"({os.path.basename(target_path)}).")
    target.FlushCache()
    target = None
    source = None
