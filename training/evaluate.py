"""Score an exported ONNX cloud model (what ships, not the PyTorch weights) and draw overlays."""
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
from osgeo import gdal

from .metrics import Counts
from .scene import Scene


class OnnxCloudModel:
    """The exported model as the plugin sees it: metadata standardisation, sigmoid output."""

    def __init__(self, path: Path, threads: int = 0):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = {k: json.loads(v) for k, v in self.session.get_modelmeta().custom_metadata_map.items()}
        self.bands: List[str] = meta["bands"]
        # metadata in Deepness's convention, (DN / 255 - mean) / std (training/export.py model_metadata);
        # the scenes here hold reflectance: DN = (reflectance - offset) / scale
        self.scale = float(meta.get("reflectance_scale", 1e-4))
        self.offset = float(meta.get("reflectance_offset", 0.0))
        self.mean = np.asarray(meta["standardization_mean"], np.float32)[:, None, None]
        self.std = np.asarray(meta["standardization_std"], np.float32)[:, None, None]
        self.threshold = float(meta.get("seg_thresh", 0.5))
        shape = self.session.get_inputs()[0].shape
        self.size = shape[-1] if all(isinstance(d, int) for d in shape[2:]) else None

    def probability(self, image: np.ndarray) -> np.ndarray:
        dn = (image - self.offset) / self.scale
        x = np.nan_to_num((dn / 255.0 - self.mean) / self.std, nan=0.0).astype(np.float32)
        if not self.size:
            return self.session.run(None, {"input": x[None]})[0][0, 0]
        rows, cols = x.shape[1:]  # a model of fixed size: tiles of that size, the last ones mirror-padded
        size = self.size
        padded = np.pad(x, ((0, 0), (0, -rows % size), (0, -cols % size)),
                        mode="reflect" if max(-rows % size, -cols % size) < min(rows, cols) else "constant")
        out = np.zeros(padded.shape[1:], np.float32)
        for y in range(0, padded.shape[1], size):
            for x0 in range(0, padded.shape[2], size):
                tile = padded[None, :, y:y + size, x0:x0 + size]
                out[y:y + size, x0:x0 + size] = self.session.run(None, {"input": tile})[0][0, 0]
        return out[:rows, :cols]


def ukis_cloud_mask(image: np.ndarray, bands: Sequence[str], level: str = "l2a") -> Optional[np.ndarray]:
    """ukis-csmask's 4-band model with its own code and preprocessing (None when not installed)."""
    try:
        from ukis_csmask.mask import CSmask
    except ImportError:
        return None
    pixels = np.nan_to_num(np.moveaxis(image, 0, -1), nan=0.0).astype(np.float32)
    mask = CSmask(pixels, band_order=list(bands), product_level=level, nodata_value=None, invalid_buffer=0)
    return mask.csm[..., 0] == 1


@dataclass
class ChipScore:
    name: str
    scores: Dict[str, float]
    cloud_fraction: float
    seconds: float


def score_scenes(predict, scenes: Sequence[Scene]) -> List[ChipScore]:
    results = []
    for scene in scenes:
        started = time.perf_counter()
        predicted = predict(scene)
        seconds = time.perf_counter() - started
        if predicted is None:
            return []
        known = scene.label != 255
        results.append(ChipScore(scene.name, Counts().add(predicted, scene.label).scores(),
                                 float(np.mean(scene.label[known] == 1)) if known.any() else float("nan"), seconds))
    return results


def overlay_png(path: Path, image: np.ndarray, bands: Sequence[str], predicted: np.ndarray,
                truth: Optional[np.ndarray] = None, stretch: float = 0.3) -> Path:
    """True colour with the prediction's outline in red (and the truth's in yellow) as PNG, via GDAL."""
    order = [list(bands).index(b) for b in ("red", "green", "blue")]
    rgb = np.clip(np.nan_to_num(image[order]) / stretch, 0, 1) * 255
    rgb = rgb.astype(np.uint8)
    for mask, colour in ((truth, (255, 220, 0)), (predicted, (255, 0, 0))):
        if mask is None:
            continue
        edge = _edge(mask.astype(bool))
        for channel, value in enumerate(colour):
            rgb[channel][edge] = value
    rows, cols = rgb.shape[1:]
    memory = gdal.GetDriverByName("MEM").Create("", cols, rows, 3, gdal.GDT_Byte)
    for channel in range(3):
        memory.GetRasterBand(channel + 1).WriteArray(rgb[channel])
    path.parent.mkdir(parents=True, exist_ok=True)
    gdal.GetDriverByName("PNG").CreateCopy(str(path), memory)
    aux = Path(str(path) + ".aux.xml")
    if aux.exists():
        aux.unlink()
    return path


def _edge(mask: np.ndarray) -> np.ndarray:
    edge = np.zeros_like(mask)
    edge[1:, :] |= mask[1:, :] != mask[:-1, :]
    edge[:, 1:] |= mask[:, 1:] != mask[:, :-1]
    return edge
