"""The match table of a label migration (``OUTPUT_FOLDER/matches.csv``): its columns, once.

One row per label. migratelabels writes it (``write_matches``), reads an earlier run's to resume
(``read_matches``) and builds footprints.gpkg from the same rows; the QA report shows them. Every
user takes the columns, the numeric ones and the statuses from here.
"""
import csv
import os
from typing import Callable, Dict, Optional, Sequence

from ..util import limits
from ..util.errors import LabelMigrationError
from ..util.outputs import atomic_output

MATCHES_NAME = "matches.csv"
# footprint_cloud_pct counts cloud and cloud shadow (what makes a pixel unusable); footprint_shadow_pct is the
# shadow part of it ('' when the source has no shadow class)
COLUMNS = ("label", "scene", "datetime", "offset_days", "scene_cloud_pct", "footprint_cloud_pct",
           "footprint_shadow_pct", "nodata_pct", "coverage_pct", "status", "reason", "image", "label_raster",
           *("shift_x_m", "shift_y_m", "shift_confidence", "label_moved_m", "change_score"))
# the last five (core.quality, issue 19) come last so that readers of older tables keep their columns:
# shift_x_m, shift_y_m: where the source image shows a feature minus where Sentinel-2 shows it (metres in the
# pair's CRS; '' unknown: no source image, or a shift beyond the search window); shift_confidence 0 to 1;
# label_moved_m: how far COREGISTER=1 moved the label (0: not moved); change_score: 0 the Sentinel-2 pixels fit
# the label, up to 1 a class no longer recognisable (core.quality.change)
NUMERIC_COLUMNS = ("offset_days", "scene_cloud_pct", "footprint_cloud_pct", "footprint_shadow_pct", "nodata_pct",
                   "coverage_pct", "shift_x_m", "shift_y_m", "shift_confidence", "label_moved_m",
                   "change_score")  # written as numbers ('' when unknown); the rest are text
QUALITY_COLUMNS = ("shift_x_m", "shift_y_m", "shift_confidence", "label_moved_m", "change_score")
PATH_COLUMNS = ("image", "label_raster")  # relative to the output folder
STATUSES = ("done", "skipped", "failed", "no scene")
ALREADY_DONE = "already done"  # the reason of a label skipped because its pair exists and verifies


def is_finished(row: dict) -> bool:
    """A pair on disk: written by this run, or by an earlier one that a resumed run skipped."""
    status = _text(row.get("status")).strip().lower()
    return status == "done" or (status == "skipped" and _text(row.get("reason")).strip().lower() == ALREADY_DONE)


def write_matches(path: str, rows: Sequence[Dict[str, str]]) -> str:
    """Write ``rows`` (dicts; missing columns blank, other keys left out) atomically; return ``path``."""
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow({column: row.get(column, "") for column in COLUMNS})
    return path


def read_matches(path: str, warn: Optional[Callable[[str], None]] = None) -> Dict[str, Dict[str, str]]:
    """The rows of an earlier run's matches.csv by label (empty when there is none, or when it cannot
    be read: then ``warn`` is told, and the run writes a new one)."""
    if not os.path.lexists(path):
        return {}
    try:
        limits.check_metadata_size(os.path.getsize(path), f"The earlier matches.csv '{path}'")
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if "label" not in (reader.fieldnames or ()):
                raise ValueError("it has no column 'label'")
            return {row["label"]: row for row in reader if isinstance(row.get("label"), str) and row["label"]}
    except (OSError, ValueError, csv.Error, LabelMigrationError) as error:
        if warn is not None:
            reason = " ".join(str(error).split()) or type(error).__name__
            warn(f"The earlier run's matches.csv '{path}' cannot be read ({reason}); it is replaced, "
                 f"and pairs already complete are still kept.")
        return {}


def _text(value) -> str:
    return "" if value is None else str(value)
