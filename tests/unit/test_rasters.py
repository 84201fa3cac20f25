"""core.util.raster_grid.grid_difference: the one grid comparison of pairs, masks and evaluations."""
import numpy as np
from osgeo import gdal

from labelmigration.core.util.raster_grid import grid_difference
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


# -- clear reasons for rasters that cannot be used (issue 13) ----------------------------------------------------
def test_open_raster_names_folders_and_bandless_datasets(tmp_path):
    import pytest
    from labelmigration.core.util.errors import LabelMigrationError
    from labelmigration.core.util.gdal_settings import gdal_errors
    from labelmigration.core.util.raster_read import open_raster
    folder = tmp_path / "label.tif"
    folder.mkdir()
    with gdal_errors(), pytest.raises(LabelMigrationError, match=r"The label '.*label\.tif' is a folder, not an image"):
        open_raster(str(folder), "label")
    # a Sentinel-2 product's metadata: GDAL opens it as a dataset of subdatasets without bands of its own
    from labelmigration.tests.support.safe_products import make_safe_product
    product = make_safe_product(tmp_path / "p", "L2A", size_10m=60)
    with gdal_errors(), pytest.raises(LabelMigrationError, match=r"MTD_MSIL2A\.xml' has no raster bands: it holds "
                                                                 r"subdatasets; give one of them, e\.g\. 'SENTINEL2_L2A:"):
        open_raster(product.mtd_path, "label")


def test_srs_from_user_refuses_unknown_crs_with_or_without_gdal_exceptions():
    import pytest
    from labelmigration.core.util.errors import LabelMigrationError
    from labelmigration.core.util.gdal_settings import gdal_errors
    from labelmigration.core.util.raster_grid import srs_from_user
    assert srs_from_user("EPSG:32632").GetAuthorityCode(None) == "32632"
    for definition in ("EPSG:999999", "north-up please", ""):
        with pytest.raises(LabelMigrationError, match="is not a coordinate reference system GDAL knows"):
            srs_from_user(definition)
        with gdal_errors(), pytest.raises(LabelMigrationError, match="is not a coordinate reference system"):
            srs_from_user(definition)


def test_nan_is_nodata_in_float_rasters_that_declare_none(tmp_path):
    from labelmigration.core.util.raster_read import nan_as_nodata, valid_mask
    values = np.ones((4, 6), np.float32)
    values[1:3, 2:4] = np.nan
    dataset = gdal.Open(str(write_raster(tmp_path / "f.tif", values, "EPSG:32632", from_origin(0, 40, 10, 10))))
    expected = ~np.isnan(values)
    np.testing.assert_array_equal(valid_mask(dataset, 0, 0, 6, 4), expected)
    masked = nan_as_nodata(dataset)
    np.testing.assert_array_equal(masked.GetRasterBand(1).GetMaskBand().ReadAsArray() != 0, expected)
    integers = gdal.Open(str(write_raster(tmp_path / "i.tif", np.zeros((4, 6), np.uint8), "EPSG:32632",
                                          from_origin(0, 40, 10, 10))))
    assert nan_as_nodata(integers) is integers and valid_mask(integers, 0, 0, 6, 4).all()


def test_unusable_geotransform_is_refused(tmp_path):
    import pytest
    from labelmigration.core.util.errors import LabelMigrationError
    from labelmigration.core.util.raster_grid import require_georeferenced
    path = tmp_path / "flat.vrt"
    path.write_text('<VRTDataset rasterXSize="4" rasterYSize="4"><SRS>EPSG:32632</SRS><GeoTransform>0, 0, 0, 0, 0, 0'
                    '</GeoTransform><VRTRasterBand dataType="Byte" band="1"/></VRTDataset>')
    with pytest.raises(LabelMigrationError, match=r"flat\.vrt' has an unusable geotransform"):
        require_georeferenced(gdal.Open(str(path)), str(path), "label")
