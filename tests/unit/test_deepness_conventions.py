"""The inference engine follows the Deepness QGIS plugin's conventions (issue 15, part 2), checked on tiny ONNX
models built here whose answers numpy computes.

Sources read (PUTvision/qgis-plugin-deepness): src/deepness/processing/models/model_base.py (batch size, class
names per output), src/deepness/processing/models/segmentor.py (sigmoid heads, N x H x W outputs),
src/deepness/processing/map_processor/map_processor_segmentation.py (one class map per output, median filter of
postprocessing_dilate_erode_size), src/deepness/processing/tile_params.py (outputs smaller than the tile are
centred), src/deepness/processing/processing_utils.py (tiles read at the model's resolution, bilinear),
docs/source/creators/creators_add_metadata_to_model.rst (metadata keys, seg_small_segment, resolution).

The engine's input scaling is not under test here (another part of issue 15): every expected answer is computed
from the model input the engine itself makes, read back through an identity model (``_engine_input``).
"""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import rasterio
from osgeo import gdal

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from labelmigration.core.models import deepness  # noqa: E402
from labelmigration.core.models.model_info import ModelInfo  # noqa: E402
from labelmigration.core.models.onnx_model import load_model  # noqa: E402
from labelmigration.core.models.predict import predict_raster  # noqa: E402
from labelmigration.core.models.tiling import read_tile  # noqa: E402
from labelmigration.core.util.errors import LabelMigrationError  # noqa: E402
from labelmigration.tests.support.rasters import from_origin, write_raster  # noqa: E402

CRS = "EPSG:32633"
GRID = from_origin(500000, 4000000, 10, 10)


# ----- tiny models -------------------------------------------------------------------------------------------

def _save(path, nodes, initializers, input_dims, outputs, metadata=None):
    graph = helper.make_graph(
        nodes, "deepness-convention",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, input_dims)],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, dims) for name, dims in outputs],
        initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value if isinstance(value, str) else json.dumps(value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def _conv(name, weights, bias, out, pads=None):
    weights = np.asarray(weights, np.float32)
    k = weights.shape[-1]
    node = helper.make_node("Conv", ["input", f"{name}_w", f"{name}_b"], [out], kernel_shape=[k, k],
                            pads=pads if pads is not None else [0, 0, 0, 0])
    return node, [numpy_helper.from_array(weights, f"{name}_w"),
                  numpy_helper.from_array(np.asarray(bias, np.float32), f"{name}_b")]


def identity_model(path, channels, batch=None, metadata=None):
    node, inits = _conv("id", np.eye(channels).reshape(channels, channels, 1, 1), [0.0] * channels, "output")
    return _save(path, [node], inits, [batch, channels, "rows", "cols"],
                 [("output", [batch, channels, "rows", "cols"])], metadata)


def sigmoid_model(path, weights, bias, batch=None, metadata=None, channel_less=False):
    """sigmoid(1x1 conv); ``channel_less`` squeezes the channel axis: output (N, H, W)."""
    node, inits = _conv("c", np.asarray(weights).reshape(1, -1, 1, 1), bias, "logits")
    nodes = [node]
    if channel_less:
        nodes.append(helper.make_node("Squeeze", ["logits", "axis"], ["squeezed"]))
        inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis"))
        nodes.append(helper.make_node("Sigmoid", ["squeezed"], ["output"]))
        dims = [batch, "rows", "cols"]
    else:
        nodes.append(helper.make_node("Sigmoid", ["logits"], ["output"]))
        dims = [batch, 1, "rows", "cols"]
    return _save(path, nodes, inits, [batch, len(weights), "rows", "cols"], [("output", dims)], metadata)


def valid_conv_model(path, weights, metadata=None):
    """A k x k convolution without padding: the output is k - 1 pixels smaller than the tile."""
    node, inits = _conv("v", weights, [0.0] * len(weights), "output")
    return _save(path, [node], inits, [None, weights.shape[1], "rows", "cols"],
                 [("output", [None, weights.shape[0], "rows", "cols"])], metadata)


def two_head_model(path, channels, metadata=None):
    """Head 'water': sigmoid(sum of bands - 1); head 'landuse': softmax over 3 classes of (b0, -b0, 0)."""
    water, water_init = _conv("w", np.ones((1, channels, 1, 1)), [-1.0], "water_logits")
    landuse_w = np.zeros((3, channels, 1, 1))
    landuse_w[0, 0], landuse_w[1, 0] = 1.0, -1.0
    landuse, landuse_init = _conv("l", landuse_w, [0.0, 0.0, 0.0], "landuse_logits")
    nodes = [water, landuse, helper.make_node("Sigmoid", ["water_logits"], ["water"]),
             helper.make_node("Softmax", ["landuse_logits"], ["landuse"], axis=1)]
    return _save(path, nodes, water_init + landuse_init, [None, channels, "rows", "cols"],
                 [("water", [None, 1, "rows", "cols"]), ("landuse", [None, 3, "rows", "cols"])], metadata)


# ----- helpers -----------------------------------------------------------------------------------------------

def _raster(path, array, **kwargs):
    return str(write_raster(path, array, crs=CRS, transform=GRID, **kwargs))


def _read(path):
    with rasterio.open(path) as dataset:
        return dataset.read(), SimpleNamespace(descriptions=dataset.descriptions, width=dataset.width,
                                               height=dataset.height, transform=dataset.transform)


def _engine_input(tmp_path, image, channels, **kwargs):
    """The model input the engine makes from ``image`` (per band), read back through an identity model."""
    model = identity_model(tmp_path / "identity.onnx", channels)
    out = str(tmp_path / "engine-input.tif")
    predict_raster(image, model, {"probability": out}, tile_size=64, overlap=4, **kwargs)
    return _read(out)[0].astype(np.float64)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _image(rng, bands, rows, cols):
    values = rng.integers(1, 200, size=(bands, rows, cols)).astype(np.float32)
    values[:, 0, 0] = 0  # a zero pixel: what the engine makes of a zero (the padding) is read there
    return values


# ----- 1. a static batch dimension is the batch size -----------------------------------------------------------

@pytest.mark.parametrize("fixed_batch, tiles_per_row", [(1, 4), (3, 4)])
def test_a_static_batch_dimension_is_the_batch_size(tmp_path, fixed_batch, tiles_per_row):
    """Deepness: ModelBase.get_model_batch_size() returns the input's first dimension when it is a number (a
    text means dynamic) and the plugin then runs batches of exactly that size. Before, a batch-1 model failed
    with "Got invalid dimensions for input ... index: 0 Got: 2 Expected: 1". A last batch with fewer tiles is
    filled up with zero tiles (whose predictions are dropped)."""
    image = _raster(tmp_path / "in.tif", _image(np.random.default_rng(1), 2, 20, 50))
    engine = _engine_input(tmp_path, image, 2)
    model = sigmoid_model(tmp_path / "b.onnx", [0.01, -0.02], [0.3], batch=fixed_batch)
    assert load_model(model).batch == fixed_batch
    out = str(tmp_path / "p.tif")
    result = predict_raster(image, model, {"probability": out}, tile_size=16, overlap=4, batch_size=2)
    assert result.tiles == 2 * tiles_per_row
    expected = _sigmoid(0.01 * engine[0] - 0.02 * engine[1] + 0.3)
    np.testing.assert_allclose(_read(out)[0][0], expected, atol=1e-5)


# ----- 2. outputs smaller than the tile are centred ------------------------------------------------------------

def test_an_output_smaller_than_the_tile_is_centred_and_covers_the_raster(tmp_path):
    """Deepness: TileParams.set_mask_on_full_img places an output smaller than the tile (a valid-convolution
    U-Net: 512 -> 484) with an offset of (tile - output) / 2, i.e. centred in the tile. Here the predicted windows
    (tile - 2 x margin) overlap each other by OVERLAP and the input tiles start a margin before them; past the
    raster's edges the tiles are zero-padded (Deepness reads outside the layer as zeros), so every pixel is
    predicted, the border ones from zero padding: exactly a 5 x 5 convolution of the zero-padded image."""
    rng = np.random.default_rng(2)
    image = _raster(tmp_path / "in.tif", _image(rng, 2, 41, 37))
    engine = _engine_input(tmp_path, image, 2)
    zero = engine[:, 0, 0]
    weights = rng.normal(size=(1, 2, 5, 5)).astype(np.float32) * 0.01
    model = valid_conv_model(tmp_path / "valid.onnx", weights)
    out = str(tmp_path / "p.tif")
    result = predict_raster(image, model, {"probability": out}, tile_size=16, overlap=3, batch_size=3)
    padded = np.stack([np.pad(engine[b], 2, constant_values=zero[b]) for b in range(2)])
    expected = np.zeros((41, 37))
    for b in range(2):
        for dy in range(5):
            for dx in range(5):
                expected += weights[0, b, dy, dx] * padded[b, dy:dy + 41, dx:dx + 37]
    assert result.tiles > 9
    np.testing.assert_allclose(_read(out)[0][0], expected, atol=1e-4)


def test_an_output_larger_than_half_the_window_overlap_is_refused(tmp_path):
    """The overlap is between the predicted windows; more than half of them is refused by name."""
    image = _raster(tmp_path / "in.tif", _image(np.random.default_rng(3), 1, 30, 30))
    model = valid_conv_model(tmp_path / "valid.onnx", np.ones((1, 1, 9, 9), np.float32))
    with pytest.raises(LabelMigrationError, match=r"predicts only the central 8 x 8 pixels"):
        predict_raster(image, model, {"classes": str(tmp_path / "c.tif")}, tile_size=16, overlap=6)


# ----- 3. several output heads -------------------------------------------------------------------------------

def test_two_heads_give_one_class_band_per_head_named_from_their_class_names(tmp_path):
    """Deepness: MapProcessorSegmentation._process_tile loops over every model output and makes one class map
    per output (argmax, or probability > threshold for a one-channel output); model_base.get_outputs_channel_names
    reads class_names as a list of dicts, one per output. Before, the second head was silently dropped and the
    list became a class named "{'0': 'Coffee'}"."""
    rng = np.random.default_rng(4)
    image = _raster(tmp_path / "in.tif", _image(rng, 2, 24, 30))
    engine = _engine_input(tmp_path, image, 2)
    names = [{"0": "water"}, {"0": "other", "1": "coffee", "2": "bare"}]
    model = two_head_model(tmp_path / "heads.onnx", 2, metadata={"class_names": names})
    loaded = load_model(model)
    assert loaded.info.head_names == [{0: "water"}, {0: "other", 1: "coffee", 2: "bare"}]
    assert loaded.class_names_of(0) == {0: "background", 1: "water"}
    out = {"classes": str(tmp_path / "c.tif"), "probability": str(tmp_path / "p.tif")}
    result = predict_raster(image, model, out, tile_size=16, overlap=4, threshold=0.5)
    classes, dataset = _read(out["classes"])
    assert classes.shape == (2, 24, 30) and dataset.descriptions == ("water", "landuse")
    water = _sigmoid(engine.sum(axis=0) - 1.0)
    np.testing.assert_array_equal(classes[0], (water >= 0.5).astype(np.uint8))
    logits = np.stack([engine[0], -engine[0], np.zeros_like(engine[0])])
    softmax = np.exp(logits - logits.max(axis=0)) / np.exp(logits - logits.max(axis=0)).sum(axis=0)
    expected = np.argmax(softmax, axis=0)
    expected[softmax.max(axis=0) < 0.5] = 0
    np.testing.assert_array_equal(classes[1], expected)
    probability, dataset = _read(out["probability"])
    assert dataset.descriptions == ("water: water", "landuse: other", "landuse: coffee", "landuse: bare")
    np.testing.assert_allclose(probability[0], water, atol=1e-5)
    heads = result.stats["classes"]["heads"]
    assert [head["output"] for head in heads] == ["water", "landuse"]
    assert heads[0]["counts"] == {"background": int((water < 0.5).sum()), "water": int((water >= 0.5).sum())}
    assert sum(heads[1]["counts"].values()) == 24 * 30


@pytest.mark.parametrize("text, expected", [
    ('{"0": "a", "1": "b"}', [{0: "a", 1: "b"}]),
    ('[{"0": "Coffee"}, {"0": "x", "1": "y"}]', [{0: "Coffee"}, {0: "x", 1: "y"}]),
    ("{0: 'a', 1: 'b'}", [{0: "a", 1: "b"}]),
    ('["a", "b"]', [{0: "a", 1: "b"}]),
])
def test_class_names_formats(text, expected):
    """Deepness (model_base.get_outputs_channel_names): class_names (or the older key 'names') is JSON, or a
    Python literal with integer keys (read with ast.literal_eval); a dict is one output's names, a list of dicts
    one per output."""
    assert deepness.parse_class_names(text) == expected
    assert ModelInfo.from_metadata({"names": text}).head_names == expected


# ----- 4. channel-less (N x H x W) sigmoid outputs ---------------------------------------------------------------

def test_channel_less_sigmoid_output_in_batches_of_several_tiles(tmp_path):
    """Deepness (segmentor.check_loaded_model_outputs, MapProcessorSegmentation._process_tile): an output of rank
    3 (N x H x W) is a sigmoid head, expanded to N x 1 x H x W. Here with batches of 3 tiles."""
    image = _raster(tmp_path / "in.tif", _image(np.random.default_rng(5), 2, 30, 45))
    engine = _engine_input(tmp_path, image, 2)
    model = sigmoid_model(tmp_path / "nhw.onnx", [0.02, -0.01], [0.1], channel_less=True,
                          metadata={"class_names": {"0": "tree"}})
    out = {"classes": str(tmp_path / "c.tif"), "probability": str(tmp_path / "p.tif")}
    result = predict_raster(image, model, out, tile_size=16, overlap=4, batch_size=3)
    probability = _sigmoid(0.02 * engine[0] - 0.01 * engine[1] + 0.1)
    np.testing.assert_allclose(_read(out["probability"])[0][0], probability, atol=1e-5)
    np.testing.assert_array_equal(_read(out["classes"])[0][0], (probability >= 0.5).astype(np.uint8))
    assert set(result.stats["classes"]["counts"]) == {"background", "tree"}


# ----- 5. a one-channel sigmoid head named X is (background, X) --------------------------------------------------

def test_a_sigmoid_head_named_once_means_background_and_that_class(tmp_path):
    """Deepness (Segmentor.__init__): when an output has one channel (sigmoid) and class_names names one class
    {"0": "X"}, the names become ['background', X]: class 1 = X where p > threshold. Before, class 0 was named X.
    A one-channel head named with two classes (the bundled cloud model: clear, cloud) keeps its names."""
    image = _raster(tmp_path / "in.tif", _image(np.random.default_rng(6), 1, 12, 12))
    engine = _engine_input(tmp_path, image, 1)
    model = sigmoid_model(tmp_path / "x.onnx", [1.0], [-float(np.median(engine))],
                          metadata={"class_names": {"0": "building"}})
    out = {"classes": str(tmp_path / "c.tif"), "probability": str(tmp_path / "p.tif")}
    result = predict_raster(image, model, out, tile_size=16, overlap=4)
    probability = _sigmoid(engine[0] - np.median(engine))
    counts = result.stats["classes"]["counts"]
    assert counts == {"background": int((probability < 0.5).sum()), "building": int((probability >= 0.5).sum())}
    assert _read(out["probability"])[1].descriptions == ("building",)
    assert deepness.head_class_names({0: "clear", 1: "cloud"}, 1) == {0: "clear", 1: "cloud"}
    assert deepness.head_class_names({0: "a", 1: "b", 2: "c"}, 3) == {0: "a", 1: "b", 2: "c"}


# ----- 6. resolution ---------------------------------------------------------------------------------------------

def test_resolution_resamples_the_input_and_brings_the_outputs_back(tmp_path):
    """Deepness (processing_utils.get_tile_image) reads each tile at the model's resolution (cm/px, from the
    metadata key 'resolution', overridable in the UI) with bilinear resampling. Here a 10 m checkerboard run at
    20 m averages out (bilinear), and the outputs come back on the input's 10 m grid; without ``resolution``
    (the bundled cloud model's calls) nothing is resampled."""
    board = np.indices((40, 40)).sum(axis=0) % 2
    values = np.where(board, 150, 50).astype(np.float32)[np.newaxis]
    image = _raster(tmp_path / "in.tif", values)
    engine = _engine_input(tmp_path, image, 1)
    high, low = engine[0][board == 1].mean(), engine[0][board == 0].mean()
    model = identity_model(tmp_path / "id.onnx", 1, metadata={"resolution": 2000})
    out = str(tmp_path / "p.tif")
    result = predict_raster(image, model, {"probability": out}, tile_size=16, overlap=4,
                            resolution=2000)
    probability, dataset = _read(out)
    assert (dataset.width, dataset.height, dataset.transform) == (40, 40, GRID)
    assert (result.width, result.height) == (40, 40)
    np.testing.assert_allclose(probability[0][4:-4, 4:-4], (high + low) / 2, rtol=1e-3)
    predict_raster(image, model, {"probability": out}, tile_size=16, overlap=4)  # resolution=None
    np.testing.assert_allclose(_read(out)[0][0], engine[0], atol=1e-6)


def test_resolution_keeps_nodata_and_the_class_grid(tmp_path):
    """The classes come back with nearest neighbour onto the input grid and the input's nodata stays nodata."""
    values = np.full((1, 30, 30), 100, np.float32)
    values[0, :, 15:] = 10
    values[0, 0, :5] = -1
    image = _raster(tmp_path / "in.tif", values, nodata=-1)
    engine = _engine_input(tmp_path, image, 1)
    middle = (engine[0, 5, 5] + engine[0, 5, 25]) / 2
    model = sigmoid_model(tmp_path / "s.onnx", [1.0 / abs(engine[0, 5, 5] - middle) * 20],
                          [-middle / abs(engine[0, 5, 5] - middle) * 20])
    out = str(tmp_path / "c.tif")
    result = predict_raster(image, model, {"classes": out}, tile_size=16, overlap=4, resolution=3000)
    classes = _read(out)[0][0]
    assert (classes[0, :5] == 255).all()
    assert (classes[3:, :12] == 1).all() and (classes[3:, 18:] == 0).all()
    assert result.valid_pixels == 30 * 30 - 5


def test_resolution_is_not_applied_without_a_metric_grid(tmp_path):
    """A raster in degrees cannot be resampled to cm/px: the model runs on its own pixels, with a warning."""
    path = str(write_raster(tmp_path / "geo.tif", np.ones((1, 10, 10), np.float32), "EPSG:4326",
                            from_origin(10, 50, 0.001, 0.001)))
    model = identity_model(tmp_path / "id.onnx", 1)
    result = predict_raster(path, model, {"probability": str(tmp_path / "p.tif")}, resolution=100)
    assert any("not resampled" in warning and "not projected" in warning for warning in result.warnings)


# ----- 7. seg_small_segment ------------------------------------------------------------------------------------

def test_small_segments_are_median_filtered_as_in_deepness(tmp_path):
    """Deepness (MapProcessorSegmentation._run): the finished class map of each output goes through
    cv2.medianBlur with the odd size postprocessing_dilate_erode_size // 2 * 2 + 1, whose default comes from the
    metadata key seg_small_segment (docs: 'remove small occurrences of the class'); OpenCV's median replicates
    the border pixels, as scipy's mode='nearest'. Specks narrower than half the size vanish."""
    from scipy import ndimage

    mask = np.zeros((50, 60), np.uint8)
    mask[10:30, 10:40] = 1
    mask[40, 50] = mask[5, 5] = 1  # specks
    mask[20, 20] = 0  # a hole
    values = np.where(mask, 180, 20).astype(np.float32)[np.newaxis]
    image = _raster(tmp_path / "in.tif", values)
    engine = _engine_input(tmp_path, image, 1)
    middle = (engine[0][mask == 1].mean() + engine[0][mask == 0].mean()) / 2
    gain = 20 / abs(engine[0][mask == 1].mean() - middle)
    model = sigmoid_model(tmp_path / "s.onnx", [gain], [-gain * middle], metadata={"seg_small_segment": 3})
    out = str(tmp_path / "c.tif")
    result = predict_raster(image, model, {"classes": out}, tile_size=16, overlap=4)
    expected = ndimage.median_filter(mask, size=3, mode="nearest")
    np.testing.assert_array_equal(_read(out)[0][0], expected)
    assert result.stats["classes"]["counts"]["1"] == int(expected.sum())
    predict_raster(image, model, {"classes": out}, tile_size=16, overlap=4, small_segment=0)
    np.testing.assert_array_equal(_read(out)[0][0], mask)


def test_the_median_filter_streams_in_strips_with_a_halo(tmp_path):
    """The filter works strip by strip (a halo of size // 2 rows) and gives the whole-array median; nodata (255)
    stays nodata and never spreads."""
    from scipy import ndimage

    rng = np.random.default_rng(8)
    classes = rng.integers(0, 3, size=(2, 53, 31)).astype(np.uint8)
    classes[0, 7, :] = 255
    path = str(tmp_path / "c.tif")
    with rasterio.open(path, "w", driver="GTiff", width=31, height=53, count=2, dtype="uint8",
                       nodata=255) as dataset:
        dataset.write(classes)
    dataset = gdal.Open(path, gdal.GA_Update)
    counts = deepness.filter_small_segments(dataset, 5, 255, strip_rows=4)
    dataset = None
    result = _read(path)[0]
    for band in range(2):
        expected = ndimage.median_filter(classes[band], size=5, mode="nearest")
        expected = np.where(expected == 255, classes[band], expected)
        expected = np.where(classes[band] == 255, 255, expected)
        np.testing.assert_array_equal(result[band], expected)
        assert counts[band][:3].tolist() == [int((expected == v).sum()) for v in range(3)]
    assert [deepness.median_size(s) for s in (None, 0, 1, 2, 3, 7, 8)] == [1, 1, 1, 3, 3, 7, 9]


# ----- 8. zero padding at the raster's edges ---------------------------------------------------------------------

def test_tiles_past_the_raster_are_zero_padded():
    """Deepness reads tiles through QGIS raster blocks, which hold zeros outside the layer's extent (no
    reflection): read_tile pads with zeros too, before the input scaling, on every side (a negative origin is a
    tile whose centred output starts at the raster's edge)."""
    dataset = gdal.GetDriverByName("MEM").Create("", 5, 4, 1, gdal.GDT_Float32)
    values = np.arange(1, 21, dtype=np.float32).reshape(4, 5)
    dataset.GetRasterBand(1).WriteArray(values)
    tile = read_tile(dataset, [1], -2, -1, (8, 9))
    expected = np.zeros((8, 9), np.float32)
    expected[1:5, 2:7] = values
    np.testing.assert_array_equal(tile[0], expected)
