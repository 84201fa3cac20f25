"""Sentinel-2 band files read as a plain raster (core.sentinel2.product_bands): a VRT over a SAFE product's JPEG 2000
files and GDAL's SENTINEL2 subdataset (what QGIS shows when a SAFE zip is dropped on the map) are read with the
product's own quantification and offset, and the subdataset's bands by their names.

Where the expected answers come from: ESA's Sentinel-2 product specification (reflectance = (DN + RADIO_ADD_OFFSET or
BOA_ADD_OFFSET) / QUANTIFICATION_VALUE; the offset -1000 from processing baseline 04.00 on, none before), as
tests/support/safe_products writes its products after real ones (SafeProduct.expected_reflectance); GDAL's SENTINEL2
driver's own subdataset names and band order (B4, B3, B2, B8 at 10 m), read from GDAL here.
"""
import datetime as dt
import os
import subprocess
import sys

import numpy as np
import pytest
from osgeo import gdal

from labelmigration.core.models.model_info import ModelInfo
from labelmigration.core.models import input_scaling as scaling
from labelmigration.core.sentinel2.product_bands import product_reflectance, product_band_names
from labelmigration.tests.support.safe_products import make_safe_product

MODEL = ModelInfo(reflectance_scale=1e-4, reflectance_offset=0.0)  # the bundled models' DN / 10000
BANDS = ("B02", "B03", "B04", "B08")


@pytest.fixture(scope="module", params=[("L2A", "05.09", False), ("L1C", "04.00", False), ("L2A", "03.01", False),
                                        ("L1C", "05.10", True)],
                ids=["l2a-05.09", "l1c-04.00", "l2a-03.01", "l1c-05.10-zip"])
def product(request, tmp_path_factory):
    """A product as downloaded: a .SAFE folder, or its zip read in place (/vsizip/) as QGIS opens a dropped zip."""
    level, baseline, zipped = request.param
    return make_safe_product(tmp_path_factory.mktemp(f"{level}{baseline}"), level=level, baseline=baseline,
                             size_10m=120, zipped=zipped)


def _stack(product, tmp_path):
    path = str(tmp_path / "bands.vrt")
    gdal.BuildVRT(path, [product.band_files[band] for band in BANDS], separate=True).FlushCache()
    return gdal.Open(path)


def _subdataset(product):
    return gdal.Open(gdal.Open(product.mtd_path).GetSubDatasets()[0][0])


def _reflectance_read(decision, dn):
    """The reflectance the decision reads DN as (the model's DN scale 1e-4)."""
    return (dn * decision.raw_scale[:, None, None] + decision.raw_offset[:, None, None]) * 1e-4


def test_a_vrt_over_the_band_files_reads_the_products_offset(product, tmp_path):
    decision = scaling.decide(_stack(product, tmp_path), [1, 2, 3, 4], MODEL)
    assert decision.choice == "dn" and f"processing baseline {product.baseline}" in decision.why
    dn = np.stack([product.expected_dn(band) for band in BANDS]).astype(np.float64)
    expected = np.stack([product.expected_reflectance(band) for band in BANDS])
    valid = np.isfinite(expected)
    np.testing.assert_allclose(_reflectance_read(decision, dn)[valid], expected[valid], atol=1e-9)
    assert decision.warnings == [] or all("darker" not in warning for warning in decision.warnings)


def test_gdals_sentinel2_subdataset_is_named_by_band_and_read_with_the_offset(product):
    dataset = _subdataset(product)
    # GDAL's order at 10 m (GDAL 3.10 and later add L2A's AOT and WVP after them)
    assert product_band_names(dataset)[:4] == ["B04", "B03", "B02", "B08"]
    factors, why = product_reflectance(dataset, [3, 2, 1, 4])
    assert factors == [(1e-4, product.offset / 1e4)] * 4 and product.name in why
    decision = scaling.decide(dataset, [3, 2, 1, 4], MODEL)
    assert "Sentinel-2 product" in decision.why
    np.testing.assert_allclose(decision.raw_offset, [product.offset] * 4)


def test_a_plain_geotiff_is_not_taken_for_a_product(tmp_path):
    path = str(tmp_path / "plain.tif")
    gdal.Translate(path, _plain(), format="GTiff")
    assert product_reflectance(gdal.Open(path), [1]) is None
    assert product_band_names(gdal.Open(path)) is None


def _plain():
    dataset = gdal.GetDriverByName("MEM").Create("", 4, 4, 1, gdal.GDT_UInt16)
    dataset.SetGeoTransform((500000, 10, 0, 5000000, 0, -10))
    return dataset


def test_reading_the_files_of_a_sentinel2_subdataset_does_not_abort(product):
    """GDAL 3.6 aborts the process when a SENTINEL2 subdataset's band is asked for vrt_sources (a C++ exception from
    a null string); band_sources asks only VRTs. Run in a child process so that a regression fails this test alone."""
    code = ("import sys; from osgeo import gdal; from labelmigration.core.util.raster_read import band_sources; "
            "d = gdal.Open(gdal.Open(sys.argv[1]).GetSubDatasets()[0][0]); print(band_sources(d, [1, 2])[0][0])")
    done = subprocess.run([sys.executable, "-c", code, product.mtd_path], capture_output=True, text=True,
                          timeout=120, env=_child_environment())
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().startswith("SENTINEL2_L")


def _child_environment():
    import labelmigration
    environment = dict(os.environ)
    parent = os.path.dirname(os.path.dirname(os.path.abspath(labelmigration.__file__)))  # conftest's import root
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [parent, environment.get("PYTHONPATH", "")]))
    return environment


def test_the_bundled_model_sees_the_subdataset_as_the_same_dn_tagged_with_the_offset(tmp_path):
    """cloudmask's engine, bundled model, on GDAL's subdataset of a baseline 05.09 product and on GeoTIFFs of the same
    DN: tagged with scale 1e-4 / offset -0.1 (how safetogeotiff and EOPF write such DN, read as reflectance by the
    tags) the cloud probability is the same; untagged (read as DN / 10000, as the subdataset was before) it is not."""
    pytest.importorskip("onnxruntime")
    from pathlib import Path

    from labelmigration.core.models.cloud_classes import predict_clouds
    bundled = str(Path(__file__).resolve().parents[2] / "models" / "cloud_s2_4band.onnx")
    product = make_safe_product(tmp_path / "p", level="L2A", baseline="05.09", size_10m=120)
    dn = np.stack([product.expected_dn(band) for band in BANDS])
    sources = {"product": gdal.Open(product.mtd_path).GetSubDatasets()[0][0]}
    for name, offset in (("tagged", -0.1), ("untagged", None)):
        geotiff = gdal.GetDriverByName("GTiff").Create(str(tmp_path / f"{name}.tif"), 120, 120, 4, gdal.GDT_UInt16)
        geotiff.SetGeoTransform(product.geotransform(10))
        geotiff.SetProjection(_subdataset(product).GetProjection())
        for index, band in enumerate(BANDS, start=1):
            geotiff.GetRasterBand(index).WriteArray(dn[index - 1])
            geotiff.GetRasterBand(index).SetDescription(band)
            if offset is not None:
                geotiff.GetRasterBand(index).SetScale(1e-4)
                geotiff.GetRasterBand(index).SetOffset(offset)
        geotiff = None
        sources[name] = str(tmp_path / f"{name}.tif")
    probability, why = {}, {}
    for name, source in sources.items():
        result, _ = predict_clouds(source, bundled, {"probability": str(tmp_path / f"{name}.p.tif")})
        probability[name], why[name] = gdal.Open(str(tmp_path / f"{name}.p.tif")).ReadAsArray(), result.input_scaling
    assert "Sentinel-2 product" in why["product"] and "baseline 05.09" in why["product"]
    valid = dn.all(axis=0)
    same = np.abs(probability["product"][valid] - probability["tagged"][valid]).max()
    before = np.abs(probability["product"][valid] - probability["untagged"][valid]).max()
    assert same < 1e-5 and before > 0.01


def test_a_copy_of_the_subdataset_keeps_its_names_and_its_baselines_offset(product, tmp_path):
    """gdal_translate of the subdataset (as QGIS's Save as writes it): GDAL copies PROCESSING_BASELINE, the
    quantification and each band's BANDNAME, not the product. Its bands are matched by those names and its DN read
    with the offset of the baseline (-1000 from 04.00 on, ESA's value for every band since; none before)."""
    copy = str(tmp_path / "copy.tif")
    gdal.Translate(copy, _subdataset(product))
    dataset = gdal.Open(copy)
    assert product_band_names(dataset)[:4] == ["B04", "B03", "B02", "B08"]
    decision = scaling.decide(dataset, [3, 2, 1, 4], MODEL)
    assert f"PROCESSING_BASELINE {product.baseline}" in decision.why
    np.testing.assert_allclose(decision.raw_offset, [product.offset] * 4)
    np.testing.assert_allclose(decision.raw_scale, [1.0] * 4)


def test_a_copy_whose_bands_were_renamed_or_tagged_is_left_to_its_own_names_and_tags(product, tmp_path):
    copy = str(tmp_path / "renamed.tif")
    gdal.Translate(copy, _subdataset(product))
    dataset = gdal.Open(copy, gdal.GA_Update)
    dataset.GetRasterBand(1).SetDescription("red")
    dataset = None
    assert product_band_names(gdal.Open(copy)) is None  # the user's own names win
    tagged = str(tmp_path / "tagged.vrt")
    gdal.Translate(tagged, _subdataset(product), format="VRT", scaleParams=None)
    dataset = gdal.Open(tagged, gdal.GA_Update)
    for number in range(1, dataset.RasterCount + 1):
        dataset.GetRasterBand(number).SetScale(1e-4)
        dataset.GetRasterBand(number).SetOffset(-0.2)
    dataset = None
    decision = scaling.decide(gdal.Open(tagged), [3, 2, 1, 4], MODEL)
    np.testing.assert_allclose(decision.raw_offset, [-2000] * 4)  # the tags the file declares win


def test_a_pair_cropped_from_the_products_band_files_declares_their_scale_and_offset(product, tmp_path):
    """cropscene on a VRT over the product's band files (which carries nothing of the product) and on GDAL's
    subdataset: the pair image keeps the DN and declares scale 1 / quantification and offset / quantification, so that
    it reads as the product's reflectance anywhere (cloudmask, GDAL's -unscale) as a SAFE product's crop does."""
    from labelmigration.core.labels.crop import crop_scene
    from labelmigration.tests.support.rasters import from_origin, write_raster

    label = np.zeros((30, 30), np.uint8)
    label[5:25, 5:25] = 1
    label_path = write_raster(tmp_path / "label.tif", label, "EPSG:32632",
                              from_origin(product.ulx + 200, product.uly - 200, 10, 10))
    for name, scene in (("vrt", _stack(product, tmp_path).GetDescription()),
                        ("subdataset", _subdataset(product).GetDescription())):
        crop_scene(scene, str(label_path), str(tmp_path / f"{name}_image.tif"), str(tmp_path / f"{name}_label.tif"))
        pair = gdal.Open(str(tmp_path / f"{name}_image.tif"))
        for number in range(1, 5):  # B02 B03 B04 B08, or B4 B3 B2 B8 (GDAL 3.10 adds L2A's AOT and WVP after them)
            band = pair.GetRasterBand(number)
            assert (band.GetScale(), band.GetOffset()) == pytest.approx((1e-4, product.offset / 1e4)), name
        assert pair.GetRasterBand(1).DataType == gdal.GDT_UInt16


@pytest.mark.parametrize("sensed, baseline, offset", [(dt.datetime(2023, 6, 15, 10, 15, 59), "05.09", -1000),
                                                      (dt.datetime(2020, 8, 15, 10, 25, 59), "02.09", None)])
def test_band_files_copied_out_of_their_product_go_by_their_sensing_date(tmp_path, caplog, sensed, baseline, offset):
    """JPEG 2000 band files copied out of their SAFE (named T32UPU_<sensing>_B02_10m.jp2, without the product's
    metadata): sensed from 25 January 2022 on, every product has processing baseline 04.00 or later and its offset
    -1000 (ESA); sensed before, a reprocessed Collection 1 product has it and a first processing has not, so the files
    are read as stored (DN / 10000) and the log says why."""
    product = make_safe_product(tmp_path / "p", level="L2A", baseline=baseline, size_10m=60, sensing=sensed)
    flat = tmp_path / "copied"
    flat.mkdir()
    copies = []
    for band in BANDS:
        copies.append(str(flat / os.path.basename(product.band_files[band])))
        gdal.GetDriverByName("JP2OpenJPEG").CreateCopy(copies[-1], gdal.Open(product.band_files[band]))
    gdal.BuildVRT(str(flat / "bands.vrt"), copies, separate=True).FlushCache()
    with caplog.at_level("WARNING"):
        decision = scaling.decide(gdal.Open(str(flat / "bands.vrt")), [1, 2, 3, 4], MODEL)
    if offset is None:
        assert decision.raw_offset.tolist() == [0] * 4 and "before processing baseline 04.00" in caplog.text
    else:
        assert decision.raw_offset.tolist() == [offset] * 4 and "sensed on 2023-06-15" in decision.why
