"""Readers that turn training sources into lists of Scene.

Every reader returns float32 reflectance (bands, rows, cols) with NaN for nodata, a uint8 label
with IGNORE (255) where unknown, and canonical band names (see ``canonical_band_name``). Wherever
a pixel has no data in some band its label is IGNORE too: the model cannot judge such a pixel.

Sources are named on the command line by spec strings, ``kind:path`` with optional
``?option=value&option=value`` after the path (lists are comma-separated):

``38cloud:<folder>``
    The 38-Cloud layout (``train_red/red_patch_*.TIF`` ... ``train_gt/gt_patch_*.TIF``) or a flat
    folder of ``red_patch_*`` ... ``gt_patch_*`` files (the bundled JPEG sample). Options:
    ``split`` (train), ``nonempty`` (path of 38-Cloud's non-empty patch CSV), ``scale``
    (reflectance per stored unit; default 1/65535 for 16-bit, 1/255 for 8-bit files),
    ``bands`` (e.g. ``red,green,blue``).
``pairs:<folder>``
    Image/label GeoTIFF pairs written by cropscene/migratelabels (``images/<name>.tif`` +
    ``labels/<name>.tif``, or ``<name>_image.tif`` + ``<name>_label.tif``, searched recursively).
    Options: ``dn_scale`` (reflectance per DN for integer bands without scale metadata; 0.0001),
    ``positive`` (label classes that count as cloud, e.g. ``positive=2,3``; default: keep classes).
``oncloudn:<file.npz or folder>``
    The bundled On Cloud N chips (npz) or the challenge layout (``train_features/<chip>/B02.tif``
    ... + ``train_labels/<chip>.tif``). Option: ``bands`` (default ``B02,B03,B04,B08``).
``l8biome:<file.npz>``
    The L8 Biome patches (``../shared/data/l8biome``): Landsat 8 top-of-atmosphere reflectance of
    blue, green, red, nir, swir16, swir22 with labels clear, cloud (thick and thin) and shadow.
``unlabelled:<folder or file>``
    GeoTIFFs without labels (searched recursively): real scenes the teacher labels for distillation,
    never scored. Band names from the band descriptions, reflectance as for ``pairs``. Options:
    ``level`` (``l1c`` top of atmosphere or ``l2a`` surface reflectance: which teacher model speaks;
    default: from the file name, MSIL1C / L1TP / L1GT or MSIL2A / L2SP, refused when it names neither),
    ``dn_scale`` (0.0001).

Example: ``38cloud:/data/38-Cloud_training?nonempty=/data/training_patches_38-cloud_nonempty.csv``.
"""
import csv
import re
from dataclasses import replace
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
from osgeo import gdal, osr

from .scene import CLEAR, CLOUD, IGNORE, NOT_CLOUD, SHADOW, Scene

PathLike = Union[str, Path]

_SENTINEL2_BANDS = {
    "01": "coastal", "02": "blue", "03": "green", "04": "red", "05": "rededge1", "06": "rededge2",
    "07": "rededge3", "08": "nir", "8A": "nir08", "09": "wv", "10": "cirrus", "11": "swir16", "12": "swir22",
}
CANONICAL_BANDS = tuple(_SENTINEL2_BANDS.values())


def _alias_table() -> Dict[str, str]:
    aliases = {name: name for name in CANONICAL_BANDS}
    for number, name in _SENTINEL2_BANDS.items():
        aliases[f"b{number.lower()}"] = name          # B02, B8A
        aliases[f"b{number.lstrip('0').lower()}"] = name  # B2
    aliases["nir09"] = "wv"  # Earth Search's asset name for B09
    return aliases


# Lower-case alias -> canonical name. 38-Cloud's red/green/blue/nir are canonical already.
BAND_ALIASES: Dict[str, str] = _alias_table()

_38CLOUD_BANDS = ("red", "green", "blue", "nir")
_LANDSAT_SCENE_ID = re.compile(r"L[COTEM]0\d_L\w+$")
_TIFF_SUFFIXES = (".tif", ".tiff")


def canonical_band_name(name: str) -> str:
    """The canonical name of a band (B02 -> blue); unknown names come back lower-cased."""
    key = name.strip().lower()
    return BAND_ALIASES.get(key, key)


def select_bands(scene: Scene, wanted_names: Sequence[str]) -> Scene:
    """A Scene with exactly the wanted bands (any alias accepted), in that order."""
    wanted = [canonical_band_name(name) for name in wanted_names]
    missing = [original for original, name in zip(wanted_names, wanted) if name not in scene.bands]
    if missing:
        raise ValueError(
            f"{scene.name}: no band {', '.join(missing)} (it has: {', '.join(scene.bands) or 'none'})"
        )
    indices = [scene.bands.index(name) for name in wanted]
    return replace(scene, image=scene.image[indices], bands=wanted)


def _ignore_where_nodata(image: np.ndarray, label: np.ndarray) -> np.ndarray:
    label = label.copy()
    label[np.isnan(image).any(axis=0)] = IGNORE
    return label


def _open(path: PathLike, role: str) -> gdal.Dataset:
    dataset = gdal.Open(str(path))
    if dataset is None:
        raise ValueError(f"cannot open the {role} '{path}': {gdal.GetLastErrorMsg() or 'not a raster'}")
    return dataset


def _read_first_band(path: PathLike, role: str) -> np.ndarray:
    # 38-Cloud's display JPEGs store one grey band three times; band 1 is the data.
    dataset = _open(path, role)  # a Band does not keep its Dataset alive in GDAL 3.6's bindings
    return dataset.GetRasterBand(1).ReadAsArray()


def _full_range_scale(dtype: np.dtype) -> float:
    if np.issubdtype(dtype, np.unsignedinteger):
        return 1.0 / np.iinfo(dtype).max
    if np.issubdtype(dtype, np.floating):
        return 1.0
    raise ValueError(f"no default reflectance scale for {dtype} data; pass scale")


# --------------------------------------------------------------------------- 38-Cloud

def read_38cloud(folder: PathLike, split: str = "train", nonempty_csv: Optional[PathLike] = None,
                 scale: Optional[float] = None, bands: Sequence[str] = ("blue", "green", "red", "nir")) -> List[Scene]:
    """38-Cloud patches: ``<split>_<band>/<band>_patch_*.TIF`` or a flat folder of ``<band>_patch_*``.

    Reflectance = stored value * scale (default: 1/65535 for 16-bit files as in the 38-Cloud
    tutorial, 1/255 for 8-bit ones). Ground truth > 127 (or == 1 in 0/1 masks) is cloud. Pixels
    that are 0 in every band are 38-Cloud's scene padding: NaN and IGNORE. ``group`` is the
    Landsat scene id in the patch name, so a scene's patches never straddle the split.
    """
    folder = Path(folder)
    unknown = [band for band in bands if band not in _38CLOUD_BANDS]
    if unknown:
        raise ValueError(f"38-Cloud has no band {', '.join(unknown)} (it has: {', '.join(_38CLOUD_BANDS)})")
    split_layout = (folder / f"{split}_gt").is_dir()

    def band_folder(prefix: str) -> Path:
        return folder / f"{split}_{prefix}" if split_layout else folder

    gt_files = sorted(path for path in band_folder("gt").glob("gt_patch_*") if path.is_file())
    if not gt_files:
        raise FileNotFoundError(f"no 38-Cloud ground truth (gt_patch_*) in {band_folder('gt')}")
    patches = {path.name[len("gt_"):]: path for path in gt_files}  # patch_<...>.<ext> -> gt file
    if nonempty_csv is not None:
        keep = _nonempty_patch_names(nonempty_csv)
        patches = {file: gt for file, gt in patches.items() if Path(file).stem in keep}
        if not patches:
            raise ValueError(f"none of the patches listed in {nonempty_csv} is in {band_folder('gt')}")

    scenes = []
    for patch_file, gt_path in patches.items():
        patch = Path(patch_file).stem
        raw = []
        for band in bands:
            band_path = band_folder(band) / f"{band}_{patch_file}"
            if not band_path.is_file():
                raise FileNotFoundError(f"38-Cloud patch {patch} has no {band} band ({band_path})")
            raw.append(_read_first_band(band_path, f"38-Cloud {band} band"))
        stack = np.stack(raw)
        factor = scale if scale is not None else _full_range_scale(stack.dtype)
        image = stack.astype(np.float32) * np.float32(factor)
        image[:, (stack == 0).all(axis=0)] = np.nan
        truth = _read_first_band(gt_path, "38-Cloud ground truth")
        label = (truth > (127 if truth.max() > 1 else 0)).astype(np.uint8)
        match = _LANDSAT_SCENE_ID.search(patch)
        scenes.append(Scene(name=patch, image=image, label=_ignore_where_nodata(image, label),
                            bands=[canonical_band_name(band) for band in bands],
                            group=match.group(0) if match else patch))
    return scenes


def _nonempty_patch_names(path: PathLike) -> set:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if "name" not in (reader.fieldnames or []):
            raise ValueError(f"{path} has no 'name' column (columns: {', '.join(reader.fieldnames or [])})")
        return {row["name"].strip() for row in reader if row["name"]}


# --------------------------------------------------------------------------- image/label pairs

def find_pairs(folder: PathLike) -> List[Tuple[str, Path, Path]]:
    """(name, image, label) for every pair under folder; name is the path relative to folder."""
    folder = Path(folder)
    pairs = []
    for image in sorted(folder.rglob("*")):
        if not image.is_file() or image.suffix.lower() not in _TIFF_SUFFIXES:
            continue
        if image.parent.name == "images":
            label = _existing_tiff(image.parent.parent / "labels", image.stem)
            name = (image.parent.parent / image.stem).relative_to(folder)
        elif image.stem.endswith("_image"):
            stem = image.stem[:-len("_image")]
            label = _existing_tiff(image.parent, f"{stem}_label")
            name = (image.parent / stem).relative_to(folder)
        else:
            continue
        if label is None:
            raise FileNotFoundError(f"the image {image} has no label next to it")
        pairs.append((name.as_posix(), image, label))
    return pairs


def _existing_tiff(folder: Path, stem: str) -> Optional[Path]:
    for suffix in (".tif", ".tiff", ".TIF", ".TIFF"):
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    return None


def read_pairs(folder: PathLike, dn_scale: float = 1e-4,
               positive_classes: Optional[Iterable[int]] = None) -> List[Scene]:
    """Image/label GeoTIFF pairs (see ``find_pairs``) as written by cropscene or migratelabels.

    Band names come from the band descriptions (unnamed bands become band1, band2, ...).
    Reflectance = value * scale + offset from the band's metadata when set, else DN * dn_scale for
    integer bands; float bands are taken as reflectance. Label classes are kept unless
    positive_classes is given: then those classes become 1 and the others 0. ``group`` is the
    source scene recorded by cropscene (SOURCE_SCENE metadata), so crops of one scene stay together.
    """
    pairs = find_pairs(folder)
    if not pairs:
        raise FileNotFoundError(f"no image/label pairs (images/ + labels/, or *_image.tif + *_label.tif) in {folder}")
    positive = None if positive_classes is None else sorted(int(value) for value in positive_classes)
    return [_read_pair(name, image, label, dn_scale, positive) for name, image, label in pairs]


def _read_pair(name: str, image_path: Path, label_path: Path, dn_scale: float,
               positive: Optional[List[int]]) -> Scene:
    image_dataset = _open(image_path, "image")
    label_dataset = _open(label_path, "label")
    _check_same_grid(image_dataset, image_path, label_dataset, label_path)
    image, names = _reflectance_and_band_names(image_dataset, dn_scale)
    label = _read_label(label_dataset, label_path, positive)
    group = image_dataset.GetMetadataItem("SOURCE_SCENE") or name
    return Scene(name=name, image=image, label=_ignore_where_nodata(image, label), bands=names, group=group)


def _reflectance_and_band_names(dataset: gdal.Dataset, dn_scale: float) -> Tuple[np.ndarray, List[str]]:
    """Every band as reflectance (``_band_reflectance``) and its canonical name from its description (unnamed bands
    become band1, band2, ...)."""
    bands, names = [], []
    for index in range(1, dataset.RasterCount + 1):
        band = dataset.GetRasterBand(index)
        bands.append(_band_reflectance(band, dn_scale))
        names.append(canonical_band_name(band.GetDescription()) if band.GetDescription() else f"band{index}")
    return np.stack(bands), names


def _band_reflectance(band: gdal.Band, dn_scale: float) -> np.ndarray:
    values = band.ReadAsArray()
    nodata = band.GetNoDataValue()
    missing = np.zeros(values.shape, dtype=bool) if nodata is None else (
        np.isnan(values) if np.isnan(nodata) else values == nodata)
    scale, offset = band.GetScale(), band.GetOffset()
    if scale not in (None, 1.0) or offset not in (None, 0.0):
        reflectance = values * (scale if scale is not None else 1.0) + (offset or 0.0)
    elif np.issubdtype(values.dtype, np.integer):
        reflectance = values * dn_scale
    else:
        reflectance = values
    reflectance = reflectance.astype(np.float32)
    reflectance[missing] = np.nan
    return reflectance


def _read_label(dataset: gdal.Dataset, path: Path, positive: Optional[List[int]]) -> np.ndarray:
    band = dataset.GetRasterBand(1)
    values = band.ReadAsArray()
    unknown = np.zeros(values.shape, dtype=bool)
    if band.GetNoDataValue() is not None:
        unknown |= values == band.GetNoDataValue()
    for index in range(2, dataset.RasterCount + 1):
        if dataset.GetRasterBand(index).GetDescription().lower() == "validity":  # written by geocodemask
            unknown |= dataset.GetRasterBand(index).ReadAsArray() == 0
    known = values[~unknown]
    if known.size and (known.min() < 0 or known.max() >= IGNORE or not np.all(known == np.round(known))):
        raise ValueError(f"the label {path} has values outside the classes 0..{IGNORE - 1}")
    label = np.where(unknown, IGNORE, values).astype(np.uint8)
    if positive is not None:
        label = np.where(label == IGNORE, IGNORE, np.isin(label, positive)).astype(np.uint8)
    return label


def _check_same_grid(image: gdal.Dataset, image_path: Path, label: gdal.Dataset, label_path: Path) -> None:
    image_size, label_size = (image.RasterXSize, image.RasterYSize), (label.RasterXSize, label.RasterYSize)
    if image_size != label_size:
        raise ValueError(f"the image {image_path} is {image_size[0]}x{image_size[1]} pixels but its label "
                         f"{label_path} is {label_size[0]}x{label_size[1]}: the pair's grids differ")
    if not np.allclose(image.GetGeoTransform(), label.GetGeoTransform(), rtol=1e-9, atol=1e-9):
        raise ValueError(f"the image {image_path} and its label {label_path} have different geotransforms "
                         f"({image.GetGeoTransform()} vs {label.GetGeoTransform()}): the pair's grids differ")
    image_wkt, label_wkt = image.GetProjection(), label.GetProjection()
    if image_wkt and label_wkt:
        image_srs, label_srs = osr.SpatialReference(wkt=image_wkt), osr.SpatialReference(wkt=label_wkt)
        if not image_srs.IsSame(label_srs):
            raise ValueError(f"the image {image_path} and its label {label_path} have different coordinate systems")


# --------------------------------------------------------------------------- unlabelled scenes

LEVELS = ("l1c", "l2a")
_LEVEL_IN_NAME = ((re.compile(r"MSIL1C|_L1TP_|_L1GT_|_L1GS_", re.IGNORECASE), "l1c"),
                  (re.compile(r"MSIL2A|_L2SP_|_L2SR_", re.IGNORECASE), "l2a"))


def read_unlabelled(path: PathLike, level: Optional[str] = None, dn_scale: float = 1e-4) -> List[Scene]:
    """Every GeoTIFF under path (or the one file) as a scene without labels (all IGNORE), for the teacher to
    label. ``source`` is ``unlabelled-<level>``: top-of-atmosphere (l1c) or surface reflectance (l2a), given or
    read from the file name (see ``level_from_name``)."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*")
                                                 if p.is_file() and p.suffix.lower() in _TIFF_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no GeoTIFF (.tif, .tiff) in {path}")
    if level is not None and level.lower() not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not '{level}'")
    scenes = []
    for file in files:
        scene_level = level.lower() if level else level_from_name(file.name)
        image, names = _reflectance_and_band_names(_open(file, "unlabelled image"), dn_scale)
        name = file.relative_to(path).with_suffix("").as_posix() if path.is_dir() else file.stem
        scenes.append(Scene(name=name, image=image, label=np.full(image.shape[1:], IGNORE, np.uint8), bands=names,
                            group=name, source=f"unlabelled-{scene_level}"))
    return scenes


def level_from_name(file_name: str) -> str:
    """l1c or l2a from a product-style file name (S2A_MSIL1C_..., LC08_L2SP_...); a ValueError otherwise."""
    for pattern, level in _LEVEL_IN_NAME:
        if pattern.search(file_name):
            return level
    raise ValueError(f"'{file_name}' does not say whether it is top-of-atmosphere or surface reflectance (no "
                     f"MSIL1C, L1TP, MSIL2A or L2SP in its name): add ?level=l1c or ?level=l2a to the source")


# --------------------------------------------------------------------------- On Cloud N

ONCLOUDN_BANDS = ("B02", "B03", "B04", "B08")


def read_oncloudn(path: PathLike, bands: Sequence[str] = ONCLOUDN_BANDS) -> List[Scene]:
    """On Cloud N chips: the bundled npz or ``train_features/<chip>/<band>.tif`` + ``train_labels/<chip>.tif``.

    Reflectance = DN / 10000 (the challenge's L2A chips have no offset); DN 0 is nodata. Each chip
    is its own group.
    """
    path = Path(path)
    if path.is_file():
        return _read_oncloudn_npz(path, bands)
    features, labels = path / "train_features", path / "train_labels"
    if not features.is_dir() or not labels.is_dir():
        raise FileNotFoundError(f"{path} is neither an npz file nor a folder with train_features/ and train_labels/")
    scenes = []
    for chip in sorted(entry for entry in features.iterdir() if entry.is_dir()):
        label_path = labels / f"{chip.name}.tif"
        if not label_path.is_file():
            raise FileNotFoundError(f"On Cloud N chip {chip.name} has no label {label_path}")
        dn = []
        for band in bands:
            band_path = _existing_tiff(chip, band)
            if band_path is None:
                raise FileNotFoundError(f"On Cloud N chip {chip.name} has no band {band} in {chip}")
            dn.append(_read_first_band(band_path, f"On Cloud N {band} band"))
        label = _read_first_band(label_path, "On Cloud N label")
        if any(band.shape != label.shape for band in dn):
            raise ValueError(f"On Cloud N chip {chip.name}: band sizes {[b.shape for b in dn]} "
                             f"differ from the label's {label.shape}")
        scenes.append(_oncloudn_scene(chip.name, np.stack(dn), label, bands))
    if not scenes:
        raise FileNotFoundError(f"no chips in {features}")
    return scenes


def _read_oncloudn_npz(path: Path, bands: Sequence[str]) -> List[Scene]:
    with np.load(path) as archive:
        stored = [str(name) for name in archive["band_names"]] if "band_names" in archive else list(ONCLOUDN_BANDS)
        stored_canonical = [canonical_band_name(name) for name in stored]
        wanted = [canonical_band_name(name) for name in bands]
        missing = [band for band, name in zip(bands, wanted) if name not in stored_canonical]
        if missing:
            raise ValueError(f"{path} has no band {', '.join(missing)} (it has: {', '.join(stored)})")
        indices = [stored_canonical.index(name) for name in wanted]
        images, labels = archive["image"], archive["label"]
        names = [str(name) for name in archive["chip_names"]]
        return [_oncloudn_scene(name, images[i][indices], labels[i], bands) for i, name in enumerate(names)]


def _oncloudn_scene(name: str, dn: np.ndarray, label: np.ndarray, bands: Sequence[str]) -> Scene:
    image = dn.astype(np.float32) / np.float32(10000)
    image[dn == 0] = np.nan
    label = label.astype(np.uint8)
    return Scene(name=name, image=image, label=_ignore_where_nodata(image, label),
                 bands=[canonical_band_name(band) for band in bands], group=name, source="oncloudn")


# --------------------------------------------------------------------------- L8 Biome

# Biome's classes (l8biome/README.txt): 0 clear, 1 thick cloud, 2 thin cloud, 3 cloud shadow, 255 fill
_BIOME_TO_CLASS = {0: CLEAR, 1: CLOUD, 2: CLOUD, 3: SHADOW}
_BIOME_EXTRA_BANDS = ("swir16", "swir22", "cirrus", "tir1")


def read_l8biome(path: PathLike) -> List[Scene]:
    """The L8 Biome patches: thin and thick cloud become cloud; each patch is its own scene (group).

    The band order is the arrays' (blue-first, see the README there); cirrus and the thermal band are
    left out: Sentinel-2 L2A has no cirrus and no sensor here a thermal band.
    """
    with np.load(path) as archive:
        images, extra = archive["image"], archive["image_extra"]
        labels, names = archive["label"], [str(name) for name in archive["chip_names"]]
    bands = ["blue", "green", "red", "nir", "swir16", "swir22"]
    scenes = []
    for index, name in enumerate(names):
        image = np.concatenate([images[index], extra[index][:2]]).astype(np.float32)
        raw = labels[index]
        label = np.full(raw.shape, IGNORE, np.uint8)
        for value, target in _BIOME_TO_CLASS.items():
            label[raw == value] = target
        image[:, ~np.isfinite(image).all(axis=0) | (image <= 0).all(axis=0)] = np.nan
        scenes.append(Scene(name=name, image=image, label=_ignore_where_nodata(image, label), bands=bands,
                            group=name, source="l8biome"))
    return scenes


def biome_of(scene_name: str) -> str:
    """The biome of an L8 Biome patch ('SnowIce_00_1415' -> 'SnowIce')."""
    return scene_name.split("_")[0]


def as_cloud_or_not(scene: Scene) -> Scene:
    """A binary cloud label (0 clear, 1 cloud) as the three-class task reads it: 0 means clear or shadow."""
    label = scene.label.copy()
    label[scene.label == CLEAR] = NOT_CLOUD
    return replace(scene, label=label)


# --------------------------------------------------------------------------- spec strings

def _float(value: str) -> float:
    return float(value)


def _names(value: str) -> List[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _ints(value: str) -> List[int]:
    return [int(part) for part in _names(value)]


# kind -> (reader, {option in the spec: (reader keyword, parser)})
_READERS = {
    "38cloud": (read_38cloud, {"split": ("split", str), "nonempty": ("nonempty_csv", str),
                               "scale": ("scale", _float), "bands": ("bands", _names)}),
    "pairs": (read_pairs, {"dn_scale": ("dn_scale", _float), "positive": ("positive_classes", _ints)}),
    "oncloudn": (read_oncloudn, {"bands": ("bands", _names)}),
    "l8biome": (read_l8biome, {}),
    "unlabelled": (read_unlabelled, {"level": ("level", str), "dn_scale": ("dn_scale", _float)}),
}


def parse_source_spec(spec: str) -> Tuple[str, str, Dict[str, str]]:
    """``kind:path?option=value&...`` -> (kind, path, options as given)."""
    kind, separator, rest = spec.partition(":")
    if not separator or not kind.strip():
        raise ValueError(f"'{spec}' is not a source spec: write kind:path with kind one of {', '.join(_READERS)}")
    path, _, query = rest.partition("?")
    options = {}
    for item in filter(None, query.split("&")):
        key, equals, value = item.partition("=")
        if not equals:
            raise ValueError(f"option '{item}' in '{spec}' has no value (write option=value)")
        options[key.strip()] = value.strip()
    return kind.strip().lower(), path, options


def load_sources(specs: Union[str, Iterable[str]]) -> List[Scene]:
    """The scenes of every source spec, in order (the syntax is in the module docstring)."""
    if isinstance(specs, str):
        specs = [specs]
    scenes: List[Scene] = []
    for spec in specs:
        kind, path, options = parse_source_spec(spec)
        if kind not in _READERS:
            raise ValueError(f"unknown source kind '{kind}' in '{spec}' (known: {', '.join(_READERS)})")
        reader, known_options = _READERS[kind]
        if not path or not Path(path).exists():
            raise FileNotFoundError(f"the {kind} source '{path}' (from '{spec}') does not exist")
        keywords = {}
        for key, value in options.items():
            if key not in known_options:
                raise ValueError(f"unknown option '{key}' for {kind} in '{spec}' "
                                 f"(known: {', '.join(known_options) or 'none'})")
            keyword, parse = known_options[key]
            try:
                keywords[keyword] = parse(value)
            except ValueError as error:
                raise ValueError(f"option {key}={value} in '{spec}': {error}") from None
        if "nonempty_csv" in keywords and not Path(keywords["nonempty_csv"]).is_file():
            raise FileNotFoundError(
                f"the non-empty patch list '{keywords['nonempty_csv']}' (from '{spec}') does not exist")
        scenes.extend(reader(path, **keywords))
    return scenes
