"""Overlays of predictions and labels on true colour, as PNG."""
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from osgeo import gdal


def overlay_png(path: Path, image: np.ndarray, bands: Sequence[str], predicted: np.ndarray,
                truth: Optional[np.ndarray] = None, stretch: float = 0.3, shadow: Optional[np.ndarray] = None) -> Path:
    """True colour with the prediction's outline in red (and the truth's in yellow, predicted shadow's in
    cyan) as PNG, via GDAL."""
    order = [list(bands).index(b) for b in ("red", "green", "blue")]
    rgb = np.clip(np.nan_to_num(image[order]) / stretch, 0, 1) * 255
    rgb = rgb.astype(np.uint8)
    for mask, colour in ((truth, (255, 220, 0)), (predicted, (255, 0, 0)), (shadow, (0, 230, 255))):
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
