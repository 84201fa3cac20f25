"""Which bands of a raster the model reads, in the model's input order: by name (with aliases), by number, or in
order when the raster's bands carry no names. B<n> names follow Sentinel-2's numbering, or the Landsat sensor's
where the raster's files carry a USGS product id (core.landsat.band_numbering). GDAL's SENTINEL2 subdatasets, and copies
of them that kept GDAL's metadata, are named by their bands' BANDNAME (core.sentinel2.product_bands)."""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from osgeo import gdal

from ..landsat.band_numbering import Reading, read_band_names
from ..sentinel2.product_bands import product_band_names
from ..util.errors import LabelMigrationError
from ..util.raster_read import band_names
from .onnx_model import Model

# canonical names: a band described 'B04' matches a model band 'red' and vice versa
_BAND_ALIASES = {"b2": "blue", "b02": "blue", "b3": "green", "b03": "green", "b4": "red", "b04": "red",
                 "b8": "nir", "b08": "nir", "b11": "swir16", "b12": "swir22", "swir1": "swir16",
                 "swir2": "swir22"}
# names that stand for a canonical band only where no band has that name: Landsat's NIR is nir08 in the
# STAC catalogues (Earth Search, Planetary Computer), where Sentinel-2's nir08 is B8A beside B08 (nir)
_SECOND_CHOICE_ALIASES = {"nir08": "nir", "b8a": "nir"}


def _canonical(name: str) -> str:
    key = str(name).strip().lower()
    return _BAND_ALIASES.get(key, key)


def select_bands(dataset: gdal.Dataset, model: Model, bands: Optional[Sequence[Union[str, int]]] = None,
                 path: str = "input raster", notes: Optional[List[str]] = None) -> List[int]:
    """1-based input band numbers in the model's input order.

    The model's band names are matched to the raster's band descriptions (aliases: B04 = red, ...;
    Landsat's nir08 = nir where no band is nir). A raster whose bands carry no description at all is
    read in order, its first bands as the model's, and ``notes`` gets that decision, as it gets the numbering
    B<n> names were read with where that is Landsat's or might have been.
    """
    names = product_band_names(dataset) or band_names(dataset)
    reading = read_band_names(dataset, names, path)
    by_name = not bands or not all(_is_number(choice) for choice in bands)
    if reading.note and by_name and notes is not None:
        notes.append(reading.note)
    if bands:
        chosen = [_band_by_choice(choice, names, reading, path) for choice in bands]
    elif model.info.bands and not any(name.strip() for name in reading.names) and len(names) >= len(model.info.bands):
        chosen = list(range(1, len(model.info.bands) + 1))
        if notes is not None:
            notes.append(f"The bands of '{path}' carry no names: bands 1 to {len(chosen)} were read as the model's "
                         f"{', '.join(model.info.bands)}, in that order. Name the bands in BANDS if that is wrong.")
    elif model.info.bands:
        chosen = _bands_by_name(model.info.bands, names, reading, path, model.path)
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


def _is_number(choice: Union[str, int]) -> bool:
    return isinstance(choice, (int, np.integer)) or str(choice).strip().isdigit()


def _band_by_choice(choice: Union[str, int], names: List[str], reading: Reading, path: str) -> int:
    if _is_number(choice):
        number = int(choice)
        if not 1 <= number <= len(names):
            raise LabelMigrationError(f"'{path}' has no band {number}; it has bands 1 to {len(names)}.")
        return number
    return _bands_by_name([str(choice)], names, reading, path, "")[0]


def _bands_by_name(wanted: Sequence[str], names: List[str], reading: Reading, path: str,
                   model_path: str) -> List[int]:
    """Band numbers by name: a name the reading gives one band (Landsat's B<n>) first, then by canonical name."""
    index: Dict[str, int] = {}
    for number, name in enumerate(reading.names, start=1):
        index.setdefault(_canonical(name), number)
    for second_choice, canonical in _SECOND_CHOICE_ALIASES.items():
        if canonical not in index and second_choice in index:
            index[canonical] = index[second_choice]
    found = {name: reading.exact.get(str(name).strip().lower(), index.get(_canonical(name))) for name in wanted}
    missing = [name for name in wanted if found[name] is None]
    if missing:
        whose = f"The model '{model_path}' needs" if model_path else "Asked for"
        have = ", ".join(f"{i}: '{n}'" + (f" ({m})" if m != n else "")
                         for i, (n, m) in enumerate(zip(names, reading.names), start=1) if n or m) or "none named"
        raise LabelMigrationError(
            f"{whose} band(s) {', '.join(missing)} which '{path}' lacks (its bands: {have}). "
            f"Name the bands explicitly (BANDS) or describe them in the raster."
        )
    return [found[name] for name in wanted]
