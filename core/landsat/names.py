"""Landsat scene names: the WRS-2 path/row a scene record shows as its tile, and the acquisition (one
satellite's pass along one path on one day) whose rows are mosaicked as the tiles of a Sentinel-2 datatake
are. No GDAL and no migration imports: core.search reads these too."""
import os
import re
from typing import Mapping, NamedTuple, Optional, Tuple

# LXSS_LLLL_PPPRRR_YYYYMMDD_..: sensor + satellite, correction level, WRS-2 path and row, acquisition date
_SCENE_ID = re.compile(r"^(L[COTEM]0\d)_L\w{3}_(\d{3})(\d{3})_(\d{8})_")
# a USGS product id in a file name: sensor and satellite, processing level, WRS-2 path-row, acquisition and
# processing dates, collection, and (Collection 2, where the name carries it) the tier
_PRODUCT_ID = re.compile(r"(?<![A-Z0-9])L([COTEM])0(\d)_(L1TP|L1GT|L1GS|L2SP|L2SR)_\d{6}_\d{8}_\d{8}_(0[12])_"
                         r"(?:(T1|T2|RT)(?![A-Z0-9]))?", re.IGNORECASE)


class ProductId(NamedTuple):
    """A USGS Landsat product id found in a file name (LC08_L1TP_044034_20200101_20200113_02_T1_B4.TIF)."""
    prefix: str  # up to the collection number, upper case: LC08_L1TP_044034_20200101_20200113_02
    full: str  # with the tier where the name has one (the MTL's name): ..._02_T1
    sensor: str  # C (OLI/TIRS), O (OLI), T (TM, or TIRS on 8-9), E (ETM+), M (MSS)
    satellite: int
    level: str  # L1TP, L1GT, L1GS, L2SP, L2SR
    collection: str  # 01 or 02
    rest: str  # the file name after the full id: _B4.TIF, _SR_B4.TIF, _MTL.txt


def product_id(path: str) -> Optional[ProductId]:
    """The USGS Landsat product id in a file's name (its folder aside), or None: the one parser of them."""
    name = os.path.basename(str(path))
    found = _PRODUCT_ID.search(name)
    if not found:
        return None
    sensor, satellite, level, collection, tier = found.groups()
    prefix = name[found.start():found.end(4)].upper()
    rest = name[found.end():] if tier else name[found.end(4):]
    return ProductId(prefix, prefix + (f"_{tier.upper()}" if tier else ""), sensor.upper(), int(satellite),
                     level.upper(), collection, rest)


def wrs_tile(properties: Mapping[str, object], item_id: str = "") -> Optional[str]:
    """'PPP/RRR' from landsat:wrs_path / landsat:wrs_row, else from a Landsat scene id; None otherwise."""
    path, row = properties.get("landsat:wrs_path"), properties.get("landsat:wrs_row")
    if path not in (None, "") and row not in (None, ""):
        try:
            return f"{int(str(path)):03d}/{int(str(row)):03d}"
        except ValueError:
            return f"{path}/{row}"
    named = _SCENE_ID.match(item_id or "")
    return f"{named.group(2)}/{named.group(3)}" if named else None


def is_landsat_collection(collection: Optional[str]) -> bool:
    """A Landsat collection (landsat-c2-l2 on Earth Search and Planetary Computer): the one test by name."""
    return (collection or "").strip().lower().startswith("landsat")


def is_landsat(scene) -> bool:
    return is_landsat_collection(scene.collection) or bool(_SCENE_ID.match(scene.title or scene.id or ""))


def acquisition_key(scene) -> Optional[Tuple[str, ...]]:
    """Rows of one path acquired by one satellite on one day are one pass: (satellite, path, date)."""
    named = _SCENE_ID.match(scene.title or "") or _SCENE_ID.match(scene.id or "")
    if named:
        return ("landsat", named.group(1)[2:], named.group(2), named.group(4))
    if is_landsat(scene) and "/" in (scene.tile or ""):
        return ("landsat", scene.tile.split("/")[0], scene.datetime.strftime("%Y%m%d"))
    return None
