"""exportdataset: a migrated folder as a machine-learning dataset.

    images/<chip>.tif, labels/<chip>.tif, masks/<chip>.tif   cloud-optimised GeoTIFF chips (core.dataset.chips)
    catalog.json, collection.json, items/<chip>.json        STAC with the label extension (core.dataset.stac_catalog)
    chips.parquet                                            GeoParquet index (core.dataset.geoparquet; pyarrow)
    chips.gpkg                                               the chips' outlines and splits, for QGIS

Chips mostly nodata, cloud or shadow are dropped (the pair's cloud mask, masks/<label>.tif); the rest get
spatially blocked splits (core.dataset.splits). The whole folder is written beside the target under a
temporary name and renamed at the end: a failed or cancelled run leaves nothing, and an earlier export in
the target is only replaced once the new one is complete.
"""
import datetime as dt
import json
import os
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Tuple

from ..util.errors import LabelMigrationError, MissingDependency
from ..util.paths import is_within, nearest_existing_folder
from ..util.progress import CancelCheck, ProgressCallback, Steps
from .chip_layer import LAYER_FILE, write_chip_layer
from .chips import OpenPair, plan_windows
from .geoparquet import INDEX_NAME, require_pyarrow, write_index
from .pairs import find_pairs
from .records import Chip, LonLat, crs_name
from .splits import DEFAULT_FRACTIONS, ChipPlace, assign_splits, check_fractions
from .stac_catalog import write_catalog

DATASET_ID = "labelmigration-dataset"  # catalog.json's id: marks a folder an earlier export wrote


@dataclass
class ExportOptions:
    chip_size: int = 256            # pixels
    overlap: int = 0                # pixels shared by neighbouring chips of a pair
    max_nodata_pct: float = 50.0    # of the chip
    max_cloud_pct: float = 20.0     # of the chip's pixels with data (cloud mask class 1)
    max_shadow_pct: float = 20.0    # the same for cloud shadow (class 2)
    block_size_m: float = 10240.0   # the side of the split blocks
    fractions: Tuple[float, float, float] = DEFAULT_FRACTIONS  # train, validation, test
    seed: int = 0
    geoparquet: bool = True         # chips.parquet (needs pyarrow; without it a warning, and no index)


@dataclass
class ExportResult:
    output_folder: str
    catalog: str
    index: Optional[str]            # None when not written (pyarrow missing, or not asked for)
    layer: str                      # chips.gpkg|layername=chips
    chips: int
    splits: Dict[str, int]
    dropped: Dict[str, int]         # reason (nodata, cloud, shadow, split_border) -> chips
    pairs: int
    warnings: List[str] = field(default_factory=list)


def export_dataset(migrated_folder: str, output_folder: str, options: Optional[ExportOptions] = None,
                   progress: Optional[ProgressCallback] = None,
                   is_cancelled: Optional[CancelCheck] = None) -> ExportResult:
    """Export migrated_folder's pairs into output_folder; see the module doc."""
    options = options or ExportOptions()
    steps = Steps(progress, is_cancelled)
    _check(migrated_folder, output_folder, options)
    pairs, score_columns, warnings = find_pairs(migrated_folder)
    if not pairs and warnings:  # pairs listed done, but none on disk
        raise LabelMigrationError(f"'{migrated_folder}' holds no complete pair: {' '.join(warnings)} Run "
                                  f"migratelabels again into this folder.")
    if not pairs:
        raise LabelMigrationError(f"'{migrated_folder}' holds no complete pair: matches.csv lists none done (its "
                                  f"reason column says why); run migratelabels again once that is fixed.")
    with_index = options.geoparquet
    if with_index:
        try:
            require_pyarrow()
        except MissingDependency as error:
            warnings.append(f"No GeoParquet index was written: {error}")
            with_index = False
    candidates, dropped = _candidates(pairs, options, steps.sub(0.0, 0.3), warnings)
    if not candidates and not any(dropped.values()):  # every pair was left out
        left_out = " ".join(warning for warning in warnings if ": left out" in warning)
        raise LabelMigrationError(f"No pair of '{migrated_folder}' could be chipped: {left_out} Nothing was written.")
    if not candidates:
        raise LabelMigrationError(f"No chip was kept: every chip exceeded the nodata, cloud or shadow thresholds "
                                  f"(dropped: {_counts_text(dropped)}); raise MAX_NODATA, MAX_CLOUD or MAX_SHADOW. "
                                  f"Nothing was written.")
    result = assign_splits([chip.place for chip in candidates], options.block_size_m, options.fractions, options.seed)
    chips = [chip for index, chip in enumerate(candidates) if index not in result.dropped]
    for index, chip in enumerate(candidates):
        chip.split = result.splits.get(index, "")
    dropped["split_border"] = len(result.dropped)
    steps.report(0.32)
    staging = _staging_folder(output_folder)
    try:
        classes = _write_chips(staging, chips, steps.sub(0.32, 0.9))
        settings = {key: (list(value) if isinstance(value, tuple) else value) for key, value in asdict(options).items()}
        settings["migrated_folder"] = os.path.abspath(migrated_folder)
        catalog = write_catalog(staging, chips, score_columns, settings, classes, dt.datetime.now(dt.timezone.utc))
        steps.report(0.93)
        write_chip_layer(os.path.join(staging, LAYER_FILE), chips)
        if with_index:
            write_index(os.path.join(staging, INDEX_NAME), chips, score_columns)
        steps.report(0.99)
        _publish(staging, output_folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    splits = dict(Counter(chip.split for chip in chips))
    steps.report(1.0)
    return ExportResult(output_folder, os.path.join(output_folder, os.path.basename(catalog)),
                        os.path.join(output_folder, INDEX_NAME) if with_index else None,
                        os.path.join(output_folder, LAYER_FILE) + "|layername=chips", len(chips),
                        {name: splits.get(name, 0) for name in ("train", "validation", "test")},
                        dropped, len(pairs), warnings)


def _check(migrated_folder: str, output_folder: str, options: ExportOptions) -> None:
    if not output_folder:
        raise LabelMigrationError("No output folder was given for the dataset.")
    if not os.path.exists(migrated_folder):
        raise LabelMigrationError(f"The migrated folder '{migrated_folder}' does not exist: give the output folder "
                                  f"of migratelabels (it holds matches.csv).")
    if not os.path.isdir(migrated_folder):
        raise LabelMigrationError(f"The migrated folder '{migrated_folder}' is a file, not a folder: give the output "
                                  f"folder of migratelabels (it holds matches.csv).")
    if os.path.abspath(output_folder) == os.path.abspath(migrated_folder) or is_within(migrated_folder, output_folder):
        raise LabelMigrationError(f"The dataset folder '{output_folder}' would replace the migrated folder "
                                  f"'{migrated_folder}': choose a new folder (e.g. a subfolder 'dataset').")
    plan_windows(1, 1, options.chip_size, options.overlap)  # refuses a bad size or overlap
    check_fractions(options.fractions)
    for name in ("max_nodata_pct", "max_cloud_pct", "max_shadow_pct"):
        if not 0 <= getattr(options, name) <= 100:
            raise LabelMigrationError(f"{name} must lie between 0 and 100 (not {getattr(options, name)}).")
    if not options.block_size_m > 0:
        raise LabelMigrationError(f"The block size must be more than 0 m (not {options.block_size_m}).")
    if os.path.lexists(output_folder):
        if not os.path.isdir(output_folder):
            raise LabelMigrationError(f"The dataset folder '{output_folder}' is a file. Choose a folder.")
        if os.listdir(output_folder) and not _earlier_export(output_folder):
            raise LabelMigrationError(f"The dataset folder '{output_folder}' is not empty and holds no earlier "
                                      f"export: choose a new or empty folder.")
    _check_writable(output_folder)


def _check_writable(output_folder: str) -> None:
    """Refuse, before any work, a dataset folder whose staging folder beside it could not be made."""
    folder = nearest_existing_folder(output_folder)
    try:
        os.rmdir(tempfile.mkdtemp(dir=folder, prefix=".labelmigration-"))
    except OSError as error:
        raise LabelMigrationError(f"Cannot write the dataset folder '{output_folder}': the folder '{folder}' is not "
                                  f"writable ({error.strerror or error}). Choose another dataset folder.") from None


def _earlier_export(folder: str) -> bool:
    try:
        with open(os.path.join(folder, "catalog.json"), encoding="utf-8") as handle:
            return json.load(handle).get("id") == DATASET_ID
    except (OSError, ValueError, AttributeError):
        return False


def _candidates(pairs, options: ExportOptions, steps: Steps, warnings: List[str]):
    """The chips that pass the thresholds (their places and CRSs known), and the dropped counts by reason."""
    dropped: Dict[str, int] = {"nodata": 0, "cloud": 0, "shadow": 0}
    chips: List[Chip] = []
    unmasked = 0
    for number, pair in enumerate(pairs):
        steps.report(number / len(pairs))
        try:
            opened = OpenPair(pair.image, pair.label_raster, pair.mask)
        except LabelMigrationError as error:
            warnings.append(f"{pair.label}: left out ({str(error).rstrip('.')}).")
            continue
        wkt = opened.image.GetProjection()
        lonlat, crs = LonLat(wkt), crs_name(wkt)
        unmasked += opened.mask is None
        for xoff, yoff in plan_windows(opened.width, opened.height, options.chip_size, options.overlap):
            steps.check()
            stats = opened.stats(xoff, yoff, options.chip_size)
            reason = stats.drop_reason(options.max_nodata_pct / 100, options.max_cloud_pct / 100,
                                       options.max_shadow_pct / 100)
            if reason:
                dropped[reason] += 1
                continue
            bounds = opened.window_bounds(xoff, yoff, options.chip_size)
            ring = lonlat.ring(bounds)
            xs, ys = [p[0] for p in ring], [p[1] for p in ring]
            place = ChipPlace(wkt, bounds, (min(xs), min(ys), max(xs), max(ys)), lonlat.metres_per_unit)
            chips.append(Chip(f"{pair.stem}_x{xoff}_y{yoff}", pair, xoff, yoff, options.chip_size, stats, place,
                              crs, ring))
    if unmasked:
        warnings.append(f"{unmasked} of {len(pairs)} pairs have no cloud mask (masks/<label>.tif): their chips were "
                        f"not checked for cloud and shadow (run migratelabels with CLOUD_MASKS).")
    return chips, dropped


def _write_chips(folder: str, chips: List[Chip], steps: Steps) -> List[Dict[str, object]]:
    """Write every chip's files; returns the classes found (value, name, colour)."""
    for sub in ("images", "labels", "masks"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    by_pair: Dict[str, List[Chip]] = defaultdict(list)
    for chip in chips:
        by_pair[chip.pair.image].append(chip)
    described: Dict[int, Tuple[Optional[str], Optional[str]]] = {}
    done = 0
    for group in by_pair.values():
        pair = group[0].pair
        opened = OpenPair(pair.image, pair.label_raster, pair.mask)
        for value, entry in opened.classes().items():
            if value not in described or (entry[0] and not described[value][0]):
                described[value] = entry
        for chip in group:
            chip.image, chip.label = f"images/{chip.id}.tif", f"labels/{chip.id}.tif"
            chip.mask = f"masks/{chip.id}.tif" if opened.mask is not None else None
            targets = [os.path.join(folder, path) if path else None for path in (chip.image, chip.label, chip.mask)]
            chip.class_pixels = opened.write_chips(chip.xoff, chip.yoff, chip.size, targets)
            done += 1
            steps.report(done / len(chips))
        opened = None
    if not any(chip.mask for chip in chips):
        os.rmdir(os.path.join(folder, "masks"))
    values = sorted({value for chip in chips for value in chip.class_pixels})
    return [{"value": value, "name": (described.get(value) or (None, None))[0] or str(value),
             "color": (described.get(value) or (None, None))[1]} for value in values]


def _counts_text(counts: Dict[str, int]) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in counts.items() if count) or "none"


def _staging_folder(output_folder: str) -> str:
    parent, name = os.path.split(os.path.abspath(output_folder))
    try:
        os.makedirs(parent, exist_ok=True)
        return tempfile.mkdtemp(dir=parent, prefix=f".{name}.part-")
    except OSError as error:
        raise LabelMigrationError(f"Cannot write beside '{output_folder}': {error.strerror or error}.") from None


def _publish(staging: str, output_folder: str) -> None:
    """Put the finished folder in place of output_folder (an empty folder or an earlier export)."""
    target = os.path.abspath(output_folder)
    aside = None
    if os.path.lexists(target):
        aside = tempfile.mkdtemp(dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.old-")
        os.rmdir(aside)
        os.rename(target, aside)
    try:
        os.rename(staging, target)
    except OSError as error:
        if aside:
            os.rename(aside, target)
        raise LabelMigrationError(f"Cannot write the dataset folder '{output_folder}': {error.strerror or error}. "
                                  f"Nothing was replaced.") from None
    if aside:
        shutil.rmtree(aside, ignore_errors=True)
