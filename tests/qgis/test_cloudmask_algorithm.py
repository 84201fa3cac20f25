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
