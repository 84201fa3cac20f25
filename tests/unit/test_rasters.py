"""core.rasters.grid_difference: the one grid comparison of pairs, masks and evaluations."""
import numpy as np
from osgeo import gdal

from labelmigration.core.rasters import grid_difference
from labelmigration.tests.support.rasters import from_origin, write_raster


def raster(path, crs="EPSG:32632", origin=(500_000.0, 5_000_000.0), size=(4, 6), pixel=10.0):
    return gdal.Open(str(write_raster(path, np.zeros(size, np.uint8), crs=crs,
                                      transform=from_origin(origin[0], origin[1], pixel, pixel))))


def test_grid_difference(tmp_path):
    base = raster(tmp_path / "a.tif")
    assert grid_difference(base, raster(tmp_path / "same.tif")) is None
    assert grid_difference(base, raster(tmp_path / "nudged.tif", origin=(500_000.000001, 5_000_000.0))) is None
    assert "differ in size" in grid_difference(base, raster(tmp_path / "size.tif", size=(4, 7)))
    assert "geotransforms differ" in grid_difference(base, raster(tmp_path / "shift.tif", origin=(500_005.0, 5e6)))
    assert "geotransforms differ" in grid_difference(base, raster(tmp_path / "pixel.tif", pixel=20.0, size=(4, 6)))
    assert "reference systems differ" in grid_difference(base, raster(tmp_path / "crs.tif", crs="EPSG:32633"))
    assert "reference systems differ" in grid_difference(base, raster(tmp_path / "none.tif", crs=None))
    no_crs = raster(tmp_path / "none2.tif", crs=None)
    assert grid_difference(no_crs, raster(tmp_path / "none3.tif", crs=None)) is None
    assert "reference systems differ" in grid_difference(no_crs, raster(tmp_path / "none4.tif", crs=None),
                                                         require_crs=True)
