"""Tiny ONNX models built with onnx.helper, whose outputs the tests can compute by hand."""
import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # onnxruntime 1.31 reads IR up to 10; 8 matches opset 17


def former_scaling(metadata: Optional[dict]) -> Optional[dict]:
    """Metadata written for the engine's former input formula, re-expressed in Deepness's convention.

    The engine used to feed (DN x reflectance_scale + reflectance_offset - mean) / std (x - mean / std
    without reflectance_scale); it now feeds Deepness's (r / 255 - mean') / std' with r = DN
    (core.models.input_scaling). Both are the same numbers when mean' = (mean - offset) / k and
    std' = std / k with k = 255 x reflectance_scale (255 without), so the hand-computed expectations of
    the tests written before stay exact. Metadata that are not finite numbers are left as they are
    (the guard tests feed NaN and 0 on purpose). All are marked standardization_domain "deepness", as
    training/export.py writes, so the engine does not read them as a former export."""
    if metadata is None:
        metadata = {}
    try:
        scale = float(metadata.get("reflectance_scale", 1.0))
        offset = float(metadata.get("reflectance_offset", 0.0) or 0.0)
        mean = [float(v) for v in np.atleast_1d(metadata.get("standardization_mean", [0.0]))]
        std = [float(v) for v in np.atleast_1d(metadata.get("standardization_std", [1.0]))]
    except (TypeError, ValueError):
        return {**metadata, "standardization_domain": "deepness"}
    if not np.all(np.isfinite([scale, offset, *mean, *std])) or scale == 0:
        return {**metadata, "standardization_domain": "deepness"}
    k = 255.0 * scale
    return {**metadata, "standardization_mean": [(m - offset) / k for m in mean],
            "standardization_std": [v / k for v in std], "standardization_domain": "deepness"}


def _save(path, nodes, initializers, channels, classes, size, metadata, input_type=TensorProto.FLOAT,
          dims_in=None, extra_inputs=(), raw_metadata: bool = False) -> Path:
    if not raw_metadata:
        metadata = former_scaling(metadata)
    rows = cols = size if size else None
    dims_in = dims_in or [None, channels, rows if rows else "rows", cols if cols else "cols"]
    dims_out = [None, classes, rows if rows else "rows", cols if cols else "cols"]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("input", input_type, dims_in), *extra_inputs],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, dims_out)],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, str(path))
    return path


def conv_model(path, weights: np.ndarray, bias: Sequence[float], sigmoid: bool = True,
               size: Optional[int] = None, metadata: Optional[dict] = None, raw_metadata: bool = False) -> Path:
    """Conv (classes, channels, k, k) with 'same' zero padding, plus bias, optionally a sigmoid.
    raw_metadata: write ``metadata`` as given (else as ``former_scaling`` re-expresses them)."""
    weights = np.asarray(weights, dtype=np.float32)
    classes, channels, k, _ = weights.shape
    pad = k // 2
    conv_out = "conv" if sigmoid else "output"
    nodes = [helper.make_node("Conv", ["input", "W", "B"], [conv_out], kernel_shape=[k, k], pads=[pad] * 4)]
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", ["conv"], ["output"]))
    initializers = [numpy_helper.from_array(weights, "W"),
                    numpy_helper.from_array(np.asarray(bias, dtype=np.float32), "B")]
    return _save(path, nodes, initializers, channels, classes, size, metadata, raw_metadata=raw_metadata)


def softmax_model(path, weights: np.ndarray, bias: Sequence[float], metadata: Optional[dict] = None) -> Path:
    """1x1 conv then softmax over classes: a multi-class segmentation model."""
    weights = np.asarray(weights, dtype=np.float32)
    classes, channels = weights.shape[:2]
    nodes = [helper.make_node("Conv", ["input", "W", "B"], ["logits"], kernel_shape=[1, 1]),
             helper.make_node("Softmax", ["logits"], ["output"], axis=1)]
    initializers = [numpy_helper.from_array(weights.reshape(classes, channels, 1, 1), "W"),
                    numpy_helper.from_array(np.asarray(bias, dtype=np.float32), "B")]
    return _save(path, nodes, initializers, channels, classes, None, metadata)


CLOUD_SHADOW_CLASSES = {"0": "clear", "1": "cloud", "2": "shadow"}
CLOUD_REFLECTANCE, SHADOW_REFLECTANCE = 0.3, 0.05  # cloud_shadow_model's rule, on the bands' mean reflectance
_RULE_SHARPNESS = 100.0


def cloud_shadow_model(path, bands: Sequence[str] = ("blue", "green", "red", "nir"), size: Optional[int] = None,
                       metadata: Optional[dict] = None, class_names: Optional[dict] = None,
                       cloud_above: float = CLOUD_REFLECTANCE, shadow_below: float = SHADOW_REFLECTANCE) -> Path:
    """A 3-class clear / cloud / shadow model with a rule the tests compute by hand (cloud_shadow_reference):
    on the mean reflectance m of its bands (DN x 1e-4), softmax over the logits (0, k (m - cloud_above),
    k (shadow_below - m)), k = 100: bright pixels are cloud, very dark ones shadow, the rest clear. The metadata
    are the bundled model's kind (bands, reflectance_scale, tile size); ``class_names`` replaces the names,
    ``metadata`` adds keys. ``size`` fixes the input tile as the bundled model's (N, bands, 512, 512) does."""
    channels = len(bands)
    k = _RULE_SHARPNESS / channels
    weights = np.zeros((3, channels, 1, 1), np.float32)
    weights[1], weights[2] = k, -k
    bias = [0.0, -_RULE_SHARPNESS * cloud_above, _RULE_SHARPNESS * shadow_below]
    nodes = [helper.make_node("Conv", ["input", "W", "B"], ["logits"], kernel_shape=[1, 1]),
             helper.make_node("Softmax", ["logits"], ["output"], axis=1)]
    initializers = [numpy_helper.from_array(weights, "W"), numpy_helper.from_array(np.asarray(bias, np.float32), "B")]
    meta = {"model_type": "Segmentor", "bands": list(bands), "reflectance_scale": 1e-4,
            "class_names": class_names if class_names is not None else dict(CLOUD_SHADOW_CLASSES),
            "tile_size": size or 64, "tiles_overlap": 10, **(metadata or {})}
    return _save(path, nodes, initializers, channels, 3, size, meta)


def cloud_shadow_reference(reflectance: np.ndarray, cloud_above: float = CLOUD_REFLECTANCE,
                           shadow_below: float = SHADOW_REFLECTANCE) -> np.ndarray:
    """cloud_shadow_model's softmax probabilities (3, rows, cols) for a (bands, rows, cols) reflectance image."""
    mean = reflectance.astype(np.float64).mean(axis=0)
    logits = np.stack([np.zeros_like(mean), _RULE_SHARPNESS * (mean - cloud_above),
                       _RULE_SHARPNESS * (shadow_below - mean)])
    logits -= logits.max(axis=0)
    return np.exp(logits) / np.exp(logits).sum(axis=0)


# ----- hostile models (the bad-input suite): each breaks one thing a user's model could get wrong -----

def scaled_model(path, channels: int, scale: float, bias: float = 0.0, size: Optional[int] = None,
                 metadata: Optional[dict] = None, classes: int = 1) -> Path:
    """Every class = sigmoid(scale * sum of the bands + bias); scale NaN gives a model with NaN weights."""
    weights = np.full((classes, channels, 1, 1), scale, np.float32)
    return conv_model(path, weights, [bias] * classes, sigmoid=True, size=size, metadata=metadata)


def integer_input_model(path, channels: int, metadata: Optional[dict] = None) -> Path:
    """Takes uint8 pixels (cast to float inside), as models exported for 8-bit RGB sometimes do."""
    weights = np.full((1, channels, 1, 1), 0.01, np.float32)
    nodes = [helper.make_node("Cast", ["input"], ["as_float"], to=TensorProto.FLOAT),
             helper.make_node("Conv", ["as_float", "W", "B"], ["output"], kernel_shape=[1, 1])]
    initializers = [numpy_helper.from_array(weights, "W"), numpy_helper.from_array(np.zeros(1, np.float32), "B")]
    return _save(path, nodes, initializers, channels, 1, None, metadata, input_type=TensorProto.UINT8)


def rank3_model(path, metadata: Optional[dict] = None) -> Path:
    """Takes (bands, rows, cols) without the batch axis."""
    nodes = [helper.make_node("Unsqueeze", ["input", "axes"], ["batched"]),
             helper.make_node("Identity", ["batched"], ["output"])]
    initializers = [numpy_helper.from_array(np.array([0], np.int64), "axes")]
    return _save(path, nodes, initializers, 1, 1, None, metadata, dims_in=[1, "rows", "cols"])


def two_input_model(path, channels: int, metadata: Optional[dict] = None) -> Path:
    """Takes the image and a second tensor (a mask), which the engine cannot give it."""
    nodes = [helper.make_node("Add", ["input", "mask"], ["output"])]
    extra = [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [None, channels, "rows", "cols"])]
    return _save(path, nodes, [], channels, channels, None, metadata, extra_inputs=extra)


def slice_model(path, channels: int, keep: int, metadata: Optional[dict] = None) -> Path:
    """Returns the first ``keep`` input channels (0: an empty output, more than 255 with many bands)."""
    nodes = [helper.make_node("Slice", ["input", "starts", "ends", "axes"], ["output"])]
    initializers = [numpy_helper.from_array(np.array([0], np.int64), "starts"),
                    numpy_helper.from_array(np.array([keep], np.int64), "ends"),
                    numpy_helper.from_array(np.array([1], np.int64), "axes")]
    return _save(path, nodes, initializers, channels, "classes", None, metadata)


def repeat_model(path, channels: int, classes: int, metadata: Optional[dict] = None) -> Path:
    """``classes`` output channels (a 1x1 conv of small weights), to exceed what a class raster holds."""
    weights = np.full((classes, channels, 1, 1), 1e-3, np.float32)
    return conv_model(path, weights, [0.0] * classes, sigmoid=True, metadata=metadata)


def log_model(path, channels: int, metadata: Optional[dict] = None) -> Path:
    """log(band 1): NaN where the scaled input is negative, -infinity where it is 0."""
    weights = np.zeros((1, channels, 1, 1), np.float32)
    weights[0, 0] = 1.0
    nodes = [helper.make_node("Conv", ["input", "W", "B"], ["first"], kernel_shape=[1, 1]),
             helper.make_node("Log", ["first"], ["output"])]
    initializers = [numpy_helper.from_array(weights, "W"), numpy_helper.from_array(np.zeros(1, np.float32), "B")]
    return _save(path, nodes, initializers, channels, 1, None, metadata)


# ----- numpy references --------------------------------------------------------------------------

def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def conv_reference(image: np.ndarray, weights: np.ndarray, bias: Sequence[float],
                   sigmoid_out: bool = True) -> np.ndarray:
    """What conv_model computes on a whole (channels, rows, cols) image, in float64."""
    weights = np.asarray(weights, dtype=np.float64)
    classes, channels, k, _ = weights.shape
    pad = k // 2
    padded = np.pad(image.astype(np.float64), ((0, 0), (pad, pad), (pad, pad)))
    rows, cols = image.shape[1:]
    out = np.zeros((classes, rows, cols))
    for c in range(classes):
        out[c] = bias[c]
        for ch in range(channels):
            for dy in range(k):
                for dx in range(k):
                    out[c] += weights[c, ch, dy, dx] * padded[ch, dy:dy + rows, dx:dx + cols]
    return sigmoid(out) if sigmoid_out else out
