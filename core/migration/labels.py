"""The labels of a run: listing them (a folder or a list of files, PNG/JPEG ones with their reference),
their dates (a dates CSV, DATE or the file name) and where each lies (the order the run takes them in)."""
import csv
import datetime as dt
import io
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

from osgeo import osr

from ..labels.footprint import label_name
from ..quality.pair_quality import is_source_image_of
from ..util import limits
from ..util.dates import date_in_text
from ..util.errors import LabelMigrationError
from ..util.gdal_settings import gdal_errors
from ..util.raster_grid import has_geotransform
from ..util.raster_read import open_raster
from .options import MigrationOptions
from .pair_files import pair_stem

LABEL_EXTENSIONS = (".tif", ".tiff", ".png", ".jpg", ".jpeg")
PLAIN_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
LABEL_SUFFIXES = ("_labels", "_label", "_masks", "_mask", "-label", "-mask")
# label_place's cells: 64 pixels of 10 m, a sixteenth of a Sentinel-2 JPEG 2000 block's side
PLACE_CELL_M = 640.0

LabelsArgument = Union[str, Sequence[str]]


@dataclass
class LabelInput:
    name: str
    path: str
    reference: Optional[str] = None  # the georeferenced raster a PNG/JPEG label was drawn on
    problem: Optional[str] = None  # why it cannot be migrated, found while listing
    stem: str = ""  # the file name (without extension) of its pair: see pair_stem


def find_labels(labels: LabelsArgument) -> List[LabelInput]:
    """The labels of a folder or a list of files, PNG/JPEG ones paired with their reference raster.

    A PNG/JPEG label ``<base>[_label|_mask].png`` takes the GeoTIFF beside it whose name starts
    with ``<base>`` as its reference; a GeoTIFF used as a reference is not itself a label, nor is a
    label's source image ``<label>_source.tif`` (core.quality.pair_quality).
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
    paths = [p for p in paths if not is_source_image_of(p, paths)]
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


def as_date(value) -> Optional[dt.date]:
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
        return as_date(options.date), None
    found = date_from_pattern(os.path.basename(item.path), pattern)
    if found is None:
        return None, (f"No date in the file name '{os.path.basename(item.path)}'"
                      + (f" for the pattern '{options.date_pattern}'" if options.date_pattern else "")
                      + "; give DATE or a dates CSV.")
    return found, None


def label_place(item: LabelInput) -> Tuple:
    """Where the label lies, as a sort key: its UTM zone, then its centre along a Z-order curve of
    PLACE_CELL_M cells. Labels taken in this order read neighbouring windows of a scene one after
    another, so each JPEG 2000 block is decoded once while it stays in GDAL's cache, whatever the
    labels are called. () when the header does not say (such labels go first)."""
    try:
        with gdal_errors():
            dataset = open_raster(item.reference or item.path, "label")
            srs = dataset.GetSpatialRef()
            if srs is None or not has_geotransform(dataset):
                return ()
            t = dataset.GetGeoTransform()
            half_x, half_y = dataset.RasterXSize / 2, dataset.RasterYSize / 2
            x, y = t[0] + t[1] * half_x + t[2] * half_y, t[3] + t[4] * half_x + t[5] * half_y
            srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
            wgs84 = osr.SpatialReference()
            wgs84.ImportFromEPSG(4326)
            wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
            lon, lat, _ = osr.CoordinateTransformation(srs, wgs84).TransformPoint(x, y)
            epsg = (32600 if lat >= 0 else 32700) + int((lon + 180) // 6) % 60 + 1
            utm = osr.SpatialReference()
            utm.ImportFromEPSG(epsg)
            utm.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
            easting, northing, _ = osr.CoordinateTransformation(srs, utm).TransformPoint(x, y)
    except (LabelMigrationError, RuntimeError, ValueError, TypeError):
        return ()
    # rows counted from the top (10 000 km above the equator), so that both are positive
    return epsg, _z_order(int(easting // PLACE_CELL_M), int((1e7 - northing) // PLACE_CELL_M))


def _z_order(column: int, row: int) -> int:
    """The cell's position on a Z-order (Morton) curve: the bits of column and row interleaved."""
    code = 0
    for bit in range(max(column.bit_length(), row.bit_length())):
        code |= ((column >> bit) & 1) << (2 * bit) | ((row >> bit) & 1) << (2 * bit + 1)
    return code
