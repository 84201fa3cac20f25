"""The trained model as ONNX (runs in the training process: imports PyTorch and onnx), with the Deepness metadata
core.models.model_info.ModelInfo writes, so `segment` and Deepness run it with its bands, scaling and class names.

The model was trained on (reflectance - mean) / std with reflectance = DN x scale + offset; Deepness computes
(x / 255 - standardization_mean) / standardization_std from the raster's values x (PUTvision/qgis-plugin-deepness,
processing/models/preprocessing_utils.py), so for x = DN the metadata hold mean' = (mean - offset) / (255 x scale)
and std' = std / (255 x scale), with standardization_domain "deepness" (core/models/input_scaling.py reads them).
The output is the softmax over the channels (channel c = label value c). ModelInfo.class_colors (our key
``class_colors``, beside Deepness's) maps channels to the dataset's '#rrggbb' colours.
"""
import io
import warnings
from typing import Dict

import torch

from ..models.model_info import DEEPNESS_DOMAIN, ModelInfo
from .dataset import TrainingDataset
from .network import CloudUNet
from .onnx_softmax import elementwise_softmax

OPSET = 17
DEEPNESS_DIVISOR = 255.0


def model_info(dataset: TrainingDataset, mean, std, tile_size: int) -> ModelInfo:
    k = DEEPNESS_DIVISOR * dataset.reflectance_scale
    return ModelInfo(
        model_type="Segmentor", class_names=dataset.channel_names(), resolution=dataset.resolution_m * 100.0,
        tile_size=tile_size, tiles_overlap=10.0,
        standardization_mean=[(float(m) - dataset.reflectance_offset) / k for m in mean],
        standardization_std=[float(v) / k for v in std], standardization_domain=DEEPNESS_DOMAIN,
        bands=list(dataset.bands), reflectance_scale=dataset.reflectance_scale,
        reflectance_offset=dataset.reflectance_offset,
        class_colors={c.value: c.colour for c in dataset.classes if c.colour})


def exported_proto(model: CloudUNet, tile_size: int):
    """The model as an onnx ModelProto of its probabilities: batch dynamic, rows and columns fixed to tile_size
    (0: dynamic too), the channel softmax in its elementwise form (onnx_softmax)."""
    import onnx

    model = model.eval()
    model.probabilities = True
    size = int(tile_size)
    dynamic = {0: "batch"} if size else {0: "batch", 2: "rows", 3: "cols"}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its own deprecation
        torch.onnx.export(model, torch.zeros(1, model.in_channels, size or 256, size or 256), buffer, dynamo=False,
                          opset_version=OPSET, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": dynamic, "output": dynamic})
    proto = onnx.load_from_string(buffer.getvalue())
    elementwise_softmax(proto)
    return proto


def onnx_bytes(model: CloudUNet, props: Dict[str, str], tile_size: int) -> bytes:
    """The serialised ONNX model (batch dynamic, rows and columns fixed to tile_size: Deepness takes the input's
    last dimension as its tile size) with props as its metadata_props."""
    import onnx

    proto = exported_proto(model, tile_size)
    set_metadata(proto, props)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def set_metadata(proto, props: Dict[str, str]) -> None:
    """Replace the model's metadata_props by ``props`` (ModelInfo.to_metadata() gives them)."""
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
