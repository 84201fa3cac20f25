"""ukis-csmask's models run by our inference engine, checked against the package's own code and real labels."""
import json
import os
import sys

import numpy as np
import pytest
import rasterio

pytest.importorskip("onnxruntime")

from labelmigration.core.models import csmask  # noqa: E402
from labelmigration.core.models.band_selection import select_bands  # noqa: E402
from labelmigration.core.models.input_scaling import scaling_for  # noqa: E402
from labelmigration.core.models.model_info import ModelInfo  # noqa: E402
from labelmigration.core.models.onnx_model import Model, load_model, run_batch  # noqa: E402
from labelmigration.core.models.predict import predict_raster  # noqa: E402
from labelmigration.core.models.tiling import read_tile  # noqa: E402
from labelmigration.core.util.errors import LabelMigrationError, MissingDependency  # noqa: E402
from labelmigration.tests.support.rasters import from_origin, write_raster  # noqa: E402

CRS = "EPSG:32633"
TRANSFORM = from_origin(500000, 4000000, 10, 10)
UKIS_BANDS_4 = ["blue", "green", "red", "nir"]


@pytest.fixture(scope="module")
def ukis():
    return pytest.importorskip("ukis_csmask", reason="pip install ukis-csmask==1.0.0 (requirements-dev.txt)")


# ----- engine additions: output_activation, a metadata override, one class of several ---------------

def test_output_activation_sigmoid_from_metadata(tmp_path):
    pytest.importorskip("onnx")
    from labelmigration.tests.support.onnx_models import conv_model, conv_reference

    weights = np.array([[[[2.0]], [[-3.0]]]], np.float32)
    dn = np.random.default_rng(3).integers(1, 10000, size=(2, 20, 30)).astype(np.uint16)
    image = write_raster(tmp_path / "in.tif", dn, CRS, TRANSFORM)
    logits = conv_model(tmp_path / "logits.onnx", weights, [0.5], sigmoid=False,
                        metadata={"reflectance_scale": 1e-4, "output_activation": "sigmoid"})
    out = str(tmp_path / "p.tif")
    predict_raster(str(image), str(logits), {"probability": out}, tile_size=16, overlap=4)
    with rasterio.open(out) as dataset:
        np.testing.assert_allclose(dataset.read(), conv_reference(dn * 1e-4, weights, [0.5]), atol=1e-6)


def test_softmax_override_and_only_class(tmp_path):
    pytest.importorskip("onnx")
    from labelmigration.tests.support.onnx_models import conv_model, conv_reference

    weights = np.array([[[[1.0]], [[0.0]]], [[[0.0]], [[1.0]]], [[[-1.0]], [[-1.0]]]], np.float32)  # 3 classes
    bias = [0.0, 0.0, 1.0]
    dn = np.random.default_rng(4).integers(1, 30000, size=(2, 24, 24)).astype(np.uint16)
    image = write_raster(tmp_path / "in.tif", dn, CRS, TRANSFORM)
    model = conv_model(tmp_path / "logits.onnx", weights, bias, sigmoid=False)  # no metadata in the file
    # standardization_std 1 / (255 x 1e-4): Deepness's (DN / 255 - 0) / std is DN x 1e-4 (core.models.input_scaling)
    info = ModelInfo(class_names={0: "clear", 1: "cloud", 2: "shadow"}, reflectance_scale=1e-4,
                     standardization_std=[1 / (255 * 1e-4)], output_activation="softmax", tile_size=16,
                     tiles_overlap=25)
    out = {"probability": str(tmp_path / "p.tif"), "classes": str(tmp_path / "c.tif")}
    result = predict_raster(str(image), str(model), out, model_info=info, only_class=1)
    logits = conv_reference(dn * 1e-4, weights, bias, sigmoid_out=False)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=0)
    expected_mask = (np.argmax(softmax, axis=0) == 1).astype(np.uint8)
    assert 0 < expected_mask.sum() < expected_mask.size  # the test image has both
    with rasterio.open(out["probability"]) as probability, rasterio.open(out["classes"]) as classes:
        assert probability.count == 1 and probability.descriptions == ("cloud",)
        np.testing.assert_allclose(probability.read(1), softmax[1], atol=1e-5)
        np.testing.assert_array_equal(classes.read(1), expected_mask)
    assert result.stats["classes"]["counts"] == {"not cloud": int(expected_mask.size - expected_mask.sum()),
                                                 "cloud": int(expected_mask.sum())}
    # with a threshold the mask is the class's probability against it, not the argmax
    predict_raster(str(image), str(model), {"classes": str(tmp_path / "t.tif")}, model_info=info,
                   only_class=1, threshold=0.2)
    with rasterio.open(tmp_path / "t.tif") as classes:
        np.testing.assert_array_equal(classes.read(1), (softmax[1] >= 0.2).astype(np.uint8))
    with pytest.raises(LabelMigrationError, match="no class 3"):
        predict_raster(str(image), str(model), {"classes": str(tmp_path / "x.tif")}, model_info=info,
                       only_class=3)
    assert not (tmp_path / "x.tif").exists()


def test_bad_output_activation_in_metadata():
    with pytest.raises(LabelMigrationError, match="output_activation"):
        ModelInfo.from_metadata({"output_activation": '"relu"'}, "m.onnx")
    assert ModelInfo.from_metadata({"output_activation": '"Softmax"'}).output_activation == "softmax"


# ----- ukis-csmask model cards ---------------------------------------------------------------------

@pytest.mark.parametrize("variant", csmask.UKIS_VARIANTS)
def test_model_info_matches_the_package_json(ukis, variant):
    path, info = csmask.ukis_model(variant)
    folder = os.path.dirname(ukis.__file__)
    assert os.path.samefile(path, os.path.join(folder, f"model_{variant.replace('-', '_')}.onnx"))
    with open(os.path.join(folder, f"model_{variant.replace('-', '_')}.json")) as handle:
        data = json.load(handle)["data"]
    mean, std = data["dataset_statistics"]["img"]
    assert info.bands == data["dataset_statistics"]["band_names"]
    assert info.bands == (UKIS_BANDS_4 if variant.startswith("4b") else UKIS_BANDS_4 + ["swir16", "swir22"])
    # in Deepness's domain r / 255 with r = DN = reflectance / 1e-4 (core.models.input_scaling): divided by 255 x 1e-4
    k = 255 * 1e-4
    assert info.standardization_mean == pytest.approx([m / k for m in mean])
    assert info.standardization_std == pytest.approx([v / k for v in std])
    assert info.tile_size == data["target_size"][0] == 256 and info.tiles_overlap == 20.0
    assert info.class_names == {0: "clear", 1: "cloud", 2: "shadow"} and data["classes"] == 3
    assert (info.output_activation, info.reflectance_scale) == ("softmax", 1e-4)


def test_six_band_model_finds_sentinel2_band_names(ukis, tmp_path):
    path, info = csmask.ukis_model("6b-l2a")
    names = ["B12", "B08", "B02", "B11", "B04", "B03"]
    image = write_raster(tmp_path / "in.tif", np.ones((6, 4, 4), np.uint16), CRS, TRANSFORM, descriptions=names)
    model = Model(path, None, info, "input", 6, (256, 256))
    from osgeo import gdal
    dataset = gdal.Open(str(image))
    # blue green red nir swir16 swir22 = B02 B03 B04 B08 B11 B12
    assert select_bands(dataset, model) == [3, 6, 5, 2, 4, 1]


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ukis_csmask", None)  # import ukis_csmask now fails, find_spec finds nothing
    with pytest.raises(MissingDependency, match=r'pip install "ukis-csmask==1\.0\.0"'):
        csmask.ukis_model("4b-l2a")
    with pytest.raises(LabelMigrationError, match="Unknown ukis-csmask model '5b-l2a'"):
        csmask.ukis_model("5b-l2a")


# ----- the real model on a real labelled chip ------------------------------------------------------

# On Cloud N chip_id_1 (index 0): the data README gives ukis-csmask 4b-L2A a cloud IoU of 0.746 there
CHIP = 0
PUBLISHED_IOU = 0.746


@pytest.fixture(scope="module")
def chip(data_dir, tmp_path_factory):
    path = data_dir / "imagery/oncloudn/oncloudn_2chips.npz"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    data = np.load(path)
    image, label = data["image"][CHIP], data["label"][CHIP]
    transform = from_origin(float(data["ul_xy"][CHIP][0]), float(data["ul_xy"][CHIP][1]), 10, 10)
    tif = write_raster(tmp_path_factory.mktemp("chip") / "chip.tif", image, f"EPSG:{int(data['epsg'][CHIP])}",
                       transform, descriptions=("B02", "B03", "B04", "B08"))
    return tif, image, label


def test_ukis_model_through_our_engine_agrees_with_ukis_csmask(ukis, chip, tmp_path):
    from ukis_csmask.mask import CSmask

    tif, image, label = chip
    path, info = csmask.ukis_model("4b-l2a")
    out = {"classes": str(tmp_path / "mask.tif"), "probability": str(tmp_path / "p.tif")}
    result = predict_raster(str(tif), path, out, model_info=info, only_class=csmask.CLOUD_CLASS)
    with rasterio.open(out["classes"]) as dataset:
        ours = dataset.read(1) == 1
    reflectance = np.moveaxis(image, 0, -1).astype(np.float32) / 10000
    theirs = CSmask(reflectance, UKIS_BANDS_4, product_level="l2a", intra_op_num_threads=2,
                    providers=["CPUExecutionProvider"])

    # identical preprocessing: one tile of our standardised input is CSmask's standardised image
    model = load_model(path, info)
    from osgeo import gdal
    dataset = gdal.Open(str(tif))
    scaling = scaling_for(dataset, [1, 2, 3, 4], info)
    tile = scaling.apply(read_tile(dataset, [1, 2, 3, 4], 256, 0, (256, 256)))
    np.testing.assert_allclose(tile, np.moveaxis(theirs.img[0:256, 256:512], -1, 0), atol=1e-5)
    probability = run_batch(model, tile[np.newaxis])[0]
    np.testing.assert_allclose(probability.sum(axis=0), 1.0, atol=1e-5)

    # the masks differ only through the tiling (their 204 px stride with mirrored borders and Tukey
    # weights, our 3 x 3 tiles with Hann weights): 98.7% of the pixels agree on this chip
    reference = theirs.csm[..., 0] == csmask.CLOUD_CLASS
    assert (ours == reference).mean() >= 0.98
    assert result.stats["classes"]["counts"]["cloud"] == int(ours.sum())

    def iou(mask):
        truth = label == 1
        return (mask & truth).sum() / (mask | truth).sum()

    # measured: ours 0.747, ukis-csmask's own 0.746
    assert iou(ours) == pytest.approx(PUBLISHED_IOU, abs=0.02)
    assert iou(reference) == pytest.approx(PUBLISHED_IOU, abs=0.005)
