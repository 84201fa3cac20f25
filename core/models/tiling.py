"""Where the tiles go over a raster, how large they are, how many run at once, and how they are read.

Tiles overlap and their predictions are blended with a separable Hann weight (flat towards raster edges); the
memory one batch of tiles and one tile row of output take is worked out and checked against the memory limit
(core.util.limits) before anything is allocated.
"""
from typing import List, Optional, Tuple

import numpy as np
from osgeo import gdal

from ..util import limits
from ..util.errors import LabelMigrationError
from .onnx_model import Model, run_heads

DEFAULT_TILE_SIZE = 512
MAX_TILE_SIZE = 8192  # the largest tile the algorithms offer; memory is checked for any size
MIN_TILE_SIZE = 4
DEFAULT_OVERLAP_PERCENT = 10.0
MIN_OVERLAP = 2  # the blending weight is zero on a tile's outermost pixel: neighbours must cover it
EMIT_ROWS = 64  # rows normalised and written at a time


def tile_starts(length: int, tile: int, stride: int) -> List[int]:
    """Tile origins along one axis; the last tile is moved back to end at the raster's edge."""
    if length <= tile:
        return [0]
    return list(range(0, length - tile, stride)) + [length - tile]


def axis_weight(start: int, tile: int, length: int) -> np.ndarray:
    """Hann weight along one axis, zero on the outermost pixels, flat (1) towards raster edges."""
    i = np.arange(tile, dtype=np.float64)
    weight = np.sin(np.pi * i / max(1, tile - 1)) ** 2
    if start == 0:
        weight[: tile // 2] = 1.0
    if start + tile >= length:
        weight[tile // 2:] = 1.0
    return weight.astype(np.float32)


def resolve_tiling(model: Model, tile_size: Optional[int], overlap: Optional[float]) -> Tuple[Tuple[int, int], int]:
    """(rows, cols) of a tile and the overlap in pixels: the arguments, else the model's metadata,
    else the defaults. Refuses tiles below MIN_TILE_SIZE and overlaps above half a tile (with
    stride 1 every pixel would be predicted tile x tile times: a run that never ends)."""
    if model.fixed_size:
        tile = model.fixed_size
        if tile_size and (tile_size, tile_size) != tile:
            raise LabelMigrationError(
                f"The model '{model.path}' only takes tiles of {tile[1]} x {tile[0]} pixels, not {tile_size}; "
                f"leave the tile size (TILE_SIZE) at 0."
            )
        source = f"the model '{model.path}' takes"
    else:
        source = "the tile size (TILE_SIZE)" if tile_size else f"the model '{model.path}' asks for"
        size = int(tile_size or model.info.tile_size or DEFAULT_TILE_SIZE)
        tile = (size, size)
    if min(tile) < MIN_TILE_SIZE:
        raise LabelMigrationError(
            f"Tiles of {min(tile)} pixels ({source}) are too small; use at least {MIN_TILE_SIZE}.")
    if overlap is None:
        percent = DEFAULT_OVERLAP_PERCENT if model.info.tiles_overlap is None else model.info.tiles_overlap
        overlap = percent / 100.0
    pixels = int(round(overlap * min(tile))) if 0 <= overlap < 1 else int(overlap)
    pixels = max(MIN_OVERLAP, pixels)
    if pixels > min(tile) // 2:
        raise LabelMigrationError(
            f"An overlap of {pixels} pixels (OVERLAP, or the model's tiles_overlap) is more than half of the "
            f"{min(tile)}-pixel tiles: every pixel would be predicted many times over. Use an overlap of at most "
            f"{min(tile) // 2} pixels.")
    return tile, pixels


def tile_memory(tile: Tuple[int, int], batch: int, bands: int, classes: int, width: int, height: int) -> float:
    """Bytes the streaming loop holds at once (float32): a batch of tiles in and out (with the copies
    reading, scaling and activation make), the blending buffer one tile row high and the strips
    written at a time. onnxruntime's own working memory comes on top."""
    tile_pixels = float(tile[0]) * float(tile[1])
    batches = 3.0 * batch * (bands + classes) * tile_pixels
    buffer = (classes + 2.0) * min(tile[0], height) * width
    strips = 4.0 * (classes + 1) * min(EMIT_ROWS, height) * width
    return 4.0 * (batches + buffer + strips)


def fit_batch(tile: Tuple[int, int], batch: int, bands: int, classes: int, width: int, height: int,
              fixed: bool, model_path: str, model_batch: Optional[int] = None) -> int:
    """The batch size to run with: ``batch`` or fewer tiles when that fits the memory limit; refuses
    (with the largest tile that would fit) when not even one tile does. A model whose input has a static
    batch dimension (``model_batch``) takes exactly that many tiles (as in Deepness)."""
    budget = limits.current().memory_bytes()
    if model_batch:
        needed = tile_memory(tile, model_batch, bands, classes, width, height)
        limits.check_memory(needed, f"Running the model on batches of {model_batch} tiles of {tile[1]:,} x "
                                    f"{tile[0]:,} pixels (the model '{model_path}' takes only batches of "
                                    f"{model_batch})", "use a smaller tile size (TILE_SIZE) or crop the raster")
        return model_batch
    for size in range(max(1, batch), 0, -1):
        if tile_memory(tile, size, bands, classes, width, height) <= budget:
            return size
    needed = tile_memory(tile, 1, bands, classes, width, height)
    what = f"Running the model on tiles of {tile[1]:,} x {tile[0]:,} pixels over a {width:,}-pixel-wide raster"
    if fixed:
        advice = (f"use a model made for smaller tiles (the model '{model_path}' takes only "
                  f"{tile[1]:,} x {tile[0]:,})")
    else:
        largest = _largest_tile(budget, bands, classes, width, height)
        advice = (f"use a tile size (TILE_SIZE) of at most {largest:,} pixels" if largest
                  else "crop the raster first (even the smallest tiles do not fit)")
    limits.check_memory(needed, what, advice)
    return 1


def _largest_tile(budget: float, bands: int, classes: int, width: int, height: int) -> int:
    low, high = 0, MAX_TILE_SIZE * 16
    while low < high:  # the largest square tile whose batch of one fits the budget
        middle = (low + high + 1) // 2
        if tile_memory((middle, middle), 1, bands, classes, width, height) <= budget:
            low = middle
        else:
            high = middle - 1
    return low if low >= MIN_TILE_SIZE else 0


class TilePlan:
    """Where the tiles go. A model whose output is smaller than its input tile by ``margin`` pixels on each side
    (valid convolutions: Deepness centres such an output in the tile) predicts only the tile's centre: the
    predicted windows (tile - 2 x margin) are laid out with ``overlap`` between them, and each input tile starts
    ``margin`` pixels before its window, zero-padded past the raster's edges, so that every pixel is predicted.
    """

    def __init__(self, source: gdal.Dataset, bands: List[int], tile: Tuple[int, int], overlap: int, batch: int,
                 margin: Tuple[int, int] = (0, 0)):
        self.source, self.bands, self.tile, self.batch, self.margin = source, bands, tile, batch, margin
        self.out = (tile[0] - 2 * margin[0], tile[1] - 2 * margin[1])  # the predicted window
        self.width, self.height = source.RasterXSize, source.RasterYSize
        self.rows = tile_starts(self.height, self.out[0], self.out[0] - overlap)
        self.cols = tile_starts(self.width, self.out[1], self.out[1] - overlap)
        self.tile_count = len(self.rows) * len(self.cols)
        self.col_weights = [axis_weight(x, self.out[1], self.width) for x in self.cols]
        self.nodata_rule = nodata_rule(source, bands)  # None: read_valid reads the validity

    def read(self, x: int, y: int) -> np.ndarray:
        """The input tile whose predicted window starts at (x, y)."""
        return read_tile(self.source, self.bands, x - self.margin[1], y - self.margin[0], self.tile)


def output_margin(model: Model, tile: Tuple[int, int], bands: int, overlap: int) -> Tuple[Tuple[int, int], int]:
    """((rows, cols) the model's output is smaller than the tile on each side, channels of all heads). Read from
    the output shapes when they are static, else from one run on a tile of zeros."""
    shapes = [list(output.shape or []) for output in model.session.get_outputs()]
    static = all(len(s) in (3, 4) and all(isinstance(d, int) and d > 0 for d in s[-2:]) for s in shapes)
    if static and all(c is not None for c in model.head_channels):
        spatial = tuple(shapes[0][-2:])
        for shape in shapes:  # run_heads checks the same at run time
            margins = np.subtract(tile, shape[-2:])
            if (margins < 0).any() or (margins % 2).any() or tuple(shape[-2:]) != spatial:
                raise LabelMigrationError(
                    f"The model '{model.path}' returns outputs of {shape[-1]} x {shape[-2]} pixels for tiles of "
                    f"{tile[1]} x {tile[0]}; a segmentation model returns the tile's size, or less by an even "
                    f"number of pixels (an output centred in the tile), the same size for every output.")
        channels = list(model.head_channels)
    else:
        probe = np.zeros((model.batch or 1, bands) + tuple(tile), model.input_type)
        heads = run_heads(model, probe)
        spatial = heads[0].shape[2:]
        channels = [head.shape[1] for head in heads]
        model.head_channels = channels
    margin = ((tile[0] - spatial[0]) // 2, (tile[1] - spatial[1]) // 2)
    window = min(spatial)
    if margin != (0, 0) and overlap > window // 2:
        raise LabelMigrationError(
            f"The model '{model.path}' predicts only the central {spatial[1]} x {spatial[0]} pixels of each "
            f"{tile[1]} x {tile[0]} tile; an overlap of {overlap} pixels between those is more than half of them. "
            f"Use an overlap (OVERLAP) of at most {window // 2} pixels, or larger tiles.")
    return margin, int(sum(channels))


def read_tile(dataset: gdal.Dataset, bands: List[int], x: int, y: int, tile: Tuple[int, int]) -> np.ndarray:
    """A (bands, rows, cols) window whose origin (x, y) may lie outside the raster (negative, for a model
    whose output is smaller than its input), zero-padded where the tile reaches past the raster: Deepness
    reads tiles past the layer's extent as zeros (its QGIS block reads), before any scaling."""
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(dataset.RasterXSize, x + tile[1]), min(dataset.RasterYSize, y + tile[0])
    pixels = dataset.ReadAsArray(x0, y0, x1 - x0, y1 - y0, band_list=bands)
    pixels = pixels.reshape(len(bands), y1 - y0, x1 - x0)
    if pixels.shape[1:] != tuple(tile):
        pixels = np.pad(pixels, ((0, 0), (y0 - y, y + tile[0] - y1), (x0 - x, x + tile[1] - x1)), mode="constant")
    return pixels


_FLOAT_TYPES = (gdal.GDT_Float32, gdal.GDT_Float64, gdal.GDT_CFloat32, gdal.GDT_CFloat64)
_INTEGER_RANGES = {gdal.GDT_Byte: (0, 255), gdal.GDT_UInt16: (0, 65535), gdal.GDT_Int16: (-32768, 32767),
                   gdal.GDT_UInt32: (0, 2 ** 32 - 1), gdal.GDT_Int32: (-2 ** 31, 2 ** 31 - 1)}


def nodata_rule(dataset: gdal.Dataset, bands: List[int]) -> Optional[List[Optional[int]]]:
    """Per band the integer nodata value (None: every value valid) when read_valid's answer follows from the
    values alone (integer bands of one type, whose GDAL mask is their nodata value or none): the tiles already read
    then say which pixels are valid (tile_valid). None when a mask band, alpha band, floating-point values, signed
    bytes or bands of several types (read as the first one's) decide."""
    rule = []
    for number in bands:
        band = dataset.GetRasterBand(number)
        flags, nodata = band.GetMaskFlags(), band.GetNoDataValue()
        low, high = _INTEGER_RANGES.get(band.DataType, (None, None))
        if low is None or band.DataType != dataset.GetRasterBand(bands[0]).DataType or \
                band.GetMetadataItem("PIXELTYPE", "IMAGE_STRUCTURE") == "SIGNEDBYTE":
            return None
        if flags == gdal.GMF_ALL_VALID:
            rule.append(None)
        elif flags == gdal.GMF_NODATA and nodata is not None and float(nodata).is_integer() and \
                low <= nodata <= high:
            rule.append(int(nodata))
        else:
            return None
    return rule


def tile_valid(pixels: np.ndarray, rule: List[Optional[int]]) -> np.ndarray:
    """read_valid of the (bands, rows, cols) values read, under nodata_rule's ``rule``."""
    valid = np.ones(pixels.shape[1:], bool)
    for values, nodata in zip(pixels, rule):
        if nodata is not None:
            valid &= values != nodata
    return valid


def read_valid(dataset: gdal.Dataset, bands: List[int], x: int, y: int, cols: int, rows: int) -> np.ndarray:
    """True where every chosen band has data (GDAL mask flags: nodata, mask band or alpha) and, in
    floating-point bands, a finite value: NaN is nodata whatever the raster's metadata says."""
    valid = np.ones((rows, cols), dtype=bool)
    for number in bands:
        band = dataset.GetRasterBand(number)
        if not band.GetMaskFlags() & gdal.GMF_ALL_VALID:
            valid &= band.GetMaskBand().ReadAsArray(x, y, cols, rows) != 0
        if band.DataType in _FLOAT_TYPES:
            valid &= np.isfinite(band.ReadAsArray(x, y, cols, rows))
    return valid
