"""The sample of a raster's values that core.models.input_scaling decides from (and checks for plausibility):
pixels valid in every band, read decimated, or from a large raster without overviews in a few small windows, so
that deciding does not decode the whole raster before the model reads it."""
from typing import List, Sequence, Tuple

import numpy as np
from osgeo import gdal

SAMPLE_SIZE = 256  # the sample is read decimated to at most this many pixels a side (overviews if any)
SAMPLE_GRID = 8  # or, from a large raster without overviews, in SAMPLE_GRID x SAMPLE_GRID small windows


def _sample_windows(dataset: gdal.Dataset, band: gdal.Band, size: int) -> List[Tuple[int, int, int, int]]:
    """Where the sample is read: the whole raster decimated to ``size`` a side (from overviews when it has them),
    or, for a raster over 4 x size^2 pixels without overviews (whose decimated read would decode every block),
    SAMPLE_GRID^2 windows of (size / SAMPLE_GRID)^2 pixels spread evenly, each inside one block where it fits."""
    width, height = dataset.RasterXSize, dataset.RasterYSize
    if width * height <= 4 * size * size or band.GetOverviewCount() > 0:
        return [(0, 0, width, height)]
    blocks, windows = band.GetBlockSize(), []
    side = [min(max(1, size // SAMPLE_GRID), length) for length in (width, height)]
    starts = []
    for length, edge, block in zip((width, height), side, blocks):
        axis = []
        for i in range(SAMPLE_GRID):
            start = min(max(0, int((i + 0.5) * length / SAMPLE_GRID) - edge // 2), length - edge)
            end_of_block = (start // block + 1) * block
            if 0 < block and edge <= block and start + edge > end_of_block:  # across a block edge: into one block
                start = end_of_block - edge if end_of_block - edge >= 0 else start
            axis.append(start)
        starts.append(axis)
    for y in starts[1]:
        windows += [(x, y, side[0], side[1]) for x in starts[0]]
    return windows


def read_sample(dataset: gdal.Dataset, bands: Sequence[int], size: int = SAMPLE_SIZE) -> np.ndarray:
    """(bands, n) float64 values of pixels valid in every band, read decimated or in small windows (_sample_windows:
    few pixels, few blocks decoded)."""
    if not bands:
        return np.zeros((0, 0))
    windows = _sample_windows(dataset, dataset.GetRasterBand(bands[0]), size)
    cols, rows = min(size, dataset.RasterXSize), min(size, dataset.RasterYSize)
    if len(windows) > 1:
        rows, cols = windows[0][3], windows[0][2] * len(windows)
    values, valid = [], np.ones((rows, cols), bool)
    for number in bands:
        band = dataset.GetRasterBand(number)
        if len(windows) > 1:
            array = np.concatenate([band.ReadAsArray(*window) for window in windows], axis=1)
        else:
            array = band.ReadAsArray(0, 0, dataset.RasterXSize, dataset.RasterYSize, buf_xsize=cols,
                                     buf_ysize=rows)
        array = np.asarray(array, np.float64)
        valid &= np.isfinite(array)
        nodata = band.GetNoDataValue()
        if nodata is not None and np.isfinite(nodata):
            valid &= array != nodata
        values.append(array)
    return np.stack([v[valid] for v in values]) if values else np.zeros((0, 0))
