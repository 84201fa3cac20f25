"""migratelabels: a whole label set moved onto Sentinel-2, one aligned pair per label.

Per label (``migrate_label``, a top-level function of plain data so that a local thread pool and
Dask workers run the very same code): geocode a PNG/JPEG label onto its reference, take its
footprint, search scenes around its date, rate every candidate by the cloud over the label's own
footprint (SCL of L2A products read for the label's window only, else the cloud model, else the
catalogue's scene cloud cover), then |offset| and coverage, crop the best one (tiles of one
datatake mosaicked) and verify the pair's grids. ``migrate_labels`` lists the labels and their
dates, runs the per-label work, and writes matches.csv, footprints.gpkg and the QA report.

A pair is written atomically (crop_scene publishes image and label only once both are complete),
so a re-run skips the pairs that exist and verify, and never trusts a half-written file.
"""
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import logging
import math
import os
import re
import shutil
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from osgeo import gdal, ogr, osr

from .util import limits
from .labels.crop import CropResult, crop_scene
from .util.dates import compile_date_pattern, date_in_text
from .install.dependencies import require
from .net.download import CDSE_TOKEN_URL, MAX_CONNECTIONS, CdseToken, download, download_lock
from .util.errors import Cancelled, LabelMigrationError
from .labels.footprint import WGS84, label_footprint, label_name
from .labels.geocode import geocode_mask
from .migration.match_table import ALREADY_DONE, MATCHES_NAME, read_matches, write_matches
from .migration.match_table import COLUMNS as MATCH_COLUMNS
from .migration.match_table import NUMERIC_COLUMNS as _NUMERIC_COLUMNS
from .net.http import basic_auth
from .util.outputs import atomic_output, atomic_outputs
from .util.paths import (MAX_NAME_LENGTH, is_within, nearest_existing_folder, path_inside, safe_file_name,
                         unreadable_reason)
from .models.cloud_classes import MASK_CLEAR, MASK_CLOUD, MASK_NODATA, MASK_SHADOW, cloud_classes
from .util.plugin_files import BUNDLED_CLOUD_MODEL
from .util.progress import CancelCheck, ProgressCallback, Steps
from .util.rasters import check_raster_size, gdal_errors, grid_difference, has_geotransform, open_raster, srs_from_user
from .sentinel2.safe import NATIVE_RESOLUTION, is_safe_product
from .sentinel2.safe_stack import begin_reusing_band_files, end_reusing_band_files, reusing_band_files
from .search import FootprintQuery, Scene, make_backend, search_scenes
from .search.base import (DEFAULT_DAYS_AFTER, DEFAULT_DAYS_BEFORE, DEFAULT_MAX_CLOUD, DEFAULT_PRODUCT, check_product,
                          check_window_days)

LOG = logging.getLogger(__name__)
DEFAULT_CLOUD_MODEL = BUNDLED_CLOUD_MODEL
DEFAULT_BANDS = ("B02", "B03", "B04", "B08")
SCL_CLOUDY = (3, 8, 9, 10)  # cloud shadow, cloud medium / high probability, thin cirrus
SCL_CLOUD_MASK = (8, 9, 10)  # what a cloud mask made from SCL calls cloud (1)
SCL_SHADOW = 3  # what a cloud mask made from SCL calls cloud shadow (2)
# the pair's cloud mask: 0 clear, 1 cloud, 2 cloud shadow, 255 nodata (core.models.cloud_classes)
LABEL_EXTENSIONS = (".tif", ".tiff", ".png", ".jpg", ".jpeg")
PLAIN_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
LABEL_SUFFIXES = ("_labels", "_label", "_masks", "_mask", "-label", "-mask")
DOWNLOAD_BACKENDS = ("cdse-odata", "dhus")  # whole SAFE products are downloaded to crop from them
DOWNLOAD_CANDIDATES = 3  # candidates rated per label when each costs a product download
MAX_WORKERS = 256
OUTPUT_FILES = (MATCHES_NAME, "footprints.gpkg", "report.html")  # what a run writes in OUTPUT_FOLDER itself
PAIR_FOLDERS = ("images", "labels", "masks", "geocoded", "downloads", "report")
_ASSET_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")  # a STAC asset key given as a band
_URL = re.compile(r"^https?://[^\s/?#]+", re.IGNORECASE)
# temporaries of core.util.outputs.atomic_outputs: '.<stem>.<random>.part<ext>' (plus GDAL sidecars)
_TEMPORARY = re.compile(r"^\..+\.part\.[A-Za-z0-9]+(\.aux\.xml|\.msk|\.ovr)?$")
_ORBIT = re.compile(r"_R(\d{3})_")
_DATATAKE = re.compile(r"^(S2[A-D])_MSIL(?:1C|2A)_(\d{8}T\d{6})_N\d{4}_R(\d{3})_")
# band name -> Earth Search asset key (Planetary Computer and CDSE STAC use the band names)
STAC_BAND_ASSETS = {"B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1",
                    "B06": "rededge2", "B07": "rededge3", "B08": "nir", "B8A": "nir08", "B09": "nir09",
                    "B11": "swir16", "B12": "swir22", "SCL": "scl"}

LabelsArgument = Union[str, Sequence[str]]


@dataclass
class MigrationOptions:
    """Everything but the labels and the output folder; plain data (it travels to Dask workers)."""
    backend: str = "local"
    url: Optional[str] = None
    collection: Optional[str] = None
    credentials: Optional[Tuple[str, str]] = field(default=None, repr=False)
    days_before: float = DEFAULT_DAYS_BEFORE  # the search defaults: core.search.base
    days_after: float = DEFAULT_DAYS_AFTER
    max_cloud: Optional[float] = DEFAULT_MAX_CLOUD
    product: Optional[str] = DEFAULT_PRODUCT
    bands: Optional[Sequence[str]] = None  # default DEFAULT_BANDS
    date_pattern: Optional[str] = None  # regex on the file name; default: YYYYMMDD / YYYY-MM-DD
    dates_csv: Optional[str] = None  # label,date
    date: Optional[Union[dt.date, str]] = None  # one date for every label
    cloud_model: Optional[str] = None  # ONNX cloud model; None: the bundled one when installed
    input_scaling: str = "auto"  # what the scenes' values are for the cloud model (core.models.input_scaling)
    executor: Optional[str] = None  # None / "local": a thread pool; "tcp://host:port": a Dask scheduler
    workers: Optional[int] = None
    max_candidates: Optional[int] = None  # scenes rated per label; None: all (3 for download backends)
    write_report: bool = True
    # OUTPUT_FOLDER/masks/<label>.tif per pair (1 cloud, 2 cloud shadow, 0 clear, 255 nodata): from the cloud
    # model when there is one (shadow where it has a shadow class), else from SCL (classes 8, 9, 10 cloud, 3
    # shadow) for L2A. None: on when a cloud model is available.
    cloud_masks: Optional[bool] = None
    # CDSE OData downloads; None: the public Copernicus Data Space addresses (a private or test
    # deployment gives its own: the base before /Products(<Id>)/$value, and the OpenID token endpoint)
    download_url: Optional[str] = None
    token_url: Optional[str] = None


@dataclass
class MigrationResult:
    output_folder: str
    matches: str
    footprints: str
    report: Optional[str]
    rows: List[Dict[str, str]]
    pairs: int  # done or skipped (complete and verified)
    failed: int
    warnings: List[str] = field(default_factory=list)
    scenes_layer: Optional[str] = None  # footprints.gpkg|layername=scenes: the chosen scenes' footprints
    mask_source: Optional[str] = None  # what the cloud masks were made from; None: no masks were asked for


@dataclass
class LabelInput:
    name: str
    path: str
    reference: Optional[str] = None  # the georeferenced raster a PNG/JPEG label was drawn on
    problem: Optional[str] = None  # why it cannot be migrated, found while listing
    stem: str = ""  # the file name (without extension) of its pair: see pair_stem


# -- listing labels and dates ---------------------------------------------------------------------

def find_labels(labels: LabelsArgument) -> List[LabelInput]:
    """The labels of a folder or a list of files, PNG/JPEG ones paired with their reference raster.

    A PNG/JPEG label ``<base>[_label|_mask].png`` takes the GeoTIFF beside it whose name starts
    with ``<base>`` as its reference; a GeoTIFF used as a reference is not itself a label.
    """
    if isinstance(labels, str):
        if not os.path.isdir(labels):
            raise LabelMigrationError(f"The label folder '{labels}' does not exist or is not a folder.")
        paths = [os.path.join(labels, name) for name in sorted(os.listdir(labels))
                 if not name.startswith(".") and name.lower().endswith(LABEL_EXTENSIONS)
                 and os.path.isfile(os.path.join(labels, name))]
    else:
        paths = [str(path) for path in labels if str(path).strip()]
        for path in paths:
            if not os.path.isfile(path):
                raise LabelMigrationError(f"The label file '{path}' does not exist.")
    if not paths:
        raise LabelMigrationError(f"No label rasters ({', '.join(LABEL_EXTENSIONS)}) were found in '{labels}'.")
    rasters = [p for p in paths if not p.lower().endswith(PLAIN_IMAGE_EXTENSIONS)]
    found, references = [], set()
    for path in paths:
        if not path.lower().endswith(PLAIN_IMAGE_EXTENSIONS):
            continue
        reference = _reference_for(path, rasters)
        problem = None if reference else (
            f"The label '{os.path.basename(path)}' is a plain image without georeferencing and no reference "
            f"raster with a matching name lies beside it (expected a GeoTIFF whose name starts with "
            f"'{_base_name(path)}').")
        if reference:
            references.add(reference)
        found.append(LabelInput(_label_name(path), path, reference, problem))
    found += [LabelInput(_label_name(path), path) for path in rasters if path not in references]
    found.sort(key=lambda item: paths.index(item.path))
    seen: Dict[str, LabelInput] = {}
    for item in found:
        item.stem = pair_stem(item.name)
        other = seen.setdefault(item.stem.casefold(), item)
        if other is not item and item.problem is None:
            item.problem = (f"Another label has the same name '{item.name}' ({os.path.basename(other.path)})."
                            if other.name == item.name else
                            f"The labels '{other.name}' and '{item.name}' would be written to the same files "
                            f"(images/{other.stem}.tif: file names that differ only in case are one file on "
                            f"Windows and macOS); rename one of them.")
    return found


def _label_name(path: str) -> str:
    """The label's name as matches.csv and the report show it (bytes that are no UTF-8 replaced)."""
    return label_name(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def pair_stem(name: str) -> str:
    """The file name (without extension) of a label's pair, mask and thumbnails: the label's name when
    it can be a file name as it is, else its sanitised form (core.util.paths.safe_file_name) with a short
    hash of the name, so that two names that sanitise alike never share a file."""
    return _distinct_file_name(name, "label")


def _distinct_file_name(text: str, fallback: str) -> str:
    """text as a safe file name; with a short hash of text appended when it had to change."""
    name = safe_file_name(text, fallback, MAX_NAME_LENGTH - 14)
    if name != text:
        digest = hashlib.sha1(text.encode("utf-8", "surrogateescape"), usedforsecurity=False)  # a name, no security
        name = f"{name}-{digest.hexdigest()[:8]}"
    return name


def _base_name(path: str) -> str:
    stem = label_name(path)
    for suffix in LABEL_SUFFIXES:
        if stem.lower().endswith(suffix):
            return stem[:-len(suffix)]
    return stem


def _reference_for(path: str, rasters: Sequence[str]) -> Optional[str]:
    base = _base_name(path)
    folder = os.path.dirname(os.path.abspath(path))
    candidates = [r for r in rasters if os.path.dirname(os.path.abspath(r)) == folder
                  and label_name(r).startswith(base) and label_name(r) != label_name(path)]
    if not candidates:  # the list of files may hold the label but not its reference: look beside it
        candidates = [os.path.join(folder, name) for name in sorted(os.listdir(folder))
                      if name.lower().endswith((".tif", ".tiff")) and label_name(name).startswith(base)]
    return min(candidates, key=lambda r: (len(label_name(r)), r)) if candidates else None


def date_from_pattern(name: str, pattern: Optional["re.Pattern"]) -> Optional[dt.date]:
    """A date from a file name: the default finds YYYYMMDD / YYYY-MM-DD / YYYY_MM_DD.

    A custom pattern may name groups year, month, day, or have three groups in that order, or
    match text holding a date in one of the default forms.
    """
    if pattern is None:
        return date_in_text(name)
    match = pattern.search(name)
    if match is None:
        return None
    groups = match.groupdict()
    try:
        if {"year", "month", "day"} <= set(groups):
            return dt.date(int(groups["year"]), int(groups["month"]), int(groups["day"]))
        if len(match.groups()) == 3:
            return dt.date(*(int(part) for part in match.groups()))
    except (TypeError, ValueError, OverflowError):
        return None
    return date_in_text(match.group(1) if len(match.groups()) == 1 else match.group(0))


def read_dates_csv(path: str) -> Dict[str, dt.date]:
    """{label: date} from a CSV with the columns label and date (file names or label names)."""
    try:
        limits.check_metadata_size(os.path.getsize(path), f"The dates CSV '{path}'")
        with open(path, newline="", encoding="utf-8-sig") as handle:
            text = handle.read()
        if "\x00" in text:
            raise UnicodeDecodeError("utf-8", b"\x00", 0, 1, "a NUL byte")
        rows = list(csv.reader(io.StringIO(text)))
    except OSError as error:
        raise LabelMigrationError(f"Cannot read the dates CSV '{path}': {error.strerror or error}.") from None
    except UnicodeDecodeError:
        raise LabelMigrationError(f"The dates CSV '{path}' is not a text file (UTF-8); give a CSV with the "
                                  f"columns label,date.") from None
    except csv.Error as error:
        raise LabelMigrationError(f"The dates CSV '{path}' cannot be read as CSV ({error}); give a CSV with the "
                                  f"columns label,date.") from None
    if rows and [cell.strip().lower() for cell in rows[0][:2]] == ["label", "date"]:
        rows = rows[1:]
    dates: Dict[str, dt.date] = {}
    for number, row in enumerate(rows, start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 2 or date_in_text(row[1]) is None:
            raise LabelMigrationError(f"Line {number} of the dates CSV '{path}' is not 'label,date' with a date "
                                      f"such as 2020-08-12: {_shown(row)}.")
        name, date = label_name(row[0].strip()), date_in_text(row[1])
        if dates.get(name, date) != date:
            raise LabelMigrationError(f"Line {number} of the dates CSV '{path}' dates the label '{name}' "
                                      f"{date.isoformat()}, an earlier line {dates[name].isoformat()}; keep one.")
        dates[name] = date
    return dates


def _shown(row: Sequence[str], length: int = 120) -> str:
    text = ",".join(row)
    return repr(text if len(text) <= length else text[:length] + "...")


def _as_date(value) -> Optional[dt.date]:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    parsed = date_in_text(str(value))
    if parsed is None:
        raise LabelMigrationError(f"'{value}' is not a date such as 2020-08-12.")
    return parsed


def label_date(item: LabelInput, options: MigrationOptions, csv_dates: Optional[Dict[str, dt.date]],
               pattern) -> Tuple[Optional[dt.date], Optional[str]]:
    """(date, why there is none): the CSV first, then DATE, then the file name."""
    if csv_dates is not None:
        found = csv_dates.get(item.name)
        return (found, None) if found else (None, f"The dates CSV has no row for the label '{item.name}'.")
    if options.date:
        return _as_date(options.date), None
    found = date_from_pattern(os.path.basename(item.path), pattern)
    if found is None:
        return None, (f"No date in the file name '{os.path.basename(item.path)}'"
                      + (f" for the pattern '{options.date_pattern}'" if options.date_pattern else "")
                      + "; give DATE or a dates CSV.")
    return found, None


# -- the per-label work ------------------------------------------------------------------------------

_BACKENDS: Dict[tuple, object] = {}
_BACKENDS_LOCK = threading.Lock()
_DOWNLOADS = threading.BoundedSemaphore(MAX_CONNECTIONS)


def _backend(options: dict):
    """One search backend per process and set-up: a local archive is indexed once, not per label."""
    credentials = tuple(options["credentials"]) if options.get("credentials") else None
    # per run: a later run must see products added to a local archive since
    key = (options.get("run"), options["backend"], options.get("url"), credentials, options.get("download_url"))
    with _BACKENDS_LOCK:
        if key not in _BACKENDS:
            backend = make_backend(options["backend"], options.get("url"), credentials)
            if options.get("download_url") and hasattr(backend, "download_url"):
                backend.download_url = options["download_url"].rstrip("/")  # scenes' urls are made from it
            if hasattr(backend, "index"):
                backend.index()
            _BACKENDS[key] = backend
        return _BACKENDS[key]


def _forget_backends(run: Optional[str]) -> None:
    with _BACKENDS_LOCK:
        for key in [key for key in _BACKENDS if key[0] == run]:
            del _BACKENDS[key]


def mask_path(output_folder: str, name: str) -> str:
    """The cloud mask of a label's pair (written when cloud masks are on)."""
    return path_inside(output_folder, "masks", f"{pair_stem(name)}.tif")


def cloud_model_path(options) -> Optional[str]:
    """The cloud model a run uses: CLOUD_MODEL, else the bundled one when installed, else None."""
    model = options.get("cloud_model") if isinstance(options, dict) else options.cloud_model
    return model or (DEFAULT_CLOUD_MODEL if os.path.isfile(DEFAULT_CLOUD_MODEL) else None)


def mask_source(options: MigrationOptions) -> Optional[str]:
    """In words, what the run's cloud masks come from; None when no masks are written."""
    if not wants_cloud_masks(options):
        return None
    model = cloud_model_path(options)
    if model:
        return f"the cloud model {model} (1 cloud, 2 cloud shadow where the model has a shadow class)"
    if check_product(options.product) == "L2A":
        return ("the SCL band of the L2A products (classes 8, 9, 10: cloud medium / high probability, thin cirrus, "
                "as 1; class 3, cloud shadow, as 2)")
    return "nothing: no cloud model is installed and L1C products have no SCL band, so no cloud masks are written"


def wants_cloud_masks(options: MigrationOptions) -> bool:
    if options.cloud_masks is None:
        return cloud_model_path(options) is not None
    return bool(options.cloud_masks)


def pair_paths(output_folder: str, name: str) -> Tuple[str, str]:
    """The image and label files of a label's pair (refused when a link would lead them outside
    output_folder)."""
    stem = pair_stem(name)
    return (path_inside(output_folder, "images", f"{stem}.tif"),
            path_inside(output_folder, "labels", f"{stem}.tif"))


def verify_pair(image: str, label: str) -> Optional[str]:
    """None when image and label are complete rasters on one grid, else what is wrong.

    Every block is read (checksums), so a truncated file fails here rather than in training.
    """
    if not (os.path.isfile(image) and os.path.isfile(label)):
        return "the image or the label of the pair is missing"
    try:
        with gdal_errors():
            first, second = gdal.Open(image), gdal.Open(label)
            difference = grid_difference(first, second, require_crs=True)
            if difference:
                return f"image and label are not on one grid: {difference}"
            if first.RasterCount < 1 or second.RasterCount != 1:
                return f"the image has {first.RasterCount} bands and the label {second.RasterCount} (expected 1)"
            for dataset in (first, second):
                for index in range(1, dataset.RasterCount + 1):
                    dataset.GetRasterBand(index).Checksum()
    except RuntimeError as error:
        return f"the pair cannot be read completely ({str(error).strip()})"
    return None


def _row(name: str, **values) -> Dict[str, str]:
    row = {column: "" for column in MATCH_COLUMNS}
    row["label"] = name
    for key, value in values.items():
        row[key] = "" if value is None else (f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float)
                                             else str(value))
    return row


def migrate_label(task: dict, progress: Optional[ProgressCallback] = None,
                  is_cancelled: Optional[CancelCheck] = None) -> dict:
    """Migrate one label; ``task`` is plain data (see ``migrate_labels``), so the function runs in a
    thread, a process or on a Dask worker alike. Returns {'row': matches.csv row, 'footprint_wkt':
    EPSG:4326 WKT or '', 'tile': str, 'warnings': [...]}; only Cancelled is raised."""
    steps = Steps(progress, is_cancelled)
    name, folder = task["label"], task["output_folder"]
    outcome = {"row": None, "footprint_wkt": "", "tile": "", "warnings": []}
    try:
        image, label_out = pair_paths(folder, name)
    except LabelMigrationError as error:
        outcome["row"] = _row(name, status="failed", reason=_one_line(error))
        return outcome
    relative = {"image": os.path.relpath(image, folder), "label_raster": os.path.relpath(label_out, folder)}
    with gdal_errors():
        if verify_pair(image, label_out) is None:
            previous = dict(task.get("previous") or {})
            row = _row(name, **{k: previous.get(k, "") for k in MATCH_COLUMNS if k != "label"})
            row.update(status="skipped", reason=ALREADY_DONE, **relative)
            if not row["scene"]:
                row["scene"] = (open_raster(image, "image").GetMetadata() or {}).get("SOURCE_SCENE", "")
            outcome["row"] = row
            outcome["footprint_wkt"] = _footprint_wkt(label_out)
            mask = mask_path(folder, name)
            if task["options"].get("cloud_masks") and not os.path.isfile(mask):
                outcome["warnings"].extend(_mask_for_complete_pair(task, image, mask, steps))
            return outcome
        work = os.path.join(folder, ".work", f"{pair_stem(name)}-{uuid.uuid4().hex[:8]}")
        try:
            if task.get("problem"):
                raise LabelMigrationError(task["problem"])
            label_path = _georeferenced_label(task, steps)
            footprint = label_footprint(label_path, WGS84)
            outcome["footprint_wkt"] = footprint.wkt
            if not task.get("date"):
                raise LabelMigrationError(task.get("date_problem") or f"The label '{name}' has no date.")
            outcome["row"] = _migrate(task, label_path, footprint.wkt, image, label_out, work, steps, outcome)
            if outcome["row"]["status"] == "done":
                outcome["row"].update(relative)
        except Cancelled:
            raise
        except (LabelMigrationError, RuntimeError, OSError, ValueError) as error:
            outcome["row"] = _row(name, status="failed", reason=_one_line(error))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return outcome


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _footprint_wkt(path: str) -> str:
    try:
        return label_footprint(path, WGS84).wkt
    except LabelMigrationError:
        return ""


def _georeferenced_label(task: dict, steps: Steps) -> str:
    """The label itself, or its copy geocoded onto its reference (OUTPUT_FOLDER/geocoded/)."""
    if not task.get("reference"):
        return task["path"]  # checked while listing (label_problem)
    output = path_inside(task["output_folder"], "geocoded", f"{pair_stem(task['label'])}.tif")
    geocode_mask(task["path"], task["reference"], output, validity_band=True, is_cancelled=steps.cancelled)
    return output


@dataclass
class _Candidate:
    scenes: List[Scene]  # the datatake's tiles over the label, best-covering first
    offset_days: Optional[float]
    coverage_pct: Optional[float]
    path: str = ""
    other_tiles: List[str] = field(default_factory=list)
    band_names: Optional[List[str]] = None
    scl: Optional[str] = None  # a raster holding the SCL band (a SAFE product or a STAC asset)
    footprint_cloud: Optional[float] = None  # cloud and cloud shadow, % of the footprint's seen pixels
    footprint_shadow: Optional[float] = None  # the shadow part of it; None when the source has no shadow class
    nodata_pct: Optional[float] = None
    problem: Optional[str] = None
    clouds: Optional[str] = None  # the cloud model's classes on the candidate's crop (rating ran the model)
    scl_crop: Optional[str] = None  # SCL on the candidate's crop (rating read it)
    crop: Optional[CropResult] = None  # the candidate's image/label crop, when rating made one for the model

    @property
    def scene(self) -> Scene:
        return self.scenes[0]

    def key(self):
        cloud = self.footprint_cloud if self.footprint_cloud is not None else self.scene.cloud_cover
        return (self.problem is not None, math.inf if cloud is None else round(cloud, 6),
                math.inf if self.offset_days is None else abs(self.offset_days),
                -(self.coverage_pct or 0.0), self.scene.datetime, self.scene.id)


def _migrate(task: dict, label_path: str, footprint_wkt: str, image: str, label_out: str, work: str,
             steps: Steps, outcome: dict) -> Dict[str, str]:
    options, name = task["options"], task["label"]
    date = dt.date.fromisoformat(task["date"])
    matches = search_scenes([FootprintQuery(name, footprint_wkt, date)], _backend(options),
                            options["days_before"], options["days_after"], options["max_cloud"],
                            options["product"], options.get("collection"), is_cancelled=steps.cancelled,
                            warn=outcome["warnings"].append)
    if not matches:
        cloud = f" and at most {options['max_cloud']:g}% cloud" if options["max_cloud"] is not None else ""
        return _row(name, status="no scene", reason=(
            f"No {options['product'] or 'Sentinel-2'} scene from {options['days_before']:g} days before to "
            f"{options['days_after']:g} days after {date.isoformat()}{cloud} covers the label."))
    candidates = _datatakes(matches)
    limit = options.get("max_candidates") or (DOWNLOAD_CANDIDATES if options["backend"] in DOWNLOAD_BACKENDS
                                              else len(candidates))
    rated = sorted(candidates, key=lambda c: c.key())[:max(1, limit)]
    os.makedirs(work, exist_ok=True)
    notes = []
    for index, candidate in enumerate(rated):
        steps.check()
        try:
            _fetch(candidate, options, task["output_folder"], work, steps)
            note = _rate(candidate, label_path, options, os.path.join(work, f"c{index}"), steps)
            if note:
                notes.append(note)
        except Cancelled:
            raise
        except (LabelMigrationError, RuntimeError, OSError) as error:
            candidate.problem = _one_line(error)
    best = min(rated, key=lambda c: c.key())
    if best.problem is not None:
        return _row(name, scene=best.scene.title, status="failed",
                    reason="No candidate scene could be read: " + "; ".join(
                        f"{c.scene.title}: {c.problem}" for c in rated))
    if best.crop is not None:
        result = _publish_crop(best.crop, image, label_out)
    else:
        result = crop_scene(best.path, label_path, image, label_out, band_names=best.band_names,
                            other_tiles=best.other_tiles, is_cancelled=steps.cancelled)
    outcome["warnings"].extend(result.warnings)
    outcome["tile"] = "+".join(scene.tile for scene in best.scenes)
    problem = verify_pair(image, label_out)
    common = dict(scene=best.scene.title, datetime=best.scene.datetime.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  offset_days=best.offset_days, scene_cloud_pct=best.scene.cloud_cover,
                  footprint_cloud_pct=best.footprint_cloud, footprint_shadow_pct=best.footprint_shadow,
                  nodata_pct=result.nodata_percent,
                  coverage_pct=result.covered_percent)
    if problem:
        for path in (image, label_out):
            if os.path.exists(path):
                os.unlink(path)
        return _row(name, status="failed", reason=f"The pair failed verification: {problem}.", **common)
    outcome["scene"] = _scene_record(best)
    if options.get("cloud_masks"):
        try:
            warning = _write_cloud_mask(best, image, mask_path(task["output_folder"], name), options, work, steps)
        except Cancelled:
            raise
        except (LabelMigrationError, RuntimeError, OSError) as error:
            warning = f"No cloud mask was written: {_one_line(error)}"
        if warning:
            outcome["warnings"].append(warning)
    return _row(name, status="done", reason=" ".join(dict.fromkeys(notes)), **common)


def _publish_crop(crop: CropResult, image: str, label: str) -> CropResult:
    """The crop rating made for the cloud model (same scene, label, bands and tiles as the pair's)
    published as the pair, together, instead of cropping the scene a second time."""
    for path in (image, label):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_outputs(image, label) as temporaries:
        for source, temporary in zip((crop.image, crop.label), temporaries):
            os.replace(source, temporary)
    return replace(crop, image=image, label=label)


def _scene_record(best: "_Candidate") -> dict:
    """The chosen scene for the scenes layer: its fields and its footprint (tiles of a mosaic united)."""
    geometry = None
    for scene in best.scenes:
        if scene.footprint_wkt:
            part = ogr.CreateGeometryFromWkt(scene.footprint_wkt)
            geometry = part if geometry is None else geometry.Union(part)
    return {"scene": best.scene.title, "datetime": best.scene.datetime.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tile": "+".join(scene.tile for scene in best.scenes), "product": best.scene.level or "",
            "scene_cloud_pct": best.scene.cloud_cover, "backend": best.scene.backend,
            "footprint_wkt": geometry.ExportToWkt() if geometry is not None else ""}


def _write_cloud_mask(best: "_Candidate", image: str, target: str, options: dict, work: str,
                      steps: Steps) -> Optional[str]:
    """The pair's cloud mask (on the pair's grid), atomically; a warning when none can be made.

    The cloud model's output on the candidate's crop is reused when rating ran it (the crop is the
    pair's image); else the model runs on the pair's image; without a model SCL (8, 9, 10 cloud, 3
    shadow) is used.
    """
    model = cloud_model_path(options)
    note = None
    if model:
        clouds = best.clouds if best.clouds and _same_grid(best.clouds, image) else None
        if clouds is None:
            clouds = os.path.join(work, "pair-clouds.tif")
            result = _predict_clouds(image, model, clouds, options, steps)
            if result.warnings:  # e.g. an input implausible for the cloud model (core.models.input_scaling)
                note = f"The cloud mask may be wrong: {_one_line(result.warnings[0])}"
        mask = _mask_from_classes(clouds)
    elif best.scl_crop:
        scl = _onto_grid(best.scl_crop, image, os.path.join(work, "pair-scl.tif"))
        values, _ = _read_band(scl)
        mask = np.where(np.isin(values, SCL_CLOUD_MASK), MASK_CLOUD, MASK_CLEAR).astype(np.uint8)
        mask[values == SCL_SHADOW] = MASK_SHADOW
        mask[values == 0] = MASK_NODATA  # SCL 0: no data
    else:
        return "No cloud mask: no cloud model is installed and the scene has no SCL band."
    _write_mask(mask, image, target)
    return note


def _mask_for_complete_pair(task: dict, image: str, target: str, steps: Steps) -> List[str]:
    """A pair complete from an earlier run without its mask: the model makes one from the image."""
    model = cloud_model_path(task["options"])
    if not model:
        return ["No cloud mask for this already complete pair: SCL is only read while the pair is made "
                "(delete the pair to make it again, or give a cloud model)."]
    work = os.path.join(task["output_folder"], ".work", f"{pair_stem(task['label'])}-mask-{uuid.uuid4().hex[:8]}")
    try:
        os.makedirs(work, exist_ok=True)
        clouds = os.path.join(work, "clouds.tif")
        result = _predict_clouds(image, model, clouds, task["options"], steps)
        _write_mask(_mask_from_classes(clouds), image, target)
        if result.warnings:  # e.g. an input implausible for the cloud model (core.models.input_scaling)
            return [f"The cloud mask may be wrong: {_one_line(result.warnings[0])}"]
    except Cancelled:
        raise
    except (LabelMigrationError, RuntimeError, OSError) as error:
        return [f"No cloud mask was written: {_one_line(error)}"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return []


def _predict_clouds(image: str, model: str, classes_path: str, options: dict, steps: Steps):
    """The cloud model over an image: ``classes_path`` becomes its mask, 1 cloud and 2 cloud shadow where the model
    has a shadow class (core.models.cloud_classes decides which classes those are), 0 clear, 255 nodata."""
    from .models.cloud_classes import predict_clouds
    result, _classes = predict_clouds(image, model, {"classes": classes_path}, shadow=True,
                                      is_cancelled=steps.cancelled, input_scaling=options.get("input_scaling", "auto"))
    return result


def _mask_from_classes(classes_path: str) -> np.ndarray:
    """The cloud model's mask (_predict_clouds: 1 cloud, 2 cloud shadow, 0 clear) as the pair's cloud mask."""
    values, nodata = _read_band(classes_path)
    mask = np.select([values == MASK_CLOUD, values == MASK_SHADOW], [MASK_CLOUD, MASK_SHADOW],
                     MASK_CLEAR).astype(np.uint8)
    mask[values == (MASK_NODATA if nodata is None else nodata)] = MASK_NODATA
    return mask


def _read_band(path: str) -> Tuple[np.ndarray, Optional[float]]:
    dataset = gdal.Open(path)
    band = dataset.GetRasterBand(1)
    return band.ReadAsArray(), band.GetNoDataValue()


def _grid(path: str):
    dataset = gdal.Open(path)
    return dataset.RasterXSize, dataset.RasterYSize, tuple(dataset.GetGeoTransform()), dataset.GetProjection()


def _same_grid(first: str, second: str) -> bool:
    return grid_difference(gdal.Open(first), gdal.Open(second)) is None


def _onto_grid(source: str, reference: str, output: str) -> str:
    """source resampled (nearest) onto the reference's grid; source itself when already on it."""
    if _same_grid(source, reference):
        return source
    width, height, transform, projection = _grid(reference)
    bounds = (transform[0], transform[3] + height * transform[5], transform[0] + width * transform[1], transform[3])
    result = gdal.Warp(output, source, format="GTiff", outputBounds=bounds, width=width, height=height,
                       dstSRS=projection, resampleAlg="near", srcNodata=0, dstNodata=0)
    if result is None:
        raise LabelMigrationError(f"Cannot resample '{source}' onto the pair's grid.")
    result = None
    return output


def _write_mask(mask: np.ndarray, reference: str, target: str) -> None:
    """A uint8 GeoTIFF (nodata 255) on the reference's grid, published atomically."""
    width, height, transform, projection = _grid(reference)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with atomic_output(target) as temporary:
        dataset = gdal.GetDriverByName("GTiff").Create(temporary, width, height, 1, gdal.GDT_Byte,
                                                       ["COMPRESS=DEFLATE", "TILED=YES"])
        dataset.SetGeoTransform(transform)
        dataset.SetProjection(projection)
        band = dataset.GetRasterBand(1)
        band.SetNoDataValue(MASK_NODATA)
        band.SetDescription("cloud")
        band.WriteArray(mask)
        dataset.FlushCache()
        dataset = None


def _datatake_key(scene: Scene):
    """Tiles of one acquisition share the product name's spacecraft, datatake start and relative orbit
    (a STAC item's own datetime differs from tile to tile by seconds)."""
    named = _DATATAKE.match(scene.title or "")
    if named:
        return named.groups()
    orbit = _ORBIT.search(scene.title or "")
    return scene.datetime.replace(microsecond=0), (scene.title or "")[:3], orbit.group(1) if orbit else scene.id


def _datatakes(matches) -> List[_Candidate]:
    """One candidate per datatake: tiles of one acquisition are mosaicked when the label straddles them."""
    groups: Dict[tuple, list] = {}
    for match in matches:
        groups.setdefault(_datatake_key(match.scene), []).append(match)
    candidates = []
    for group in groups.values():
        group.sort(key=lambda m: (-(m.coverage_pct or 0.0), m.scene.id))
        first = group[0]
        candidates.append(_Candidate([m.scene for m in group], first.offset_days, first.coverage_pct))
    return candidates


def _fetch(candidate: _Candidate, options: dict, output_folder: str, work: str, steps: Steps) -> None:
    """Where to read the candidate from: a SAFE product in place (local archive), a downloaded
    SAFE (OData, DHuS) or a VRT over the STAC assets (COG range reads through /vsicurl/)."""
    bands = [band.strip().upper() for band in (options.get("bands") or DEFAULT_BANDS)]
    if options["backend"] == "stac" or not candidate.scene.url or not _is_product(candidate.scene, options):
        candidate.path, candidate.scl = _stac_rasters(candidate.scenes, bands, work)
        candidate.band_names = bands
        return
    paths = [_product_path(scene, options, output_folder, steps) for scene in candidate.scenes
             if scene.url and _is_product(scene, options)]
    # only the tiles that cover part of the label are mosaicked; the first covers most of it
    candidate.path, candidate.other_tiles = paths[0], paths[1:]
    candidate.band_names = bands
    if candidate.scene.level == "L2A":
        candidate.scl = candidate.path


def _is_product(scene: Scene, options: dict) -> bool:
    if options["backend"] in DOWNLOAD_BACKENDS:
        return True
    return os.path.exists(scene.url) and is_safe_product(scene.url)


def _product_path(scene: Scene, options: dict, output_folder: str, steps: Steps) -> str:
    if options["backend"] not in DOWNLOAD_BACKENDS:
        return scene.url
    target = path_inside(output_folder, "downloads", download_name(scene.title))
    credentials = tuple(options["credentials"]) if options.get("credentials") else None
    if options["backend"] == "cdse-odata":
        allowed_urls = [url for url in (options.get("download_url"),) if url]
        headers = CdseToken(*credentials, token_url=options.get("token_url") or CDSE_TOKEN_URL,
                            allowed_urls=allowed_urls) if credentials else None
    else:
        headers = (lambda: basic_auth(credentials)) if credentials else None
    if not scene.online:
        raise LabelMigrationError(f"'{scene.title}' is offline (in the long-term archive); order it or try later.")
    # labels sharing a scene take turns on its file (the later ones find it complete), and at most
    # MAX_CONNECTIONS downloads run per process
    with download_lock(target, steps.cancelled), _DOWNLOADS:
        if os.path.isfile(target) and not scene.checksums and scene.size is None:
            return target  # nothing to check it by (DHuS): download() renames only a complete transfer into place
        outcome = download(scene.url, target, expected_size=scene.size, checksums=scene.checksums or None,
                           headers_provider=headers, is_cancelled=steps.cancelled)
    if not outcome.ok:
        raise LabelMigrationError(outcome.message)
    return target


def download_name(title: str) -> str:
    """The file name of a downloaded product: its catalogue title as a safe file name (with a short
    hash of the title when it had to change, so that two titles never share a file)."""
    title = title[:-5] if title.upper().endswith(".SAFE") else title
    return _distinct_file_name(title, "product") + ".zip"


def _stac_rasters(scenes: Sequence[Scene], bands: Sequence[str], work: str) -> Tuple[str, Optional[str]]:
    """A VRT stacking the band assets of one acquisition's tiles (read window by window through
    /vsicurl/, never downloaded whole) and the path of its SCL, when it has one.

    The first scene covers most of the label; the other tiles in its CRS fill in where the label
    straddles tiles (the first one on top, nodata 0 never covering valid pixels)."""
    scene = scenes[0]
    hrefs = [_asset(scene, band) for band in bands]
    missing = [band for band, href in zip(bands, hrefs) if href is None]
    if missing:
        raise LabelMigrationError(f"The scene '{scene.title}' has no asset for {', '.join(missing)} "
                                  f"(it has {', '.join(sorted(scene.assets)) or 'none'}).")
    os.makedirs(work, exist_ok=True)
    vrt_path = os.path.join(work, f"{uuid.uuid4().hex[:8]}.vrt")
    vrt = gdal.BuildVRT(vrt_path, hrefs, separate=True, resolution="highest")
    if vrt is None or vrt.RasterCount != len(bands):  # BuildVRT skips a source it cannot open, with a warning
        vrt = None
        raise LabelMigrationError(f"The scene '{scene.title}' has band assets that cannot be read: "
                                  f"{'; '.join(_unreadable(bands, hrefs)) or ', '.join(bands)}.")
    others = _tiles_to_mosaic(scene, scenes[1:], bands, vrt.GetProjection())
    scl = _asset(scene, "SCL") if scene.level == "L2A" else None
    if others:
        vrt = None
        layers = [_mosaic_vrt(os.path.join(work, f"{uuid.uuid4().hex[:8]}_{band}.vrt"),
                              [_asset(other, band) for other in reversed(others)] + [href])
                  for band, href in zip(bands, hrefs)]
        vrt = gdal.BuildVRT(vrt_path, layers, separate=True, resolution="highest")
        if scl and all(_asset(other, "SCL") for other in others):
            scl = _mosaic_vrt(os.path.join(work, f"{uuid.uuid4().hex[:8]}_SCL.vrt"),
                              [_asset(other, "SCL") for other in reversed(others)] + [scl])
    for index, band in enumerate(bands, start=1):
        vrt.GetRasterBand(index).SetDescription(band)
        vrt.GetRasterBand(index).SetNoDataValue(0)
    vrt = None
    return vrt_path, scl


def _unreadable(bands: Sequence[str], hrefs: Sequence[str]) -> List[str]:
    """'<band> at <url>: <why>' for each asset GDAL cannot read."""
    from .net.http import display_url
    unreadable = []
    for band, href in zip(bands, hrefs):
        if href.startswith("/vsicurl/"):
            gdal.VSICurlPartialClearCache(href)  # ask again: a cached failure carries no HTTP status
        with gdal_errors():
            handle = gdal.VSIFOpenExL(href, "rb", True)
            why = None if handle else (gdal.VSIGetLastErrorMsg() or "it cannot be opened")
            if handle:
                gdal.VSIFCloseL(handle)
                try:
                    gdal.Open(href)
                except RuntimeError:
                    why = "it is not a raster GDAL can read"
        if why:  # the URL without its query string (it may hold a token), and GDAL's words without the URL
            shown = display_url(href[len("/vsicurl/"):]) if href.startswith("/vsicurl/") else href
            unreadable.append(f"{band} at {shown}: {why}")
    return unreadable


def _tiles_to_mosaic(scene: Scene, others: Sequence[Scene], bands: Sequence[str], projection: str) -> List[Scene]:
    """The other tiles that have every band, in the first tile's CRS (tiles in another UTM zone are left out)."""
    first = osr.SpatialReference(wkt=projection)
    kept = []
    for other in others:
        hrefs = [_asset(other, band) for band in bands]
        if not all(hrefs):
            continue
        try:
            with gdal_errors():
                dataset = gdal.Open(hrefs[0])
                same = dataset is not None and first.IsSame(osr.SpatialReference(wkt=dataset.GetProjection()))
                dataset = None
        except RuntimeError:
            same = False
        if same:
            kept.append(other)
    return kept


def _mosaic_vrt(path: str, sources: Sequence[str]) -> str:
    """One band from several tiles on one grid; later sources are drawn over earlier ones where valid."""
    vrt = gdal.BuildVRT(path, list(sources), resolution="highest", srcNodata=0, VRTNodata=0)
    if vrt is None:
        raise LabelMigrationError(f"The tiles {', '.join(sources)} cannot be mosaicked.")
    vrt = None
    return path


def _asset(scene: Scene, band: str) -> Optional[str]:
    for key in (band, band.lower(), STAC_BAND_ASSETS.get(band, "")):
        href = scene.assets.get(key)
        if href:
            return "/vsicurl/" + href if href.startswith(("http://", "https://")) else href
    return None


def _rate(candidate: _Candidate, label_path: str, options: dict, work: str, steps: Steps) -> Optional[str]:
    """Set the candidate's cloud fraction over the label footprint; a note when it is an estimate."""
    os.makedirs(work, exist_ok=True)
    if candidate.scl:
        other = candidate.other_tiles if is_safe_product(candidate.scl) else []
        bands = ["SCL"] if is_safe_product(candidate.scl) else None
        result = crop_scene(candidate.scl, label_path, os.path.join(work, "scl.tif"), os.path.join(work, "label.tif"),
                            band_names=bands, other_tiles=other, is_cancelled=steps.cancelled)
        candidate.scl_crop = result.image
        scl, inside = _window_arrays(result.image, result.label)
        seen = inside & (scl != 0)
        if seen.any():
            candidate.footprint_cloud = 100.0 * float(np.isin(scl[seen], SCL_CLOUDY).sum()) / seen.sum()
            candidate.footprint_shadow = 100.0 * float((scl[seen] == SCL_SHADOW).sum()) / seen.sum()
        candidate.coverage_pct, candidate.nodata_pct = result.covered_percent, result.nodata_percent
        return None if seen.any() else "No SCL data under the label: the scene cloud cover was used."
    model = cloud_model_path(options)
    if not model:
        return "No cloud model is installed: candidates were ranked by the scene cloud cover."
    crop = crop_scene(candidate.path, label_path, os.path.join(work, "image.tif"), os.path.join(work, "label.tif"),
                      band_names=candidate.band_names, other_tiles=candidate.other_tiles, is_cancelled=steps.cancelled)
    from .models.cloud_classes import predict_clouds
    try:
        result, classes = predict_clouds(crop.image, model, {"classes": os.path.join(work, "clouds.tif")},
                                         shadow=True, is_cancelled=steps.cancelled,
                                         input_scaling=options.get("input_scaling", "auto"))
    except Cancelled:
        raise
    except LabelMigrationError as error:
        return f"The cloud model could not run ({_one_line(error)}): the scene cloud cover was used."
    candidate.clouds, candidate.crop = os.path.join(work, "clouds.tif"), crop
    LOG.info("Cloud model on %s: input scaling %s", candidate.path, result.input_scaling)
    clouds, inside = _window_arrays(candidate.clouds, crop.label)
    seen = inside & (clouds != MASK_NODATA)
    if seen.any():  # cloud shadow is as unusable as cloud: both count (as SCL_CLOUDY does for SCL)
        candidate.footprint_cloud = 100.0 * float(np.isin(clouds[seen], (MASK_CLOUD, MASK_SHADOW)).sum()) / seen.sum()
        if classes.has_shadow:
            candidate.footprint_shadow = 100.0 * float((clouds[seen] == MASK_SHADOW).sum()) / seen.sum()
    candidate.coverage_pct, candidate.nodata_pct = crop.covered_percent, crop.nodata_percent
    if result.warnings:  # e.g. an input implausible for the cloud model (core.models.input_scaling): the run says so
        return f"The cloud model's rating may be wrong: {_one_line(result.warnings[0])}"
    return None


def _window_arrays(values_path: str, label_path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Band 1 of values_path and the label's valid pixels, both on the pair grid."""
    # the datasets stay referenced while their bands are read (a band does not keep its dataset alive)
    values_dataset, label_dataset = gdal.Open(values_path), gdal.Open(label_path)
    values = values_dataset.GetRasterBand(1).ReadAsArray()
    band = label_dataset.GetRasterBand(1)
    labels, nodata = band.ReadAsArray(), band.GetNoDataValue()
    inside = np.ones(labels.shape, dtype=bool) if nodata is None else labels != nodata
    return values, inside


# -- the whole set ---------------------------------------------------------------------------------

def migrate_labels(labels: LabelsArgument, options: MigrationOptions, output_folder: str,
                   progress: Optional[ProgressCallback] = None,
                   is_cancelled: Optional[CancelCheck] = None) -> MigrationResult:
    """Migrate every label (a folder or a list of files) into output_folder; see the module doc.

    Nothing is written before the options, the labels and the output folder have been checked;
    the pair folders appear with their first pair. A run in which no label got a pair still writes
    matches.csv, footprints.gpkg and the report (they say why): see no_pairs_message."""
    steps = Steps(progress, is_cancelled)
    warnings: List[str] = []
    tasks = prepare_tasks(labels, options, output_folder, warnings)
    run = tasks[0]["options"]["run"]
    try:
        clean_temporaries(tasks[0]["output_folder"])
        steps.report(0.02)
        outcomes = run_tasks(tasks, options, steps.sub(0.02, 0.9))
    finally:
        _forget_backends(run)
        shutil.rmtree(os.path.join(tasks[0]["output_folder"], ".work"), ignore_errors=True)
    rows = [outcome["row"] for outcome in outcomes]
    warnings += [f"{row['label']}: {w}" for outcome, row in zip(outcomes, rows) for w in outcome["warnings"]]
    matches = write_matches(os.path.join(output_folder, MATCHES_NAME), rows)
    footprints = write_footprints(os.path.join(output_folder, "footprints.gpkg"), outcomes)
    source = mask_source(options)
    if source is not None and not tasks[0]["options"]["cloud_masks"]:
        warnings.append("No cloud masks were written: no cloud model is installed and L1C products have no "
                        "SCL band (give CLOUD_MODEL).")
        source = None
    steps.report(0.92)
    report = None
    if options.write_report:
        try:
            report, warning = _write_report(output_folder, rows, steps.sub(0.92, 1.0))
        except Cancelled:
            raise
        except LabelMigrationError as error:  # the pairs and matches.csv stand without it
            report, warning = None, f"No QA report was written: {error}"
        if warning:
            warnings.append(warning)
    steps.report(1.0)
    return MigrationResult(
        output_folder=output_folder, matches=matches, footprints=footprints, report=report, rows=rows,
        pairs=sum(row["status"] in ("done", "skipped") for row in rows),
        failed=sum(row["status"] == "failed" for row in rows), warnings=warnings,
        scenes_layer=footprints + "|layername=scenes", mask_source=source)


def no_pairs_message(result: MigrationResult) -> Optional[str]:
    """Why a run that made no pair failed, and where to read the details; None when it made a pair."""
    if result.pairs:
        return None
    counts = {status: sum(row["status"] == status for row in result.rows) for status in ("failed", "no scene")}
    first = next((row for row in result.rows if row["reason"]), None)
    where = f"'{result.matches}'" + (f" and the report '{result.report}'" if result.report else "")
    return (f"No label was migrated: {_labels(counts['failed'])} failed and {_labels(counts['no scene'])} found "
            f"no scene" + (f" (first: '{first['label']}': {first['reason']})" if first else "")
            + f". The reasons for every label are in {where}.")


def _labels(count: int) -> str:
    return f"{count} label" + ("" if count == 1 else "s")


def prepare_tasks(labels: LabelsArgument, options: MigrationOptions, output_folder: str,
                  warnings: Optional[List[str]] = None) -> List[dict]:
    """Check the options, the labels and the output folder, and list one plain-data task per label.

    Writes nothing. Raises when no label can be migrated at all; ``warnings`` receives what the user
    should know besides (unreadable products of a local archive, an unreadable earlier matches.csv)."""
    warn = warnings.append if warnings is not None else (lambda _text: None)
    if not output_folder:
        raise LabelMigrationError("No output folder was given.")
    check_options(options)
    note = cloud_model_note(options)
    if note:
        warn(note)
    pattern = compile_date_pattern(options.date_pattern)
    csv_dates = read_dates_csv(options.dates_csv) if options.dates_csv else None
    items = find_labels(labels)
    output_folder = os.path.abspath(output_folder)
    check_output_folder(output_folder, [path for item in items for path in (item.path, item.reference) if path])
    for item in items:
        item.problem = item.problem or label_problem(item)
        if item.stem != item.name and not item.problem:
            warn(f"The label '{item.name}' cannot be a file name as it is: its pair is images/{item.stem}.tif.")
    plain = _plain_options(options)
    previous = read_matches(os.path.join(output_folder, MATCHES_NAME), warn)
    tasks = []
    for item in items:
        date, date_problem = label_date(item, options, csv_dates, pattern)
        tasks.append({"label": item.name, "path": os.path.abspath(item.path),
                      "reference": os.path.abspath(item.reference) if item.reference else None,
                      "problem": item.problem, "date": date.isoformat() if date else None,
                      "date_problem": date_problem, "options": plain, "output_folder": output_folder,
                      "previous": previous.get(item.name)})
    _refuse_when_no_label_can_start(tasks)
    if options.backend == "local":  # indexed once, here, so that unreadable products are named once
        for message in _backend(plain).left_out():
            warn(message)
    return tasks


def check_options(options: MigrationOptions) -> None:
    """Refuse options that cannot work, before anything is searched or written."""
    make_backend(options.backend, options.url, options.credentials)  # an unknown backend fails here, once
    _check_addresses(options)
    check_product(options.product)
    if options.max_cloud is not None and not 0 <= options.max_cloud <= 100:
        raise LabelMigrationError(f"The maximum cloud cover must be within 0..100 %, not {options.max_cloud}.")
    check_window_days(options.days_before, options.days_after)
    if options.workers is not None and not 0 <= options.workers <= MAX_WORKERS:
        raise LabelMigrationError(f"The workers must be within 0..{MAX_WORKERS} (0 = one per core), "
                                  f"not {options.workers}.")
    check_bands(options.bands, options.backend)
    executor_kind(options.executor)
    _as_date(options.date)
    if options.cloud_model:
        if not os.path.isfile(options.cloud_model):
            raise LabelMigrationError(f"The cloud model '{options.cloud_model}' does not exist.")
        from .models.inference import load_model
        load_model(options.cloud_model)  # says what is wrong with a file that is no ONNX model


def cloud_model_note(options: MigrationOptions) -> Optional[str]:
    """A warning, once per run, when CLOUD_MODEL's class names do not say which class is cloud
    (core.models.cloud_classes then takes class 1, as before)."""
    if not options.cloud_model:
        return None  # the bundled model names its classes
    from .models.inference import load_model
    model = load_model(options.cloud_model)
    channels = model.head_channels[0] if model.head_channels else model.classes
    return cloud_classes(model.info.class_names, channels, options.cloud_model).note or None


def _check_addresses(options: MigrationOptions) -> None:
    if options.backend == "local":
        problem = unreadable_reason(_archive_folder(options.url), folder=True)
        if problem:
            raise LabelMigrationError(f"The local archive (URL) {problem}.")
        return
    for what, url in (("URL", options.url), ("download URL", options.download_url),
                      ("token URL", options.token_url)):
        if url and not _URL.match(url.strip()):
            raise LabelMigrationError(f"The {what} '{url}' is not an http:// or https:// address.")


def _archive_folder(url: str) -> str:
    return url[len("file://"):] if url.startswith("file://") else url


def check_bands(bands: Optional[Sequence[str]], backend: str) -> List[str]:
    """The bands of the images, upper-cased; refuses unknown ones (a STAC API may name any asset)."""
    names = [str(band).strip().upper() for band in (bands or DEFAULT_BANDS)]
    names = [f"B0{name[1]}" if re.fullmatch(r"B\d", name) else name for name in names]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise LabelMigrationError(f"The band list names {', '.join(repeated)} more than once.")
    stac = backend == "stac"
    unknown = [name for name in names if name not in NATIVE_RESOLUTION and not (stac and _ASSET_KEY.match(name))]
    if unknown:
        raise LabelMigrationError(
            f"Unknown band{'s' if len(unknown) > 1 else ''} {', '.join(repr(name[:40]) for name in unknown[:5])}: "
            f"give Sentinel-2 band names such as {', '.join(DEFAULT_BANDS)} (any of "
            f"{', '.join(NATIVE_RESOLUTION)})" + (" or the STAC API's asset keys" if stac else "") + ".")
    return names


def label_problem(item: LabelInput) -> Optional[str]:
    """Why a label cannot be migrated, from its header and its reference's (no pixel is read); None
    when it can."""
    try:
        with gdal_errors():
            dataset = open_raster(item.path, "label")
            check_raster_size(dataset, item.path, "label")
            if item.reference:
                check_raster_size(open_raster(item.reference, "reference raster"), item.reference, "reference raster")
            elif not has_geotransform(dataset):
                return (f"The label '{os.path.basename(item.path)}' is not georeferenced and has no reference "
                        f"raster.")
    except (LabelMigrationError, RuntimeError) as error:
        return _one_line(error)
    return None


def check_output_folder(output_folder: str, inputs: Sequence[str]) -> None:
    """Refuse an output folder the run could not write, or where it would overwrite a label, before
    anything is written: the folder, its pair folders and its files must be what they should be
    (no file where a folder goes, no folder where a file goes, no link leading outside)."""
    if os.path.exists(output_folder) and not os.path.isdir(output_folder):
        raise LabelMigrationError(f"The output folder '{output_folder}' is a file. Choose a folder.")
    for sub in PAIR_FOLDERS:
        folder = path_inside(output_folder, sub)
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise LabelMigrationError(f"'{folder}' is a file, where the run writes a folder; move it away or "
                                      f"choose another output folder.")
        for path in inputs:
            if is_within(path, folder):
                raise LabelMigrationError(f"The label '{path}' lies in '{folder}', where the run writes; choose "
                                          f"another output folder.")
    for name in OUTPUT_FILES:
        if os.path.isdir(path_inside(output_folder, name)):
            raise LabelMigrationError(f"'{os.path.join(output_folder, name)}' is a folder, where the run writes a "
                                      f"file; move it away or choose another output folder.")
    existing = nearest_existing_folder(os.path.join(output_folder, MATCHES_NAME))
    if not os.path.isdir(existing):
        raise LabelMigrationError(f"The output folder '{output_folder}' cannot be made: '{existing}' is a file.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise LabelMigrationError(f"The output folder '{output_folder}' cannot be written: '{existing}' is "
                                  f"read-only for you.")


def _plain_options(options: MigrationOptions) -> dict:
    """The options as plain data for the tasks (they travel to Dask workers)."""
    plain = dataclasses.asdict(options)
    plain["date"] = None if options.date is None else _as_date(options.date).isoformat()
    plain["bands"] = check_bands(options.bands, options.backend)
    if plain["max_cloud"] is not None:
        plain["max_cloud"] = float(plain["max_cloud"])
    plain["product"] = check_product(options.product)
    plain["cloud_masks"] = wants_cloud_masks(options) and (cloud_model_path(options) is not None
                                                           or plain["product"] == "L2A")
    plain["run"] = uuid.uuid4().hex
    return plain


def _refuse_when_no_label_can_start(tasks: Sequence[dict]) -> None:
    """A run in which every label would fail before its search ends here, writing nothing (labels
    whose pair an earlier run made are skipped, not failed)."""
    doomed = [task for task in tasks if (task["problem"] or not task["date"]) and not _has_pair(task)]
    if len(doomed) < len(tasks):
        return
    reasons = "; ".join(f"{task['label']}: {task['problem'] or task['date_problem']}" for task in doomed[:3])
    more = f" (and {len(doomed) - 3} more)" if len(doomed) > 3 else ""
    raise LabelMigrationError(f"No label can be migrated, so nothing was written. {reasons}{more}")


def _has_pair(task: dict) -> bool:
    try:
        return all(os.path.isfile(path) for path in pair_paths(task["output_folder"], task["label"]))
    except LabelMigrationError:
        return False


def clean_temporaries(output_folder: str) -> List[str]:
    """Remove what an interrupted run left: atomic-write temporaries in images/ and labels/ and the
    .work folder. (Two runs must not write into one output folder at the same time.)"""
    removed = []
    for sub in ("images", "labels", "geocoded", "masks"):
        folder = os.path.join(output_folder, sub)
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            if _TEMPORARY.match(name):
                os.unlink(os.path.join(folder, name))
                removed.append(os.path.join(folder, name))
    shutil.rmtree(os.path.join(output_folder, ".work"), ignore_errors=True)
    return removed


def executor_kind(executor: Optional[str]) -> str:
    """'local' or 'dask' for an EXECUTOR value."""
    text = (executor or "").strip()
    if text in ("", "local"):
        return "local"
    if re.match(r"^(tcp|tls|ucx|inproc)://[^\s]+$", text):
        return "dask"
    raise LabelMigrationError(
        f"The executor '{executor}' is not understood: leave it empty for the local pool or give a Dask "
        f"scheduler address such as tcp://127.0.0.1:8786.")


def local_workers(options: MigrationOptions, tasks: int) -> int:
    """Threads for the local pool: the cores (or WORKERS, never more), and never more downloads at
    once than the catalogue allows."""
    cores = os.cpu_count() or 1
    workers = min(options.workers or cores, cores)
    if options.backend != "local":
        workers = min(workers, MAX_CONNECTIONS)
    return max(1, min(workers, tasks))


def run_tasks(tasks: List[dict], options: MigrationOptions, steps: Steps) -> List[dict]:
    """migrate_label for every task, on the local pool or the Dask cluster; outcomes in task order."""
    if not tasks:
        return []
    if executor_kind(options.executor) == "dask":
        return _run_dask(tasks, options.executor.strip(), steps)
    outcomes: List[Optional[dict]] = [None] * len(tasks)
    # GDAL's exception switch is process-wide: keep it on for the whole pool so that no thread's
    # gdal_errors() block switches it off while another thread is inside its own
    with gdal_errors(), reusing_band_files(), \
            ThreadPoolExecutor(local_workers(options, len(tasks)), thread_name_prefix="migrate") as pool:
        pending = {pool.submit(migrate_label, task, None, steps.cancelled): index for index, task in enumerate(tasks)}
        try:
            while pending:
                done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    outcomes[pending.pop(future)] = future.result()
                steps.report(sum(o is not None for o in outcomes) / len(tasks))
        except BaseException:
            for future in pending:
                future.cancel()
            wait(pending)  # running labels end (removing their temporaries) before the error leaves
            if steps.cancelled():
                raise _cancel_message(outcomes) from None
            raise
    return outcomes


def _cancel_message(outcomes) -> Cancelled:
    done = sum(1 for o in outcomes if o is not None and o["row"]["status"] in ("done", "skipped"))
    return Cancelled(f"Cancelled by the user; {done} complete pairs are kept (a re-run skips them) and no "
                     f"half-written pair was left.")


def _run_dask(tasks: List[dict], address: str, steps: Steps) -> List[dict]:
    distributed = require("distributed", "Running the migration on a Dask cluster")
    try:
        timeout = limits.current().connect_timeout_s
        client = distributed.Client(address, timeout=f"{timeout:g}s", set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise LabelMigrationError(
            f"Cannot reach the Dask scheduler at '{address}' within {timeout:g} s: {_one_line(error)}. Check "
            f"EXECUTOR, or leave it empty for the local pool.") from None
    outcomes: List[Optional[dict]] = [None] * len(tasks)
    try:
        client.run(begin_reusing_band_files)  # on every worker, for this run
        futures = client.map(migrate_label, tasks, pure=False)
        index = {future.key: position for position, future in enumerate(futures)}
        finished = distributed.as_completed(futures, loop=client.loop)
        for future in finished:
            if steps.cancelled():
                client.cancel(futures)
                raise _cancel_message(outcomes)
            try:
                outcomes[index[future.key]] = future.result()
            except Cancelled:
                raise
            except Exception as error:  # a worker lost, or the plugin not importable on it
                task = tasks[index[future.key]]
                outcomes[index[future.key]] = {
                    "row": _row(task["label"], status="failed", reason=f"The Dask worker failed: {_one_line(error)}"),
                    "footprint_wkt": "", "tile": "", "warnings": []}
            steps.report(sum(o is not None for o in outcomes) / len(tasks))
    finally:
        try:
            client.run(end_reusing_band_files)
        except Exception as error:  # noqa: BLE001 (a lost worker closes its files anyway)
            LOG.debug("Ending the band file reuse on the Dask workers failed: %s", error)
        client.close()
    return outcomes


# footprints.gpkg: the match table's columns, the label's identity and the scene's tile first
_FOOTPRINT_LEADING = ("label", "status", "reason", "scene", "tile")
_FOOTPRINT_NAMES = _FOOTPRINT_LEADING + tuple(c for c in MATCH_COLUMNS if c not in _FOOTPRINT_LEADING)
_FOOTPRINT_FIELDS = tuple((name, ogr.OFTReal if name in _NUMERIC_COLUMNS else ogr.OFTString)
                          for name in _FOOTPRINT_NAMES)


def write_footprints(path: str, outcomes: Sequence[dict]) -> str:
    """The label footprints (EPSG:4326) with the chosen scene's fields, labels without one too (layer
    'footprints'), and the chosen scenes' footprints with the labels each was chosen for (layer 'scenes')."""
    previous = read_scenes_layer(path)
    with gdal_errors(), atomic_output(path) as temporary:
        source = ogr.GetDriverByName("GPKG").CreateDataSource(temporary)
        layer = source.CreateLayer("footprints", srs=srs_from_user(WGS84), geom_type=ogr.wkbMultiPolygon)
        for name, kind in _FOOTPRINT_FIELDS:
            layer.CreateField(ogr.FieldDefn(name, kind))
        layer.StartTransaction()
        for outcome in outcomes:
            row = outcome["row"]
            feature = ogr.Feature(layer.GetLayerDefn())
            for name, kind in _FOOTPRINT_FIELDS:
                value = outcome.get("tile", "") if name == "tile" else row.get(name, "")
                if value != "":
                    feature.SetField(name, float(value) if kind == ogr.OFTReal else value)
            if outcome.get("footprint_wkt"):
                feature.SetGeometry(ogr.ForceToMultiPolygon(ogr.CreateGeometryFromWkt(outcome["footprint_wkt"])))
            layer.CreateFeature(feature)
        layer.CommitTransaction()
        _write_scenes_layer(source, outcomes, previous)
        source = None
    return path


_SCENE_FIELDS = (("scene", ogr.OFTString), ("datetime", ogr.OFTString), ("tile", ogr.OFTString),
                 ("product", ogr.OFTString), ("scene_cloud_pct", ogr.OFTReal), ("backend", ogr.OFTString),
                 ("labels", ogr.OFTString), ("label_count", ogr.OFTInteger))


def chosen_scenes(outcomes: Sequence[dict], previous: Optional[Dict[str, dict]] = None) -> List[dict]:
    """One record per chosen scene (fields of _SCENE_FIELDS and footprint_wkt), in the order first chosen.

    Pairs skipped as already done take their scene's record from the earlier run's scenes layer."""
    scenes: Dict[str, dict] = {}
    for outcome in outcomes:
        row = outcome["row"]
        if row["status"] not in ("done", "skipped") or not row.get("scene"):
            continue
        record = outcome.get("scene") or (previous or {}).get(row["scene"]) or {"scene": row["scene"]}
        entry = scenes.setdefault(row["scene"], dict(record, labels=[]))
        entry["labels"].append(row["label"])
    for entry in scenes.values():
        entry["label_count"] = len(entry["labels"])
        entry["labels"] = ",".join(entry["labels"])
    return list(scenes.values())


def read_scenes_layer(path: str) -> Dict[str, dict]:
    """{scene title: record} from an earlier run's footprints.gpkg 'scenes' layer (empty when none)."""
    if not os.path.isfile(path):
        return {}
    records = {}
    with gdal_errors():
        try:
            source = ogr.Open(path)
            layer = source.GetLayerByName("scenes") if source is not None else None
            for feature in layer or []:
                record = {name: feature.GetField(name) for name, _ in _SCENE_FIELDS
                          if name not in ("labels", "label_count")}
                geometry = feature.GetGeometryRef()
                record["footprint_wkt"] = geometry.ExportToWkt() if geometry is not None else ""
                records[record["scene"]] = record
        except RuntimeError:
            return {}
    return records


def _write_scenes_layer(source, outcomes: Sequence[dict], previous: Dict[str, dict]) -> None:
    layer = source.CreateLayer("scenes", srs=srs_from_user(WGS84), geom_type=ogr.wkbMultiPolygon)
    for name, kind in _SCENE_FIELDS:
        layer.CreateField(ogr.FieldDefn(name, kind))
    layer.StartTransaction()
    for record in chosen_scenes(outcomes, previous):
        feature = ogr.Feature(layer.GetLayerDefn())
        for name, _kind in _SCENE_FIELDS:
            if record.get(name) not in (None, ""):
                feature.SetField(name, record[name])
        if record.get("footprint_wkt"):
            feature.SetGeometry(ogr.ForceToMultiPolygon(ogr.CreateGeometryFromWkt(record["footprint_wkt"])))
        layer.CreateFeature(feature)
    layer.CommitTransaction()


def _write_report(output_folder: str, rows, steps: Steps) -> Tuple[Optional[str], Optional[str]]:
    try:
        from .migration import qa_report
    except ImportError:
        return None, "The QA report module (core/migration/qa_report.py) is not installed; no report.html was written."
    return qa_report.write_report(output_folder, rows, progress=steps.report, is_cancelled=steps.cancelled), None
