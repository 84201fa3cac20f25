"""USGS Landsat Collection 2 Level-1 band files read as top-of-atmosphere reflectance (core.landsat.level1 through
core.models.input_scaling.decide).

Where the expected answers come from: the MTL layout (GROUP = LANDSAT_METADATA_FILE holding the groups
PRODUCT_CONTENTS, IMAGE_ATTRIBUTES with SUN_ELEVATION, LEVEL1_RADIOMETRIC_RESCALING with RADIANCE_* and
REFLECTANCE_MULT_BAND_n / REFLECTANCE_ADD_BAND_n; the same groups as nested objects in _MTL.json and nested elements
in _MTL.xml; band files named <product id>_B<n>.TIF) and the formula top-of-atmosphere reflectance =
(REFLECTANCE_MULT_BAND_n x DN + REFLECTANCE_ADD_BAND_n) / sin(SUN_ELEVATION) are those of USGS LSDS-1822 (Landsat
8-9 OLI/TIRS Collection 2 Level-1 DFCB) and the Landsat 4-7 Collection 2 Level-1 DFCBs (e.g. LSDS-1414 for
ETM+, whose Level-1 DN are 8-bit). OLI's factors below (2.0E-05, -0.1 for every reflective band) are the values
USGS publishes for OLI; the ETM+/TM factors and the sun elevations are invented, distinct per band so that a band
read with another band's factors fails. The model input of a model trained on Sentinel-2 DN / 10000 (mean 0,
std 1) is reflectance / 1e-4 / 255 (core.models.input_scaling: r = reflectance / reflectance_scale, input = r / 255).
"""
import json
import logging
import math
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, osr

from labelmigration.core.models import input_scaling as scaling
from labelmigration.core.models.model_info import ModelInfo
from labelmigration.core.util.errors import LabelMigrationError

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "models" / "cloud_s2_4band.onnx"
S2 = ModelInfo(reflectance_scale=1e-4, reflectance_offset=0.0)  # a model trained on DN / 10000
OLI = "LC08_L1TP_044034_20200101_20200113_02_T1"
ETM = "LE07_L1TP_044034_20020101_20200916_02_T1"
TM = "LT05_L1GS_044034_19900101_20200916_02_T2"
OLI_FACTORS = {n: (2.0e-05, -0.1) for n in range(1, 10)}  # USGS's OLI reflectance factors, bands 1-9
ETM_FACTORS = {1: (1.1e-03, -0.0061), 2: (1.2e-03, -0.0072), 3: (1.3e-03, -0.0053), 4: (1.4e-03, -0.0084),
               5: (9.0e-04, -0.0045), 7: (8.0e-04, -0.0036), 8: (1.0e-03, -0.0047)}  # invented, 8-bit DN


def _tif(path, array, data_type=gdal.GDT_UInt16, pixel=30.0, scale=None, origin=500000.0):
    """A GeoTIFF written with GDAL (one band per leading index of ``array``)."""
    data = array if array.ndim == 3 else array[np.newaxis]
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), data.shape[2], data.shape[1], data.shape[0], data_type)
    dataset.SetGeoTransform((origin, pixel, 0.0, 4000000.0, 0.0, -pixel))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32610)
    dataset.SetProjection(srs.ExportToWkt())
    for index in range(data.shape[0]):
        dataset.GetRasterBand(index + 1).WriteArray(data[index])
        if scale is not None:
            dataset.GetRasterBand(index + 1).SetScale(scale)
    dataset = None
    return str(path)


def _mtl(folder, product, factors, elevation, kind="txt", thermal=()):
    """The product's MTL file in USGS's layout (see the module docstring), radiance factors included as decoys."""
    contents = {"ORIGIN": "Image courtesy of the U.S. Geological Survey", "LANDSAT_PRODUCT_ID": product,
                "PROCESSING_LEVEL": product.split("_")[1], "COLLECTION_NUMBER": "02"}
    contents.update({f"FILE_NAME_BAND_{n}": f"{product}_B{n}.TIF" for n in list(factors) + list(thermal)})
    rescaling = {}
    for n in list(factors) + list(thermal):
        rescaling.update({f"RADIANCE_MULT_BAND_{n}": "7.7000E-01", f"RADIANCE_ADD_BAND_{n}": "-35.50000"})
    for n, (mult, add) in factors.items():
        rescaling.update({f"REFLECTANCE_MULT_BAND_{n}": f"{mult:.4E}", f"REFLECTANCE_ADD_BAND_{n}": f"{add:.6f}"})
    groups = {"PRODUCT_CONTENTS": contents,
              "IMAGE_ATTRIBUTES": {"SUN_AZIMUTH": "150.12345678", "SUN_ELEVATION": f"{elevation:.8f}",
                                   "EARTH_SUN_DISTANCE": "0.9832880"},
              "LEVEL1_RADIOMETRIC_RESCALING": rescaling}
    if thermal:
        groups["LEVEL1_THERMAL_CONSTANTS"] = {f"K1_CONSTANT_BAND_{n}": "774.8853" for n in thermal}
    if kind == "json":
        text = json.dumps({"LANDSAT_METADATA_FILE": groups}, indent=2)
    elif kind == "xml":
        text = "<LANDSAT_METADATA_FILE>" + "".join(
            f"<{group}>" + "".join(f"<{key}>{value}</{key}>" for key, value in members.items()) + f"</{group}>"
            for group, members in groups.items()) + "</LANDSAT_METADATA_FILE>"
    else:
        lines = ["GROUP = LANDSAT_METADATA_FILE"]
        for group, members in groups.items():
            lines.append(f"  GROUP = {group}")
            lines += [f'    {key} = "{value}"' if not value.replace(".", "").replace("-", "").replace("E", "")
                      .isdigit() else f"    {key} = {value}" for key, value in members.items()]
            lines.append(f"  END_GROUP = {group}")
        text = "\n".join(lines + ["END_GROUP = LANDSAT_METADATA_FILE", "END", ""])
    path = Path(folder) / f"{product}_MTL.{kind}"
    path.write_text(text)
    return path


def _toa_input(dn, mult, add, elevation):
    """The hand-computed model input of S2 for DN of one band (the module docstring's formula)."""
    reflectance = (mult * dn.astype(np.float64) + add) / math.sin(math.radians(elevation))
    return reflectance / 1e-4 / 255


def _stack(tmp_path, product, numbers, arrays, data_type=gdal.GDT_UInt16, name="stack.vrt"):
    files = [_tif(tmp_path / f"{product}_B{n}.TIF", array, data_type) for n, array in zip(numbers, arrays)]
    gdal.BuildVRT(str(tmp_path / name), files, separate=True).FlushCache()
    return gdal.Open(str(tmp_path / name))


def test_oli_band_files_in_a_vrt_are_read_as_toa_reflectance(tmp_path):
    dn = np.random.default_rng(0).integers(6000, 40000, size=(4, 30, 30)).astype(np.uint16)
    _mtl(tmp_path, OLI, OLI_FACTORS, 41.5)
    vrt = _stack(tmp_path, OLI, (2, 3, 4, 5), dn)
    decision = scaling.decide(vrt, [1, 2, 3, 4], S2)
    expected = np.stack([_toa_input(dn[i], 2.0e-05, -0.1, 41.5) for i in range(4)])
    np.testing.assert_allclose(decision.apply(vrt.ReadAsArray()), expected, rtol=1e-5, atol=1e-6)
    assert decision.choice == "dn" and "Collection 2 Level-1" in decision.why and "41.5°" in decision.why
    assert f"{OLI}_MTL.txt" in decision.why and f"{OLI}_B2.TIF" in decision.why


@pytest.mark.parametrize("product", [ETM, TM])
def test_etm_and_tm_bands_take_their_own_factors_whatever_their_order_in_the_stack(tmp_path, product):
    """ETM+/TM bands 1-4 (8-bit DN), stacked as B3, B1, B4, B2: each band's factors come from its file's _B<n>."""
    numbers = (3, 1, 4, 2)
    dn = np.random.default_rng(1).integers(1, 255, size=(4, 20, 20)).astype(np.uint8)
    factors = {n: ETM_FACTORS[n] for n in (1, 2, 3, 4, 5, 7)}
    _mtl(tmp_path, product, factors, 28.25, thermal=(6,))
    vrt = _stack(tmp_path, product, numbers, dn, gdal.GDT_Byte)
    decision = scaling.decide(vrt, [1, 2, 3, 4], S2)
    expected = np.stack([_toa_input(dn[i], *ETM_FACTORS[n], 28.25) for i, n in enumerate(numbers)])
    np.testing.assert_allclose(decision.apply(vrt.ReadAsArray()), expected, rtol=1e-5, atol=1e-6)
    assert decision.choice == "dn" and "Level-1" in decision.why  # not the 8-bit reading of a Byte raster


@pytest.mark.parametrize("kind", ["txt", "json", "xml"])
def test_a_single_band_file_takes_its_factors_from_any_published_mtl_form(tmp_path, kind):
    dn = np.random.default_rng(2).integers(1, 255, size=(1, 10, 10)).astype(np.uint8)
    _mtl(tmp_path, ETM, ETM_FACTORS, 60.0, kind)
    dataset = gdal.Open(_tif(tmp_path / f"{ETM}_B8.TIF", dn, gdal.GDT_Byte))
    decision = scaling.decide(dataset, [1], S2)
    np.testing.assert_allclose(decision.apply(dn), _toa_input(dn, *ETM_FACTORS[8], 60.0), rtol=1e-5)
    assert f"{ETM}_MTL.{kind}" in decision.why


def test_without_the_mtl_auto_is_an_error_that_says_what_to_do_and_raw_dn_reads_as_stored(tmp_path, caplog):
    dn = np.full((2, 10, 10), 9000, np.uint16)
    vrt = _stack(tmp_path, OLI, (4, 5), dn)
    with pytest.raises(LabelMigrationError, match=f"no {OLI}_MTL.txt .*beside the band files.*INPUT_SCALING"):
        scaling.decide(vrt, [1, 2], S2)
    with caplog.at_level("WARNING"):
        raw = scaling.decide(vrt, [1, 2], S2, "dn")
    np.testing.assert_allclose(raw.raw_scale, [1, 1])  # r = DN, as asked
    np.testing.assert_allclose(raw.raw_offset, [0, 0])
    assert "read as stored" in caplog.text and "Level-1" not in raw.why


def test_bands_whose_factors_are_unknown_are_errors(tmp_path, caplog):
    """A thermal band (no REFLECTANCE_* in the MTL), a band from a file that is not the product's, and a mosaic of two
    scenes with different sun elevations are errors; a stack without Landsat band numbers is read as stored."""
    dn = np.full((2, 10, 10), 9000, np.uint16)
    _mtl(tmp_path, OLI, OLI_FACTORS, 41.5, thermal=(10, 11))
    thermal = gdal.Open(_tif(tmp_path / f"{OLI}_B10.TIF", dn[:1]))
    with pytest.raises(LabelMigrationError, match="REFLECTANCE_MULT_BAND_10.*thermal"):
        scaling.decide(thermal, [1], S2)
    # a stack named as the product but not as its band files: someone made it, and its values may already be
    # reflectance or Sentinel-2-like DN, so it is read as stored and the log says why (not refused, not scaled)
    stack = _tif(tmp_path / f"{OLI}_stack.tif", dn)
    for names in ((), ("B04", "B08")):
        named = gdal.Open(stack, gdal.GA_Update)
        for index, name in enumerate(names, start=1):
            named.GetRasterBand(index).SetDescription(name)
        named = None
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            decision = scaling.decide(gdal.Open(stack), [1, 2], S2)
        assert "Level-1" not in decision.why and decision.choice == "dn"
        assert "read as stored" in caplog.text and "which Landsat band" in caplog.text
    named = gdal.Open(stack, gdal.GA_Update)
    for index, name in enumerate(("B4", "B5"), start=1):
        named.GetRasterBand(index).SetDescription(name)
    named = None  # Landsat band numbers in the descriptions say which band: scaled
    assert "Level-1" in scaling.decide(gdal.Open(stack), [1, 2], S2).why
    mixed = [_tif(tmp_path / f"{OLI}_B4.TIF", dn[0]), _tif(tmp_path / "other.tif", dn[1])]
    gdal.BuildVRT(str(tmp_path / "mixed.vrt"), mixed, separate=True).FlushCache()
    with pytest.raises(LabelMigrationError, match="'other.tif', which is not one"):
        scaling.decide(gdal.Open(str(tmp_path / "mixed.vrt")), [1, 2], S2)
    tiles = []  # two scenes of one path side by side, each in its folder with its MTL
    for row, elevation, origin in (("044034", 41.5, 500000.0), ("044035", 40.0, 500300.0)):
        (tmp_path / row).mkdir()
        _mtl(tmp_path / row, OLI.replace("044034", row), OLI_FACTORS, elevation)
        tiles.append(_tif(tmp_path / row / f"{OLI.replace('044034', row)}_B4.TIF", dn[0], origin=origin))
    gdal.BuildVRT(str(tmp_path / "mosaic.vrt"), tiles).FlushCache()
    with pytest.raises(LabelMigrationError, match="mosaic .*sun elevations differ"):
        scaling.decide(gdal.Open(str(tmp_path / "mosaic.vrt")), [1], S2)


def test_tagged_float_or_unscaled_models_are_left_alone(tmp_path):
    """The rule concerns integer bands without scale/offset tags, for models with reflectance_scale: these keep the
    plain decision, and no missing MTL is an error for them."""
    dn = np.full((1, 10, 10), 9000, np.uint16)
    tagged = gdal.Open(_tif(tmp_path / f"{OLI}_B4.TIF", dn, scale=1e-4))
    assert "Level-1" not in scaling.decide(tagged, [1], S2).why
    floating = gdal.Open(_tif(tmp_path / f"{OLI}_B5.TIF", dn / 10000, gdal.GDT_Float32))
    assert scaling.decide(floating, [1], S2).choice == "reflectance"
    plain = gdal.Open(_tif(tmp_path / f"{OLI}_B6.TIF", dn))
    deepness = scaling.decide(plain, [1], ModelInfo(standardization_mean=[0.5], standardization_std=[0.25]))
    assert "Level-1" not in deepness.why
    for choice in ("reflectance", "8bit"):  # an explicit reading other than DN needs no MTL
        assert "Level-1" not in scaling.decide(plain, [1], S2, choice).why


def test_the_bundled_model_gets_the_same_input_from_level1_band_files_as_from_sentinel2_dn(tmp_path, data_dir):
    """cloudmask's engine on one real On Cloud N chip (Sentinel-2 L2A, reflectance = DN / 10000; tests/data/README.md)
    stored as Sentinel-2 DN and as invented OLI Level-1 DN (the formula inverted: DN = (reflectance x sin(SUN_ELEVATION)
    - ADD) / MULT, rounded) in _B2.._B5 files with their MTL and a VRT: the model input agrees to within half a
    Level-1 DN step, and so do the masks (they differ only where rounding moves a pixel across the class boundary)."""
    pytest.importorskip("onnxruntime")
    from labelmigration.core.models.cloud_classes import predict_clouds
    from labelmigration.core.models.onnx_model import load_model

    mult, add, elevation = 2.2e-05, -0.09, 35.0  # invented factors and sun elevation
    with np.load(data_dir / "imagery/oncloudn/oncloudn_2chips.npz") as chips:
        s2_dn = chips["image"][0]
    sine = math.sin(math.radians(elevation))
    l1_dn = np.clip(np.round((s2_dn / 10000 * sine - add) / mult), 1, 65535).astype(np.uint16)
    names = ("blue", "green", "red", "nir")  # the model's bands, by description, as in a stack of B2 B3 B4 B5
    s2_path = _tif(tmp_path / "s2.tif", s2_dn, pixel=10.0)  # the chip's 10 m grid for both: no resampling
    s2 = gdal.Open(s2_path, gdal.GA_Update)
    for index, name in enumerate(names, start=1):
        s2.GetRasterBand(index).SetDescription(name)
    s2 = None
    _mtl(tmp_path, OLI, {n: (mult, add) for n in range(1, 10)}, elevation)
    files = [_tif(tmp_path / f"{OLI}_B{n}.TIF", l1_dn[i], pixel=10.0) for i, n in enumerate((2, 3, 4, 5))]
    vrt = gdal.BuildVRT(str(tmp_path / "l1.vrt"), files, separate=True)
    for index, name in enumerate(names, start=1):
        vrt.GetRasterBand(index).SetDescription(name)
    vrt = None
    info = load_model(str(BUNDLED)).info
    s2_decision = scaling.decide(gdal.Open(s2_path), [1, 2, 3, 4], info)
    l1_decision = scaling.decide(gdal.Open(str(tmp_path / "l1.vrt")), [1, 2, 3, 4], info)
    assert "Level-1" in l1_decision.why and l1_decision.warnings == [] == s2_decision.warnings
    # half a Level-1 DN step (mult / sine reflectance) in Sentinel-2 DN (1e-4), times the input per Sentinel-2 DN
    tolerance = 0.5 * mult / sine / 1e-4 * float(s2_decision.transform.scale.max()) + 1e-5
    np.testing.assert_allclose(l1_decision.apply(l1_dn), s2_decision.apply(s2_dn), rtol=0, atol=tolerance)
    masks = []
    for path in (s2_path, str(tmp_path / "l1.vrt")):
        result, _ = predict_clouds(path, str(BUNDLED), {"classes": path + ".mask.tif"})
        assert result.warnings == []
        masks.append(gdal.Open(path + ".mask.tif").ReadAsArray())
    assert (masks[0] == masks[1]).mean() > 0.999 and 0.2 < (masks[0] == 1).mean() < 0.8
