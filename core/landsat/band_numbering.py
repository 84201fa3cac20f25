"""Which numbering a raster's B<n> band names follow: a USGS Landsat sensor's, or Sentinel-2's.

Landsat numbers its bands per sensor (USGS, "What are the band designations for the Landsat satellites?"): TM and
ETM+ B1 blue .. B4 NIR, B5 and B7 SWIR, B6 thermal, ETM+ B8 panchromatic; OLI B1 coastal, B2 blue .. B5 NIR, B6 and B7
SWIR, B8 panchromatic, B9 cirrus, TIRS B10 and B11 thermal; MSS (no blue) B1..B4 on Landsat 4-5, B4..B7 on Landsat
1-3. Read with Sentinel-2's numbering (B2 blue, B8 NIR), a Landsat 7 stack's B2 (green) becomes blue and its B8
(panchromatic) NIR. So where a file of the raster carries a USGS product id (Collection 1 or 2, Level-1 or Level-2),
its plain B<n> names (B4, SR_B4, <product id>_B4.TIF) are read with that sensor's numbering, as the STAC common names
(blue, nir08, swir16, lwir, pan, ...). Sentinel-2's zero-padded names (B02, B8A) are never read as Landsat's.
"""
import logging
import os
import re
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from osgeo import gdal

from ..util.raster_read import band_sources
from .level1 import band_number
from .names import product_id

LOG = logging.getLogger(__name__)

_SENTINEL2_NAME = re.compile(r"^(?:.*_)?B(?:0\d|8A)$", re.IGNORECASE)  # B02, B8A, SR_B02: Sentinel-2's numbering
# band number -> STAC eo common name (landsat-c2-l1 / -l2 asset names), per USGS's band designations
_TM = {1: "blue", 2: "green", 3: "red", 4: "nir08", 5: "swir16", 6: "lwir", 7: "swir22"}
_OLI = {1: "coastal", 2: "blue", 3: "green", 4: "red", 5: "nir08", 6: "swir16", 7: "swir22", 8: "pan", 9: "cirrus"}
_TIRS = {10: "lwir11", 11: "lwir12"}
_SENSORS = {  # (sensor letter, satellite) -> (sensor name, numbering)
    **{("M", n): (f"Landsat {n} MSS", {4: "green", 5: "red", 6: "nir08", 7: "nir09"}) for n in (1, 2, 3)},
    **{("M", n): (f"Landsat {n} MSS", {1: "green", 2: "red", 3: "nir08", 4: "nir09"}) for n in (4, 5)},
    **{("T", n): (f"Landsat {n} TM", _TM) for n in (4, 5)},
    ("E", 7): ("Landsat 7 ETM+", {**_TM, 8: "pan"}),
    **{("C", n): (f"Landsat {n} OLI/TIRS", {**_OLI, **_TIRS}) for n in (8, 9)},
    **{("O", n): (f"Landsat {n} OLI", _OLI) for n in (8, 9)},
    **{("T", n): (f"Landsat {n} TIRS", _TIRS) for n in (8, 9)},
}


def product_sensor(name: str) -> Optional[Tuple[str, str, Dict[int, str]]]:
    """(product id prefix, sensor name, band number -> common name) of a file name carrying a USGS Landsat product
    id (LE07_L1TP_..., LC08_L2SP_...), else None."""
    found = product_id(name)
    sensor = _SENSORS.get((found.sensor, found.satellite)) if found else None
    return (found.prefix, *sensor) if sensor else None


class Reading(NamedTuple):
    names: List[str]  # per band, the name it is matched by: its description, or the Landsat band it is
    exact: Dict[str, int]  # lower-case names meaning one band before any Sentinel-2 alias: b<n>, the description
    note: Optional[str]  # the decision in words, where B<n> names were read with one numbering or the other


def read_band_names(dataset: gdal.Dataset, descriptions: Sequence[str], path: str) -> Reading:
    """What each band's B<n> name means: the numbering of the Landsat sensor a product id in the raster's files
    names, else Sentinel-2's (the names unchanged). A band without a description takes the number of its own
    product band file (a VRT of ..._B4.TIF files)."""
    names = [str(name or "").strip() for name in descriptions]
    unchanged = Reading(list(descriptions), {}, None)
    if any(_SENTINEL2_NAME.match(name) for name in names):
        return unchanged
    numbers = [band_number("", name) if name else None for name in names]
    if not any(numbers) and all(names):
        return unchanged
    sources = band_sources(dataset, range(1, len(names) + 1))
    files = list(dataset.GetFileList() or []) + [dataset.GetDescription()] + [f for per in sources for f in per]
    products = {found[1]: found for found in map(product_sensor, files) if found}
    if len(products) != 1:
        note = _sentinel2_note(names, numbers, path, sorted(products))
        if note:
            LOG.info("%s", note)
        return Reading(list(descriptions), {}, note)
    product, sensor, numbering = next(iter(products.values()))
    own = [dataset.GetDescription()]
    matched, exact, said = list(descriptions), {}, []
    for index, (name, number) in enumerate(zip(names, numbers)):
        if not name and (sources[index] != own or len(names) == 1):  # a band file of the product, undescribed
            from_files = {band_number("", os.path.basename(f)) for f in sources[index] if product_sensor(f)}
            number = from_files.pop() if len(from_files) == 1 else None
        if number is None:
            continue
        # a number the sensor lacks matches nothing, rather than Sentinel-2's band of that number
        matched[index] = numbering.get(number, f"{sensor} B{number}")
        for key in (f"b{number}", name.lower()):
            if key:
                exact.setdefault(key, index + 1)
        said.append(f"band {index + 1} '{name or f'B{number}'}' {numbering.get(number) or f'not a {sensor} band'}")
    if not said:
        return unchanged
    note = (f"The files of '{path}' carry the USGS product id {product}, so its band names were read with "
            f"{sensor}'s band numbering, not Sentinel-2's: {', '.join(said)}.")
    LOG.info("%s", note)
    return Reading(matched, exact, note)


def _sentinel2_note(names: List[str], numbers: List[Optional[int]], path: str, sensors: List[str]) -> Optional[str]:
    """Where the names look like a Landsat stack (B1 with B2..B4) but no one product id says whose: the decision."""
    if sensors and any(numbers):
        why = f"its files carry USGS product ids of different Landsat sensors ({', '.join(sensors)})"
    elif {1, 2, 3, 4} <= set(numbers):
        why = "no file of it carries a USGS Landsat product id (LE07_L1TP_..., LC08_L2SP_...)"
    else:
        return None
    return (f"The bands of '{path}' are named like a Landsat stack ({', '.join(n for n in names if n)}), but {why}, "
            f"so they were read with Sentinel-2's numbering (B2 blue, B3 green, B4 red, B8 nir, B11 swir16, B12 "
            f"swir22). If they are Landsat 4-7 TM/ETM+ bands (B1 blue, B2 green, B3 red, B4 nir, B5 swir16, B7 "
            f"swir22) or Landsat 8-9 OLI bands (B2 blue, B3 green, B4 red, B5 nir, B6 swir16, B7 swir22), give BANDS "
            f"as the band numbers in the model's order, or keep the USGS product id in the file name.")
