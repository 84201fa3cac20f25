"""DN 0 of 16-bit reflectance DN rasters without a nodata tag read as nodata (core.sentinel2.dn_fill through
core.models.predict.predict_raster).

Where the expected answers come from: Sentinel-2 L1C and L2A products code no data as DN 0 in their reflectance
bands (the Special_Values block of the products' metadata: NODATA 0, SATURATED 65535; ESA's Sentinel-2 Products
Specification Document). GDAL's SENTINEL2 driver and the plugin's own conversion declare it, so the answer for a
GeoTIFF that does not is the answer for the same GeoTIFF declaring nodata 0: the tests compare the two. The pixel
values are a real On Cloud N chip (Sentinel-2 L2A DN, tests/data/README.md) with a swath-edge-like band of DN 0.
"""
import numpy as np
import pytest
from osgeo import gdal

from labelmigration.core.sentinel2.dn_fill import fill_reason
from labelmigration.tests.unit.test_landsat_fill import SIZE, _clouds, _digest, _nodata, _stack

EDGE = 60  # columns of DN 0 at the left: the fill beside a swath edge


@pytest.fixture(scope="module")
def chip_dn(data_dir):
    with np.load(data_dir / "imagery/oncloudn/oncloudn_2chips.npz") as chips:
        dn = chips["image"][1][:, :SIZE, :SIZE].astype(np.uint16)
    assert (dn > 0).all()  # the chip has no nodata of its own (its README says so)
    dn[:, :, :EDGE] = 0
    return dn


def _views():
    return [name for name in gdal.ReadDir("/vsimem/") or [] if "fill" in name]


def test_untagged_dn_zero_is_nodata_as_when_the_file_declares_it(tmp_path, chip_dn):
    path = _stack(tmp_path / "T32TQM_20200701_B02_B03_B04_B08.tif", chip_dn)
    tagged = _stack(tmp_path / "tagged.tif", chip_dn, nodata=0)
    before = _digest([path])
    result, mask, cloud = _clouds(path)
    tagged_result, tagged_mask, tagged_cloud = _clouds(tagged)
    np.testing.assert_array_equal(mask, tagged_mask)
    assert (mask[:, :EDGE] == 255).all() and (mask[:, EDGE:] != 255).all()
    assert result.valid_pixels == SIZE * (SIZE - EDGE) == tagged_result.valid_pixels
    assert cloud == pytest.approx(tagged_cloud) and 0 < cloud < 100
    assert any("Sentinel-2's nodata value" in warning for warning in result.warnings)
    assert not any("Sentinel-2's nodata value" in warning for warning in tagged_result.warnings)
    assert _digest([path]) == before and _nodata(path) is None and _views() == []


def test_one_band_at_zero_is_nodata_too(tmp_path, chip_dn):
    """The products' NODATA is per band value: a pixel whose NIR alone is 0 has no NIR measurement."""
    dn = chip_dn.copy()
    dn[3, 100:110, 100:110] = 0
    result, mask, _ = _clouds(_stack(tmp_path / "s2.tif", dn))
    assert (mask[100:110, 100:110] == 255).all()
    assert result.valid_pixels == SIZE * (SIZE - EDGE) - 100


def test_a_raster_without_fill_is_read_as_before_and_gets_no_note(tmp_path, chip_dn):
    dn = chip_dn.copy()
    dn[:, :, :EDGE] = 500
    result, mask, _ = _clouds(_stack(tmp_path / "s2.tif", dn))
    assert (mask != 255).all() and result.valid_pixels == SIZE * SIZE
    assert not any("nodata value" in warning for warning in result.warnings)


def _dataset(data_type=gdal.GDT_UInt16, nodata=None, mask=False):
    dataset = gdal.GetDriverByName("MEM").Create("", 4, 4, 4, data_type)
    for index in range(1, 5):
        if nodata is not None:
            dataset.GetRasterBand(index).SetNoDataValue(nodata)
    if mask:
        dataset.CreateMaskBand(gdal.GMF_PER_DATASET)
    return dataset


@pytest.mark.parametrize("case, expected", [
    ("16-bit, no nodata, reflectance model, automatic", True),
    ("raw DN asked for", True),
    ("8-bit asked for", False),
    ("reflectance asked for", False),
    ("model without reflectance_scale (Deepness reads values as stored)", False),
    ("declares nodata", False),
    ("has a mask band", False),
    ("Int16", False),
    ("Byte", False),
])
def test_when_the_rule_applies(case, expected):
    dataset = _dataset(gdal.GDT_Int16 if case == "Int16" else gdal.GDT_Byte if case == "Byte" else gdal.GDT_UInt16,
                       nodata=65535 if case == "declares nodata" else None, mask=case == "has a mask band")
    scaling = {"raw DN asked for": "dn", "8-bit asked for": "8bit", "reflectance asked for": "reflectance"}.get(
        case, "auto")
    reads_reflectance = not case.startswith("model without")
    assert (fill_reason(dataset, [1, 2, 3, 4], "x.tif", reads_reflectance, scaling) is not None) == expected
