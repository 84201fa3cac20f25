"""Landsat scene names: the WRS-2 path/row a scene record shows as its tile, and the acquisition (one
satellite's pass along one path on one day) whose rows are mosaicked as the tiles of a Sentinel-2 datatake
are. No GDAL and no migration imports: core.search reads these too."""
import re
from typing import Mapping, Optional, Tuple

# LXSS_LLLL_PPPRRR_YYYYMMDD_..: sensor + satellite, correction level, WRS-2 path and row, acquisition date
_SCENE_ID = re.compile(r"^(L[COTEM]0\d)_L\w{3}_(\d{3})(\d{3})_(\d{8})_")


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
