"""safetogeotiff and cropscene take the EOPF Zarr form of a scene as they take its SAFE, with the same result."""
import numpy as np
import pytest
import rasterio

from labelmigration.tests.support.eopf_products import make_eopf_product
from labelmigration.tests.support.rasters import from_origin, write_raster
from labelmigration.tests.support.safe_products import make_safe_product

pytestmark = pytest.mark.qgis
SIZE = 216


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eopf")
    safe = make_safe_product(folder / "safe", level="L2A", size_10m=SIZE)
    return safe, {fmt: make_eopf_product(folder / f"v{fmt}", safe, fmt) for fmt in (2, 3)}


def _read(path):
    with rasterio.open(path) as out:
        return out.read(), out.transform, out.crs, out.descriptions


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_safetogeotiff_gives_the_same_pixels_from_zarr_and_safe(run, scene, tmp_path, zarr_format):
    safe, zarrs = scene
    outputs = {}
    for form, path in (("safe", safe.path), ("zarr", zarrs[zarr_format].path)):
        result = run("safetogeotiff", {"INPUT": str(path), "BANDS": "B02,B04,B8A,B11", "RESOLUTION": 0,
                                       "REFLECTANCE": True, "OUTPUT": str(tmp_path / f"{form}.tif")})
        outputs[form] = _read(result["OUTPUT"])
    assert outputs["zarr"][3] == ("B02", "B04", "B8A", "B11") and outputs["zarr"][0].shape == (4, SIZE, SIZE)
    np.testing.assert_array_equal(outputs["zarr"][0], outputs["safe"][0])
    assert outputs["zarr"][1:] == outputs["safe"][1:]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_cropscene_gives_the_same_pair_from_zarr_and_safe(run, scene, tmp_path, zarr_format):
    safe, zarrs = scene
    label = write_raster(tmp_path / "label.tif", np.arange(30 * 40, dtype=np.uint8).reshape(30, 40) % 5, "EPSG:32632",
                         from_origin(safe.ulx + 1200, safe.uly - 1500, 10, 10))
    pairs = {}
    for form, path in (("safe", safe.path), ("zarr", zarrs[zarr_format].path)):
        result = run("cropscene", {"SCENE": str(path), "LABEL": str(label), "BAND_NAMES": "B03,B08,B12",
                                   "OUTPUT_IMAGE": str(tmp_path / f"{form}-image.tif"),
                                   "OUTPUT_LABEL": str(tmp_path / f"{form}-label.tif")})
        pairs[form] = (_read(result["OUTPUT_IMAGE"]), _read(result["OUTPUT_LABEL"]), result["COVERED_PERCENT"])
    (zarr_image, zarr_label, zarr_cover), (safe_image, safe_label, safe_cover) = pairs["zarr"], pairs["safe"]
    assert zarr_image[0].shape == (3, 30, 40) and (zarr_image[0] != 0).all() and zarr_cover == safe_cover
    np.testing.assert_array_equal(zarr_image[0], safe_image[0])
    np.testing.assert_array_equal(zarr_label[0], safe_label[0])
    assert zarr_image[1:] == safe_image[1:] and zarr_label[1:] == safe_label[1:]
