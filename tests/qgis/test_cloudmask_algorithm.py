"""cloudmask through processing.run with a tiny ONNX model whose answer is computed by hand."""
import numpy as np
import pytest
import rasterio

from labelmigration.tests.support.rasters import from_origin, write_raster

pytestmark = pytest.mark.qgis


@pytest.fixture
def scene_and_model(tmp_path):
    pytest.importorskip("onnx", reason="the onnx package builds the test model")
    from labelmigration.tests.support.onnx_models import conv_model

    # a 1x1 "cloud" model on B02/B04: probability = sigmoid(20 * (mean reflectance - 0.3))
    weights = np.array([[[[10.0]], [[10.0]]]], np.float32)
    model = conv_model(tmp_path / "cloud.onnx", weights, [-6.0], sigmoid=True,
                       metadata={"model_type": "Segmentor", "bands": ["B02", "B04"], "reflectance_scale": 1e-4,
                                 "class_names": {"0": "clear", "1": "cloud"}, "tile_size": 32, "tiles_overlap": 25})
    rows, cols = np.mgrid[0:40, 0:50]
    bright = (cols >= 25).astype(np.uint16)  # right half: reflectance 0.5 (cloud), left: 0.1 (clear)
    blue = np.where(bright, 5000, 1000).astype(np.uint16)
    red = np.where(bright, 5000, 1000).astype(np.uint16)
    nir = np.full((40, 50), 3000, np.uint16)
    blue[0, 0] = red[0, 0] = nir[0, 0] = 0  # one nodata pixel
    scene = write_raster(tmp_path / "scene.tif", np.stack([blue, nir, red]), "EPSG:32632",
                         from_origin(500_000, 5_000_000, 10, 10), nodata=0, descriptions=("B02", "B08", "B04"))
    return scene, model


def test_cloud_mask_probability_and_percent(run, scene_and_model, tmp_path):
    scene, model = scene_and_model
    result = run("cloudmask", {"INPUT": str(scene), "MODEL": str(model), "OUTPUT": str(tmp_path / "mask.tif"),
                               "OUTPUT_PROBABILITY": str(tmp_path / "probability.tif")})
    with rasterio.open(result["OUTPUT"]) as mask, rasterio.open(result["OUTPUT_PROBABILITY"]) as probability:
        values = mask.read(1)
        assert values[0, 0] == 255 and mask.nodata == 255
        assert (values[:, 25:] == 1).all() and (values[1:, :25] == 0).all()
        p = probability.read(1)
        assert p[5, 40] == pytest.approx(1 / (1 + np.exp(-(10 * 0.5 + 10 * 0.5 - 6))), rel=1e-5)
        assert p[5, 5] == pytest.approx(1 / (1 + np.exp(-(10 * 0.1 + 10 * 0.1 - 6))), rel=1e-5)
    # 40 * 25 cloud pixels of 40 * 50 - 1 valid ones
    assert result["CLOUD_PERCENT"] == pytest.approx(100 * 1000 / 1999)


def test_threshold_and_bad_inputs(run, scene_and_model, tmp_path):
    from qgis.core import QgsProcessingException

    scene, model = scene_and_model
    result = run("cloudmask", {"INPUT": str(scene), "MODEL": str(model), "THRESHOLD": 0.01,
                               "OUTPUT": str(tmp_path / "mask.tif")})
    assert result["CLOUD_PERCENT"] == pytest.approx(100.0)  # sigmoid(-4) = 0.018 > 0.01: all cloud
    not_onnx = tmp_path / "model.onnx"
    not_onnx.write_text("not a model")
    with pytest.raises(QgsProcessingException, match=r"model\.onnx"):
        run("cloudmask", {"INPUT": str(scene), "MODEL": str(not_onnx), "OUTPUT": str(tmp_path / "m2.tif")})
    two_bands = write_raster(tmp_path / "two.tif", np.ones((2, 8, 8), np.uint16), "EPSG:32632",
                             from_origin(500_000, 5_000_000, 10, 10), descriptions=("B08", "B11"))
    with pytest.raises(QgsProcessingException, match="B02"):
        run("cloudmask", {"INPUT": str(two_bands), "MODEL": str(model), "OUTPUT": str(tmp_path / "m3.tif")})
    assert not (tmp_path / "m2.tif").exists() and not (tmp_path / "m3.tif").exists()


def test_cloud_polygons_drop_small_specks(run, scene_and_model, tmp_path):
    from qgis.core import QgsVectorLayer

    scene, model = scene_and_model
    result = run("cloudmask", {"INPUT": str(scene), "MODEL": str(model), "OUTPUT": str(tmp_path / "mask.tif"),
                               "OUTPUT_VECTOR": str(tmp_path / "clouds.gpkg"), "MIN_AREA": 1000})
    layer = QgsVectorLayer(result["OUTPUT_VECTOR"], "clouds", "ogr")
    areas = sorted(f["area"] for f in layer.getFeatures())
    assert areas == [pytest.approx(40 * 25 * 100.0)]  # the cloudy right half, 40 x 25 pixels of 10 m
    result = run("cloudmask", {"INPUT": str(scene), "MODEL": str(model), "OUTPUT": str(tmp_path / "mask2.tif"),
                               "OUTPUT_VECTOR": str(tmp_path / "none.gpkg"), "MIN_AREA": 200_000})
    assert QgsVectorLayer(result["OUTPUT_VECTOR"], "none", "ogr").featureCount() == 0


@pytest.fixture
def reflectance_scene(tmp_path):
    """A 300 x 300 four-band scene: a bright white (cloud-like) square on dark vegetation."""
    rows, cols = np.mgrid[0:300, 0:300]
    bright = (rows >= 80) & (rows < 220) & (cols >= 80) & (cols < 220)
    vegetation = np.array([300, 600, 400, 3000], np.uint16)[:, None, None]
    cloud = np.array([7000, 7000, 7000, 7200], np.uint16)[:, None, None]
    image = np.where(bright[None], cloud, vegetation).astype(np.uint16)
    return write_raster(tmp_path / "s2.tif", image, "EPSG:32632", from_origin(500_000, 5_000_000, 10, 10),
                        nodata=0, descriptions=("B02", "B03", "B04", "B08")), bright


def test_builtin_ukis_model(run, data_dir, tmp_path):
    pytest.importorskip("ukis_csmask", reason="pip install ukis-csmask==1.0.0 (requirements-dev.txt)")
    from labelmigration.core.models.csmask import ukis_model
    from labelmigration.core.models.predict import predict_raster

    chips = np.load(data_dir / "imagery/oncloudn/oncloudn_2chips.npz")  # real S2 L2A chips with cloud labels
    image, label = chips["image"][0][:, :300, :300], chips["label"][0][:300, :300]
    scene = write_raster(tmp_path / "chip.tif", image, f"EPSG:{int(chips['epsg'][0])}",
                         from_origin(*map(float, chips["ul_xy"][0]), 10, 10), descriptions=("B02", "B03", "B04", "B08"))
    result = run("cloudmask", {"INPUT": str(scene), "BUILTIN_MODEL": 2, "OUTPUT": str(tmp_path / "mask.tif"),
                               "OUTPUT_PROBABILITY": str(tmp_path / "p.tif")})
    path, info = ukis_model("4b-l2a")
    three_classes = str(tmp_path / "classes.tif")
    predict_raster(str(scene), path, {"classes": three_classes}, model_info=info)
    with rasterio.open(result["OUTPUT"]) as mask, rasterio.open(result["OUTPUT_PROBABILITY"]) as probability, \
            rasterio.open(three_classes) as classes:
        values = mask.read(1)
        assert probability.count == 1 and probability.descriptions == ("cloud",)
        p = probability.read(1)
        argmax = classes.read(1)
    assert {0, 1, 2} <= set(np.unique(argmax))  # clear, cloud and shadow all occur on this chip
    np.testing.assert_array_equal(values, (argmax == 1).astype(np.uint8))  # shadow is not cloud
    assert (p[values == 1] > 1 / 3).all()
    assert (values == label).mean() > 0.8  # measured 0.83 against the (coarse) human label
    assert result["CLOUD_PERCENT"] == pytest.approx(100.0 * values.mean())
    assert result["SHADOW_PERCENT"] == 0.0  # not asked for
    # SHADOW: the mask is ukis-csmask's own three classes, the argmax computed above (0 clear, 1 cloud, 2 shadow)
    result = run("cloudmask", {"INPUT": str(scene), "BUILTIN_MODEL": 2, "SHADOW": True,
                               "OUTPUT": str(tmp_path / "mask_shadow.tif")})
    with rasterio.open(result["OUTPUT"]) as mask:
        np.testing.assert_array_equal(mask.read(1), argmax)
    assert result["CLOUD_PERCENT"] == pytest.approx(100.0 * (argmax == 1).mean())
    assert result["SHADOW_PERCENT"] == pytest.approx(100.0 * (argmax == 2).mean())


def test_model_file_wins_over_builtin_model(run, scene_and_model, tmp_path):
    scene, model = scene_and_model
    # BUILTIN_MODEL 0 (the bundled model) or a ukis one would give other answers or fail; MODEL decides
    for builtin in (0, 4):
        result = run("cloudmask", {"INPUT": str(scene), "MODEL": str(model), "BUILTIN_MODEL": builtin,
                                   "OUTPUT": str(tmp_path / f"mask{builtin}.tif")})
        assert result["CLOUD_PERCENT"] == pytest.approx(100 * 1000 / 1999)


def test_missing_bundled_model_is_explained(run, reflectance_scene, tmp_path, monkeypatch):
    from qgis.core import QgsProcessingException

    from labelmigration.processing import cloud_mask

    monkeypatch.setattr(cloud_mask, "BUNDLED_MODEL", str(tmp_path / "models" / "cloud_s2_4band.onnx"))
    scene, _ = reflectance_scene
    with pytest.raises(QgsProcessingException, match=r"bundled cloud model .*cloud_s2_4band\.onnx.* MODEL"):
        run("cloudmask", {"INPUT": str(scene), "OUTPUT": str(tmp_path / "mask.tif")})  # BUILTIN_MODEL 0: default
    assert not (tmp_path / "mask.tif").exists()


def test_builtin_ukis_model_without_the_package(run, reflectance_scene, tmp_path, monkeypatch):
    import sys

    from qgis.core import QgsProcessingException

    monkeypatch.setitem(sys.modules, "ukis_csmask", None)
    scene, _ = reflectance_scene
    with pytest.raises(QgsProcessingException, match=r'pip install "ukis-csmask==1\.0\.0"'):
        run("cloudmask", {"INPUT": str(scene), "BUILTIN_MODEL": 1, "OUTPUT": str(tmp_path / "mask.tif")})


def test_bundled_model_is_the_default(run, data_dir, tmp_path):
    """No MODEL and no BUILTIN_MODEL: the model shipped in models/ masks a real On Cloud N chip."""
    import json
    import os

    import onnxruntime

    from labelmigration.core.models.cloud_classes import predict_clouds
    from labelmigration.processing.cloud_mask import BUNDLED_MODEL

    assert os.path.getsize(BUNDLED_MODEL) < 10 * 1024 * 1024
    assert os.path.isfile(BUNDLED_MODEL[:-len(".onnx")] + ".md")  # its model card
    meta = onnxruntime.InferenceSession(BUNDLED_MODEL, providers=["CPUExecutionProvider"]).get_modelmeta()
    assert json.loads(meta.custom_metadata_map["bands"]) == ["blue", "green", "red", "nir"]
    chips = np.load(data_dir / "imagery/oncloudn/oncloudn_2chips.npz")
    image, label = chips["image"][0], chips["label"][0]
    scene = write_raster(tmp_path / "chip.tif", image, f"EPSG:{int(chips['epsg'][0])}",
                         from_origin(*map(float, chips["ul_xy"][0]), 10, 10), descriptions=("B02", "B03", "B04", "B08"))
    result = run("cloudmask", {"INPUT": str(scene), "OUTPUT": str(tmp_path / "mask.tif")})
    explicit = str(tmp_path / "explicit.tif")
    # the core's cloud mask of the bundled model (its classes decided by core.models.cloud_classes, whatever its
    # channels)
    predict_clouds(str(scene), BUNDLED_MODEL, {"classes": explicit})
    with rasterio.open(result["OUTPUT"]) as mask, rasterio.open(explicit) as same:
        values = mask.read(1)
        np.testing.assert_array_equal(values, same.read(1))
    assert set(np.unique(values)) == {0, 1}
    # a real chip with a human label; the shipped model trained on all five chips (its card gives the figures
    # of folds that did not see them), so this checks that the default model is wired up, not how good it is
    assert (values == label).mean() > 0.75
    assert result["CLOUD_PERCENT"] == pytest.approx(100.0 * values.mean())


# ----- SHADOW: a 3-class clear / cloud / shadow model ---------------------------------------------------------------

class _Recorder:
    """A feedback that keeps the log lines (made lazily: QGIS must be up)."""

    def __new__(cls):
        from qgis.core import QgsProcessingFeedback

        class Recorder(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.lines = []

            def pushInfo(self, text):  # noqa: N802
                self.lines.append(text)
                super().pushInfo(text)

        return Recorder()


@pytest.fixture
def three_class_scene(tmp_path):
    """Columns 0-19 bright (reflectance 0.5), 20-29 very dark (0.02), 30-49 clear (0.12); pixel (0, 0) nodata; and
    the tiny model of tests/support/onnx_models.py whose rule makes them cloud, shadow and clear."""
    pytest.importorskip("onnx", reason="the onnx package builds the test model")
    from labelmigration.tests.support.onnx_models import cloud_shadow_model

    dn = np.full((4, 40, 50), 1200, np.uint16)
    dn[:, :, :20] = 5000
    dn[:, :, 20:30] = 200
    dn[:, 0, 0] = 0
    scene = write_raster(tmp_path / "scene3.tif", dn, "EPSG:32632", from_origin(500_000, 5_000_000, 10, 10),
                         nodata=0, descriptions=("B02", "B03", "B04", "B08"))
    return scene, cloud_shadow_model(tmp_path / "three.onnx")


def _run_loaded(provider, parameters, tmp_path, name):
    """processing.run with OUTPUT to be loaded into the project, as from the dialog: returns the results, the log
    and the style the loaded mask gets (its paletted classes: value, label, colour)."""
    import processing
    from qgis.core import (QgsProcessingContext, QgsProcessingOutputLayerDefinition, QgsProject, QgsRasterLayer)

    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = _Recorder()
    output = str(tmp_path / name)
    parameters = dict(parameters, OUTPUT=QgsProcessingOutputLayerDefinition(output, QgsProject.instance()))
    result = processing.run("labelmigration:cloudmask", parameters, feedback=feedback, context=context)
    details = context.layerToLoadOnCompletionDetails(result["OUTPUT"])
    layer = QgsRasterLayer(output, "mask", "gdal")
    details.postProcessor().postProcessLayer(layer, context, feedback)
    style = [(int(c.value), c.label, c.color.name()) for c in layer.renderer().classes()]
    return result, feedback.lines, style


def test_shadow_marks_the_shadow_class(provider, three_class_scene, tmp_path):
    """Expected: the model's rule (bright cloud, very dark shadow) on the three column bands; the legend colours of
    qgis_common/styles.py."""
    from labelmigration.qgis_common.styles import CLOUD_COLOUR, SHADOW_COLOUR

    scene, model = three_class_scene
    result, log, style = _run_loaded(provider, {"INPUT": str(scene), "MODEL": str(model), "SHADOW": True,
                                                "OUTPUT_PROBABILITY": str(tmp_path / "p.tif")}, tmp_path, "m.tif")
    with rasterio.open(result["OUTPUT"]) as mask, rasterio.open(result["OUTPUT_PROBABILITY"]) as probability:
        values = mask.read(1)
        assert probability.count == 1 and probability.descriptions == ("cloud",)
        assert (probability.read(1)[1:, :20] > 0.99).all() and (probability.read(1)[:, 20:] < 0.01).all()
    assert values[0, 0] == 255
    assert (values[1:, :20] == 1).all() and (values[:, 20:30] == 2).all() and (values[:, 30:] == 0).all()
    valid = 40 * 50 - 1
    assert result["CLOUD_PERCENT"] == pytest.approx(100 * (40 * 20 - 1) / valid)
    assert result["SHADOW_PERCENT"] == pytest.approx(100 * 40 * 10 / valid)
    assert style == [(0, "clear", "#000000"), (1, "cloud", CLOUD_COLOUR), (2, "cloud shadow", SHADOW_COLOUR)]
    assert any("cloud = class 1 (cloud), cloud shadow = class 2 (shadow)" in line for line in log), log


def test_without_shadow_the_mask_stays_cloud_and_clear(provider, three_class_scene, tmp_path):
    scene, model = three_class_scene
    result, _log, style = _run_loaded(provider, {"INPUT": str(scene), "MODEL": str(model)}, tmp_path, "m.tif")
    with rasterio.open(result["OUTPUT"]) as mask:
        values = mask.read(1)
    assert (values[1:, :20] == 1).all() and (values[:, 20:] == 0).all()  # shadow is not cloud
    assert result["CLOUD_PERCENT"] == pytest.approx(100 * (40 * 20 - 1) / (40 * 50 - 1))
    assert result["SHADOW_PERCENT"] == 0.0
    assert [value for value, _label, _colour in style] == [0, 1]  # no shadow in the legend


def test_shadow_asked_of_a_model_without_shadow(provider, scene_and_model, tmp_path):
    """The one-channel sigmoid model above: SHADOW changes nothing, and the log says why."""
    scene, model = scene_and_model
    result, log, style = _run_loaded(provider, {"INPUT": str(scene), "MODEL": str(model), "SHADOW": True},
                                     tmp_path, "m.tif")
    with rasterio.open(result["OUTPUT"]) as mask:
        values = mask.read(1)
    assert (values[:, 25:] == 1).all() and (values[1:, :25] == 0).all()
    assert result["CLOUD_PERCENT"] == pytest.approx(100 * 1000 / 1999) and result["SHADOW_PERCENT"] == 0.0
    assert any("no cloud shadow class" in line for line in log), log
    assert [value for value, _label, _colour in style] == [0, 1]


def test_a_three_class_bundled_model_is_the_default(provider, three_class_scene, tmp_path, monkeypatch):
    """The bundled model becomes a 3-class clear / cloud / shadow model: BUILTIN_MODEL 0 runs it with the same
    rule as a MODEL file (a stand-in with the bundled model's input shape, N x 4 x 512 x 512)."""
    from labelmigration.processing import cloud_mask
    from labelmigration.tests.support.onnx_models import cloud_shadow_model

    scene, _ = three_class_scene
    monkeypatch.setattr(cloud_mask, "BUNDLED_MODEL", str(cloud_shadow_model(tmp_path / "bundled.onnx", size=512)))
    for shadow, expected_shadow in ((False, 0), (True, 2)):
        result, _log, _style = _run_loaded(provider, {"INPUT": str(scene), "SHADOW": shadow}, tmp_path,
                                           f"m{shadow}.tif")
        with rasterio.open(result["OUTPUT"]) as mask:
            values = mask.read(1)
        assert (values[1:, :20] == 1).all() and (values[:, 20:30] == expected_shadow).all()
        assert (values[:, 30:] == 0).all()


def test_bundled_model_on_a_landsat_patch_with_bands_named_as_stac_names_them(run, data_dir, tmp_path):
    """A real L8 Biome patch (Landsat 8, 30 m) as a user brings Landsat: uint16 DN (reflectance x 10000) with the
    band names of the STAC catalogues' landsat-c2-l2 assets (blue, green, red, nir08) and a stray coastal band first.

    The shipped model was trained on all 36 Biome patches (models/cloud_s2_4band.md gives the cross-validated
    figures), so this is a check that Landsat input is read by band name and masked with shadow, not a score:
    the expected answer is Biome's human label of this patch (tests/data/README.md)."""
    path = data_dir / "imagery/l8biome/l8biome_2patches.npz"
    import onnxruntime

    from labelmigration.processing.cloud_mask import BUNDLED_MODEL

    names = onnxruntime.InferenceSession(BUNDLED_MODEL, providers=["CPUExecutionProvider"]).get_modelmeta()
    if "shadow" not in names.custom_metadata_map.get("class_names", ""):
        pytest.skip("the bundled model has no shadow class")
    patches = np.load(path)
    index = [str(n) for n in patches["chip_names"]].index("GrassCrops_09_2014")  # cloud, shadow and clear ground
    reflectance, label = patches["image"][index], patches["label"][index]
    coastal = reflectance[0] * 1.1
    dn = np.clip(np.round(np.concatenate([coastal[None], reflectance]) * 10000), 1, 65535).astype(np.uint16)
    scene = write_raster(tmp_path / "landsat.tif", dn, "EPSG:32614", from_origin(500_000, 4_000_000, 30, 30),
                         descriptions=("coastal", "blue", "green", "red", "nir08"))
    result = run("cloudmask", {"INPUT": str(scene), "SHADOW": True, "OUTPUT": str(tmp_path / "mask.tif")})
    with rasterio.open(result["OUTPUT"]) as mask:
        values = mask.read(1)
    iou = _biome_cloud_iou(values, label)
    assert iou > 0.7, iou
    shadow_truth = label == 3
    assert (values[shadow_truth] == 2).mean() > 0.2  # a good part of the labelled shadow is marked shadow
    assert result["SHADOW_PERCENT"] > 1.0


def _biome_cloud_iou(mask, label) -> float:
    """Cloud IoU of a cloud mask (1 cloud) against a Biome label (1 thick, 2 thin cloud; 255 fill left out)."""
    known = label != 255
    cloud_truth, predicted_cloud = np.isin(label, (1, 2)), mask == 1
    return (cloud_truth & predicted_cloud)[known].sum() / (cloud_truth | predicted_cloud)[known].sum()


def _biome_patch_dn(data_dir, with_swir: bool):
    """GrassCrops_09_2014 of L8 Biome (tests/data/README.md) as uint16 DN (reflectance x 10000) with its human
    label: blue, green, red, nir08 and, with_swir, swir16 and swir22 (Landsat 8 B6, B7), as STAC names them."""
    patches = np.load(data_dir / "imagery/l8biome/l8biome_2patches.npz")
    index = [str(n) for n in patches["chip_names"]].index("GrassCrops_09_2014")
    bands = [patches["image"][index]] + ([patches["image_extra"][index][:2]] if with_swir else [])
    dn = np.clip(np.round(np.concatenate(bands) * 10000), 1, 65535).astype(np.uint16)
    names = ("blue", "green", "red", "nir08") + (("swir16", "swir22") if with_swir else ())
    return dn, names, patches["label"][index]


def test_bundled_six_band_model_is_builtin_model_5(run, data_dir, tmp_path):
    """BUILTIN_MODEL=5 runs models/cloud_s2_6band.onnx (the 6-band variant, its card: models/cloud_s2_6band.md):
    the same mask as the core's predict_clouds on that file, and on a real L8 Biome patch with SWIR it finds the
    labelled cloud. The variant trained on all Biome patches, this one included, so the label is a check that
    the six bands are matched by name and used, not a score (the card gives the cross-validated figures)."""
    from labelmigration.core.models.cloud_classes import predict_clouds
    from labelmigration.processing.cloud_mask import BUILTIN_MODELS, BUNDLED_MODEL_6BAND

    assert [variant for _label, variant in BUILTIN_MODELS][5] == "bundled-6band"
    dn, names, label = _biome_patch_dn(data_dir, with_swir=True)
    scene = write_raster(tmp_path / "landsat6.tif", dn, "EPSG:32614", from_origin(500_000, 4_000_000, 30, 30),
                         descriptions=names)
    result = run("cloudmask", {"INPUT": str(scene), "BUILTIN_MODEL": 5, "OUTPUT": str(tmp_path / "mask.tif")})
    explicit = str(tmp_path / "explicit.tif")
    predict_clouds(str(scene), BUNDLED_MODEL_6BAND, {"classes": explicit})
    with rasterio.open(result["OUTPUT"]) as mask, rasterio.open(explicit) as same:
        values = mask.read(1)
        np.testing.assert_array_equal(values, same.read(1))
    iou = _biome_cloud_iou(values, label)
    assert iou > 0.7, iou


def test_six_band_model_on_four_bands_names_the_missing_bands(run, data_dir, tmp_path):
    from qgis.core import QgsProcessingException

    dn, names, _label = _biome_patch_dn(data_dir, with_swir=False)
    scene = write_raster(tmp_path / "landsat4.tif", dn, "EPSG:32614", from_origin(500_000, 4_000_000, 30, 30),
                         descriptions=names)
    with pytest.raises(QgsProcessingException, match=r"swir16|B11"):
        run("cloudmask", {"INPUT": str(scene), "BUILTIN_MODEL": 5, "OUTPUT": str(tmp_path / "mask.tif")})
    assert not (tmp_path / "mask.tif").exists()


def test_a_sentinel2_product_layer_as_qgis_opens_it(run, tmp_path):
    """A SAFE product as QGIS adds it to the map (GDAL's SENTINEL2 subdataset, bands B4 B3 B2 B8 named
    'B4, central wavelength 665 nm'): cloudmask matches the bands by name and reads the baseline 05.09 product's DN with
    its offset, as core.sentinel2.product_bands says (expected answer: the same run on the DN tagged with scale 1e-4 /
    offset -0.1, the product's metadata). Before, it failed for want of bands named blue ... nir, and with BANDS given
    GDAL 3.6 aborted QGIS when the engine asked the layer's bands for their VRT sources."""
    from osgeo import gdal
    from qgis.core import QgsRasterLayer

    from labelmigration.core.models.cloud_classes import predict_clouds
    from labelmigration.processing.cloud_mask import BUNDLED_MODEL
    from labelmigration.tests.support.safe_products import make_safe_product

    product = make_safe_product(tmp_path / "product", level="L2A", baseline="05.09", size_10m=120)
    subdataset = gdal.Open(product.mtd_path).GetSubDatasets()[0][0]
    layer = QgsRasterLayer(subdataset, "S2 10m")
    assert layer.isValid() and layer.source() == subdataset
    result = run("cloudmask", {"INPUT": layer, "OUTPUT": str(tmp_path / "mask.tif"),
                               "OUTPUT_PROBABILITY": str(tmp_path / "p.tif")})
    dn = np.stack([product.expected_dn(band) for band in ("B02", "B03", "B04", "B08")])
    tagged = write_raster(tmp_path / "tagged.tif", dn, "EPSG:32632", from_origin(product.ulx, product.uly, 10, 10),
                          descriptions=("B02", "B03", "B04", "B08"))
    with rasterio.open(tagged, "r+") as dataset:
        dataset.scales, dataset.offsets = (1e-4,) * 4, (-0.1,) * 4
    predict_clouds(str(tagged), BUNDLED_MODEL, {"probability": str(tmp_path / "expected.tif")})
    with rasterio.open(result["OUTPUT_PROBABILITY"]) as got, rasterio.open(tmp_path / "expected.tif") as expected:
        valid = dn.all(axis=0)
        assert np.abs(got.read(1)[valid] - expected.read(1)[valid]).max() < 1e-5
