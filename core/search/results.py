"""A search result once written: the match table (CSV) and the scene of a given rank in its rows."""
import csv
from typing import Dict, Optional, Sequence

from ..util.errors import LabelMigrationError
from ..util.outputs import atomic_output
from .scene import CSV_COLUMNS, Match


def write_matches_csv(path: str, matches: Sequence[Match]) -> str:
    """The label-to-scene match table, one row per match, written atomically."""
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            for match in matches:
                writer.writerow(match.to_row())
    return path


_GDAL_RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".jp2")
RANK_COLUMNS = ("label", "rank", "title", "id", "url")  # what scene_at_rank reads of each row


def scene_at_rank(rows: Sequence[Dict[str, object]], rank: int = 1, label: Optional[str] = None) -> str:
    """The croppable source of the rank-th scene in a search result (rows with label, rank, title, url).

    When the result holds several labels, label (a label's name, e.g. the label file's stem) picks
    one. The source is a local product or raster path, or /vsicurl/ for a remote GeoTIFF; a download
    link (OData, DHuS) cannot be cropped in place.
    """
    ranked = [row for row in rows if _as_int(row.get("rank")) == rank]
    if not ranked:
        ranks = sorted({value for value in (_as_int(row.get("rank")) for row in rows) if value is not None})
        raise LabelMigrationError(
            f"The search result has no scene of rank {rank}" +
            (f" (its ranks are {ranks[0]} to {ranks[-1]})." if ranks else ": it holds no ranked scenes."))
    labels = sorted({str(row.get("label") or "") for row in ranked})
    if len(labels) > 1:
        ranked = [row for row in ranked if label is not None and str(row.get("label") or "") == label]
        if not ranked:
            raise LabelMigrationError(
                f"The search result holds scenes for {len(labels)} labels ({', '.join(labels[:5])}"
                f"{', ...' if len(labels) > 5 else ''}) and none is named '{label}': keep the features of "
                f"one label (e.g. Extract by attribute on 'label'), or name the label file like its label.")
    row = ranked[0]
    url, title = str(row.get("url") or ""), str(row.get("title") or row.get("id") or "")
    if url.startswith(("http://", "https://")):
        if url.split("?")[0].lower().endswith(_GDAL_RASTER_SUFFIXES):
            return "/vsicurl/" + url
        raise LabelMigrationError(
            f"The scene '{title}' of rank {rank} is a download link ({url}): download it with "
            f"downloadscenes first, then crop the downloaded product.")
    if not url:
        raise LabelMigrationError(f"The scene '{title}' of rank {rank} has no product path or URL to crop.")
    return url


def _as_int(value) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
