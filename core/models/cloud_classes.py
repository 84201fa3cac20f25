"""Which of a cloud model's classes are cloud and cloud shadow: decided here, and only here.

Every cloud model the plugin runs goes through ``model_cloud_classes``: the bundled model (a 1-channel
sigmoid, or the 3-class clear/cloud/shadow model), the ukis-csmask U-Nets (core.models.csmask: 0 clear,
1 cloud, 2 shadow) and any ONNX file a user gives.

- A model with one output channel (a sigmoid head) is cloud only: its probability is the cloud's.
- Otherwise the class names decide, case-insensitively: a name with "cloud" or "cirrus" in it is cloud
  ("cloud", "Clouds", "thick cloud", "thin_cloud", "cirrus"), a name with "shadow" in it is cloud shadow
  ("shadow", "cloud shadow", "cloud_shadow"); names that negate ("no cloud", "cloud-free", "cloudless",
  "non-cloud") are neither. Several cloud classes (CloudSEN12's thick and thin cloud) count together:
  cloud is where one of them wins, and its probability is their sum; shadow classes alike.
- A model without a class named cloud is read as today: class 1 is cloud, it has no shadow class;
  ``note`` says so and ``model_cloud_classes`` logs that warning once per model.

predict_raster's ``only_class`` then turns the model's output into a mask: 1 cloud, 2 cloud shadow
(when asked for and the model has it), 0 anything else, 255 nodata. ``CloudPicker`` is that
``only_class``, deciding once the model is open (its output channels known).
"""
import logging
import re
import threading
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

LOG = logging.getLogger(__name__)
MASK_CLEAR, MASK_CLOUD, MASK_SHADOW, MASK_NODATA = 0, 1, 2, 255
_NEGATED = re.compile(r"(^|[^a-z])(no|not|non)([^a-z]|$)|non[-_ ]?cloud|free|less")
_WARNED = set()
_WARNED_LOCK = threading.Lock()

Group = Tuple[int, ...]


def _normal(name) -> str:
    return re.sub(r"[\s_\-]+", " ", str(name).strip().lower())


def is_shadow_name(name) -> bool:
    text = _normal(name)
    return "shadow" in text and not _NEGATED.search(text)


def is_cloud_name(name) -> bool:
    text = _normal(name)
    return ("cloud" in text or "cirrus" in text) and "shadow" not in text and not _NEGATED.search(text)


@dataclass(frozen=True)
class CloudClasses:
    """The cloud and shadow classes of a model's (first) output: channel indices, several when the model splits
    cloud (or shadow) into kinds. ``channels`` 1: a sigmoid head, cloud only (``cloud`` is (0,))."""
    cloud: Group
    shadow: Optional[Group] = None
    channels: Optional[int] = None
    note: str = ""  # set when the names did not say which class is cloud (class 1 was taken)

    @property
    def has_shadow(self) -> bool:
        return self.shadow is not None

    def only_class(self, shadow: bool = False):
        """predict_raster's ``only_class`` for a mask of 1 cloud (2 shadow when ``shadow`` and the model has it),
        0 else; None for a sigmoid head, whose class raster already is 1 where the cloud probability reaches the
        threshold."""
        if self.channels == 1:
            return None
        if shadow and self.shadow is not None:
            return (self.cloud, self.shadow)
        return (self.cloud,)

    def describe(self, names: Optional[Dict[int, str]] = None) -> str:
        """In words, for the log: 'cloud = class 1 (cloud), shadow = class 2 (shadow)'."""
        def part(group: Group) -> str:
            return " + ".join(f"class {c}" + (f" ({names[c]})" if names and c in names else "") for c in group)
        if self.channels == 1:
            return "one output channel: the cloud probability (no shadow class)"
        text = f"cloud = {part(self.cloud)}"
        return text + (f", cloud shadow = {part(self.shadow)}" if self.shadow else ", no cloud shadow class")


def cloud_classes(names: Optional[Dict[int, str]], channels: Optional[int], model: str = "") -> CloudClasses:
    """The cloud and shadow classes from a model's class names ({index: name}) and its output channels (None:
    unknown; then the names' count says whether it is a one-channel head)."""
    names = {int(index): str(name) for index, name in (names or {}).items()}
    if channels is None:
        channels = 1 if len(names) <= 1 else None
    if channels == 1:
        return CloudClasses(cloud=(0,), channels=1)
    usable = {index: name for index, name in names.items() if channels is None or 0 <= index < channels}
    cloud = tuple(sorted(index for index, name in usable.items() if is_cloud_name(name)))
    shadow = tuple(sorted(index for index, name in usable.items() if is_shadow_name(name)))
    if cloud:
        return CloudClasses(cloud=cloud, shadow=shadow or None, channels=channels)
    listed = ", ".join(f"{index}: '{name}'" for index, name in sorted(names.items())) or "none"
    whose = f"The cloud model '{model}'" if model else "The cloud model"
    return CloudClasses(cloud=(1,), channels=channels, note=(
        f"{whose} names no class cloud (its class names: {listed}); class 1 is taken as cloud and no class as "
        f"cloud shadow. Name the classes in its metadata (class_names, e.g. {{\"0\": \"clear\", \"1\": \"cloud\", "
        f"\"2\": \"shadow\"}})."))


def model_cloud_classes(model) -> CloudClasses:
    """The decision for an open model (core.models.onnx_model.Model; its output channels known or None), with the
    warning for a model whose names say nothing logged once per model file."""
    channels = model.head_channels[0] if model.head_channels else model.classes
    decided = cloud_classes(model.info.class_names, channels, model.path)
    if decided.note:
        with _WARNED_LOCK:
            first = model.path not in _WARNED
            _WARNED.add(model.path)
        if first:
            LOG.warning(decided.note)
    return decided


class CloudPicker:
    """predict_raster's ``only_class`` for a cloud mask: called with the open model, it decides the classes
    (``classes`` afterwards) and returns what predict_raster picks: 1 cloud, 2 shadow when ``shadow``.
    ``warn``: a model whose names say nothing also gets that note among the prediction's warnings."""

    def __init__(self, shadow: bool = False, warn: bool = False):
        self.shadow, self.warn = shadow, warn
        self.classes: Optional[CloudClasses] = None
        self.names: Dict[int, str] = {}

    def __call__(self, model):
        self.classes = model_cloud_classes(model)
        self.names = dict(model.info.class_names)
        if self.warn and self.classes.note:  # among the run's warnings (PredictionResult.warnings)
            model.warnings.append(self.classes.note)
        return self.classes.only_class(self.shadow)

    @property
    def marks_shadow(self) -> bool:
        """Whether the mask holds shadow (2): asked for, and the model has a shadow class."""
        return self.shadow and self.classes is not None and self.classes.has_shadow


def predict_clouds(input_path: str, model_path: str, outputs: Dict[str, str], shadow: bool = False, **kwargs):
    """predict_raster for a cloud model: 'classes' is the mask (1 cloud, 2 cloud shadow when ``shadow`` and the
    model has a shadow class, 0 else, 255 nodata), 'probability' the cloud probability. Returns
    (PredictionResult, CloudClasses)."""
    from .predict import predict_raster

    picker = CloudPicker(shadow)
    result = predict_raster(input_path, model_path, outputs, only_class=picker, **kwargs)
    return result, picker.classes
