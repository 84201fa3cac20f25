"""core.models.input_scaling: one decision of how a raster's values become a model's input.

Where the expected answers come from: Deepness (PUTvision/qgis-plugin-deepness) computes the model
input as (x / 255 - standardization_mean) / standardization_std (processing/models/model_base.py
``preprocessing``: preprocessing_utils.normalize_values_to_01 multiplies by 1/255, standardize_values
subtracts the mean and divides by the std, both read with json.loads from the metadata), and takes the
input's last dimension as its tile size (deepness_dockwidget.py ``input_size_px = input_0_shape[-1]``).
Sentinel-2 DN: reflectance = DN / 10000 before processing baseline 04.00, (DN - 1000) / 10000 since
(DESIGN.md section 4; EOPF arrays carry scale_factor 1e-4 and add_offset -0.1).
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from labelmigration.core.models.model_info import ModelInfo  # noqa: E402
from labelmigration.core.models.onnx_model import load_model  # noqa: E402
from labelmigration.core.models.predict import predict_raster  # noqa: E402
from labelmigration.core.models import input_scaling as scaling  # noqa: E402
from labelmigration.core.util.errors import LabelMigrationError  # noqa: E402
from labelmigration.tests.support.onnx_models import conv_model  # noqa: E402
from labelmigration.tests.support.rasters import from_origin, write_raster  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "models" / "cloud_s2_4band.onnx"
CRS = "EPSG:32633"
TRANSFORM = from_origin(500000, 4000000, 10, 10)
S2 = ModelInfo(reflectance_scale=1e-4, reflectance_offset=0.0)  # a model trained on DN / 10000
DEEPNESS = ModelInfo(standardization_mean=[0.5], standardization_std=[0.25])  # no reflectance_scale


def _dataset(tmp_path, array, name="in.tif", scale=None, offset=None, nodata=None, vrt=False):
    path = write_raster(tmp_path / name, array, crs=CRS, transform=TRANSFORM, nodata=nodata)
    if scale is None and offset is None and not vrt:
        return gdal.Open(str(path))
    target = str(tmp_path / (name + ".vrt")) if vrt else str(path)
    if vrt:  # GTiff does not keep an explicit scale 1 / offset 0; a VRT does
        gdal.Translate(target, str(path), format="VRT")
    dataset = gdal.Open(target, gdal.GA_Update)
    for number in range(1, dataset.RasterCount + 1):
        if scale is not None:
            dataset.GetRasterBand(number).SetScale(scale)
        if offset is not None:
            dataset.GetRasterBand(number).SetOffset(offset)
    dataset = None
    return gdal.Open(target)


def _dn(shape=(2, 40, 40), seed=0):
    return np.random.default_rng(seed).integers(200, 6000, size=shape).astype(np.uint16)


def test_each_choice_on_a_dn_raster(tmp_path):
    """dn: r = DN; reflectance: r = (x - o) / s; 8bit: r = x; model input = r / 255 (mean 0, std 1)."""
    dataset = _dataset(tmp_path, _dn())
    x = np.array([[[1000.0]], [[0.25]]], np.float32)
    dn = scaling.decide(dataset, [1, 2], S2, "dn")
    assert dn.choice == "dn" and "asked for" in dn.why
    np.testing.assert_allclose(dn.apply(x), x / 255, rtol=1e-6)
    reflectance = scaling.decide(dataset, [1, 2], S2, "reflectance")
    np.testing.assert_allclose(reflectance.apply(x), x / 1e-4 / 255, rtol=1e-6)
    eight = scaling.decide(dataset, [1, 2], S2, "8bit")
    np.testing.assert_allclose(eight.apply(x), x / 255, rtol=1e-6)
    assert reflectance.warnings  # DN read as reflectance: model input far beyond the plausible range
    with pytest.raises(LabelMigrationError, match="Unknown input scaling 'percent'"):
        scaling.decide(dataset, [1, 2], S2, "percent")


def test_auto_on_uint16_dn(tmp_path):
    decision = scaling.decide(_dataset(tmp_path, _dn()), [1, 2], S2)
    assert decision.choice == "dn" and decision.why.startswith("raw DN with the model's scaling: integer bands")
    assert decision.warnings == []
    np.testing.assert_allclose(decision.raw_scale, [1, 1]) and np.testing.assert_allclose(decision.raw_offset, 0)


def test_auto_on_float32_reflectance_gives_the_same_input_as_the_dn(tmp_path):
    """The issue: reflectance 0-1 float32 (safetogeotiff REFLECTANCE=true) must not be scaled by 1e-4 again."""
    dn = _dn()
    reflectance = (dn * 1e-4).astype(np.float32)
    decision = scaling.decide(_dataset(tmp_path, reflectance), [1, 2], S2)
    assert decision.choice == "reflectance" and "99th percentile" in decision.why and decision.warnings == []
    from_dn = scaling.decide(_dataset(tmp_path, dn, name="dn.tif"), [1, 2], S2)
    np.testing.assert_allclose(decision.apply(reflectance), from_dn.apply(dn), rtol=1e-5)


def test_auto_on_float32_with_explicit_scale_one_offset_zero(tmp_path):
    """An explicit 1 / 0 counts as set (a VRT keeps it; GTiff drops it): the values are physical."""
    reflectance = (_dn() * 1e-4).astype(np.float32)
    dataset = _dataset(tmp_path, reflectance, scale=1.0, offset=0.0, vrt=True)
    assert (dataset.GetRasterBand(1).GetScale(), dataset.GetRasterBand(1).GetOffset()) == (1.0, 0.0)
    decision = scaling.decide(dataset, [1, 2], S2)
    assert decision.choice == "reflectance" and "declare scale 1 / offset 0 explicitly" in decision.why
    # on DN-sized floats the VRT's 1 / 0 (every VRT band reports it) is overruled: DN
    floats = _dataset(tmp_path, _dn().astype(np.float32), name="f.tif", scale=1.0, offset=0.0, vrt=True)
    overruled = scaling.decide(floats, [1, 2], S2)
    assert overruled.choice == "dn" and "ignored" in overruled.why


def test_auto_on_uint16_with_baseline_04_scale_and_offset(tmp_path):
    """uint16 DN with scale 1e-4 / offset -0.1 (baseline 04.00, EOPF): r = DN - 1000, the offset-free DN."""
    dn = _dn()
    dataset = _dataset(tmp_path, dn, scale=1e-4, offset=-0.1)
    decision = scaling.decide(dataset, [1, 2], S2)
    assert decision.choice == "dn" and "declare scale/offset" in decision.why
    np.testing.assert_allclose(decision.raw_scale, [1, 1], rtol=1e-9)
    np.testing.assert_allclose(decision.raw_offset, [-1000, -1000], rtol=1e-9)
    np.testing.assert_allclose(decision.apply(dn), (dn.astype(np.float64) - 1000) / 255, rtol=1e-5, atol=1e-5)


def test_auto_on_uint8(tmp_path):
    """8-bit: exactly what Deepness feeds, (x / 255 - mean) / std."""
    image = np.random.default_rng(1).integers(0, 256, size=(1, 30, 30)).astype(np.uint8)
    for info in (DEEPNESS, S2):
        decision = scaling.decide(_dataset(tmp_path, image, name=f"{id(info)}.tif"), [1], info)
        assert decision.choice == "8bit" and decision.why.startswith("8-bit 0-255: ")
    decision = scaling.decide(_dataset(tmp_path, image, name="d.tif"), [1], DEEPNESS)
    np.testing.assert_allclose(decision.apply(image), (image / 255.0 - 0.5) / 0.25, rtol=1e-6, atol=1e-6)


def test_auto_on_float_with_nan_nodata(tmp_path):
    """NaN (and the nodata value) are left out of the sample: the rest decides."""
    reflectance = (_dn() * 1e-4).astype(np.float32)
    reflectance[:, :20] = np.nan
    reflectance[:, 20:25] = -9999.0
    decision = scaling.decide(_dataset(tmp_path, reflectance, nodata=-9999.0), [1, 2], S2)
    assert decision.choice == "reflectance" and decision.warnings == []
    assert np.isfinite(decision.apply(reflectance)).all()  # NaN become 0 (nodata, masked in the outputs)


def test_a_deepness_model_takes_values_as_stored_and_refuses_reflectance(tmp_path):
    dataset = _dataset(tmp_path, _dn())
    decision = scaling.decide(dataset, [1, 2], DEEPNESS)
    assert decision.choice == "dn" and "declares no reflectance_scale" in decision.why
    assert decision.warnings  # uint16 DN into an 8-bit model: far outside 0..255
    with pytest.raises(LabelMigrationError, match="needs a model whose metadata hold reflectance_scale"):
        scaling.decide(dataset, [1, 2], DEEPNESS, "reflectance")


def test_reflectance_forced_through_dn_warns(tmp_path):
    """Reflectance read as DN collapses the input to nearly one value: the warning says so."""
    reflectance = (_dn() * 1e-4).astype(np.float32)
    decision = scaling.decide(_dataset(tmp_path, reflectance), [1, 2], S2, "dn")
    assert len(decision.warnings) == 1 and "hardly at all as model input" in decision.warnings[0]
    assert "INPUT_SCALING" in decision.warnings[0]


def test_the_decision_is_logged(tmp_path, caplog):
    with caplog.at_level("INFO", logger="labelmigration.core.models.input_scaling"):
        decision = scaling.decide(_dataset(tmp_path, _dn()), [1, 2], S2)
    assert f"Input scaling: {decision.why}" in caplog.text


def test_a_deepness_style_8bit_model_receives_x_over_255_standardised(tmp_path):
    """A 1x1 identity conv reveals its input: for uint8 x it is (x / 255 - mean) / std exactly (Deepness)."""
    mean, std = [0.485, 0.456], [0.229, 0.224]
    identity = np.eye(2, dtype=np.float32).reshape(2, 2, 1, 1)
    model = conv_model(tmp_path / "m.onnx", identity, [0.0, 0.0], sigmoid=False, raw_metadata=True,
                       metadata={"model_type": "Segmentor", "standardization_mean": mean, "standardization_std": std})
    image = np.random.default_rng(2).integers(0, 256, size=(2, 20, 24)).astype(np.uint8)
    path = write_raster(tmp_path / "rgb.tif", image, crs=CRS, transform=TRANSFORM)
    out = {"probability": str(tmp_path / "p.tif")}
    result = predict_raster(str(path), str(model), out, tile_size=8)
    got = gdal.Open(out["probability"]).ReadAsArray()
    expected = (image / np.float32(255.0) - np.array(mean, np.float32)[:, None, None]) / \
        np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert result.input_scaling.startswith("8-bit 0-255")


def _deepness_input(model_path: str, dn_tile: np.ndarray) -> np.ndarray:
    """What Deepness feeds for an (rows, cols, channels) tile, read as its ModelBase does (metadata by
    json.loads, defaults mean 0 / std 1), then x / 255 and standardisation, NHWC -> NCHW."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    mean = np.array(json.loads(meta["standardization_mean"]), np.float32)
    std = np.array(json.loads(meta["standardization_std"]), np.float32)
    x = np.float32(dn_tile[np.newaxis] * 1. / 255.)
    return np.transpose((x - mean) / std, (0, 3, 1, 2))


def test_deepness_reads_the_bundled_model_and_feeds_what_our_engine_feeds(data_dir, tmp_path):
    """Our bundled model read as Deepness reads it: its keys, JSON values, input shape -> tile size; for a
    real On Cloud N DN chip the tensor Deepness would feed equals our engine's."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(BUNDLED), providers=["CPUExecutionProvider"])
    shape = session.get_inputs()[0].shape
    meta = {key: json.loads(value) for key, value in session.get_modelmeta().custom_metadata_map.items()}
    assert shape[-1] == shape[-2] == meta["tile_size"] == 512 and shape[1] == 4  # Deepness: tile = shape[-1]
    assert str(meta["model_type"]).capitalize() == "Segmentor"
    # its class names say which class is cloud (clear/cloud of a sigmoid head, or clear/cloud/shadow), whatever
    # its output channels: core.models.cloud_classes need not guess
    from labelmigration.core.models.cloud_classes import cloud_classes
    channels = session.get_outputs()[0].shape[1]
    assert cloud_classes({int(k): v for k, v in meta["class_names"].items()}, channels).note == ""
    assert len(meta["input_range"]) == 4 and all(low < high for low, high in meta["input_range"])
    chips = np.load(data_dir / "imagery/oncloudn/oncloudn_2chips.npz")
    dn = chips["image"][0]
    theirs = _deepness_input(str(BUNDLED), np.moveaxis(dn, 0, -1))
    path = write_raster(tmp_path / "chip.tif", dn, crs=CRS, transform=TRANSFORM,
                        descriptions=("B02", "B03", "B04", "B08"))
    info = load_model(str(BUNDLED)).info
    ours = scaling.decide(gdal.Open(str(path)), [1, 2, 3, 4], info).apply(dn)
    np.testing.assert_allclose(ours, theirs[0], rtol=1e-5, atol=1e-5)


def test_the_bundled_model_predicts_as_before_on_dn(data_dir, tmp_path):
    """Metadata rewritten into Deepness's domain, same network: on a real On Cloud N DN chip the engine's
    probability equals the former preprocessing's ((DN x 1e-4 - mean) / std with the training statistics
    in reflectance, the former metadata, reproduced from the training scenes) run on the same network.
    A later bundled model (exported in Deepness's domain) has no former metadata: its own statistics, in
    reflectance (x 255 x 1e-4), make the former formula. Its cloud channel (core.models.cloud_classes: the one
    channel of a sigmoid head, or the class named cloud) is compared, and the cloud mask is the probability
    against the model's seg_thresh, whatever its number of classes."""
    import onnxruntime

    from labelmigration.core.models.cloud_classes import cloud_classes, predict_clouds

    session = onnxruntime.InferenceSession(str(BUNDLED), providers=["CPUExecutionProvider"])
    meta = {key: json.loads(value) for key, value in session.get_modelmeta().custom_metadata_map.items()}
    k = 255.0 * 1e-4
    former_mean = [0.27977731823921204, 0.27832677960395813, 0.265929639339447, 0.38481852412223816]
    former_std = [0.2715241312980652, 0.2577562630176544, 0.26133033633232117, 0.2133067399263382]
    if not np.allclose(np.array(former_mean) / k, meta["standardization_mean"], rtol=1e-6):  # a later model
        former_mean = [m * k for m in meta["standardization_mean"]]
        former_std = [v * k for v in meta["standardization_std"]]
    chips = np.load(data_dir / "imagery/oncloudn/oncloudn_2chips.npz")
    dn = chips["image"][1]
    before_input = ((dn * np.float32(1e-4)).astype(np.float32) - np.array(former_mean, np.float32)[:, None, None]) \
        / np.array(former_std, np.float32)[:, None, None]
    outputs = session.run(None, {"input": before_input[np.newaxis].astype(np.float32)})[0][0]
    classes = cloud_classes({int(key): name for key, name in meta["class_names"].items()}, outputs.shape[0])
    before = outputs[list(classes.cloud)].sum(axis=0)
    path = write_raster(tmp_path / "chip.tif", dn, crs=CRS, transform=TRANSFORM,
                        descriptions=("B02", "B03", "B04", "B08"))
    out = {"probability": str(tmp_path / "p.tif"), "classes": str(tmp_path / "c.tif")}
    result, _ = predict_clouds(str(path), str(BUNDLED), out)
    after = gdal.Open(out["probability"]).ReadAsArray()
    assert result.tiles == 1 and result.warnings == []
    assert float(np.abs(after - before).max()) < 1e-5
    if "seg_thresh" in meta or classes.channels == 1:
        expected = before >= meta.get("seg_thresh", 0.5)
    else:  # classes without a threshold: where a cloud class is the most probable
        expected = np.isin(outputs.argmax(axis=0), classes.cloud)
    np.testing.assert_array_equal(gdal.Open(out["classes"]).ReadAsArray(), expected.astype(np.uint8))
    assert os.path.getsize(BUNDLED) < 10 * 1024 * 1024


# USGS Landsat 4-9 Collection 2 Level-2 Science Product Guides (LSDS-1619 and LSDS-1618): surface reflectance =
# DN x 0.0000275 - 0.2; USGS's GeoTIFFs carry no scale/offset tags. The reflectance below is a real On Cloud N
# chip's (Sentinel-2 L2A, DN / 10000), written as C2 L2 DN: its model input must be the Sentinel-2 DN's.
C2_PRODUCT = "LC08_L2SP_224078_20200518_20200823_02_T1"


def _c2_dn(reflectance):
    return np.clip(np.round((reflectance + 0.2) / 0.0000275), 1, 65535).astype(np.uint16)


def _chip_dn(data_dir, index=0):
    with np.load(data_dir / "imagery/oncloudn/oncloudn_2chips.npz") as chips:
        return chips["image"][index], chips["label"][index]


def test_landsat_c2_level2_surface_reflectance_is_read_with_its_published_scale(tmp_path, data_dir):
    dn, _ = _chip_dn(data_dir)
    s2 = _dataset(tmp_path, dn[:2], name="s2.tif")
    landsat = _dataset(tmp_path, _c2_dn(dn[:2] / 10000), name=f"{C2_PRODUCT}_SR.tif")
    decision = scaling.decide(landsat, [1, 2], S2)
    assert decision.choice == "dn" and "Landsat Collection 2 Level-2" in decision.why and C2_PRODUCT in decision.why
    np.testing.assert_allclose(decision.raw_scale, [0.275, 0.275])  # 0.0000275 / the model's 1e-4
    np.testing.assert_allclose(decision.raw_offset, [-2000, -2000])  # -0.2 / 1e-4
    expected = scaling.decide(s2, [1, 2], S2).apply(s2.ReadAsArray())
    # one C2 DN is 0.0000275 reflectance: 0.275 of a Sentinel-2 DN, so rounding moves r by at most 0.14 (the model
    # input is r / 255 here: S2 has standardization mean 0 and std 1)
    np.testing.assert_allclose(decision.apply(landsat.ReadAsArray()), expected, rtol=0, atol=0.14 / 255)
    assert decision.warnings == []


def test_landsat_c2_level2_without_its_name_or_values_is_not_rescaled(tmp_path, data_dir, caplog):
    """The product id decides, only for integer bands without tags whose values can be C2 L2 reflectance DN; a
    surface-temperature band, a float file and a file already rescaled to Sentinel-2-like DN keep their values."""
    dn, _ = _chip_dn(data_dir)
    c2 = _c2_dn(dn[:2] / 10000)
    plain = scaling.decide(_dataset(tmp_path, c2, name="stack.tif"), [1, 2], S2)
    assert plain.choice == "dn" and "Landsat" not in plain.why
    assert plain.warnings and "implausible" in plain.warnings[0]  # the failure the product id avoids
    for name, values in ((f"{C2_PRODUCT}_ST_B10.tif", c2), (f"{C2_PRODUCT}_SR.tif", dn[:2]),
                         (f"{C2_PRODUCT}_refl.tif", (dn[:2] / 10000).astype(np.float32))):
        with caplog.at_level("INFO"):
            decision = scaling.decide(_dataset(tmp_path, values, name=name), [1, 2], S2)
        assert "Landsat Collection 2" not in decision.why, name
    assert "not its surface reflectance DN" in caplog.text  # the rescaled file: its name was overruled, and said so
    tagged = scaling.decide(_dataset(tmp_path, c2, name=f"{C2_PRODUCT}_tagged.tif", scale=1e-4, offset=0.0), [1, 2],
                            S2)
    assert "Landsat Collection 2" not in tagged.why  # tags the file declares win


def test_a_vrt_over_usgs_band_files_is_recognised_by_its_sources(tmp_path, data_dir):
    dn, _ = _chip_dn(data_dir)
    sources = [str(write_raster(tmp_path / f"{C2_PRODUCT}_SR_B{number}.TIF", _c2_dn(dn[index] / 10000), crs=CRS,
                                transform=TRANSFORM)) for index, number in ((0, 2), (1, 3))]
    gdal.BuildVRT(str(tmp_path / "stack.vrt"), sources, separate=True).FlushCache()
    decision = scaling.decide(gdal.Open(str(tmp_path / "stack.vrt")), [1, 2], S2)
    assert "Landsat Collection 2 Level-2" in decision.why and f"{C2_PRODUCT}_SR_B2.TIF" in decision.why


def test_the_bundled_model_masks_a_usgs_landsat_file_as_the_same_reflectance_in_sentinel2_dn(tmp_path, data_dir):
    """cloudmask's engine on one real chip's reflectance, stored as Sentinel-2 DN and as Landsat C2 L2 DN: the
    masks agree (they differ only where C2's coarser DN step moves a pixel across the class boundary)."""
    from labelmigration.core.models.cloud_classes import predict_clouds

    dn, _ = _chip_dn(data_dir)
    masks = []
    for name, values in (("s2.tif", dn), (f"{C2_PRODUCT}_SR.tif", _c2_dn(dn / 10000))):
        path = write_raster(tmp_path / name, values, crs=CRS, transform=TRANSFORM,
                            descriptions=("blue", "green", "red", "nir"))
        result, _ = predict_clouds(str(path), str(BUNDLED), {"classes": str(tmp_path / f"{name}.mask.tif")})
        assert result.warnings == []
        masks.append(gdal.Open(str(tmp_path / f"{name}.mask.tif")).ReadAsArray())
    assert (masks[0] == masks[1]).mean() > 0.999 and 0.2 < (masks[0] == 1).mean() < 0.8


def test_an_8bit_image_into_a_reflectance_model_warns_that_it_is_darker_than_any_scene(tmp_path, data_dir):
    """A real chip as an 8-bit display image (its reflectance stretched to 0-255, as a JPEG or PNG export holds it):
    read as the bundled model's DN, 255 is reflectance 0.0255 (DN x 1e-4, the model's metadata), darker than any real
    scene, and the model then calls every pixel one dark class. Before, that ran without a warning. A Deepness model
    (no reflectance_scale) takes 8-bit values as they are, so it gets no such warning."""
    dn, _ = _chip_dn(data_dir)
    stretched = np.clip(dn / 10000 / 0.4 * 255, 0, 255).round().astype(np.uint8)
    path = write_raster(tmp_path / "display.tif", stretched, crs=CRS, transform=TRANSFORM,
                        descriptions=("blue", "green", "red", "nir"))
    decision = scaling.decide(gdal.Open(str(path)), [1, 2, 3, 4], load_model(str(BUNDLED)).info)
    assert decision.choice == "8bit" and len(decision.warnings) == 1
    assert "stands for reflectance 0.0255" in decision.warnings[0] and "8-bit image" in decision.warnings[0]
    result = predict_raster(str(path), str(BUNDLED), {"classes": str(tmp_path / "mask.tif")}, only_class=(1, 2))
    assert any("0.0255" in warning for warning in result.warnings)
    assert any(warning.startswith("Every valid pixel was classified") for warning in result.warnings)
    deepness = scaling.decide(gdal.Open(str(path)), [1], DEEPNESS)
    assert not any("darker than any real scene" in warning for warning in deepness.warnings)


def test_8bit_values_in_a_16bit_file_warn_and_real_dn_and_reflectance_do_not(tmp_path, data_dir):
    """The brightest sampled pixel of every band below reflectance 0.03: the real chip's 8-bit display stretch kept in
    a uint16 file (read as DN: 255 x 1e-4). The same chip as DN and as reflectance gets no warning (the expected
    answer: the chip's own reflectance, DN / 10000 as On Cloud N publishes it)."""
    dn, _ = _chip_dn(data_dir)
    stretched = np.clip(dn / 10000 / 0.4 * 255, 0, 255).round().astype(np.uint16)
    decision = scaling.decide(_dataset(tmp_path, stretched, name="display16.tif"), [1, 2, 3, 4], S2)
    assert decision.choice == "dn" and len(decision.warnings) == 1
    assert "darker than any real scene" in decision.warnings[0] and "16-bit file" in decision.warnings[0]
    for name, values in (("dn.tif", dn), ("refl.tif", (dn / 10000).astype(np.float32))):
        decision = scaling.decide(_dataset(tmp_path, values, name=name), [1, 2, 3, 4], S2)
        assert decision.warnings == [], name
