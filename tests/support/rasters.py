"""Rasters made in the tests with rasterio, independently of the core's own GDAL code."""
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import Affine, from_origin
from rasterio.warp import transform as transform_points


def write_raster(path, array: np.ndarray, crs: Optional[str] = None, transform: Optional[Affine] = None,
                 nodata=None, descriptions: Optional[Sequence[str]] = None, driver: str = "GTiff",
                 colormap: Optional[dict] = None, **options) -> Path:
    """Write a (bands, rows, cols) or (rows, cols) array; returns the path."""
    path = Path(path)
    data = array if array.ndim == 3 else array[np.newaxis]
    profile = dict(driver=driver, width=data.shape[2], height=data.shape[1], count=data.shape[0],
                   dtype=data.dtype.name, **options)
    if crs:
        profile["crs"] = CRS.from_user_input(crs)
    if transform is not None:
        profile["transform"] = transform
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(data)
        if descriptions:
            dataset.descriptions = tuple(descriptions)
        if colormap:
            dataset.write_colormap(1, colormap)
    return path


def write_png(path, array: np.ndarray) -> Path:
    """A plain PNG label (no georeferencing), as exported by labelling tools."""
    return write_raster(path, array, driver="PNG")


def origin_in(crs_from: str, crs_to: str, x: float, y: float):
    xs, ys = transform_points(crs_from, crs_to, [x], [y])
    return xs[0], ys[0]


__all__ = ["write_raster", "write_png", "origin_in", "from_origin", "Affine"]
