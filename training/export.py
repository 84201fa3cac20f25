"""Export a trained CloudUNet to ONNX with the metadata the plugin (and Deepness) read."""
import argparse
import os
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from .model import CloudUNet

try:
    from ..core.models.model_info import DEEPNESS_DOMAIN, ModelInfo
    from ..core.segmentation_training.onnx_export import exported_proto, set_metadata
    from ..core.segmentation_training.onnx_softmax import elementwise_softmax
except ImportError:  # run as ``python -m training.cloud``: training and core are top-level packages side by side
    from core.models.model_info import DEEPNESS_DOMAIN, ModelInfo
    from core.segmentation_training.onnx_export import exported_proto, set_metadata
    from core.segmentation_training.onnx_softmax import elementwise_softmax


REFLECTANCE_SCALE = 0.0001  # Sentinel-2: reflectance = DN x 1e-4 (+ offset, 0 before baseline 04.00)
DEEPNESS_DIVISOR = 255.0  # Deepness feeds (x / 255 - standardization_mean) / standardization_std


def model_metadata(bands: Sequence[str], mean: Sequence[float], std: Sequence[float], threshold: float = 0.5,
                   tile_size: int = 512, overlap_percent: float = 10.0, resolution_m: float = 10.0,
                   reflectance_range: Optional[Sequence[Sequence[float]]] = None,
                   reflectance_scale: float = REFLECTANCE_SCALE, reflectance_offset: float = 0.0,
                   class_names: Sequence[str] = ("clear", "cloud")) -> ModelInfo:
    """The metadata (ModelInfo.to_metadata writes them to the ONNX file) for a model trained on reflectance
    standardised as (reflectance - mean) / std.

    ``mean``/``std`` (and ``reflectance_range``, per band [min, max] of the training pixels) are in
    reflectance; the metadata hold them in Deepness's convention, which our engine follows too
    (core/models/input_scaling.py): Deepness always computes (x / 255 - standardization_mean) /
    standardization_std from the raster's values x (PUTvision/qgis-plugin-deepness,
    processing/models/preprocessing_utils.py normalize_values_to_01 then standardize_values). For x =
    DN with reflectance = DN x reflectance_scale + reflectance_offset the model's input
    (reflectance - mean) / std equals that with mean' = (mean - offset) / (255 x scale) and
    std' = std / (255 x scale). ``input_range`` (ours) is the range of the model's input (after
    standardisation) over the training pixels, for the engine's plausibility warning.
    """
    k = DEEPNESS_DIVISOR * reflectance_scale
    input_range = None
    if reflectance_range is not None:
        input_range = [[(float(low) - m) / v, (float(high) - m) / v]
                       for (low, high), m, v in zip(reflectance_range, mean, std)]
    return ModelInfo(
        model_type="Segmentor",
        class_names=dict(enumerate(class_names)),
        resolution=resolution_m * 100.0,  # Deepness: cm per pixel
        tile_size=tile_size,
        tiles_overlap=overlap_percent,
        standardization_mean=[(float(m) - reflectance_offset) / k for m in mean],
        standardization_std=[float(v) / k for v in std],
        standardization_domain=DEEPNESS_DOMAIN,
        seg_thresh=threshold,
        bands=list(bands),
        reflectance_scale=reflectance_scale,  # the DN the model takes -> reflectance (reflectance input)
        reflectance_offset=reflectance_offset,
        input_range=input_range,
    )


def export_onnx(model: CloudUNet, path: Path, info: ModelInfo, tile_size: Optional[int] = None) -> Path:
    """Write the model (its probabilities) atomically beside ``path``: batch dynamic; rows and columns
    fixed to ``tile_size`` (default: the metadata's tile_size) because Deepness takes the input's last
    dimension as its tile size (deepness_dockwidget.py: ``input_size_px = input_0_shape[-1]``); the
    plugin's engine tiles any raster into tiles of that size. ``tile_size=0`` keeps them dynamic."""
    size = int(info.tile_size or 0) if tile_size is None else int(tile_size)
    proto = exported_proto(model, size)
    set_metadata(proto, info.to_metadata())
    return save_atomically(proto, path)


def save_atomically(proto, path: Path) -> Path:
    """Check ``proto`` and write it beside ``path``, then rename it into place (readable by all)."""
    import onnx

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


def rewrite_softmax(path: Path) -> int:
    """Give an exported model file the elementwise softmax that export_onnx now writes (weights, metadata and
    outputs unchanged to float rounding): how the bundled model, exported before, got it. Returns the count."""
    import onnx

    proto = onnx.load(str(path))
    replaced = elementwise_softmax(proto)
    if replaced:
        save_atomically(proto, path)
    return replaced


def parity(model: CloudUNet, path: Path, seed: int = 0, shape=(2, 203, 317)) -> float:
    """Largest difference between PyTorch's and onnxruntime's probabilities on random input (of an odd
    size where the ONNX model takes any size, else of its fixed size)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    fixed = session.get_inputs()[0].shape[2:]
    if all(isinstance(d, int) for d in fixed):
        shape = (shape[0], *fixed)
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (shape[0], model.in_channels, shape[1], shape[2])).astype(np.float32)
    model = model.eval()
    model.probabilities = True
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    actual = session.run(None, {"input": x})[0]
    return float(np.max(np.abs(actual - expected)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.export", description=rewrite_softmax.__doc__)
    parser.add_argument("--elementwise-softmax", type=Path, required=True, metavar="MODEL_ONNX",
                        help="the .onnx file to rewrite in place")
    args = parser.parse_args(argv)
    replaced = rewrite_softmax(args.elementwise_softmax)
    print(f"{args.elementwise_softmax}: {replaced} Softmax node(s) written as elementwise operations")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
