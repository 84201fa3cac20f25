"""Run an ONNX segmentation model over a raster of any size, tile by tile, without seams.

Model metadata follows the Deepness plugin (ONNX ``metadata_props`` holding JSON values):
``model_type``, ``class_names`` (index -> name), ``resolution`` (cm/px), ``tile_size``,
``tiles_overlap`` (percent), ``standardization_mean``, ``standardization_std``, ``seg_thresh``.
Our own keys: ``bands`` (band names in the model's input order), ``reflectance_scale`` and
``reflectance_offset`` (reflectance = DN * scale + offset, used when the raster's bands declare no
scale/offset of their own), ``output_activation`` ("softmax" over classes or "sigmoid", applied to
each tile's output before blending, for models that return logits).

Streaming: tiles are read window by window with GDAL; predictions are blended with a separable
Hann weight (flat towards raster edges) into a rolling buffer one tile row high, and every row
that no later tile can touch is normalised and written at once. Memory is therefore bounded by
one tile row of the output plus a batch of tiles, whatever the raster's size; that amount is
worked out and checked against the memory limit (core.util.limits) before anything is allocated, and
the raster's size against the pixel limit.

Plausibility: input pixels that are NaN count as nodata whatever the raster's nodata metadata
says. A run fails, leaving no output, when the input has no valid pixel in the bands used, or
when the model returns NaN or infinity for any valid pixel (a broken model, e.g. NaN weights, or
input scaling that does not fit the raster): no statistic is ever computed from NaN.
"""
import json
import os
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from osgeo import gdal

from ..util import limits
from .deepness import (filter_small_segments, head_class_names, median_size, model_pixel_size, parse_class_names,
                       warp_back, warped_view)
from ..install.dependencies import require
from ..util.errors import LabelMigrationError
from .input_scaling import InputTransform, one_class_note
from .input_scaling import decide as decide_input_scaling
from ..util.outputs import atomic_outputs, check_output_path
from ..util.paths import unreadable_reason
from ..util.progress import CancelCheck, ProgressCallback, Steps
from ..util.rasters import (band_names, color_table_from, create_gtiff, gdal_cache_limit, gdal_errors, has_geotransform,
                            open_raster, read_check)

OUTPUT_ROLES = ("probability", "classes")
CLASSES_NODATA = 255
MAX_CLASSES = CLASSES_NODATA  # classes 0..254 fit the uint8 class raster beside its nodata value
DEFAULT_TILE_SIZE = 512
MAX_TILE_SIZE = 8192  # the largest tile the algorithms offer; memory is checked for any size
MIN_TILE_SIZE = 4
DEFAULT_OVERLAP_PERCENT = 10.0
# input tensor types the engine can feed: onnxruntime's name -> numpy type
_INPUT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16}
EMIT_ROWS = 64  # rows normalised and written at a time
_UNIT_SLACK = 1e-3  # probabilities this far outside 0..1 still count as probabilities
MIN_OVERLAP = 2  # the blending weight is zero on a tile's outermost pixel: neighbours must cover it
_SEGMENTATION_TYPES = ("segmentor", "segmentation")
# canonical names: a band described 'B04' matches a model band 'red' and vice versa
_BAND_ALIASES = {"b2": "blue", "b02": "blue", "b3": "green", "b03": "green", "b4": "red", "b04": "red",
                 "b8": "nir", "b08": "nir", "b11": "swir16", "b12": "swir22", "swir1": "swir16",
                 "swir2": "swir22"}
# names that stand for a canonical band only where no band has that name: Landsat's NIR is nir08 in the
# STAC catalogues (Earth Search, Planetary Computer), where Sentinel-2's nir08 is B8A beside B08 (nir)
_SECOND_CHOICE_ALIASES = {"nir08": "nir", "b8a": "nir"}
OUTPUT_ACTIVATIONS = ("softmax", "sigmoid")
# predict_raster's only_class: a class, classes (or groups of them) marked 1, 2, ..., or a callable deciding it
OnlyClass = Union[None, int, Sequence[Union[int, Sequence[int]]], Callable[["Model"], object]]


@dataclass
class ModelInfo:
    """What the model's metadata says (every field optional except the model type)."""
    model_type: str = "Segmentor"
    class_names: Dict[int, str] = field(default_factory=dict)  # the first output head's
    head_names: List[Dict[int, str]] = field(default_factory=list)  # class_names of every head, in output order
    seg_small_segment: Optional[int] = None  # Deepness's median-filter size for the class map
    resolution: Optional[float] = None
    tile_size: Optional[int] = None
    tiles_overlap: Optional[float] = None  # percent of the tile
    standardization_mean: Optional[List[float]] = None
    standardization_std: Optional[List[float]] = None
    seg_thresh: Optional[float] = None
    bands: Optional[List[str]] = None
    reflectance_scale: Optional[float] = None
    reflectance_offset: Optional[float] = None
    output_activation: Optional[str] = None  # None: the model's output already is a probability
    input_range: Optional[List[List[float]]] = None  # per band [low, high] model input seen in training
    # "deepness": standardization_mean/std apply to r / 255 (core/models/input_scaling.py). A model with
    # reflectance_scale but without this key was exported before 2026-12 with them in reflectance: from_metadata
    # re-expresses them and sets legacy_standardization.
    standardization_domain: Optional[str] = None
    legacy_standardization: bool = False

    def __post_init__(self):
        if self.output_activation is not None and self.output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"output_activation must be one of {', '.join(OUTPUT_ACTIVATIONS)}, "
                             f"not {self.output_activation!r}")

    @classmethod
    def from_metadata(cls, props: Dict[str, str], path: str = "") -> "ModelInfo":
        values = {key: _json_value(text) for key, text in props.items()}
        try:
            heads = parse_class_names(props.get("class_names", props.get("names")))
            return cls(
                model_type=str(values.get("model_type") or "Segmentor"),
                class_names=dict(next(iter(heads), {})),
                head_names=heads,
                seg_small_segment=_optional(int, values.get("seg_small_segment")),
                resolution=_optional(float, values.get("resolution")),
                tile_size=_optional(int, values.get("tile_size")),
                tiles_overlap=_optional(float, values.get("tiles_overlap")),
                standardization_mean=_optional_list(values.get("standardization_mean")),
                standardization_std=_optional_list(values.get("standardization_std")),
                seg_thresh=_optional(float, values.get("seg_thresh")),
                bands=_band_list(values.get("bands")),
                reflectance_scale=_optional(float, values.get("reflectance_scale")),
                reflectance_offset=_optional(float, values.get("reflectance_offset")),
                output_activation=_optional(lambda v: str(v).lower(), values.get("output_activation")),
                input_range=_range_list(values.get("input_range")),
                standardization_domain=_optional(str, values.get("standardization_domain")),
            )._from_former_domain()
        except (TypeError, ValueError, OverflowError) as error:
            raise LabelMigrationError(f"The model '{path}' has malformed metadata: {error}.") from error

    def _from_former_domain(self) -> "ModelInfo":
        """Models this project exported before 2026-12 (reflectance_scale, no standardization_domain) standardised
        reflectance: (DN x scale + offset - mean) / std. In Deepness's domain that is mean' = (mean - offset) / k,
        std' = std / k with k = 255 x scale (training/export.model_metadata writes the same)."""
        if self.reflectance_scale in (None, 0) or self.standardization_domain is not None:
            return self
        k = 255.0 * self.reflectance_scale
        offset = self.reflectance_offset or 0.0
        self.standardization_mean = [(m - offset) / k for m in (self.standardization_mean or [0.0])]
        self.standardization_std = [v / k for v in (self.standardization_std or [1.0])]
        self.legacy_standardization = True
        return self

    def check_numbers(self, path: str) -> None:
        """Refuse scaling metadata that would silently turn every pixel into NaN or one constant."""
        named = {"reflectance_scale": [self.reflectance_scale], "reflectance_offset": [self.reflectance_offset],
                 "standardization_mean": self.standardization_mean, "standardization_std": self.standardization_std,
                 "seg_thresh": [self.seg_thresh], "tiles_overlap": [self.tiles_overlap]}
        for key, values in named.items():
            if any(v is not None and not np.isfinite(v) for v in values or []):
                raise LabelMigrationError(
                    f"The model '{path}' has the metadata {key} = {values}, which holds a value that is not a "
                    f"finite number; fix the model's metadata.")
        if self.reflectance_scale == 0:
            raise LabelMigrationError(
                f"The model '{path}' has reflectance_scale 0 in its metadata: every pixel would become the same "
                f"value. Fix the model's metadata.")
        if self.seg_thresh is not None and not 0.0 <= self.seg_thresh <= 1.0:
            raise LabelMigrationError(
                f"The model '{path}' has seg_thresh {self.seg_thresh} in its metadata; a threshold lies between 0 "
                f"and 1. Give THRESHOLD to override it.")


def _band_list(value) -> Optional[List[str]]:
    """The model's band names: a JSON list, or a comma-separated text."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()] or None
    if not isinstance(value, list) or any(isinstance(name, (dict, list)) for name in value):
        raise ValueError(f"bands must be a list of band names, not {value!r}")
    return [str(name) for name in value]


def _range_list(value) -> Optional[List[List[float]]]:
    """input_range: [[low, high], ...] per band (or one pair for every band); see core.models.input_scaling."""
    if value is None or value == "" or value == []:
        return None
    pairs = value if isinstance(value, list) and value and isinstance(value[0], list) else [value]
    if any(not isinstance(pair, list) or len(pair) != 2 for pair in pairs):
        raise ValueError(f"input_range must be [low, high] per band, not {value!r}")
    return [[float(low), float(high)] for low, high in pairs]


def _json_value(text: str):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _optional(kind, value):
    return None if value is None or value == "" else kind(value)


def _optional_list(value) -> Optional[List[float]]:
    if value is None or value == "":
        return None
    return [float(v) for v in (value if isinstance(value, (list, tuple)) else [value])]


@dataclass
class Model:
    path: str
    session: object
    info: ModelInfo
    input_name: str
    channels: Optional[int]  # None when the channel dimension is dynamic
    fixed_size: Optional[Tuple[int, int]]  # (rows, cols) when the model only takes one tile size
    input_type: np.dtype = np.dtype(np.float32)
    provider: str = "CPUExecutionProvider"  # the execution provider the session runs on
    warnings: List[str] = field(default_factory=list)
    classes: Optional[int] = None  # output channels the model declares; None when dynamic
    batch: Optional[int] = None  # the batch size a model with a static first input dimension takes
    head_channels: List[Optional[int]] = field(default_factory=list)  # channels per output head (None: dynamic)
    head_labels: List[str] = field(default_factory=list)  # the ONNX names of the output heads

    def class_names_of(self, head: int = 0, channels: Optional[int] = None) -> Dict[int, str]:
        """{class value: name} of one head, with Deepness's (background, X) for a sigmoid head named X."""
        heads = self.info.head_names or [self.info.class_names]
        names = heads[head] if head < len(heads) else {}
        if channels is None and head < len(self.head_channels):
            channels = self.head_channels[head]
        return head_class_names(names, channels)


@dataclass
class PredictionResult:
    outputs: Dict[str, str]
    stats: Dict[str, dict]
    width: int
    height: int
    bands: List[int]
    tile_size: Tuple[int, int]
    overlap: int
    tiles: int
    valid_pixels: int
    warnings: List[str] = field(default_factory=list)  # e.g. CUDA failed and the CPU ran the model
    finished: object = None  # what predict_raster's ``finish`` returned
    input_scaling: str = ""  # how the values became the model's input, in words (core.models.input_scaling)


CPU_PROVIDER = "CPUExecutionProvider"
GPU_PROVIDERS = ("CUDAExecutionProvider",)


def providers(ort) -> List[str]:
    """CUDA when onnxruntime offers it (the GPU build, onnxruntime-gpu), always with the CPU as fallback."""
    available = ort.get_available_providers()
    return [p for p in GPU_PROVIDERS if p in available] + [CPU_PROVIDER]


def create_session(ort, path: str) -> Tuple[object, str, List[str]]:
    """An InferenceSession on CUDA when it works, else on the CPU: (session, provider, warnings).

    The GPU build lists CUDAExecutionProvider even where CUDA or cuDNN libraries are missing or of
    the wrong version; depending on its version onnxruntime then either raises while creating the
    session or quietly runs on the CPU. Both end on the CPU here, with a warning saying why.
    """
    wanted = providers(ort)
    warnings: List[str] = []
    try:
        session = ort.InferenceSession(path, providers=wanted)
    except Exception as error:  # onnxruntime raises its own exception types
        if wanted == [CPU_PROVIDER]:
            raise
        warnings.append(f"onnxruntime could not run the model on the GPU ({wanted[0]}: "
                        f"{str(error).strip()[:300]}); running it on the CPU instead.")
        session = ort.InferenceSession(path, providers=[CPU_PROVIDER])
    used = list(session.get_providers())
    if wanted[0] != CPU_PROVIDER and wanted[0] not in used and not warnings:
        warnings.append(f"onnxruntime offers {wanted[0]} but did not use it (CUDA or cuDNN libraries missing "
                        f"or of another version than this onnxruntime-gpu needs); running on the CPU instead.")
    return session, (used[0] if used else CPU_PROVIDER), warnings


def provider_report(ort, model_path: Optional[str] = None) -> Dict[str, object]:
    """What onnxruntime offers and, given a model to open, which provider actually runs it."""
    report: Dict[str, object] = {"version": getattr(ort, "__version__", ""),
                                 "device": ort.get_device() if hasattr(ort, "get_device") else "",
                                 "available": list(ort.get_available_providers()), "preferred": providers(ort)[0],
                                 "running": None, "warnings": []}
    if model_path and os.path.isfile(model_path):
        _session, report["running"], report["warnings"] = create_session(ort, model_path)
    return report


def load_model(path: str, info: Optional[ModelInfo] = None) -> Model:
    """Open an ONNX model with onnxruntime and read its metadata (or take ``info`` instead of the
    file's metadata), or explain what is wrong."""
    ort = require("onnxruntime", "Running an ONNX model")
    _check_model_file(path)
    try:
        session, provider, warnings = create_session(ort, path)
    except Exception as error:  # onnxruntime raises its own exception types for bad files
        raise LabelMigrationError(
            f"The model file '{path}' is not an ONNX model onnxruntime can load: {str(error).strip()[:300]}"
        ) from error
    if info is None:
        info = ModelInfo.from_metadata(session.get_modelmeta().custom_metadata_map, path)
    if info.model_type.lower() not in _SEGMENTATION_TYPES:
        raise LabelMigrationError(
            f"The model '{path}' is a '{info.model_type}' model; only segmentation models (Segmentor) can be run."
        )
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise LabelMigrationError(
            f"The model '{path}' takes {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); a segmentation "
            f"model takes one image tensor (batch, bands, rows, cols).")
    model_input = inputs[0]
    shape = list(model_input.shape or [])
    if len(shape) != 4:
        raise LabelMigrationError(
            f"The model '{path}' takes input of shape {shape} (rank {len(shape)}); a segmentation model takes "
            f"rank 4: (batch, bands, rows, cols)."
        )
    if model_input.type not in _INPUT_TYPES:
        raise LabelMigrationError(
            f"The model '{path}' takes input of type {model_input.type}; only models that take floating-point "
            f"tensors ({', '.join(_INPUT_TYPES)}) can be run.")
    channels = shape[1] if isinstance(shape[1], int) and shape[1] > 0 else None
    if isinstance(shape[1], int) and shape[1] == 0:
        raise LabelMigrationError(f"The model '{path}' takes input with 0 bands; it cannot be run on an image.")
    fixed = tuple(shape[2:]) if all(isinstance(s, int) and s > 0 for s in shape[2:]) else None
    classes = _static_classes(session.get_outputs(), path)
    heads = [_head_channels(output, path) for output in session.get_outputs()]
    batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None  # Deepness: a static batch is fixed
    if info.legacy_standardization:
        warnings = list(warnings) + [
            f"The model '{path}' declares reflectance_scale without standardization_domain: it was exported before "
            f"2026-12, with its standardization in reflectance; it is read that way (re-export it with "
            f"training/export.py to give it the key)."]
    return Model(path, session, info, model_input.name, channels, fixed, np.dtype(_INPUT_TYPES[model_input.type]),
                 provider, warnings, classes, batch, heads, [output.name for output in session.get_outputs()])


def _head_channels(output, path: str) -> Optional[int]:
    """Channels of one output head: 1 for (batch, rows, cols), the static channel count of (batch, channels,
    rows, cols), None when dynamic."""
    shape = list(output.shape or [])
    if len(shape) == 3:
        return 1
    count = shape[1] if len(shape) == 4 and isinstance(shape[1], int) and shape[1] >= 0 else None
    if count is not None:
        _check_class_count(count, path)
    return count


def _check_model_file(path: str) -> None:
    if not path:
        raise LabelMigrationError("No model file was given.")
    problem = unreadable_reason(path)
    if problem:
        raise LabelMigrationError(f"The model file {problem}.")
    if os.path.isdir(path):
        raise LabelMigrationError(f"The model file '{path}' is a folder; give the .onnx file of the model.")


def _static_classes(outputs, path: str) -> Optional[int]:
    """The number of classes the model's first output declares (None when dynamic); refuses 0 and
    more than fit a class raster."""
    if not outputs:
        raise LabelMigrationError(f"The model '{path}' has no output.")
    shape = list(outputs[0].shape or [])
    count = shape[1] if len(shape) == 4 and isinstance(shape[1], int) and shape[1] >= 0 else None
    if count is not None:
        _check_class_count(count, path)
    return count


def _check_class_count(count: int, path: str) -> None:
    if count == 0:
        raise LabelMigrationError(
            f"The model '{path}' returns 0 output channels; a segmentation model returns at least one (a "
            f"probability per class).")
    if count > MAX_CLASSES:
        raise LabelMigrationError(
            f"The model '{path}' returns {count} classes; a class raster holds at most {MAX_CLASSES} (0 to "
            f"{MAX_CLASSES - 1}, {CLASSES_NODATA} being nodata).")


def _canonical(name: str) -> str:
    key = str(name).strip().lower()
    return _BAND_ALIASES.get(key, key)


def select_bands(dataset: gdal.Dataset, model: Model, bands: Optional[Sequence[Union[str, int]]] = None,
                 path: str = "input raster", notes: Optional[List[str]] = None) -> List[int]:
    """1-based input band numbers in the model's input order.

    The model's band names are matched to the raster's band descriptions (aliases: B04 = red, ...;
    Landsat's nir08 = nir where no band is nir). A raster whose bands carry no description at all is
    read in order, its first bands as the model's, and ``notes`` gets that decision.
    """
    names = band_names(dataset)
    if bands:
        chosen = [_band_by_choice(choice, names, path) for choice in bands]
    elif model.info.bands and not any(name.strip() for name in names) and len(names) >= len(model.info.bands):
        chosen = list(range(1, len(model.info.bands) + 1))
        if notes is not None:
            notes.append(f"The bands of '{path}' carry no names: bands 1 to {len(chosen)} were read as the model's "
                         f"{', '.join(model.info.bands)}, in that order. Name the bands in BANDS if that is wrong.")
    elif model.info.bands:
        chosen = _bands_by_name(model.info.bands, names, path, model.path)
    else:
        needed = model.channels or dataset.RasterCount
        if dataset.RasterCount < needed:
            missing = (f"band {needed}" if needed == dataset.RasterCount + 1
                       else f"bands {dataset.RasterCount + 1} to {needed}")
            raise LabelMigrationError(
                f"The model '{model.path}' takes {needed} bands but '{path}' has only {dataset.RasterCount} "
                f"({missing} missing). Give a raster with all the bands the model needs, or a model made for "
                f"{dataset.RasterCount} bands."
            )
        chosen = list(range(1, needed + 1))
    if model.channels is not None and len(chosen) != model.channels:
        raise LabelMigrationError(
            f"The model '{model.path}' takes {model.channels} bands but {len(chosen)} were chosen ({chosen}); "
            f"name {model.channels} bands in BANDS."
        )
    return chosen


def _band_by_choice(choice: Union[str, int], names: List[str], path: str) -> int:
    if isinstance(choice, (int, np.integer)) or str(choice).strip().isdigit():
        number = int(choice)
        if not 1 <= number <= len(names):
            raise LabelMigrationError(f"'{path}' has no band {number}; it has bands 1 to {len(names)}.")
        return number
    return _bands_by_name([str(choice)], names, path, "")[0]


def _bands_by_name(wanted: Sequence[str], names: List[str], path: str, model_path: str) -> List[int]:
    index = {}
    for number, name in enumerate(names, start=1):
        index.setdefault(_canonical(name), number)
    for second_choice, canonical in _SECOND_CHOICE_ALIASES.items():
        if canonical not in index and second_choice in index:
            index[canonical] = index[second_choice]
    missing = [name for name in wanted if _canonical(name) not in index]
    if missing:
        whose = f"The model '{model_path}' needs" if model_path else "Asked for"
        have = ", ".join(f"{i}: '{n}'" for i, n in enumerate(names, start=1) if n) or "none named"
        raise LabelMigrationError(
            f"{whose} band(s) {', '.join(missing)} which '{path}' lacks (its bands: {have}). "
            f"Name the bands explicitly (BANDS) or describe them in the raster."
        )
    return [index[_canonical(name)] for name in wanted]


# ----- tiling geometry ---------------------------------------------------------------------------

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


def _tile_memory(tile: Tuple[int, int], batch: int, bands: int, classes: int, width: int, height: int) -> float:
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
        needed = _tile_memory(tile, model_batch, bands, classes, width, height)
        limits.check_memory(needed, f"Running the model on batches of {model_batch} tiles of {tile[1]:,} x "
                                    f"{tile[0]:,} pixels (the model '{model_path}' takes only batches of "
                                    f"{model_batch})", "use a smaller tile size (TILE_SIZE) or crop the raster")
        return model_batch
    for size in range(max(1, batch), 0, -1):
        if _tile_memory(tile, size, bands, classes, width, height) <= budget:
            return size
    needed = _tile_memory(tile, 1, bands, classes, width, height)
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
        if _tile_memory((middle, middle), 1, bands, classes, width, height) <= budget:
            low = middle
        else:
            high = middle - 1
    return low if low >= MIN_TILE_SIZE else 0


# ----- input preparation -------------------------------------------------------------------------

def scaling_for(dataset: gdal.Dataset, bands: List[int], info: ModelInfo,
                input_scaling: Optional[str] = "auto") -> InputTransform:
    """The transform from the bands' values to the model's input (core.models.input_scaling decides it)."""
    return decide_input_scaling(dataset, bands, info, input_scaling).transform


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


def run_batch(model: Model, batch: np.ndarray) -> np.ndarray:
    """Model output as (batch, classes, rows, cols) float32, the channels of every output head one after
    the other (non-finite values are kept: the caller counts them)."""
    heads = run_heads(model, batch)
    return heads[0] if len(heads) == 1 else np.concatenate(heads, axis=1)


def run_heads(model: Model, batch: np.ndarray) -> List[np.ndarray]:
    """Every output head as (batch, channels, rows, cols) float32; a head without a channel axis (batch,
    rows, cols) gets one (Deepness reads it as a sigmoid head). Outputs may be smaller than the tile by an
    even number of pixels: Deepness centres them in the tile."""
    try:
        outputs = model.session.run(None, {model.input_name: batch.astype(model.input_type, copy=False)})
    except Exception as error:  # onnxruntime raises its own exception types
        raise LabelMigrationError(
            f"The model '{model.path}' failed on a batch of input {tuple(batch.shape)}: "
            f"{str(error).strip()[:400]}") from error
    heads = []
    for output in outputs:
        output = np.asarray(output, dtype=np.float32)
        if output.ndim == 3:
            output = output[:, np.newaxis]
        margins = np.subtract(batch.shape[2:], output.shape[2:]) if output.ndim == 4 else None
        if (output.ndim != 4 or output.shape[0] != batch.shape[0] or (margins < 0).any() or (margins % 2).any()
                or (heads and output.shape[2:] != heads[0].shape[2:])):
            raise LabelMigrationError(
                f"The model '{model.path}' returned shape {output.shape} for input {batch.shape}; a segmentation "
                f"model must return (batch, classes, rows, cols) of the input's size, or smaller by an even "
                f"number of pixels (an output centred in the tile), the same size for every output."
            )
        _check_class_count(output.shape[1], model.path)
        if model.info.output_activation == "softmax":
            output = np.exp(output - output.max(axis=1, keepdims=True))
            output /= output.sum(axis=1, keepdims=True)
        elif model.info.output_activation == "sigmoid":
            output = 0.5 * (1.0 + np.tanh(0.5 * output))  # the sigmoid, without exp overflow warnings
        heads.append(output)
    return heads


# ----- output writing ----------------------------------------------------------------------------

class _Writers:
    """The output GeoTIFFs (on temporary paths) and their running statistics."""

    def __init__(self, roles: Dict[str, str], source: gdal.Dataset, classes: int, info: ModelInfo,
                 class_colours: Optional[Dict[int, Tuple[int, int, int]]] = None, only_class: OnlyClass = None,
                 heads: Optional[List[int]] = None, names: Optional[List[Dict[int, str]]] = None,
                 labels: Optional[List[str]] = None):
        heads = list(heads or [classes])
        picked = picked_groups(only_class)
        if picked is not None and len(heads) > 1:
            raise LabelMigrationError(f"The model returns {len(heads)} outputs; one class can only be picked "
                                      f"from a model with one output.")
        for number in [number for group in picked or () for number in group]:
            if not 0 <= number < classes:
                raise LabelMigrationError(f"The model returns {classes} class(es); it has no class {number}.")
        self.picked = picked  # the classes (groups of them) the class raster marks 1, 2, ...; None: all classes
        self.roles, self.classes, self.info = roles, (1 if picked is not None else classes), info
        self.heads = [1] if picked is not None else heads  # channels per head
        self.starts = np.cumsum([0] + self.heads).tolist()  # first channel of each head
        self.names = [(names[i] if names and i < len(names) else {}) for i in range(len(self.heads))]
        self.labels = list(labels or [])[:len(self.heads)]
        self.labels += [f"output {i}" for i in range(len(self.labels), len(self.heads))]
        classes = self.classes
        width, height = source.RasterXSize, source.RasterYSize
        transform = source.GetGeoTransform() if has_geotransform(source) else None
        self.datasets = {}
        for role, path in roles.items():
            bands, kind = (classes, gdal.GDT_Float32) if role == "probability" else (len(self.heads), gdal.GDT_Byte)
            dataset = create_gtiff(path, width, height, bands, kind, source.GetProjection(), transform)
            for number in range(1, bands + 1):
                band = dataset.GetRasterBand(number)
                band.SetNoDataValue(float("nan") if role == "probability" else CLASSES_NODATA)
                band.SetDescription(self._band_name(role, number - 1))
                if role == "classes" and class_colours and number == 1:  # GeoTIFF: a colour table on band 1 only
                    band.SetColorTable(color_table_from(class_colours))
                    band.SetColorInterpretation(gdal.GCI_PaletteIndex)
            self.datasets[role] = dataset
        self.sums = np.zeros(classes, np.float64)
        self.head_counts = ([np.zeros(len(picked) + 1, np.int64)] if picked is not None
                            else [np.zeros(max(2, channels), np.int64) for channels in self.heads])
        self.counts = self.head_counts[0]
        self.valid = 0
        self.not_finite = 0  # valid input pixels where the model returned NaN or infinity
        self.outside_unit = 0  # valid pixels whose output lies outside 0..1 (logits, not probabilities)

    def _band_name(self, role: str, index: int) -> str:
        if role == "classes":
            return "class" if len(self.heads) == 1 else self.labels[index]
        if self.picked is not None:
            return self._group_name(self.picked[0])
        head = int(np.searchsorted(self.starts, index, side="right")) - 1
        channel, names = index - self.starts[head], self.names[head]
        # a one-channel (sigmoid) head gives the probability of its last class: X of (background, X)
        name = names.get(channel + (1 if self.heads[head] == 1 and len(names) > 1 else 0), f"class {channel}")
        return name if len(self.heads) == 1 else f"{self.labels[head]}: {name}"

    def write(self, row: int, probability: np.ndarray, valid: np.ndarray, not_finite: Optional[np.ndarray]) -> None:
        if not_finite is not None:
            self.not_finite += int((valid & not_finite).sum())
            valid = valid & ~not_finite
        if self.picked is not None:
            heads = [only_class_mask(probability, self.picked, self.info.seg_thresh)]
            probability = _group_probability(probability, self.picked[0])[np.newaxis]
        else:
            heads = [classify(probability[a:b], self.info.seg_thresh) for a, b in zip(self.starts, self.starts[1:])]
        self.valid += int(valid.sum())
        outside = (probability < -_UNIT_SLACK) | (probability > 1 + _UNIT_SLACK)  # blending rounds a little
        self.outside_unit += int((valid & outside.any(axis=0)).sum())
        self.sums += np.where(valid, probability, 0).sum(axis=(1, 2), dtype=np.float64)
        if "probability" in self.datasets:
            out = np.where(valid, probability, np.float32(np.nan)).astype(np.float32)
            for index in range(self.classes):
                self.datasets["probability"].GetRasterBand(index + 1).WriteArray(out[index], 0, row)
        for number, (classes, counts) in enumerate(zip(heads, self.head_counts), start=1):
            counts += np.bincount(classes[valid].ravel(), minlength=len(counts))[: len(counts)]
            if "classes" in self.datasets:
                self.datasets["classes"].GetRasterBand(number).WriteArray(
                    np.where(valid, classes, CLASSES_NODATA).astype(np.uint8), 0, row)

    def _group_name(self, group: Tuple[int, ...]) -> str:
        return " + ".join(self.info.class_names.get(number, f"class {number}") for number in group)

    def recount(self, counts: List[np.ndarray]) -> None:
        """Replace the class counts (per head, 256 bins) with those of the finished class raster."""
        for mine, theirs in zip(self.head_counts, counts):
            mine[:] = theirs[:len(mine)]

    def close(self) -> None:
        for dataset in self.datasets.values():
            dataset.FlushCache()
        self.datasets.clear()

    def stats(self) -> Dict[str, dict]:
        means = (self.sums / self.valid).tolist() if self.valid else [None] * self.classes
        per_head = []
        for head, counts in enumerate(self.head_counts):
            if self.picked is not None:
                picked = [self._group_name(group) for group in self.picked]
                names = {0: "not " + " or ".join(picked), **{i: name for i, name in enumerate(picked, start=1)}}
                for i in range(2, len(names)):  # counts are keyed by name: keep repeated names apart
                    if names[i] in [names[j] for j in range(i)]:
                        names[i] = f"{names[i]} ({i})"
            else:
                names = {i: self.names[head].get(i, str(i)) for i in range(len(counts))}
            per_head.append({"output": self.labels[head],
                             "counts": {names[i]: int(c) for i, c in enumerate(counts)}})
        return {
            "probability": {"mean": means, "valid_pixels": self.valid},
            "classes": {"counts": per_head[0]["counts"], "valid_pixels": self.valid, "heads": per_head},
        }


def classify(probability: np.ndarray, threshold: Optional[float]) -> np.ndarray:
    """Class per pixel: a single-band model thresholds (default 0.5); several bands take the argmax,
    and pixels whose best probability is below seg_thresh fall back to class 0 (as in Deepness)."""
    if probability.shape[0] == 1:
        return (probability[0] >= (0.5 if threshold is None else threshold)).astype(np.uint8)
    classes = np.argmax(probability, axis=0).astype(np.uint8)
    if threshold is not None:
        classes[probability.max(axis=0) < threshold] = 0
    return classes


def picked_groups(only_class) -> Optional[Tuple[Tuple[int, ...], ...]]:
    """``only_class`` as groups of classes: 3 -> ((3,),); (1, 2) -> ((1,), (2,)); ((1, 2), 3) -> ((1, 2), (3,))."""
    if only_class is None:
        return None
    if isinstance(only_class, (int, np.integer)):
        return ((int(only_class),),)
    groups = tuple(tuple(int(n) for n in group) if isinstance(group, (list, tuple)) else (int(group),)
                   for group in only_class)
    if not groups or not all(groups):
        raise LabelMigrationError(f"No class to pick was given ({only_class!r}).")
    return groups


def _group_probability(probability: np.ndarray, group: Sequence[int]) -> np.ndarray:
    """The probability of a group of classes: the sum of theirs."""
    if len(group) == 1:
        return probability[group[0]]
    return probability[list(group)].sum(axis=0)


def only_class_mask(probability: np.ndarray, only_class, threshold: Optional[float]) -> np.ndarray:
    """1 where ``only_class`` wins the argmax (or, given a threshold, where its probability reaches it), else 0.

    Several classes, ``(a, b, ...)``, mark 1 where a wins, 2 where b wins, ...; given a threshold, where a's
    probability reaches it 1, else where b's does 2, and so on (earlier classes first). A class may be a group
    of classes (``((a1, a2), b)``): it wins where one of them wins the argmax, and its probability is their sum.
    """
    groups = picked_groups(only_class)
    mask = np.zeros(probability.shape[1:], np.uint8)
    if threshold is None:
        best = np.argmax(probability, axis=0)
        for value, group in enumerate(groups, start=1):
            mask[np.isin(best, group)] = value
        return mask
    for value, group in reversed(list(enumerate(groups, start=1))):
        mask[_group_probability(probability, group) >= threshold] = value
    return mask


# ----- the streaming loop ------------------------------------------------------------------------

class _RowBlender:
    """Weighted sums for one tile row of output, rolled down as finished rows are written."""

    def __init__(self, classes: int, rows: int, width: int):
        self.values = np.zeros((classes, rows, width), np.float32)
        self.weights = np.zeros((rows, width), np.float32)
        self.bad: Optional[np.ndarray] = None  # weight of non-finite predictions; made on the first one
        self.top = 0  # raster row of buffer row 0

    def add(self, prediction: np.ndarray, x: int, y: int, weight: np.ndarray) -> None:
        rows = min(prediction.shape[1], self.weights.shape[0] - (y - self.top))
        cols = min(prediction.shape[2], self.weights.shape[1] - x)
        r0 = y - self.top
        w = weight[:rows, :cols]
        values = prediction[:, :rows, :cols]
        finite = np.isfinite(values).all(axis=0)
        if not finite.all():  # NaN * 0 is NaN: keep non-finite values out of the sums, count them apart
            if self.bad is None:
                self.bad = np.zeros_like(self.weights)
            self.bad[r0:r0 + rows, x:x + cols] += np.where(finite, np.float32(0), w)
            values = np.where(finite, values, np.float32(0))
        self.values[:, r0:r0 + rows, x:x + cols] += values * w
        self.weights[r0:r0 + rows, x:x + cols] += w

    def not_finite(self, start: int, stop: int) -> Optional[np.ndarray]:
        """True where a tile that counts (weight above 0) predicted NaN or infinity; None when none did."""
        if self.bad is None:
            return None
        return self.bad[start - self.top:stop - self.top] > 0

    def blended(self, start: int, stop: int) -> np.ndarray:
        """Normalised rows ``start`` to ``stop`` (raster rows, exclusive end) of the buffer."""
        a, b = start - self.top, stop - self.top
        weights = self.weights[a:b]
        return self.values[:, a:b] / np.where(weights > 0, weights, np.float32(1.0))

    def roll(self, until: int) -> None:
        """Drop the finished rows above ``until``; the buffer moves up by as many rows."""
        count = until - self.top
        arrays = [self.values, self.weights[np.newaxis]] + ([] if self.bad is None else [self.bad[np.newaxis]])
        for array in arrays:
            height = array.shape[1]
            for row in range(0, height - count, count):  # non-overlapping chunks: no temporary copy
                stop = min(row + count, height - count)
                array[:, row:stop] = array[:, row + count:stop + count]
            array[:, max(0, height - count):] = 0
        self.top = until


Finish = Callable[[Dict[str, str]], object]


def predict_raster(input_path: str, model_path: str, outputs: Dict[str, str],
                   bands: Optional[Sequence[Union[str, int]]] = None, tile_size: Optional[int] = None,
                   overlap: Optional[float] = None, batch_size: int = 4, threshold: Optional[float] = None,
                   class_colours: Optional[Dict[int, Tuple[int, int, int]]] = None,
                   model_info: Optional[ModelInfo] = None, only_class: OnlyClass = None,
                   resolution: Optional[float] = None, small_segment: Optional[int] = None,
                   extra_outputs: Optional[Dict[str, str]] = None, finish: Optional[Finish] = None,
                   progress: Optional[ProgressCallback] = None,
                   is_cancelled: Optional[CancelCheck] = None,
                   input_scaling: Optional[str] = "auto") -> PredictionResult:
    """Predict every pixel of ``input_path`` with the model and write the requested outputs.

    ``outputs`` maps roles to GeoTIFF paths: 'probability' (float32, one band per model output
    channel, NaN where the input is nodata) and/or 'classes' (uint8, 255 where nodata).
    ``overlap`` is a fraction of the tile (below 1) or pixels; it defaults to the model's tiles_overlap.
    ``threshold`` replaces the model's seg_thresh for the 'classes' output; ``class_colours``
    ({class: (r, g, b)}) becomes its colour table. ``model_info`` replaces the model file's metadata.
    ``only_class`` reduces a multi-class model to one class: 'probability' is that class's band alone
    and 'classes' is 1 where it wins the argmax (where its probability reaches the threshold when
    one is given), else 0. Several classes (``(cloud, shadow)``) mark 1, 2, ... (see only_class_mask);
    'probability' is then the first one's. A callable is called with the open model (its output
    channels known) and returns one of these (core.models.cloud_classes.CloudPicker decides a cloud model's).
    A model with several output heads gives 'classes' one band per head and 'probability' the channels of
    every head one after the other (band descriptions name them).
    ``resolution`` (cm per pixel; None: no resampling) runs the model on the input resampled to that
    resolution (a warped VRT, read window by window) and brings the outputs back onto the input's grid, as
    Deepness runs a model at its ``resolution``. ``small_segment`` (None: the model's seg_small_segment; 0:
    none) median-filters the class raster as Deepness does (see core.models.deepness).
    ``extra_outputs`` ({role: path}) are files ``finish`` writes from the finished rasters (a table
    of counts, ...). ``finish`` gets {role: temporary path} of every output, the rasters complete and
    closed, before anything is published; what it returns is the result's ``finished``. The rasters
    and the extra outputs appear together, or, when anything fails, none of them.
    ``input_scaling`` ('auto', 'dn', 'reflectance' or '8bit') says what the raster's values are;
    core.models.input_scaling turns them into the model's input and explains how (the result's
    ``input_scaling``), warning when that input is implausible for the model.
    """
    steps = Steps(progress, is_cancelled)
    extra_outputs = dict(extra_outputs or {})
    _check_outputs(outputs, extra_outputs, input_path)
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise LabelMigrationError(f"The threshold (THRESHOLD) must be between 0 and 1, not {threshold}.")
    model = load_model(model_path, model_info)
    if threshold is not None:
        model.info = replace(model.info, seg_thresh=float(threshold))
    model.info.check_numbers(model_path)
    with gdal_errors(), gdal_cache_limit(64 << 20):
        source = open_raster(input_path, "input raster")
        limits.check_pixels(source.RasterXSize, source.RasterYSize, f"The input raster '{input_path}'")
        band_notes: List[str] = []
        chosen = select_bands(source, model, bands, input_path, band_notes)
        grid, grid_warnings = _model_grid(source, resolution, input_path)
        limits.check_pixels(grid.RasterXSize, grid.RasterYSize, f"The input raster '{input_path}' at the model's "
                                                                f"resolution")
        tile, overlap_px = resolve_tiling(model, tile_size, overlap)
        margin, classes = _output_margin(model, tile, len(chosen), overlap_px)
        if callable(only_class):  # decided from the open model, now that its output channels are known
            only_class = only_class(model)
        batch = fit_batch(tile, max(1, int(batch_size)), len(chosen), classes, grid.RasterXSize,
                          grid.RasterYSize, model.fixed_size is not None, model_path, model.batch)
        decision = decide_input_scaling(source, chosen, model.info, input_scaling)
        scaling = decision.transform
        roles = list(outputs) + list(extra_outputs)
        targets = {**outputs, **extra_outputs}
        with atomic_outputs(*[targets[role] for role in roles]) as temporaries:
            paths = dict(zip(roles, temporaries))
            plan = _Plan(grid, chosen, tile, overlap_px, batch, margin)
            writers = None
            on_grid = {role: (paths[role] + ".model-grid.tif" if grid is not source else paths[role])
                       for role in outputs}
            try:
                try:
                    writers = _stream(model, plan, scaling, on_grid, steps, input_path, class_colours, only_class)
                finally:
                    if writers is not None:
                        writers.close()
                    plan.source = None
                _check_plausible(writers, model_path, input_path, chosen)
                size = median_size(model.info.seg_small_segment if small_segment is None else small_segment)
                _post_process(writers, on_grid, {role: paths[role] for role in outputs}, source, chosen, size,
                              input_path)
            finally:
                for role, path in on_grid.items():
                    if path != paths[role] and os.path.exists(path):
                        os.remove(path)
                if grid is not source:
                    grid = None
                    gdal.Unlink(_grid_path(source))
            finished = finish(paths) if finish is not None else None
    return PredictionResult(outputs=dict(outputs), stats={r: writers.stats()[r] for r in outputs},
                            width=source.RasterXSize, height=source.RasterYSize, bands=chosen, tile_size=tile,
                            overlap=overlap_px, tiles=plan.tile_count, valid_pixels=writers.valid,
                            warnings=list(model.warnings) + band_notes + grid_warnings + decision.warnings
                            + one_class_note(decision, writers.stats()["classes"]["counts"])
                            + _output_warnings(writers, model_path),
                            finished=finished, input_scaling=decision.why)


def _grid_path(source: gdal.Dataset) -> str:
    return f"/vsimem/labelmigration-model-grid-{id(source)}.vrt"


def _model_grid(source: gdal.Dataset, resolution: Optional[float], input_path: str) -> Tuple[gdal.Dataset, List[str]]:
    """The raster the model runs on: ``source`` itself, or a warped VRT of it at ``resolution`` cm/px."""
    if resolution is None:
        return source, []
    if not np.isfinite(resolution) or resolution <= 0:
        raise LabelMigrationError(f"The model resolution must be a positive number of cm per pixel, not {resolution}.")
    pixel, why_not = model_pixel_size(source, resolution)
    if why_not:
        return source, [f"The input raster '{input_path}' was not resampled to the model's resolution of "
                        f"{resolution:g} cm/px: {why_not}. The model ran on the raster's own pixels."]
    if pixel is None:
        return source, []
    return warped_view(source, pixel, _grid_path(source)), []


def _output_margin(model: Model, tile: Tuple[int, int], bands: int, overlap: int) -> Tuple[Tuple[int, int], int]:
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


def _post_process(writers: _Writers, on_grid: Dict[str, str], paths: Dict[str, str], source: gdal.Dataset,
                  bands: List[int], size: int, input_path: str) -> None:
    """Deepness's small-segment median filter on the class raster (at the model's resolution), then, when the
    model ran on a resampled grid, the outputs warped back onto the input's grid with the input's nodata."""
    resampled = any(on_grid[role] != paths[role] for role in on_grid)
    if "classes" in on_grid and size > 1:
        dataset = gdal.Open(on_grid["classes"], gdal.GA_Update)
        writers.recount(filter_small_segments(dataset, size, CLASSES_NODATA))
        dataset = None
    if not resampled:
        return
    for role, path in on_grid.items():
        warp_back(path, paths[role], source, "near" if role == "classes" else "bilinear")
    datasets = {role: gdal.Open(paths[role], gdal.GA_Update) for role in paths}
    counts = [np.zeros(256, np.int64) for _ in writers.heads]
    valid_total = 0
    for row in range(0, source.RasterYSize, EMIT_ROWS):
        rows = min(EMIT_ROWS, source.RasterYSize - row)
        with read_check(input_path, "input raster"):
            valid = read_valid(source, bands, 0, row, source.RasterXSize, rows)
        for role, dataset in datasets.items():
            for number in range(1, dataset.RasterCount + 1):
                band = dataset.GetRasterBand(number)
                values = band.ReadAsArray(0, row, source.RasterXSize, rows)
                if role == "classes":
                    kept = valid & (values != CLASSES_NODATA)
                    counts[number - 1] += np.bincount(values[kept].ravel().astype(np.int64), minlength=256)[:256]
                    band.WriteArray(np.where(valid, values, CLASSES_NODATA).astype(np.uint8), 0, row)
                else:
                    band.WriteArray(np.where(valid, values, np.float32(np.nan)).astype(np.float32), 0, row)
        valid_total += int(valid.sum())
    for dataset in datasets.values():
        dataset.FlushCache()
    datasets.clear()
    if "classes" in paths:
        writers.recount(counts)
    writers.valid = valid_total


def _check_plausible(writers: _Writers, model_path: str, input_path: str, bands: List[int]) -> None:
    """Refuse a run whose numbers would be meaningless: no valid input pixel, or NaN predictions."""
    seen = writers.valid + writers.not_finite
    if seen == 0:
        raise LabelMigrationError(
            f"The input raster '{input_path}' has no valid pixel in the bands used ({', '.join(map(str, bands))}): "
            f"every pixel is nodata or NaN, so there is nothing to predict. No output was written.")
    if writers.not_finite:
        share = 100.0 * writers.not_finite / seen
        raise LabelMigrationError(
            f"The model '{model_path}' produced NaN (not a number) or infinity for {share:.3g} % of the valid "
            f"pixels ({writers.not_finite:,} of {seen:,}) of '{input_path}', so no result computed from it can be "
            f"trusted; no output was written. The model is broken (for example NaN weights) or its input scaling "
            f"(reflectance_scale, standardization) does not fit this raster.")


def _output_warnings(writers: _Writers, model_path: str) -> List[str]:
    if not writers.outside_unit:
        return []
    share = 100.0 * writers.outside_unit / max(1, writers.valid)
    return [f"The model '{model_path}' returned values outside 0..1 for {share:.3g} % of the valid pixels: it "
            f"returns logits or scores, not probabilities, so the threshold means little. Set output_activation "
            f"('sigmoid' or 'softmax') in the model's metadata."]


def _check_outputs(outputs: Dict[str, str], extra_outputs: Dict[str, str], input_path: str) -> None:
    if not outputs:
        raise LabelMigrationError(f"No output was requested; ask for one of: {', '.join(OUTPUT_ROLES)}.")
    for role, path in outputs.items():
        if role not in OUTPUT_ROLES:
            raise LabelMigrationError(f"Unknown output '{role}'; the outputs are: {', '.join(OUTPUT_ROLES)}.")
        check_output_path(path, [input_path], f"{role} output")
    for role, path in extra_outputs.items():
        if role in OUTPUT_ROLES:
            raise LabelMigrationError(f"The extra output '{role}' has the name of a raster output.")
        check_output_path(path, [input_path], f"{role} output")


class _Plan:
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

    def read(self, x: int, y: int) -> np.ndarray:
        """The input tile whose predicted window starts at (x, y)."""
        return read_tile(self.source, self.bands, x - self.margin[1], y - self.margin[0], self.tile)


def _stream(model: Model, plan: _Plan, scaling: InputTransform, paths: Dict[str, str], steps: Steps,
            input_path: str, class_colours: Optional[Dict[int, Tuple[int, int, int]]] = None,
            only_class: OnlyClass = None) -> _Writers:
    blender, writers, done = None, None, 0
    for index, y in enumerate(plan.rows):
        row_weight = axis_weight(y, plan.out[0], plan.height)
        for start in range(0, len(plan.cols), plan.batch):
            xs = plan.cols[start:start + plan.batch]
            with read_check(input_path, "input raster"):
                batch = np.stack([scaling.apply(plan.read(x, y)) for x in xs])
            if len(xs) < plan.batch and model.batch:  # a model with a fixed batch size takes full batches only
                batch = np.concatenate([batch, np.zeros((plan.batch - len(xs),) + batch.shape[1:], batch.dtype)])
            heads = run_heads(model, batch)
            prediction = heads[0] if len(heads) == 1 else np.concatenate(heads, axis=1)
            if blender is None:
                classes = prediction.shape[1]
                blender = _RowBlender(classes, min(plan.out[0], plan.height), plan.width)
                blender.top = y
                channels = [head.shape[1] for head in heads]
                writers = _Writers(paths, plan.source, classes, model.info, class_colours, only_class, channels,
                                   [model.class_names_of(i, c) for i, c in enumerate(channels)], model.head_labels)
            for offset, x in enumerate(xs):
                weight = row_weight[:, np.newaxis] * plan.col_weights[start + offset][np.newaxis, :]
                blender.add(prediction[offset], x, y, weight)
            done += len(xs)
            steps.report(done / plan.tile_count)
        until = plan.rows[index + 1] if index + 1 < len(plan.rows) else plan.height
        _emit(blender, writers, plan, until, input_path)
    return writers


def _emit(blender: _RowBlender, writers: _Writers, plan: _Plan, until: int, input_path: str) -> None:
    """Write the rows no later tile touches, in strips of EMIT_ROWS to keep temporaries small."""
    for row in range(blender.top, until, EMIT_ROWS):
        stop = min(until, row + EMIT_ROWS)
        with read_check(input_path, "input raster"):
            valid = read_valid(plan.source, plan.bands, 0, row, plan.width, stop - row)
        writers.write(row, blender.blended(row, stop), valid, blender.not_finite(row, stop))
    blender.roll(until)
