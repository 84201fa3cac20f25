"""Open an ONNX segmentation model with onnxruntime (on the GPU when it works) and run it on a batch of tiles.

A segmentation model takes one floating-point tensor (batch, bands, rows, cols) and returns, from each output
head, (batch, classes, rows, cols) or (batch, rows, cols); load_model refuses anything else before a raster is
read, and run_heads checks every batch's output again.
"""
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..install.dependencies import require
from ..util.errors import LabelMigrationError
from ..util.paths import unreadable_reason
from .deepness import head_class_names
from .model_info import ModelInfo

CLASSES_NODATA = 255
MAX_CLASSES = CLASSES_NODATA  # classes 0..254 fit the uint8 class raster beside its nodata value
# input tensor types the engine can feed: onnxruntime's name -> numpy type
_INPUT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16}
_SEGMENTATION_TYPES = ("segmentor", "segmentation")
CPU_PROVIDER = "CPUExecutionProvider"
GPU_PROVIDERS = ("CUDAExecutionProvider",)
# onnxruntime's default: idle intra-op threads spin a while for the next op. "0" saves CPU time on a busy machine
# (about a third of it, 2026-12-06) but costs 5-9 % wall time on an idle one, more for small tiles
ALLOW_SPINNING = "1"


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
    options = session_options(ort)
    try:
        session = ort.InferenceSession(path, providers=wanted, **options)
    except Exception as error:  # onnxruntime raises its own exception types
        if wanted == [CPU_PROVIDER]:
            raise
        warnings.append(f"onnxruntime could not run the model on the GPU ({wanted[0]}: "
                        f"{str(error).strip()[:300]}); running it on the CPU instead.")
        session = ort.InferenceSession(path, providers=[CPU_PROVIDER], **session_options(ort))
    used = list(session.get_providers())
    if wanted[0] != CPU_PROVIDER and wanted[0] not in used and not warnings:
        warnings.append(f"onnxruntime offers {wanted[0]} but did not use it (CUDA or cuDNN libraries missing "
                        f"or of another version than this onnxruntime-gpu needs); running on the CPU instead.")
    return session, (used[0] if used else CPU_PROVIDER), warnings


def session_options(ort) -> Dict[str, object]:
    """InferenceSession's keyword for the engine's session options, said explicitly: every graph optimisation,
    sequential execution, onnxruntime's intra-op threads (one per physical core), spinning as ALLOW_SPINNING says.
    Empty for an onnxruntime without SessionOptions."""
    if not hasattr(ort, "SessionOptions"):
        return {}
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", ALLOW_SPINNING)
    return {"sess_options": options}


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
