"""How raster values become a model's input: one decision for every algorithm that runs a model.

The convention (Deepness's, taken as canonical)
-----------------------------------------------
Deepness (PUTvision/qgis-plugin-deepness) reads the raster's values as they are stored and always
computes the model input as ``(r / 255 - mean) / std``: ``ModelBase.preprocessing`` calls
``preprocessing_utils.normalize_values_to_01`` (``tiles * 1/255``) and then
``standardize_values`` (``(tiles - mean) / std``) with ``standardization_mean`` /
``standardization_std`` from the model's metadata (``get_metadata_standarization_parameters``;
mean 0 and std 1 when they are missing). Its documentation ("Model classes and requirements")
says the input image data are uint8 values per channel. ``r`` is therefore "the raw value Deepness
would see", and ``standardization_mean`` / ``standardization_std`` live in the domain ``r / 255``.

This module keeps that formula for every model and decides only what ``r`` is for the raster at
hand. Our own metadata keys ``reflectance_scale`` ``s`` and ``reflectance_offset`` ``o`` say that
the model was trained on DN whose reflectance is ``DN * s + o``; band scale/offset metadata turn a
raster's values into reflectance first. The choices (``INPUT_SCALING``):

* ``dn`` (raw DN with the model's scaling): ``r = DN``. When the bands declare a scale/offset other
  than 1/0 (e.g. uint16 with scale 1e-4 and offset -0.1, processing baseline 04.00 and later) the
  values are turned into reflectance with it, and ``r = (reflectance - o) / s``: the DN the model's
  scaling would give that reflectance (``DN - 1000`` for baseline 04.00).
* ``reflectance`` (values already 0-1): ``r = (value - o) / s``; band scale/offset are ignored (the
  values are reflectance as stored).
* ``8bit`` (0-255): ``r = value``, exactly what Deepness feeds.
* ``auto``: ``8bit`` for Byte rasters; ``dn`` when the bands declare a scale/offset other than 1/0
  (they make reflectance); for floating-point bands a sample of valid values decides: its 99th
  percentile at most ``REFLECTANCE_MAX`` means reflectance, else DN; integer bands are DN. An
  explicit scale 1 / offset 0 counts as set (the values are physical as stored: no DN scale is
  applied); it is overruled only where the values cannot be reflectance (VRTs report scale 1 /
  offset 0 for every band, declared or not).

A model WITHOUT ``reflectance_scale`` (a Deepness model) gets ``r = value`` whatever the choice,
as in Deepness (``dn`` and ``8bit`` both mean "the values as stored"); ``reflectance`` is refused,
because nothing says how reflectance maps onto such a model's input.

So Deepness and this engine feed the same tensor to a model from the same DN raster, and a model
with ``reflectance_scale`` also takes reflectance rasters (GeoTIFFs of reflectance 0-1 from
``safetogeotiff REFLECTANCE=true``, sen2cor/SNAP, Earth Engine) without an empty mask.

USGS Landsat Collection 2 files carry no scale/offset tags. Where their names say so, ``auto`` and ``dn`` read
Level-2 surface reflectance with the published scale and offset if the values fit (core.landsat.bands), Level-1 DN
as top-of-atmosphere reflectance with the factors and sun elevation of the MTL beside them (core.landsat.level1;
``auto`` fails where those are unknown, ``dn`` then reads the values as stored). The log says which. Sentinel-2 band
files read straight from a SAFE product (a VRT over its JPEG 2000 files, GDAL's SENTINEL2 subdataset) carry no tags
either: ``auto`` and ``dn`` read them with the quantification and offset of the product's metadata
(core.sentinel2.product_bands), so products of processing baseline 04.00 and later are not read 0.1 too bright.

Plausibility: the metadata key ``input_range`` (ours) holds per band the ``[low, high]`` model
input (after standardisation) seen in training. A sample whose model input falls far outside it
(beyond half the range's width on either side) for more than ``OUTSIDE_SHARE`` of its pixels, or
whose input hardly varies although the raster's values do (reflectance read as DN), gives a warning.
Without ``input_range`` the range is that of reflectance -0.2..2 (models with reflectance_scale) or of
8-bit values 0..255 (others). For models with ``reflectance_scale``, a raster is also implausible when the values it
can hold, or the brightest values it holds, stand for reflectance darker than any real scene: an 8-bit image (a JPEG,
PNG or display stretch) read as the model's DN is reflectance 0 to 0.0255, and such a run marks every pixel one dark
class.
"""
import logging
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal

from ..landsat.bands import SR_OFFSET, SR_SCALE, unscaled_surface_reflectance
from ..landsat.level1 import dataset_toa_reflectance
from ..sentinel2.product_bands import product_reflectance
from ..util.errors import LabelMigrationError
from ..util.raster_read import INTEGER_TYPES
from .input_sample import SAMPLE_SIZE, read_sample  # noqa: F401 (SAMPLE_SIZE: part of this module's interface)

LOG = logging.getLogger(__name__)

CHOICES = ("auto", "dn", "reflectance", "8bit")
CHOICE_LABELS = {"auto": "automatic", "dn": "raw DN with the model's scaling", "reflectance": "reflectance 0-1",
                 "8bit": "8-bit 0-255"}
DEEPNESS_DIVISOR = 255.0  # Deepness: preprocessing_utils.normalize_values_to_01 multiplies by 1/255
REFLECTANCE_MAX = 2.0  # a 99th percentile of valid values at most this: reflectance, not DN
REFLECTANCE_RANGE = (-0.2, 2.0)  # plausible reflectance when the model records no input_range
EIGHT_BIT_RANGE = (0.0, 255.0)
OUTSIDE_SHARE = 0.01  # more than this share of sampled pixels far outside the range: a warning
FLAT_SPREAD = 5e-4  # model input spread below this share of the range's width: the input collapsed
# Reflectance below which a whole raster is implausibly dark: the brightest sampled pixel of some band of a real scene
# reaches above it (L2A blue over clear open water is about 0.02 to 0.04; a wave, a boat or a cloud is far brighter),
# where 8-bit values (0-255) kept in a 16-bit file and read as DN are reflectance 0.0255 at most
DARK_REFLECTANCE = 0.03
# Integer bands whose largest value means less than this reflectance cannot hold a scene (8-bit values read as a
# model's DN 0-255 are reflectance 0 to 0.0255)
DARK_TYPE_REFLECTANCE = 0.05


@dataclass
class InputTransform:
    """Per band: model input = value * scale + offset (NaN and infinity become 0)."""
    scale: np.ndarray
    offset: np.ndarray

    def apply(self, pixels: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
        """The model input of (bands, rows, cols) ``pixels``, computed in place (into ``out`` when given: a
        batch's slot) without temporaries; NaN and infinity (possible in floating-point input only) become 0."""
        shape = (-1, 1, 1)
        kind = np.result_type(np.float32, self.scale, self.offset)  # float32, as (pixels as float32) x scale
        values = out if out is not None and out.dtype == kind else np.empty(pixels.shape, kind)
        values[...] = pixels if kind == np.float32 else pixels.astype(np.float32)  # rounded to float32 first
        np.multiply(values, self.scale.reshape(shape), out=values)
        np.add(values, self.offset.reshape(shape), out=values)
        if pixels.dtype.kind not in "biu":  # NaN nodata
            np.nan_to_num(values, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        if out is not None and values is not out:
            out[...] = values
            return out
        return values


@dataclass
class ScalingDecision:
    requested: str  # the choice asked for
    choice: str  # what it resolved to: dn, reflectance or 8bit
    why: str  # in words, for the log
    raw_scale: np.ndarray  # per band: r (the value Deepness would see) = value * raw_scale + raw_offset
    raw_offset: np.ndarray
    transform: InputTransform  # value -> model input, (r / 255 - mean) / std folded in
    warnings: List[str] = field(default_factory=list)
    largest_value: Optional[float] = None  # the largest value the bands' integer data type holds (8, 16 bits)

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        return self.transform.apply(pixels)


def normalise_choice(choice: Optional[str]) -> str:
    key = "auto" if choice in (None, "") else str(choice).strip().lower().replace("-", "").replace(" ", "")
    key = {"automatic": "auto", "raw": "dn", "8": "8bit", "byte": "8bit", "uint8": "8bit"}.get(key, key)
    if key not in CHOICES:
        raise LabelMigrationError(f"Unknown input scaling '{choice}'; the choices are: {', '.join(CHOICES)}.")
    return key


def standardization(info, count: int) -> Tuple[np.ndarray, np.ndarray]:
    """The model's standardization_mean / _std per band (Deepness's defaults 0 and 1)."""
    arrays = []
    for key, values, default in (("standardization_mean", info.standardization_mean, 0.0),
                                 ("standardization_std", info.standardization_std, 1.0)):
        values = list(values or [default])
        if len(values) == 1:
            values = values * count
        if len(values) != count:
            raise LabelMigrationError(f"The model's {key} has {len(values)} values for {count} bands.")
        arrays.append(np.array(values, np.float64))
    if np.any(arrays[1] == 0):
        raise LabelMigrationError("The model's standardization_std contains a zero.")
    return arrays[0], arrays[1]


def _band_metadata(dataset: gdal.Dataset, bands: Sequence[int]) -> List[Tuple[Optional[float], Optional[float]]]:
    declared = []
    for number in bands:
        band = dataset.GetRasterBand(number)
        scale, offset = band.GetScale(), band.GetOffset()
        if scale == 0 or any(v is not None and not np.isfinite(v) for v in (scale, offset)):
            raise LabelMigrationError(
                f"Band {number} of the input raster declares scale {scale} and offset {offset}: every pixel would "
                f"become the same value. Remove or fix the band's scale/offset metadata.")
        declared.append((scale, offset))
    return declared


def _is_identity(scale, offset) -> bool:
    return scale in (None, 1.0) and offset in (None, 0.0)


def decide(dataset: gdal.Dataset, bands: Sequence[int], info, choice: Optional[str] = "auto",
           sample: Optional[np.ndarray] = None) -> ScalingDecision:
    """The transform from ``bands`` of ``dataset`` to the model's input, why, and warnings when the
    resulting input is implausible for the model. Logs the decision."""
    requested = normalise_choice(choice)
    count = len(bands)
    declared = _band_metadata(dataset, bands)
    if sample is None:
        sample = read_sample(dataset, bands)
    types = {dataset.GetRasterBand(n).DataType for n in bands}
    has_model_scale = info.reflectance_scale is not None
    untagged = has_model_scale and all(_is_identity(*pair) for pair in declared) and types <= set(INTEGER_TYPES)
    landsat = untagged and unscaled_surface_reflectance(dataset.GetFileList() or [dataset.GetDescription()], sample)
    level1 = untagged and not landsat and requested in ("auto", "dn") and \
        dataset_toa_reflectance(dataset, bands, strict=requested == "auto")
    sentinel2 = untagged and not landsat and not level1 and requested in ("auto", "dn") and \
        product_reflectance(dataset, bands)
    product, declared_by = None, "the bands declare"  # the product's factors replace the tags: why, in words
    if level1:
        (declared, product), declared_by = level1, "the Landsat product's"
    elif landsat:
        declared, product, declared_by = [(SR_SCALE, SR_OFFSET)] * count, landsat, "the Landsat product's"
    elif sentinel2:
        (declared, product), declared_by = sentinel2, "the Sentinel-2 product's"
    resolved, why = _resolve(requested, declared, types, sample, has_model_scale, declared_by)
    if product and resolved == "dn":
        why = f"{product}; {why}"
    s = info.reflectance_scale if has_model_scale else 1.0
    o = info.reflectance_offset or 0.0
    raw_scale, raw_offset = np.ones(count), np.zeros(count)
    if has_model_scale and resolved == "reflectance":
        raw_scale[:], raw_offset[:] = 1.0 / s, -o / s
    elif has_model_scale and resolved == "dn":
        for index, (scale, offset) in enumerate(declared):
            if not _is_identity(scale, offset):  # band metadata make reflectance; back to the model's DN
                raw_scale[index] = (1.0 if scale is None else scale) / s
                raw_offset[index] = ((0.0 if offset is None else offset) - o) / s
    mean, std = standardization(info, count)
    transform = InputTransform((raw_scale / (DEEPNESS_DIVISOR * std)).astype(np.float32),
                               ((raw_offset / DEEPNESS_DIVISOR - mean) / std).astype(np.float32))
    decision = ScalingDecision(requested, resolved, why, raw_scale, raw_offset, transform,
                               largest_value=_largest_value(types))
    decision.warnings = plausibility_warnings(decision, sample, info)
    LOG.info("Input scaling: %s", decision.why)
    for warning in decision.warnings:
        LOG.warning("%s", warning)
    return decision


def scaling_for(dataset: gdal.Dataset, bands: Sequence[int], info, choice: Optional[str] = "auto") -> InputTransform:
    """The transform alone (see decide), for code that reads tiles itself."""
    return decide(dataset, bands, info, choice).transform


def _resolve(requested: str, declared, types, sample: np.ndarray, has_model_scale: bool,
             declared_by: str = "the bands declare") -> Tuple[str, str]:
    convention = "model input = (r / 255 - standardization_mean) / standardization_std, as in Deepness"
    if not has_model_scale:
        if requested == "reflectance":
            raise LabelMigrationError(
                "INPUT_SCALING 'reflectance 0-1' needs a model whose metadata hold reflectance_scale (the DN scale "
                "it was trained with); this model declares none, so nothing says how reflectance maps onto its "
                "input. Choose 'raw DN' or '8-bit' (the values as stored, as Deepness feeds them), or add "
                "reflectance_scale to the model's metadata.")
        resolved = "8bit" if requested == "auto" and types == {gdal.GDT_Byte} else (
            "dn" if requested == "auto" else requested)
        return resolved, (f"{CHOICE_LABELS[resolved]}: the model declares no reflectance_scale, so r = the values as "
                          f"stored (as Deepness reads them); {convention}")
    non_identity = [i for i, (scale, offset) in enumerate(declared) if not _is_identity(scale, offset)]
    explicit = any(scale is not None or offset is not None for scale, offset in declared)
    text = {"dn": "r = DN (the model's DN), reflectance = r x reflectance_scale + reflectance_offset",
            "reflectance": "r = (value - reflectance_offset) / reflectance_scale",
            "8bit": "r = the value as stored (0-255), exactly what Deepness feeds"}
    if requested != "auto":
        detail = text[requested]
        if requested == "dn" and non_identity:
            detail = ("the bands' scale/offset make reflectance, then r = (reflectance - reflectance_offset) / "
                      "reflectance_scale")
        return requested, f"{CHOICE_LABELS[requested]} (asked for): {detail}; {convention}"
    if non_identity:
        scales = ", ".join(f"{declared[i][0]}/{declared[i][1]}" for i in non_identity)
        return "dn", (f"{CHOICE_LABELS['dn']}: {declared_by} scale/offset ({scales}), which turn their values "
                      f"into reflectance; r = (reflectance - reflectance_offset) / reflectance_scale; {convention}")
    if types == {gdal.GDT_Byte}:
        return "8bit", f"{CHOICE_LABELS['8bit']}: the raster is 8-bit (Byte); {text['8bit']}; {convention}"
    if types <= set(INTEGER_TYPES):
        return "dn", f"{CHOICE_LABELS['dn']}: integer bands hold DN; {text['dn']}; {convention}"
    high = float(np.percentile(np.abs(sample), 99)) if sample.size else None
    declared_text = " The bands declare scale 1 / offset 0 explicitly." if explicit else ""
    if high is None:
        resolved = "reflectance" if explicit else "dn"
        return resolved, (f"{CHOICE_LABELS[resolved]}: no valid value in the sample; floating-point bands"
                          f"{' declaring scale 1 / offset 0' if explicit else ''}; {text[resolved]}; {convention}")
    if high <= REFLECTANCE_MAX:
        return "reflectance", (f"{CHOICE_LABELS['reflectance']}: floating-point values, 99th percentile of the "
                               f"sample {high:.4g} (at most {REFLECTANCE_MAX:g}: reflectance).{declared_text} "
                               f"{text['reflectance']}; {convention}")
    overruled = " (their scale 1 / offset 0 is ignored: the values cannot be reflectance)" if explicit else ""
    return "dn", (f"{CHOICE_LABELS['dn']}: floating-point values, 99th percentile of the sample {high:.4g} (above "
                  f"{REFLECTANCE_MAX:g}: DN){overruled}; {text['dn']}; {convention}")


def expected_range(info, count: int) -> np.ndarray:
    """(bands, 2): the model input range seen in training (input_range), else the range of plausible
    reflectance (models with reflectance_scale) or of 8-bit values, standardised."""
    recorded = getattr(info, "input_range", None)
    if recorded:
        ranges = [list(r) for r in recorded]
        if len(ranges) == 1:
            ranges = ranges * count
        if len(ranges) == count and all(len(r) == 2 for r in ranges):
            return np.sort(np.array(ranges, np.float64), axis=1)
    mean, std = standardization(info, count)
    if info.reflectance_scale is not None:
        o = info.reflectance_offset or 0.0
        raw = (np.array(REFLECTANCE_RANGE) - o) / info.reflectance_scale
    else:
        raw = np.array(EIGHT_BIT_RANGE)
    low = (raw[0] / DEEPNESS_DIVISOR - mean) / std
    high = (raw[1] / DEEPNESS_DIVISOR - mean) / std
    return np.sort(np.stack([low, high], axis=1), axis=1)


def plausibility_warnings(decision: ScalingDecision, sample: np.ndarray, info) -> List[str]:
    """Warnings when the sample's model input lies far outside the model's range or collapses."""
    if sample.size == 0:
        return []
    count = sample.shape[0]
    model_input = sample * decision.transform.scale.astype(np.float64)[:, None] + \
        decision.transform.offset.astype(np.float64)[:, None]
    ranges = expected_range(info, count)
    width = ranges[:, 1] - ranges[:, 0]
    low, high = ranges[:, 0] - 0.5 * width, ranges[:, 1] + 0.5 * width
    advice = (f"The input scaling used was '{CHOICE_LABELS[decision.choice]}' ({decision.why.split(':')[0]}); if "
              f"the raster holds reflectance 0-1, DN or 8-bit values, say so with INPUT_SCALING.")
    warnings = _dark_type(decision, info)
    outside = ((model_input < low[:, None]) | (model_input > high[:, None])).any(axis=0)
    share = float(outside.mean())
    if share > OUTSIDE_SHARE and not warnings:
        median = np.median(model_input, axis=1)
        warnings.append(
            f"The model input is implausible for this model: {100 * share:.3g} % of the sampled pixels give values "
            f"far outside the range the model was trained on (median per band "
            f"{', '.join(f'{v:.4g}' for v in median)}; expected within "
            f"{', '.join(f'{a:.3g}..{b:.3g}' for a, b in ranges)}). The result is probably meaningless. {advice}")
    spread = model_input.std(axis=1)
    flat = [i for i in range(count) if sample[i].std() > 0 and spread[i] < FLAT_SPREAD * width[i]]
    if flat and not warnings:
        warnings.append(
            f"The model input is implausible for this model: band(s) {', '.join(str(i + 1) for i in flat)} vary in "
            f"the raster but hardly at all as model input (spread {', '.join(f'{spread[i]:.2g}' for i in flat)} "
            f"against a trained range {', '.join(f'{ranges[i, 0]:.3g}..{ranges[i, 1]:.3g}' for i in flat)}), as "
            f"when reflectance is read as DN. The result is probably all one class. {advice}")
    return warnings or _dark_sample(decision, sample, info)


def _reflectance(decision: ScalingDecision, info, values: np.ndarray) -> np.ndarray:
    """Reflectance that (bands, n) raster values stand for in the decision's reading and the model's scaling."""
    raw = values * decision.raw_scale[:, None] + decision.raw_offset[:, None]
    return raw * info.reflectance_scale + (info.reflectance_offset or 0.0)


def _dark_type(decision: ScalingDecision, info) -> List[str]:
    """A warning when even the largest value the bands' integer type holds stands for reflectance darker than any
    real scene (8-bit values read as a reflectance model's DN); models that read reflectance only."""
    if info.reflectance_scale is None or decision.largest_value is None:
        return []
    top = _reflectance(decision, info, np.full((len(decision.raw_scale), 1), decision.largest_value))[:, 0]
    if np.any(top >= DARK_TYPE_REFLECTANCE):
        return []
    offset = f" + {info.reflectance_offset:g}" if info.reflectance_offset else ""
    return [f"The model input is implausible for this model: read as '{CHOICE_LABELS[decision.choice]}', the largest "
            f"value these bands can hold ({decision.largest_value:g}) stands for reflectance {top.max():.3g} in the "
            f"model's scaling (reflectance = DN x {info.reflectance_scale:g}{offset}), darker than any real scene, so "
            f"every pixel will look like dark ground or shadow. An 8-bit image (a JPEG or PNG, a display stretch) no "
            f"longer holds the reflectance this model was trained on: run it on the reflectance or DN raster the "
            f"image was made from, or use a model trained on 8-bit images."]


def _dark_sample(decision: ScalingDecision, sample: np.ndarray, info) -> List[str]:
    """A warning when the brightest sampled pixel of every band stands for reflectance darker than any real scene;
    models that read reflectance only."""
    if info.reflectance_scale is None:
        return []
    brightest = _reflectance(decision, info, sample).max(axis=1)
    if np.any(brightest >= DARK_REFLECTANCE):
        return []
    return [f"The model input is implausible for this model: read as '{CHOICE_LABELS[decision.choice]}', even the "
            f"brightest sampled pixel of every band stands for reflectance below {DARK_REFLECTANCE:g} "
            f"({', '.join(f'{v:.3g}' for v in brightest)}), darker than any real scene, so every pixel will look "
            f"like dark ground or shadow. 8-bit display values (0-255) kept in a 16-bit file look like this: run the "
            f"model on the reflectance or DN raster they were made from. If the raster holds reflectance 0-1 or DN, "
            f"say so with INPUT_SCALING."]


def _largest_value(types) -> Optional[float]:
    """The largest value every one of the bands' GDAL data types can hold, for 8- and 16-bit integers, else None."""
    limits = {gdal.GDT_Byte: 255.0, gdal.GDT_UInt16: 65535.0, gdal.GDT_Int16: 32767.0}
    return max(limits[kind] for kind in types) if types and set(types) <= set(limits) else None


def one_class_note(decision: ScalingDecision, counts: dict) -> List[str]:
    """When the input was implausible and every valid pixel got one class, say so (a second warning)."""
    if not decision.warnings:
        return []
    found = [name for name, pixels in counts.items() if pixels]
    if len(found) == 1:
        return [f"Every valid pixel was classified '{found[0]}', as expected from the implausible input above."]
    return []
