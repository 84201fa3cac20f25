"""Tiny ONNX models built with onnx.helper, whose outputs the tests can compute by hand."""
import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # onnxruntime 1.31 reads IR up to 10; 8 matches opset 17


def _save(path, nodes, initializers, channels, classes, size, metadata) -> Path:
    rows = cols = size if size else None
    dims_in = [None, channels, rows if rows else "rows", cols if cols else "cols"]
    dims_out = [None, classes, rows if rows else "rows", cols if cols else "cols"]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, dims_in)],
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
               size: Optional[int] = None, metadata: Optional[dict] = None) -> Path:
    """Conv (classes, channels, k, k) with 'same' zero padding, plus bias, optionally a sigmoid."""
    weights = np.asarray(weights, dtype=np.float32)
    classes, channels, k, _ = weights.shape
    pad = k // 2
    conv_out = "conv" if sigmoid else "output"
    nodes = [helper.make_node("Conv", ["input", "W", "B"], [conv_out], kernel_shape=[k, k], pads=[pad] * 4)]
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", ["conv"], ["output"]))
    initializers = [numpy_helper.from_array(weights, "W"),
                    numpy_helper.from_array(np.asarray(bias, dtype=np.float32), "B")]
    return _save(path, nodes, initializers, channels, classes, size, metadata)


def softmax_model(path, weights: np.ndarray, bias: Sequence[float], metadata: Optional[dict] = None) -> Path:
    """1x1 conv then softmax over classes: a multi-class segmentation model."""
    weights = np.asarray(weights, dtype=np.float32)
    classes, channels = weights.shape[:2]
    nodes = [helper.make_node("Conv", ["input", "W", "B"], ["logits"], kernel_shape=[1, 1]),
             helper.make_node("Softmax", ["logits"], ["output"], axis=1)]
    initializers = [numpy_helper.from_array(weights.reshape(classes, channels, 1, 1), "W"),
                    numpy_helper.from_array(np.asarray(bias, dtype=np.float32), "B")]
    return _save(path, nodes, initializers, channels, classes, None, metadata)


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
