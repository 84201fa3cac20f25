"""DN 0 of USGS Landsat band files without a nodata tag read as nodata (core.landsat.fill through
core.models.predict.predict_raster).

Where the expected answers come from: USGS fills the area outside a scene's footprint with DN 0 in the band files of
its Landsat products (Collection 2 Level-1 and Level-2 DFCBs, e.g. LSDS-1822 for Landsat 8-9 Level-1, LSDS-1328 for
Level-2: fill value 0 for the Level-1 bands, SR_B<n> and ST_B<n>; -9999 for the surface temperature intermediates
TRAD, URAD, DRAD, ATRAN, EMIS, EMSD, CDIST). A peer, satpy's Landsat reader (pytroll/satpy,
satpy/readers/core/landsat.py, ``_mask_data``), masks DN 0 of these bands and -9999 of those intermediates in the
same way. Quality bands (QA_PIXEL, QA_RADSAT) hold bit flags, whose 0 is a value. File names follow USGS's product
naming (LXSS_LLLL_PPPRRR_YYYYMMDD_yyyymmdd_CC_TX, then _B<n>.TIF or _SR_B<n>.TIF). The mask's codes (1 cloud, 0 clear,
255 nodata) and CLOUD_PERCENT = cloud pixels / valid pixels are cloudmask's (core.models.cloud_classes,
processing/cloud_mask.py). The pixel values are a real On Cloud N chip (tests/data/README.md) turned into Level-1 DN
with USGS's OLI reflectance factors and into Level-2 DN with USGS's surface reflectance scale and offset.
"""
import hashlib
import math

import numpy as np
import pytest
from osgeo import gdal

from labelmigration.core.landsat.fill import fill_file, fill_reason, fill_view
from labelmigration.core.models import input_scaling as scaling
from labelmigration.core.models.model_info import ModelInfo
from labelmigration.tests.unit.test_landsat_level1 import BUNDLED, OLI, OLI_FACTORS, _mtl, _tif

OLI_L2 = "LC09_L2SP_044034_20220101_20220103_02_T1"
S2 = ModelInfo(reflectance_scale=1e-4, reflectance_offset=0.0)  # a model trained on DN / 10000
SIZE, CORNER = 256, 100  # the chip's top-left 256 x 256 pixels; fill where column + row < CORNER
ELEVATION = 35.0  # an invented sun elevation
NAMES = ("blue", "green", "red", "nir")  # the model's bands, by description, as in a stack of OLI B2 B3 B4 B5


def _fill():
    rows, cols = np.mgrid[:SIZE, :SIZE]
    return rows + cols < CORNER  # a triangle, as the corners outside a WRS-2 scene's footprint


@pytest.fixture(scope="module")
def reflectance(data_dir):
    with np.load(data_dir / "imagery/oncloudn/oncloudn_2chips.npz") as chips:
        return chips["image"][0][:, :SIZE, :SIZE] / 10000.0  # Sentinel-2 L2A: reflectance = DN / 10000


def _level1_dn(reflectance):
    """DN = (reflectance x sin(SUN_ELEVATION) - ADD) / MULT (the Level-1 formula inverted), fill 0 in the corner."""
    mult, add = OLI_FACTORS[2]
    dn = np.clip(np.round((reflectance * math.sin(math.radians(ELEVATION)) - add) / mult), 1, 65535)
    return np.where(_fill(), 0, dn).astype(np.uint16)


def _level2_dn(reflectance):
    """DN = (reflectance - offset) / scale with USGS's C2 Level-2 surface reflectance scale and offset, fill 0."""
    dn = np.clip(np.round((reflectance + 0.2) / 0.0000275), 1, 65535)
    return np.where(_fill(), 0, dn).astype(np.uint16)


def _level1_vrt(tmp_path, dn, name="l1.vrt"):
    """The product's B2..B5 files, its MTL, and a VRT of them whose bands are named as the model's (relative paths,
    as gdalbuildvrt writes them)."""
    _mtl(tmp_path, OLI, OLI_FACTORS, ELEVATION)
    files = [_tif(tmp_path / f"{OLI}_B{n}.TIF", dn[i], pixel=10.0) for i, n in enumerate((2, 3, 4, 5))]
    vrt = gdal.BuildVRT(str(tmp_path / name), files, separate=True)
    for index, band in enumerate(NAMES, start=1):
        vrt.GetRasterBand(index).SetDescription(band)
    vrt = None
    return str(tmp_path / name), files


def _stack(path, dn, data_type=gdal.GDT_UInt16, nodata=None):
    """One GeoTIFF holding the bands, named as the model's."""
    _tif(path, dn, data_type, pixel=10.0)
    dataset = gdal.Open(str(path), gdal.GA_Update)
    for index, band in enumerate(NAMES, start=1):
        dataset.GetRasterBand(index).SetDescription(band)
        if nodata is not None:
            dataset.GetRasterBand(index).SetNoDataValue(nodata)
    dataset = None
    return str(path)


def _digest(paths):
    return {str(path): hashlib.sha256(open(path, "rb").read()).hexdigest() for path in paths}


def _nodata(path):
    dataset = gdal.Open(path)  # held while its band is read
    return dataset.GetRasterBand(1).GetNoDataValue()


def _fill_views():
    return [name for name in gdal.ReadDir("/vsimem/") or [] if "landsat-fill" in name]


def _clouds(path):
    """cloudmask's engine with the bundled model: (result, mask, CLOUD_PERCENT as processing/cloud_mask.py)."""
    pytest.importorskip("onnxruntime")
    from labelmigration.core.models.cloud_classes import predict_clouds

    result, _ = predict_clouds(path, str(BUNDLED), {"classes": path + ".mask.tif"})
    counts = list(result.stats["classes"]["counts"].values())
    return result, gdal.Open(path + ".mask.tif").ReadAsArray(), 100.0 * counts[1] / result.valid_pixels


def test_the_fill_corner_of_level1_band_files_is_nodata_in_the_cloud_mask(tmp_path, reflectance):
    """OLI Level-1 band files without nodata: the corner is 255 and out of CLOUD_PERCENT, exactly as when the same
    files declare nodata 0; the DN are still read as top-of-atmosphere reflectance with the MTL's factors (through
    the view); the files are unchanged and no view is left in /vsimem."""
    dn = _level1_dn(reflectance)
    path, files = _level1_vrt(tmp_path, dn)
    before = _digest(files + [path])
    result, mask, cloud = _clouds(path)
    fill = _fill()
    assert (mask[fill] == 255).all() and (mask[~fill] != 255).all()
    assert result.valid_pixels == SIZE * SIZE - fill.sum()
    assert cloud == pytest.approx(100.0 * (mask == 1).sum() / (mask != 255).sum())
    assert "Level-1" in result.input_scaling and f"{OLI}_MTL.txt" in result.input_scaling
    assert any("USGS fill value" in warning and OLI[:37] in warning for warning in result.warnings)
    assert _digest(files + [path]) == before and _fill_views() == []
    assert all(_nodata(name) is None for name in files)

    tagged = tmp_path / "tagged"  # the same files declaring nodata 0: today's answer, which the view must give
    tagged.mkdir()
    tagged_path, tagged_files = _level1_vrt(tagged, dn)
    for name in tagged_files:
        dataset = gdal.Open(name, gdal.GA_Update)
        dataset.GetRasterBand(1).SetNoDataValue(0)
        dataset = None
    tagged_vrt = gdal.BuildVRT(tagged_path, tagged_files, separate=True)  # the VRT takes the files' nodata
    for index, band in enumerate(NAMES, start=1):
        tagged_vrt.GetRasterBand(index).SetDescription(band)
    tagged_vrt = None
    tagged_result, tagged_mask, tagged_cloud = _clouds(tagged_path)
    assert not any("USGS fill value" in warning for warning in tagged_result.warnings)
    np.testing.assert_array_equal(mask, tagged_mask)
    assert cloud == tagged_cloud and result.valid_pixels == tagged_result.valid_pixels


def test_the_fill_corner_of_a_level2_surface_reflectance_stack_is_nodata(tmp_path, reflectance):
    """A C2 Level-2 SR stack without nodata: the corner is 255, and the stack is still read as surface
    reflectance with USGS's scale and offset (the fill, over 1 % of the pixels, no longer counts in the sample)."""
    path = _stack(tmp_path / f"{OLI_L2}_SR_stack.TIF", _level2_dn(reflectance))
    before = _digest([path])
    result, mask, cloud = _clouds(path)
    fill = _fill()
    assert (mask[fill] == 255).all() and (mask[~fill] != 255).all()
    assert result.valid_pixels == SIZE * SIZE - fill.sum() and 0 < cloud < 100
    assert "Level-2 surface reflectance" in result.input_scaling
    assert not any("implausible" in warning for warning in result.warnings)  # read as raw DN without the view
    assert any("USGS fill value" in warning for warning in result.warnings)
    assert _digest([path]) == before and _fill_views() == []
    assert _nodata(path) is None


@pytest.mark.parametrize("case", ["nodata tag", "float"])
def test_other_rasters_are_read_as_today(tmp_path, reflectance, case):
    """A raster declaring its own nodata (65535 here: 0 stays a value) and a floating-point one keep every pixel of
    the corner valid: the model classifies it, no 255, no note. (16-bit DN without a product id and without nodata:
    Sentinel-2's rule, tests/unit/test_sentinel2_dn_fill.py.)"""
    dn = _level2_dn(reflectance)
    name = f"{OLI_L2}_SR_stack.TIF"
    if case == "float":
        path = _stack(tmp_path / name, (dn * 0.0000275 - 0.2).astype(np.float32), gdal.GDT_Float32)
    else:
        path = _stack(tmp_path / name, dn, nodata=65535 if case == "nodata tag" else None)
    result, mask, _ = _clouds(path)
    assert (mask != 255).all() and result.valid_pixels == SIZE * SIZE
    assert not any("USGS fill value" in warning for warning in result.warnings) and _fill_views() == []


def test_the_view_keeps_the_bands_and_the_files_its_readers_look_for(tmp_path):
    """The view declares nodata 0 and keeps scale/offset, descriptions, geotransform and CRS; a VRT's view still
    lists the band files (GetFileList, LocationInfo), so the Level-1 and Level-2 scalings of
    core.models.input_scaling still find the MTL and the product id."""
    dn = np.random.default_rng(3).integers(8000, 30000, size=(4, 20, 20)).astype(np.uint16)
    path = _tif(tmp_path / f"{OLI_L2}_SR_B4.TIF", dn[0], scale=0.0000275)
    dataset = gdal.Open(path, gdal.GA_Update)
    dataset.GetRasterBand(1).SetOffset(-0.2)
    dataset.GetRasterBand(1).SetDescription("red")
    dataset = None
    source = gdal.Open(path)
    with fill_view(source, [1], path) as (view, note):
        band = view.GetRasterBand(1)
        assert band.GetNoDataValue() == 0 and band.GetMaskFlags() == gdal.GMF_NODATA and "DN 0" in note
        assert (band.GetScale(), band.GetOffset(), band.GetDescription()) == (0.0000275, -0.2, "red")
        assert view.GetGeoTransform() == source.GetGeoTransform()
        assert view.GetProjection() == source.GetProjection()
        np.testing.assert_array_equal(view.ReadAsArray(), dn[0])
        assert len(_fill_views()) == 1
    assert _fill_views() == []

    vrt_path, files = _level1_vrt(tmp_path, dn)
    vrt = gdal.Open(vrt_path)
    with fill_view(vrt, [1, 2, 3, 4], vrt_path) as (view, note):
        assert set(files) <= set(view.GetFileList()) and note
        assert view.GetRasterBand(3).GetDescription() == "red"
        level1 = scaling.decide(view, [1, 2, 3, 4], S2)
        assert level1.why == scaling.decide(vrt, [1, 2, 3, 4], S2).why and "Level-1" in level1.why
        np.testing.assert_allclose(level1.transform.scale, scaling.decide(vrt, [1, 2, 3, 4], S2).transform.scale)
    l2_files = [_tif(tmp_path / f"{OLI_L2}_SR_B{n}.TIF", dn[i]) for i, n in enumerate((2, 3))]
    gdal.BuildVRT(str(tmp_path / "l2.vrt"), l2_files, separate=True).FlushCache()
    with fill_view(gdal.Open(str(tmp_path / "l2.vrt")), [1, 2], "l2.vrt") as (view, note):
        assert note and "Level-2 surface reflectance" in scaling.decide(view, [1, 2], S2).why
    assert _fill_views() == []


@pytest.mark.parametrize("name, product", [
    (f"{OLI}_B4.TIF", OLI[:37]), (f"{OLI_L2}_SR_B4.TIF", OLI_L2[:37]), (f"{OLI_L2}_ST_B10.TIF", OLI_L2[:37]),
    ("LE07_L1TP_044034_20020101_20200916_02_T1_B6_VCID_1.TIF", "LE07_L1TP_044034_20020101_20200916_02"),
    ("LE07_L1TP_044034_20020101_20170101_01_T1_B3.TIF", "LE07_L1TP_044034_20020101_20170101_01"),  # Collection 1
    (f"{OLI}_QA_PIXEL.TIF", None), (f"{OLI}_QA_RADSAT.TIF", None), (f"{OLI_L2}_ST_QA.TIF", None),
    (f"{OLI_L2}_SR_QA_AEROSOL.TIF", None), ("LC08_L1TP_044034_20200101_20200113_01_T1_BQA.TIF", None),
    (f"{OLI_L2}_ST_TRAD.TIF", None), (f"{OLI_L2}_ST_CDIST.TIF", None),  # fill -9999
    ("LC08_L1TP_044034_20200101_20200113_01_T1_sr_band4.tif", None),  # Collection 1 ESPA: fill -9999
    ("scene_B4.TIF", None), ("T32TQM_20200101T100000_B04.jp2", None)])
def test_which_files_fill_with_zero(name, product):
    """USGS's fill value per file (module docstring): 0 for band files, not for QA bands nor -9999 bands."""
    assert fill_file(f"/data/{name}") == product


def test_bands_with_a_mask_or_from_other_files_are_left_alone(tmp_path):
    """A mask band (here GDAL's per-dataset mask) or a band read partly from a file that is not a Landsat band file
    decide validity themselves: no view."""
    dn = np.ones((2, 10, 10), np.uint16)
    masked = _tif(tmp_path / f"{OLI}_B4.TIF", dn[0])
    dataset = gdal.Open(masked, gdal.GA_Update)
    dataset.CreateMaskBand(gdal.GMF_PER_DATASET)
    dataset = None
    assert fill_reason(gdal.Open(masked), [1], masked) is None
    files = [_tif(tmp_path / f"{OLI}_B5.TIF", dn[0]), _tif(tmp_path / "other.tif", dn[1])]
    gdal.BuildVRT(str(tmp_path / "mixed.vrt"), files, separate=True).FlushCache()
    mixed = gdal.Open(str(tmp_path / "mixed.vrt"))
    assert fill_reason(mixed, [1, 2], "mixed.vrt") is None and fill_reason(mixed, [1], "mixed.vrt")
    with fill_view(mixed, [1, 2], "mixed.vrt") as (view, note):
        assert view is mixed and note is None
