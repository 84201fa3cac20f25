"""The ONNX inference engine against tiny models whose outputs are computed by hand in numpy."""
import json
import os
import tracemalloc
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import rasterio
from osgeo import gdal
from rasterio.windows import Window

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from labelmigration.core.models.band_selection import select_bands  # noqa: E402
from labelmigration.core.models.model_info import ModelInfo  # noqa: E402
from labelmigration.core.models.onnx_model import load_model  # noqa: E402
from labelmigration.core.models.predict import predict_raster  # noqa: E402
from labelmigration.core.models.tiling import axis_weight, resolve_tiling, tile_starts  # noqa: E402
from labelmigration.core.util.errors import Cancelled, LabelMigrationError  # noqa: E402
from labelmigration.tests.support.onnx_models import (conv_model, conv_reference, sigmoid,  # noqa: E402
                                                      softmax_model)
from labelmigration.tests.support.rasters import from_origin, write_raster  # noqa: E402

CRS = "EPSG:32633"
TRANSFORM = from_origin(500000, 4000000, 10, 10)
W1 = np.array([[[[0.5]], [[-1.0]], [[2.0]]]], dtype=np.float32)  # (1 class, 3 bands, 1, 1)
B1 = [0.25]


def _raster(path, array, **kwargs):
    return str(write_raster(path, array, crs=CRS, transform=TRANSFORM, **kwargs))


def _read(path):
    with rasterio.open(path) as dataset:
        return dataset.read(), SimpleNamespace(crs=dataset.crs, transform=dataset.transform,
                                               nodata=dataset.nodata, descriptions=dataset.descriptions)


def _dn(rng, bands, rows, cols):
    return rng.integers(1, 10000, size=(bands, rows, cols)).astype(np.uint16)


def test_model_metadata_is_read(tmp_path):
    path = conv_model(tmp_path / "m.onnx", W1, B1, metadata={
        "model_type": "Segmentor", "class_names": {"0": "clear", "1": "cloud"}, "resolution": 1000,
        "tile_size": 64, "tiles_overlap": 20, "standardization_mean": [0.1, 0.2, 0.3],
        "standardization_std": [1, 2, 3], "seg_thresh": 0.4, "bands": ["B04", "B03", "B02"],
        "reflectance_scale": 0.0001, "standardization_domain": "deepness"}, raw_metadata=True)
    model = load_model(str(path))
    info = model.info
    assert not info.legacy_standardization and not model.warnings
    assert info.class_names == {0: "clear", 1: "cloud"}
    assert (info.tile_size, info.tiles_overlap, info.seg_thresh, info.resolution) == (64, 20.0, 0.4, 1000.0)
    assert info.bands == ["B04", "B03", "B02"] and info.reflectance_scale == 0.0001
    assert info.standardization_std == [1.0, 2.0, 3.0]
    assert model.channels == 3 and model.fixed_size is None
    assert resolve_tiling(model, None, None) == ((64, 64), 13)


def test_a_model_exported_before_the_deepness_domain_is_read_as_it_was_meant(tmp_path):
    """A model of this project's former export (reflectance_scale, standardization in reflectance, no
    standardization_domain) gets the input it was trained on, (DN x scale + offset - mean) / std, and a warning."""
    mean, std, scale, offset = [0.1, 0.2], [0.05, 0.5], 1e-4, -0.1
    identity = np.eye(2, dtype=np.float32).reshape(2, 2, 1, 1)
    path = conv_model(tmp_path / "old.onnx", identity, [0.0, 0.0], sigmoid=False, raw_metadata=True, metadata={
        "model_type": "Segmentor", "standardization_mean": mean, "standardization_std": std,
        "reflectance_scale": scale, "reflectance_offset": offset})
    model = load_model(str(path))
    assert model.info.legacy_standardization and "standardization_domain" in " ".join(model.warnings)
    dn = _dn(np.random.default_rng(3), 2, 16, 20)
    image = _raster(tmp_path / "in.tif", dn)
    out = {"probability": str(tmp_path / "p.tif")}
    predict_raster(image, str(path), out, tile_size=8, input_scaling="dn")
    got = gdal.Open(out["probability"]).ReadAsArray()
    expected = (dn * np.float32(scale) + np.float32(offset) - np.array(mean, np.float32)[:, None, None]) / \
        np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_model_info_writes_the_metadata_it_reads():
    """ModelInfo.to_metadata is what training/export.py writes; reading it back gives the same ModelInfo, and a model
    of the former export (standardization in reflectance) is written in the Deepness domain with the same meaning."""
    info = ModelInfo(class_names={0: "clear", 1: "cloud"}, resolution=1000.0, tile_size=64, tiles_overlap=20.0,
                     standardization_mean=[0.5], standardization_std=[2.0], standardization_domain="deepness",
                     seg_thresh=0.4, bands=["red"], reflectance_scale=1e-4, input_range=[[-1.0, 3.0]],
                     class_colors={1: "#ffffff"})
    props = info.to_metadata()
    assert json.loads(props["class_names"]) == {"0": "clear", "1": "cloud"} and "output_activation" not in props
    assert json.loads(props["class_colors"]) == {"1": "#ffffff"}
    assert ModelInfo.from_metadata(props) == replace(info, head_names=[info.class_names])
    legacy = ModelInfo.from_metadata({"standardization_mean": "[0.1]", "standardization_std": "[0.05]",
                                      "reflectance_scale": "0.0001"})
    again = ModelInfo.from_metadata(legacy.to_metadata())
    assert legacy.legacy_standardization and not again.legacy_standardization
    assert (again.standardization_mean, again.standardization_std) == (legacy.standardization_mean,
                                                                       legacy.standardization_std)
    assert "class_colors" not in legacy.to_metadata()  # no colours: no key (Deepness's own models have none)
    with pytest.raises(LabelMigrationError, match="class_colors"):
        ModelInfo.from_metadata({"class_colors": '{"1": "green"}'}, "m.onnx")


def test_one_by_one_model_exact_per_pixel(tmp_path):
    rng = np.random.default_rng(1)
    dn = _dn(rng, 3, 37, 45)
    image = _raster(tmp_path / "in.tif", dn)
    model = conv_model(tmp_path / "m.onnx", W1, B1, metadata={"reflectance_scale": 0.0001, "seg_thresh": 0.6})
    out = {"probability": str(tmp_path / "p.tif"), "classes": str(tmp_path / "c.tif")}
    result = predict_raster(image, str(model), out, tile_size=16, overlap=4)
    expected = conv_reference(dn * 0.0001, W1, B1)
    probability, dataset = _read(out["probability"])
    assert dataset.crs.to_epsg() == 32633 and dataset.transform == TRANSFORM
    np.testing.assert_allclose(probability, expected, atol=1e-6)
    classes, _ = _read(out["classes"])
    np.testing.assert_array_equal(classes[0], (probability[0] >= 0.6).astype(np.uint8))
    assert result.tiles == 4 * 3 and result.valid_pixels == 37 * 45
    assert result.stats["classes"]["counts"]["1"] == int((probability >= 0.6).sum())
    assert result.stats["probability"]["mean"][0] == pytest.approx(float(expected.mean()), abs=1e-6)


def test_bands_by_description_with_aliases(tmp_path):
    rng = np.random.default_rng(2)
    dn = _dn(rng, 4, 20, 20)
    image = _raster(tmp_path / "in.tif", dn, descriptions=["B08", "B04", "B03", "B02"])
    model = conv_model(tmp_path / "m.onnx", W1, B1, metadata={"bands": ["red", "Green", "blue"],
                                                              "reflectance_scale": 0.0001})
    dataset = gdal.Open(image)
    assert select_bands(dataset, load_model(str(model))) == [2, 3, 4]
    dataset = None
    out = {"probability": str(tmp_path / "p.tif")}
    predict_raster(image, str(model), out, tile_size=8)
    np.testing.assert_allclose(_read(out["probability"])[0], conv_reference(dn[[1, 2, 3]] * 0.0001, W1, B1),
                               atol=1e-6)


def test_bands_by_explicit_numbers_names_and_default(tmp_path):
    image = _raster(tmp_path / "in.tif", _dn(np.random.default_rng(3), 4, 8, 8),
                    descriptions=["blue", "green", "red", "nir"])
    model = load_model(str(conv_model(tmp_path / "m.onnx", W1, B1)))
    dataset = gdal.Open(image)
    assert select_bands(dataset, model, [4, "2", 1]) == [4, 2, 1]
    assert select_bands(dataset, model, ["B08", "red", "B02"]) == [4, 3, 1]
    assert select_bands(dataset, model) == [1, 2, 3]
    with pytest.raises(LabelMigrationError, match="takes 3 bands but 2 were chosen"):
        select_bands(dataset, model, [1, 2])
    with pytest.raises(LabelMigrationError, match="has no band 7"):
        select_bands(dataset, model, [7, 1, 2])


def test_landsat_nir08_is_nir_only_where_no_band_is_nir(tmp_path):
    """Expected from the STAC catalogues' asset names: landsat-c2-l2 (Earth Search, Planetary Computer) calls
    Landsat's NIR band nir08; Earth Search's sentinel-2-l2a calls B08 nir and B8A nir08."""
    bands = {"bands": ["blue", "red", "nir"]}
    model = load_model(str(conv_model(tmp_path / "m.onnx", W1, B1, metadata=bands)))
    landsat = _raster(tmp_path / "landsat.tif", _dn(np.random.default_rng(5), 4, 8, 8),
                      descriptions=["blue", "green", "red", "nir08"])
    assert select_bands(gdal.Open(landsat), model) == [1, 3, 4]
    sentinel = _raster(tmp_path / "s2.tif", _dn(np.random.default_rng(5), 5, 8, 8),
                       descriptions=["blue", "red", "nir08", "nir", "swir16"])
    assert select_bands(gdal.Open(sentinel), model) == [1, 2, 4]


def test_unnamed_bands_are_read_in_order_and_the_decision_is_reported(tmp_path):
    dn = _dn(np.random.default_rng(6), 4, 8, 8)
    image = _raster(tmp_path / "in.tif", dn)  # no band descriptions at all
    model = conv_model(tmp_path / "m.onnx", W1, B1, metadata={"bands": ["blue", "green", "red"],
                                                              "reflectance_scale": 0.0001})
    notes = []
    assert select_bands(gdal.Open(image), load_model(str(model)), notes=notes) == [1, 2, 3]
    assert "carry no names" in notes[0] and "blue, green, red" in notes[0]
    result = predict_raster(image, str(model), {"probability": str(tmp_path / "p.tif")}, tile_size=8)
    assert any("carry no names" in warning for warning in result.warnings)
    np.testing.assert_allclose(_read(str(tmp_path / "p.tif"))[0], conv_reference(dn[:3] * 0.0001, W1, B1), atol=1e-6)
    partly = _raster(tmp_path / "partly.tif", dn, descriptions=["blue", "", "", ""])
    with pytest.raises(LabelMigrationError, match="green"):  # some names: matched by name, no guessing
        select_bands(gdal.Open(partly), load_model(str(model)))


def test_missing_band_is_named_with_the_rasters_bands(tmp_path):
    image = _raster(tmp_path / "in.tif", _dn(np.random.default_rng(4), 3, 8, 8),
                    descriptions=["blue", "green", "red"])
    model = conv_model(tmp_path / "m.onnx", W1, B1, metadata={"bands": ["red", "B11", "blue"]})
    with pytest.raises(LabelMigrationError) as error:
        predict_raster(image, str(model), {"probability": str(tmp_path / "p.tif")})
    assert "B11" in str(error.value) and "'blue'" in str(error.value) and "in.tif" in str(error.value)
    assert not os.path.exists(tmp_path / "p.tif")


def test_too_few_bands_for_the_default(tmp_path):
    image = _raster(tmp_path / "in.tif", _dn(np.random.default_rng(4), 2, 8, 8))
    model = conv_model(tmp_path / "m.onnx", W1, B1)
    with pytest.raises(LabelMigrationError, match="takes 3 bands but .* has only 2"):
        predict_raster(image, str(model), {"probability": str(tmp_path / "p.tif")})


def test_band_offset_scale_then_standardization(tmp_path):
    rng = np.random.default_rng(5)
    dn = _dn(rng, 3, 19, 23)
    image = _raster(tmp_path / "in.tif", dn)
    with rasterio.open(image, "r+") as dataset:
        dataset.scales = (0.0001, 0.0001, 0.0002)
        dataset.offsets = (-0.1, -0.1, 0.0)
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    model = conv_model(tmp_path / "m.onnx", W1, B1, metadata={
        "reflectance_scale": 123.0, "standardization_mean": mean, "standardization_std": std})
    out = {"probability": str(tmp_path / "p.tif")}
    predict_raster(image, str(model), out, tile_size=8, overlap=0.25)
    reflectance = dn * np.array([1e-4, 1e-4, 2e-4])[:, None, None] + np.array([-0.1, -0.1, 0])[:, None, None]
    standard = (reflectance - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(_read(out["probability"])[0], conv_reference(standard, W1, B1), atol=1e-5)


def test_model_scaling_when_the_raster_declares_none(tmp_path):
    dn = _dn(np.random.default_rng(6), 3, 10, 10)
    image = _raster(tmp_path / "in.tif", dn)
    model = conv_model(tmp_path / "m.onnx", W1, B1, sigmoid=False,
                       metadata={"reflectance_scale": 0.0001, "reflectance_offset": -0.1})
    out = {"probability": str(tmp_path / "p.tif")}
    predict_raster(image, str(model), out)
    np.testing.assert_allclose(_read(out["probability"])[0],
                               conv_reference(dn * 1e-4 - 0.1, W1, B1, sigmoid_out=False), atol=1e-5)


@pytest.mark.parametrize("tile, overlap, fixed", [(16, 4, False), (16, 2, False), (12, 0.5, False),
                                                  (16, 3, True)])
def test_tiles_blend_without_seams(tmp_path, tile, overlap, fixed):
    """Small overlapping tiles give the whole-raster prediction everywhere: tile borders, raster edges."""
    rng = np.random.default_rng(7)
    image_values = rng.normal(size=(2, 83, 61)).astype(np.float32)
    weights = rng.normal(size=(2, 2, 3, 3)).astype(np.float32)
    bias = [0.1, -0.2]
    image = _raster(tmp_path / "in.tif", image_values)
    model = conv_model(tmp_path / "m.onnx", weights, bias, size=tile if fixed else None)
    out = {"probability": str(tmp_path / "p.tif")}
    result = predict_raster(image, str(model), out, tile_size=tile, overlap=overlap, batch_size=3)
    assert result.tiles > 20
    np.testing.assert_allclose(_read(out["probability"])[0], conv_reference(image_values, weights, bias),
                               atol=1e-5, rtol=0)


def test_raster_smaller_than_a_tile_is_padded(tmp_path):
    dn = _dn(np.random.default_rng(8), 3, 5, 7)
    image = _raster(tmp_path / "in.tif", dn)
    model = conv_model(tmp_path / "m.onnx", W1, B1, size=16, metadata={"reflectance_scale": 1e-4})
    out = {"probability": str(tmp_path / "p.tif")}
    result = predict_raster(image, str(model), out)
    assert result.tiles == 1 and result.tile_size == (16, 16)
    np.testing.assert_allclose(_read(out["probability"])[0], conv_reference(dn * 1e-4, W1, B1), atol=1e-6)


def test_blending_weights_are_positive_inside_the_raster():
    for length, tile, overlap in [(83, 16, 2), (100, 10, 3), (16, 16, 2), (17, 16, 2), (5, 16, 2)]:
        total = np.zeros(length)
        for start in tile_starts(length, tile, tile - overlap):
            weight = axis_weight(start, tile, length)
            end = min(length, start + tile)
            total[start:end] += weight[: end - start]
        assert (total > 0).all(), (length, tile, overlap)


def test_nodata_stays_nodata(tmp_path):
    rng = np.random.default_rng(9)
    dn = _dn(rng, 3, 30, 30)
    dn[1, 3:7, 10:20] = 0
    dn[2, 25, 25] = 0
    image = _raster(tmp_path / "in.tif", dn, nodata=0)
    model = conv_model(tmp_path / "m.onnx", W1, B1, metadata={"reflectance_scale": 1e-4})
    out = {"probability": str(tmp_path / "p.tif"), "classes": str(tmp_path / "c.tif")}
    result = predict_raster(image, str(model), out, tile_size=8)
    invalid = (dn == 0).any(axis=0)
    probability, dataset = _read(out["probability"])
    assert np.isnan(dataset.nodata)
    assert np.isnan(probability[0][invalid]).all() and not np.isnan(probability[0][~invalid]).any()
    np.testing.assert_allclose(probability[0][~invalid], conv_reference(dn * 1e-4, W1, B1)[0][~invalid], atol=1e-6)
    classes, dataset = _read(out["classes"])
    assert dataset.nodata == 255 and (classes[0][invalid] == 255).all() and (classes[0][~invalid] <= 1).all()
    assert result.valid_pixels == int((~invalid).sum())


def test_multiclass_argmax_and_threshold(tmp_path):
    dn = _dn(np.random.default_rng(10), 2, 21, 17)
    weights = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], dtype=np.float32)
    bias = [0.0, 0.1, 0.2]
    image = _raster(tmp_path / "in.tif", dn)
    model = softmax_model(tmp_path / "m.onnx", weights, bias, metadata={
        "reflectance_scale": 0.001, "seg_thresh": 0.5, "class_names": {"0": "a", "1": "b", "2": "c"}})
    out = {"probability": str(tmp_path / "p.tif"), "classes": str(tmp_path / "c.tif")}
    result = predict_raster(image, str(model), out, tile_size=8)
    logits = np.einsum("kc,cyx->kyx", weights, dn * 0.001) + np.array(bias)[:, None, None]
    expected = np.exp(logits) / np.exp(logits).sum(axis=0)
    probability, dataset = _read(out["probability"])
    assert dataset.descriptions == ("a", "b", "c")
    np.testing.assert_allclose(probability, expected, atol=1e-6)
    expected_classes = np.where(expected.max(axis=0) < 0.5, 0, expected.argmax(axis=0))
    np.testing.assert_array_equal(_read(out["classes"])[0][0], expected_classes)
    assert sum(result.stats["classes"]["counts"].values()) == 21 * 17


def test_a_file_that_is_not_onnx_is_named(tmp_path):
    fake = tmp_path / "model.onnx"
    fake.write_text("not a model")
    with pytest.raises(LabelMigrationError, match="model.onnx' is not an ONNX model"):
        load_model(str(fake))
    with pytest.raises(LabelMigrationError, match="missing.onnx' does not exist"):
        load_model(str(tmp_path / "missing.onnx"))


def test_cancel_leaves_no_output(tmp_path):
    image = _raster(tmp_path / "in.tif", _dn(np.random.default_rng(11), 3, 40, 40))
    model = conv_model(tmp_path / "m.onnx", W1, B1)
    calls = []
    out = {"probability": str(tmp_path / "p.tif"), "classes": str(tmp_path / "c.tif")}
    with pytest.raises(Cancelled):
        predict_raster(image, str(model), out, tile_size=8, batch_size=2,
                       progress=calls.append, is_cancelled=lambda: len(calls) >= 2)
    assert sorted(os.listdir(tmp_path)) == ["in.tif", "m.onnx"]


def test_progress_reaches_one(tmp_path):
    image = _raster(tmp_path / "in.tif", _dn(np.random.default_rng(12), 3, 40, 40))
    model = conv_model(tmp_path / "m.onnx", W1, B1)
    seen = []
    predict_raster(image, str(model), {"classes": str(tmp_path / "c.tif")}, tile_size=8,
                   batch_size=2, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 10


def test_unknown_output_role(tmp_path):
    image = _raster(tmp_path / "in.tif", _dn(np.random.default_rng(13), 3, 8, 8))
    model = conv_model(tmp_path / "m.onnx", W1, B1)
    with pytest.raises(LabelMigrationError, match="Unknown output 'mask'"):
        predict_raster(image, str(model), {"mask": str(tmp_path / "x.tif")})


def test_memory_stays_bounded_by_tile_rows(tmp_path):
    """A 4000 x 4000 raster (64 MB as float32) predicted with 256 px tiles: numpy's peak is a few tile rows."""
    size = 4000
    path = tmp_path / "big.tif"
    profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="uint16", crs=CRS,
                   transform=TRANSFORM, tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "w", **profile) as dataset:
        for row in range(0, size, 500):
            block = (np.arange(row, row + 500)[:, None] + np.arange(size)[None, :]) % 10000
            dataset.write(block.astype(np.uint16)[np.newaxis], window=Window(0, row, size, 500))
    model = conv_model(tmp_path / "m.onnx", np.array([[[[0.001]]]], np.float32), [-5.0])
    out = {"probability": str(tmp_path / "p.tif"), "classes": str(tmp_path / "c.tif")}
    tracemalloc.start()
    try:
        result = predict_raster(str(path), str(model), out, tile_size=256, overlap=16, batch_size=4)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    float_raster = size * size * 4
    assert result.tiles == 17 * 17
    tile_row = 256 * size * 4  # one tile row of float32 output: 3.9 MiB (measured peak: about 13 MiB)
    assert peak < 4 * tile_row, f"peak {peak / 2**20:.1f} MiB"
    assert peak < float_raster / 3
    with rasterio.open(out["probability"]) as dataset:
        window = dataset.read(1, window=Window(3990, 1234, 10, 5))
    expected = sigmoid((np.arange(1234, 1239)[:, None] + np.arange(3990, 4000)[None, :]) % 10000 * 0.001 - 5.0)
    np.testing.assert_allclose(window, expected, atol=1e-5)
