"""Export a trained CloudUNet to ONNX with the metadata the plugin (and Deepness) read."""
import io
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Dict, Sequence

import numpy as np
import torch

from .model import CloudUNet

OPSET = 17


def model_metadata(bands: Sequence[str], mean: Sequence[float], std: Sequence[float], threshold: float = 0.5,
                   tile_size: int = 512, overlap_percent: float = 10.0, resolution_m: float = 10.0) -> Dict[str, object]:
    return {
        "model_type": "Segmentor",
        "class_names": {"0": "clear", "1": "cloud"},
        "resolution": resolution_m * 100.0,  # Deepness: cm per pixel
        "tile_size": tile_size,
        "tiles_overlap": overlap_percent,
        "standardization_mean": list(map(float, mean)),
        "standardization_std": list(map(float, std)),
        "seg_thresh": threshold,
        "bands": list(bands),
        "reflectance_scale": 0.0001,  # Sentinel-2 DN -> reflectance when the raster declares no scale of its own
        "reflectance_offset": 0.0,
    }


def export_onnx(model: CloudUNet, path: Path, metadata: Dict[str, object]) -> Path:
    """Write the model (sigmoid output; dynamic batch, rows and columns) atomically beside ``path``."""
    import onnx  # only needed here

    model = model.eval()
    model.probabilities = True
    example = torch.zeros(1, model.in_channels, 256, 256)
    buffer = io.BytesIO()
    dynamic = {0: "batch", 2: "rows", 3: "cols"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its own deprecation
        torch.onnx.export(model, example, buffer, dynamo=False, opset_version=OPSET, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": dynamic, "output": dynamic})
    proto = onnx.load_from_string(buffer.getvalue())
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.checker.check_model(proto)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=str(path.parent))
    os.close(handle)
    try:
        onnx.save(proto, temporary)
        os.chmod(temporary, 0o644)  # mkstemp makes files private; a shipped model must be readable
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def parity(model: CloudUNet, path: Path, seed: int = 0, shape=(2, 203, 317)) -> float:
    """Largest difference between PyTorch's and onnxruntime's probabilities on random input of an odd size."""
    import onnxruntime

    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (shape[0], model.in_channels, shape[1], shape[2])).astype(np.float32)
    model = model.eval()
    model.probabilities = True
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    actual = session.run(None, {"input": x})[0]
    return float(np.max(np.abs(actual - expected)))
