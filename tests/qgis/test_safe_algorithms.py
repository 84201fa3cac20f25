"""safetogeotiff and cropscene on SAFE products through processing.run."""
import numpy as np
import pytest
import rasterio

from labelmigration.tests.support.rasters import from_origin, write_raster
from labelmigration.tests.support.safe_products import make_safe_pair_across_tiles

pytestmark = pytest.mark.qgis
SIZE = 546


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    return make_safe_pair_across_tiles(tmp_path_factory.mktemp("tiles"), size_10m=SIZE, zipped=True)


def test_safetogeotiff_from_zip(run, tiles, tmp_path):
    west, _ = tiles
    result = run("safetogeotiff", {"INPUT": str(west.path), "BANDS": "B02, B03,B04 B8A", "RESOLUTION": 1,
                                   "REFLECTANCE": True, "OUTPUT": str(tmp_path / "west.tif")})
    with rasterio.open(result["OUTPUT"]) as out:
        assert out.descriptions == ("B02", "B03", "B04", "B8A")
        assert out.transform.a == 20 and out.width == SIZE // 2 and out.dtypes[0] == "float32"
        expected = (west.expected_dn("B8A").astype(np.float64) - 1000) / 10000
        valid = west.valid_mask(20)
        np.testing.assert_allclose(out.read(4)[valid], expected[valid], atol=1e-6)


def test_cropscene_takes_a_product_as_scene_and_other_tiles(run, tiles, tmp_path):
    west, east = tiles
    label = write_raster(tmp_path / "label.tif", np.ones((40, 60), np.uint8), "EPSG:32632",
                         from_origin(west.ulx + SIZE * 10 - 300, west.uly - 3000, 10, 10))  # below the nodata corners
    result = run("cropscene", {"SCENE": str(west.path), "OTHER_TILES": [str(east.path)], "LABEL": str(label),
                               "BAND_NAMES": "B04,B08", "OUTPUT_IMAGE": str(tmp_path / "i.tif"),
                               "OUTPUT_LABEL": str(tmp_path / "l.tif")})
    assert result["COVERED_PERCENT"] == pytest.approx(100.0)
    with rasterio.open(result["OUTPUT_IMAGE"]) as image:
        assert image.descriptions == ("B04", "B08") and (image.width, image.height) == (60, 40)
        assert (image.read() != 0).all()


def test_safetogeotiff_defaults(provider):
    algorithm = provider.algorithm("safetogeotiff")
    resampling = algorithm.parameterDefinition("RESAMPLING")
    assert resampling.options()[resampling.defaultValue()] == "bilinear"
    resolution = algorithm.parameterDefinition("RESOLUTION")
    assert resolution.options()[resolution.defaultValue()] == "10 m"


def test_product_errors_are_clear(run, tiles, tmp_path):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="tile metadata file"):
        run("safetogeotiff", {"INPUT": tiles[0].tile_mtd_path, "OUTPUT": str(tmp_path / "x.tif")})
    assert not (tmp_path / "x.tif").exists()
