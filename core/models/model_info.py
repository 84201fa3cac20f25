"""What an ONNX model's metadata says, read from and written to its ``metadata_props`` (JSON values).

The keys follow the Deepness plugin: ``model_type``, ``class_names`` (index -> name, or a list of such per
output head), ``resolution`` (cm/px), ``tile_size``, ``tiles_overlap`` (percent), ``standardization_mean``,
``standardization_std``, ``seg_thresh``, ``seg_small_segment``. Our own keys: ``bands`` (band names in the
model's input order), ``reflectance_scale`` and ``reflectance_offset`` (reflectance = DN * scale + offset, used
when the raster's bands declare no scale/offset of their own), ``output_activation`` ("softmax" over classes or
"sigmoid", applied to each tile's output before blending, for models that return logits), ``input_range`` and
``standardization_domain``, ``class_colors`` (class index -> '#rrggbb', for models trained on a dataset whose
classes have colours: segment draws the class raster in them). ModelInfo.from_metadata reads them (the engine)
and ModelInfo.to_metadata writes them (training/export.py, core/segmentation_training), so both sides share one
definition.
"""
import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from ..util.errors import LabelMigrationError
from .deepness import parse_class_names

OUTPUT_ACTIVATIONS = ("softmax", "sigmoid")
DEEPNESS_DOMAIN = "deepness"  # standardization_domain: mean/std apply to r / 255 (core/models/input_scaling.py)
# the keys to_metadata writes, in this order; None values are left out
METADATA_KEYS = ("model_type", "class_names", "resolution", "tile_size", "tiles_overlap", "standardization_mean",
                 "standardization_std", "standardization_domain", "seg_thresh", "seg_small_segment", "bands",
                 "reflectance_scale", "reflectance_offset", "output_activation", "input_range", "class_colors")


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
    class_colors: Dict[int, str] = field(default_factory=dict)  # class index -> '#rrggbb' (the first head's)

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
                class_colors=_colour_map(values.get("class_colors")),
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

    def to_metadata(self) -> Dict[str, str]:
        """The ONNX ``metadata_props`` ({key: JSON text}) that from_metadata reads back as this ModelInfo."""
        heads = self.head_names if len(self.head_names) > 1 else [self.class_names]
        values = {name: getattr(self, name) for name in METADATA_KEYS}
        values["class_names"] = [{str(index): name for index, name in head.items()} for head in heads]
        if len(heads) == 1:
            values["class_names"] = values["class_names"][0]
        values["class_colors"] = {str(index): colour for index, colour in sorted(self.class_colors.items())} or None
        if self.legacy_standardization and self.standardization_domain is None:
            values["standardization_domain"] = DEEPNESS_DOMAIN  # from_metadata re-expressed mean/std in it
        return {key: json.dumps(value) for key, value in values.items() if value is not None}


def _colour_map(value) -> Dict[int, str]:
    """class_colors: {"1": "#rrggbb", ...}; a colour that is not #rrggbb is refused (malformed metadata)."""
    if value in (None, "", {}):
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"class_colors must map class indexes to '#rrggbb' colours, not {value!r}")
    colours = {}
    for index, colour in value.items():
        text = str(colour).strip().lower()
        if len(text) != 7 or text[0] != "#" or any(c not in "0123456789abcdef" for c in text[1:]):
            raise ValueError(f"class_colors holds {colour!r} for class {index}, which is not '#rrggbb'")
        colours[int(index)] = text
    return colours


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
