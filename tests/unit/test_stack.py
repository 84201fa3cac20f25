"""stack_bands: single-band files into one raster."""
import numpy as np
import pytest
import rasterio

from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.core.sentinel2.stack import stack_bands
from labelmigration.tests.support.rasters import from_origin, write_raster

TRANSFORM = from_origin(500_000, 4_000_000, 30, 30)


def patch(tmp_path, name, value, dtype=np.uint16, transform=TRANSFORM, crs="EPSG:32618", shape=(20, 30)):
    data = (np.arange(shape[0] * shape[1]).reshape(shape) + value).astype(dtype)
    return write_raster(tmp_path / name, data, crs, transform), data


def test_bands_in_given_order_with_38cloud_names(tmp_path):
    names = ["red", "green", "blue", "nir"]
    made = [patch(tmp_path, f"{n}_patch_192_10_by_12_LC08_L1TP_002053_20160520.TIF", 1000 * (i + 1))
            for i, n in enumerate(names)]
    output = tmp_path / "stack.tif"
    result = stack_bands([str(p) for p, _ in made], str(output))
    assert result.band_names == names
    with rasterio.open(output) as out:
        assert out.descriptions == tuple(names)
        assert out.transform == TRANSFORM and out.crs.to_epsg() == 32618
        for index, (_, data) in enumerate(made, start=1):
            np.testing.assert_array_equal(out.read(index), data)


def test_byte_bands_are_not_tagged_rgb_alpha(tmp_path):
    """8-bit red, green, blue, nir: the 4th band must not become an alpha band."""
    made = [patch(tmp_path, f"{n}_patch_1.tif", 10 * i, np.uint8) for i, n in enumerate(["red", "green", "blue", "nir"])]
    stack_bands([str(p) for p, _ in made], str(tmp_path / "stack.tif"))
    with rasterio.open(tmp_path / "stack.tif") as out:
        assert "alpha" not in [c.name for c in out.colorinterp]
        assert out.descriptions == ("red", "green", "blue", "nir")


def test_explicit_names_and_mixed_types_promote(tmp_path):
    a, _ = patch(tmp_path, "a.tif", 1, np.uint8)
    b, b_data = patch(tmp_path, "b.tif", 1, np.float32)
    output = tmp_path / "stack.tif"
    stack_bands([str(a), str(b)], str(output), band_names=["x", "y"])
    with rasterio.open(output) as out:
        assert out.dtypes == ("float32", "float32") and out.descriptions == ("x", "y")
        np.testing.assert_array_equal(out.read(2), b_data)
    with pytest.raises(LabelMigrationError, match="1 band names were given for 2"):
        stack_bands([str(a), str(b)], str(tmp_path / "s2.tif"), band_names=["x"])


def test_ungeoreferenced_patches_stack(tmp_path):
    paths = [write_raster(tmp_path / f"{n}.png", np.full((8, 8), i, np.uint8), driver="PNG")
             for i, n in enumerate(["r", "g"])]
    stack_bands([str(p) for p in paths], str(tmp_path / "s.tif"))
    with rasterio.open(tmp_path / "s.tif") as out:
        assert out.count == 2 and out.descriptions == ("r", "g")


@pytest.mark.parametrize("kind, message", [
    ("size", r"b\.tif' is 10 x 20 pixels but .*a\.tif' is 30 x 20"),
    ("grid", r"b\.tif' lies on a different grid"),
    ("crs", r"b\.tif' has a different coordinate reference system"),
    ("bands", r"b\.tif' has 2 bands"),
    ("colour", r"b\.tif' has 3 different bands"),
    ("georef", r"a\.tif' is georeferenced but .*b\.tif' is not"),
])
def test_mismatches_are_clear_errors(tmp_path, kind, message):
    a, _ = patch(tmp_path, "a.tif", 0)
    if kind == "size":
        b, _ = patch(tmp_path, "b.tif", 0, shape=(20, 10))
    elif kind == "grid":
        b, _ = patch(tmp_path, "b.tif", 0, transform=from_origin(500_015, 4_000_000, 30, 30))
    elif kind == "crs":
        b, _ = patch(tmp_path, "b.tif", 0, crs="EPSG:32617")
    elif kind == "bands":
        b = write_raster(tmp_path / "b.tif", np.zeros((2, 20, 30), np.uint16), "EPSG:32618", TRANSFORM)
    elif kind == "colour":
        b = write_raster(tmp_path / "b.tif", np.arange(3 * 20 * 30, dtype=np.uint16).reshape(3, 20, 30),
                         "EPSG:32618", TRANSFORM)
    else:
        b = write_raster(tmp_path / "b.tif", np.zeros((20, 30), np.uint16))
    with pytest.raises(LabelMigrationError, match=message):
        stack_bands([str(a), str(b)], str(tmp_path / "out.tif"))
    assert not (tmp_path / "out.tif").exists()


def test_real_38cloud_sample_patch(tmp_path, data_dir):
    """38-Cloud's sample patches are grey JPEGs stored as RGB: each counts as one band."""
    folder = data_dir / "imagery" / "38cloud_sample"
    inputs = [next(folder.glob(f"{band}_patch_*.jpg")) for band in ("red", "green", "blue", "nir")]
    output = tmp_path / "patch.tif"
    result = stack_bands([str(p) for p in inputs], str(output))
    assert result.band_names == ["red", "green", "blue", "nir"]
    with rasterio.open(output) as out, rasterio.open(inputs[3]) as nir:
        assert (out.width, out.height, out.count) == (384, 384, 4)
        np.testing.assert_array_equal(out.read(4), nir.read(1))


def test_nan_only_input_is_stacked_with_a_warning(tmp_path):
    a, _ = patch(tmp_path, "a.tif", 0)
    nan = write_raster(tmp_path / "nan.tif", np.full((20, 30), np.nan, np.float32), "EPSG:32618", TRANSFORM)
    result = stack_bands([str(a), str(nan)], str(tmp_path / "out.tif"))
    assert len(result.warnings) == 1 and "nan.tif' holds no data" in result.warnings[0]
    assert stack_bands([str(a), str(a)], str(tmp_path / "out2.tif")).warnings == []


def test_empty_band_name_is_refused(tmp_path):
    a, _ = patch(tmp_path, "a.tif", 0)
    with pytest.raises(LabelMigrationError, match="include an empty name"):
        stack_bands([str(a), str(a)], str(tmp_path / "out.tif"), band_names=["red", " "])


@pytest.mark.parametrize("baseline, offset", [("05.09", -1000), ("03.01", 0)])
def test_a_safe_products_band_files_stack_with_their_names_and_reflectance(tmp_path, baseline, offset):
    """The JPEG 2000 band files of a SAFE product (tests/support/safe_products, written after real ones): the stack's
    bands are named B02 ... from the files and declare scale 1/10000 and the product's offset (ESA: reflectance =
    (DN + BOA_ADD_OFFSET) / QUANTIFICATION_VALUE), so cloudmask reads the stack as the product's reflectance. Before,
    bands were named T32UPU_..._B02_10m and declared nothing: a baseline 05.09 stack read 0.1 too bright."""
    from osgeo import gdal

    from labelmigration.core.models import input_scaling
    from labelmigration.core.models.model_info import ModelInfo
    from labelmigration.tests.support.safe_products import make_safe_product

    product = make_safe_product(tmp_path / "p", level="L2A", baseline=baseline, size_10m=60)
    bands = ("B02", "B03", "B04", "B08")
    result = stack_bands([product.band_files[band] for band in bands], str(tmp_path / "stack.tif"))
    assert result.band_names == list(bands)
    with rasterio.open(tmp_path / "stack.tif") as stack:
        assert stack.descriptions == bands
        assert stack.scales == pytest.approx((1e-4,) * 4) and stack.offsets == pytest.approx((offset / 1e4,) * 4)
    decision = input_scaling.decide(gdal.Open(str(tmp_path / "stack.tif")), [1, 2, 3, 4],
                                    ModelInfo(reflectance_scale=1e-4, reflectance_offset=0.0))
    np.testing.assert_allclose(decision.raw_offset, [offset] * 4)


def test_declared_scale_and_offset_are_kept(tmp_path):
    from osgeo import gdal

    paths = [patch(tmp_path, name, 5000)[0] for name in ("a.tif", "b.tif")]
    for path in paths:
        dataset = gdal.Open(str(path), gdal.GA_Update)
        dataset.GetRasterBand(1).SetScale(2.75e-5)
        dataset.GetRasterBand(1).SetOffset(-0.2)
        dataset = None
    stack_bands([str(p) for p in paths], str(tmp_path / "stack.tif"))
    with rasterio.open(tmp_path / "stack.tif") as stack:
        assert stack.scales == pytest.approx((2.75e-5,) * 2) and stack.offsets == pytest.approx((-0.2,) * 2)
