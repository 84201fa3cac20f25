"""The pairs of a migrated folder (matches.csv, images/, labels/, masks/) that an export chips."""
import csv
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..migration.match_table import MATCHES_NAME, is_finished
from ..migration.pair_files import mask_path
from ..util import limits
from ..util.errors import LabelMigrationError
from ..util.paths import path_inside

# columns another step may add to matches.csv (co-registration, change detection): copied when present
SCORE_COLUMNS = ("shift_x_m", "shift_y_m", "shift_confidence", "change_score")


@dataclass(frozen=True)
class PairSource:
    label: str                # the label's name (matches.csv 'label')
    stem: str                 # the pair's file stem (images/<stem>.tif)
    image: str
    label_raster: str
    mask: Optional[str]       # masks/<stem>.tif (0 clear, 1 cloud, 2 shadow, 255 nodata); None when absent
    row: Dict[str, str] = field(default_factory=dict)

    def number(self, column: str) -> Optional[float]:
        """A numeric column of the pair's row; None when blank or absent."""
        text = (self.row.get(column) or "").strip()
        try:
            return float(text) if text else None
        except ValueError:
            return None


def find_pairs(folder: str) -> Tuple[List[PairSource], List[str], List[str]]:
    """The complete pairs of a migrated folder, the score columns its matches.csv has, and warnings
    (a pair whose files are missing is left out)."""
    matches = os.path.join(folder, MATCHES_NAME)
    if not os.path.isfile(matches):
        raise LabelMigrationError(f"'{folder}' is not a migrated folder: it has no {MATCHES_NAME} (run "
                                  f"migratelabels first, or choose its output folder).")
    limits.check_metadata_size(os.path.getsize(matches), f"The match table '{matches}'")
    try:
        with open(matches, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or ())
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise LabelMigrationError(f"Cannot read the match table '{matches}': {error}. Choose the output folder of "
                                  f"migratelabels, whose matches.csv it wrote.") from None
    missing = {"label", "image", "label_raster"} - set(columns)
    if missing:
        raise LabelMigrationError(f"The match table '{matches}' lacks the columns {', '.join(sorted(missing))}: "
                                  f"it is not the matches.csv migratelabels writes. Choose the output folder of "
                                  f"migratelabels.")
    pairs, warnings = [], []
    for row in rows:
        if not row.get("label") or not is_finished(row):
            continue
        try:
            image = path_inside(folder, *row["image"].replace("\\", "/").split("/"))
            label = path_inside(folder, *row["label_raster"].replace("\\", "/").split("/"))
        except LabelMigrationError as error:
            warnings.append(f"{row['label']}: left out ({error})")
            continue
        if not (os.path.isfile(image) and os.path.isfile(label)):
            warnings.append(f"{row['label']}: left out, its pair ({row['image']}, {row['label_raster']}) is missing.")
            continue
        mask = mask_path(folder, row["label"])
        stem = os.path.splitext(os.path.basename(image))[0]
        pairs.append(PairSource(row["label"], stem, image, label, mask if os.path.isfile(mask) else None, row))
    return pairs, [column for column in SCORE_COLUMNS if column in columns], warnings
