"""Scene search shared by every catalogue backend: queries, scenes, ranking and the match table.

Backends only answer "which scenes intersect this shape in this window"; coverage, offsets and
ranking are computed here the same way for all of them, from the scenes' own footprints.
"""
import csv
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Protocol, Sequence, Union

from osgeo import ogr

from ..util.errors import LabelMigrationError
from ..labels.footprint import WGS84, area_m2
from ..util.outputs import atomic_output
from ..util.progress import CancelCheck, ProgressCallback, Steps
from ..util.rasters import srs_from_user

PRODUCT_LEVELS = ("L1C", "L2A")
MAX_WINDOW_DAYS = 3650  # days before or after a label's date (ten years: Sentinel-2 flies since 2015)
# The search parameters' defaults, one for each, shared by searchscenes, migratelabels and the dock:
DEFAULT_DAYS_BEFORE = 10  # the window around a label's date (a ~5-day revisit gives about four passes)
DEFAULT_DAYS_AFTER = 10
# Scene-wide cloud cover (%) is only a pre-filter: migratelabels rates the cloud over each label's own footprint
# among the scenes that pass, and a scene cloudy elsewhere is often clear over the label, so a strict scene-wide
# limit loses usable scenes; searchscenes ranks the scenes that pass by coverage, then cloud cover.
DEFAULT_MAX_CLOUD = 30.0
DEFAULT_PRODUCT = "L2A"
LabelDate = Union[dt.date, dt.datetime]
WarnCallback = Callable[[str], None]
CSV_COLUMNS = ("label", "label_date", "id", "title", "backend", "datetime", "offset_days", "cloud_cover",
               "coverage_pct", "tile", "product_type", "rank", "online", "url")
_TILE_IN_NAME = re.compile(r"_T(\d{2}[A-Z]{3})_")


@dataclass
class FootprintQuery:
    """One label to find scenes for: its name, outline (WKT, EPSG:4326 lon/lat) and date."""
    label: str
    geometry_wkt: str
    date: Optional[LabelDate]


@dataclass
class SearchWindow:
    """Acquisition window, both ends aware UTC and inclusive."""
    start: dt.datetime
    end: dt.datetime

    def __post_init__(self):
        self.start, self.end = as_utc(self.start), as_utc(self.end)
        if self.start > self.end:
            raise LabelMigrationError(
                f"The search window starts ({self.start:%Y-%m-%d %H:%M}) after it ends ({self.end:%Y-%m-%d %H:%M}); "
                f"check DAYS_BEFORE and DAYS_AFTER."
            )

    @classmethod
    def around(cls, date: LabelDate, days_before: float = DEFAULT_DAYS_BEFORE,
               days_after: float = DEFAULT_DAYS_AFTER) -> "SearchWindow":
        """The window from days_before before date to days_after after it; a bare date covers its whole day."""
        if isinstance(date, dt.datetime):
            first = last = as_utc(date)
        else:
            first = dt.datetime(date.year, date.month, date.day, tzinfo=dt.timezone.utc)
            last = first + dt.timedelta(days=1) - dt.timedelta(microseconds=1000)
        return cls(first - dt.timedelta(days=days_before), last + dt.timedelta(days=days_after))


@dataclass
class Scene:
    id: str
    title: str
    backend: str
    datetime: dt.datetime  # aware UTC
    cloud_cover: Optional[float]
    tile: str
    product_type: str
    footprint_wkt: Optional[str]  # EPSG:4326, lon/lat
    url: Optional[str] = None  # the whole product (SAFE zip, folder) when there is one
    assets: Dict[str, str] = field(default_factory=dict)  # asset name -> href
    checksums: Dict[str, str] = field(default_factory=dict)  # algorithm (MD5, BLAKE3, ...) -> hex digest
    size: Optional[int] = None  # bytes
    quicklook: Optional[str] = None
    online: bool = True
    collection: Optional[str] = None

    @property
    def level(self) -> Optional[str]:
        return product_level(self.product_type or self.title)


@dataclass
class Match:
    label: str
    label_date: Optional[LabelDate]
    scene: Scene
    offset_days: Optional[float]
    coverage_pct: Optional[float]  # None when the scene's footprint is unknown
    rank: int = 0

    def row(self) -> Dict[str, object]:
        """The match as one row of the match table (CSV_COLUMNS)."""
        scene = self.scene
        return {
            "label": self.label, "label_date": self.label_date.isoformat() if self.label_date else "",
            "id": scene.id, "title": scene.title, "backend": scene.backend,
            "datetime": scene.datetime.strftime("%Y-%m-%dT%H:%M:%SZ"), "offset_days": _blank(self.offset_days),
            "cloud_cover": _blank(scene.cloud_cover), "coverage_pct": _blank(self.coverage_pct),
            "tile": scene.tile, "product_type": scene.product_type, "rank": self.rank,
            "online": "true" if scene.online else "false", "url": scene.url or "",
        }


class SearchBackend(Protocol):
    name: str
    url: str

    def search(self, geometry_wkt: str, start: dt.datetime, end: dt.datetime, max_cloud: Optional[float],
               product: Optional[str], collection: Optional[str], progress: Optional[ProgressCallback],
               is_cancelled: Optional[CancelCheck]) -> List[Scene]:
        ...


# -- small shared helpers --------------------------------------------------------------------------

def as_utc(moment: dt.datetime) -> dt.datetime:
    """Naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def parse_datetime(text: str) -> dt.datetime:
    """An ISO 8601 time as catalogues write it ('2020-08-08T01:03:11.024000Z', '...+00:00') in UTC."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    match = re.match(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d+)?(.*)$", value)
    if match and match.group(2):  # fromisoformat wants 3 or 6 fraction digits before 3.11
        value = match.group(1) + (match.group(2) + "000000")[:7] + match.group(3)
    try:
        return as_utc(dt.datetime.fromisoformat(value))
    except ValueError:
        raise LabelMigrationError(f"'{text}' is not a date and time the search understands.") from None


def product_level(text: str) -> Optional[str]:
    """'L1C' or 'L2A' from a product type or name (S2MSI2A, MSIL1C, Level-2A, L2A)."""
    upper = (text or "").upper()
    for level in PRODUCT_LEVELS:
        if level in upper or f"LEVEL-{level[1:]}" in upper or f"MSI{level[1:]}" in upper:
            return level
    return None


def check_product(product: Optional[str]) -> Optional[str]:
    if product is None or product == "":
        return None
    level = product.strip().upper()
    if level not in PRODUCT_LEVELS:
        raise LabelMigrationError(f"The product level '{product}' is unknown; use L1C or L2A.")
    return level


def tile_from_name(name: str) -> str:
    match = _TILE_IN_NAME.search(name or "")
    return match.group(1) if match else ""


def interval_string(start: dt.datetime, end: dt.datetime) -> str:
    return f"{iso_z(start)}/{iso_z(end)}"


def iso_z(moment: dt.datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.") + f"{as_utc(moment).microsecond // 1000:03d}Z"


def scene_passes(scene: Scene, start: dt.datetime, end: dt.datetime, max_cloud: Optional[float],
                 product: Optional[str]) -> bool:
    """The filters every backend applies (servers are not trusted to have applied them)."""
    if not as_utc(start) <= scene.datetime <= as_utc(end):
        return False
    if max_cloud is not None and scene.cloud_cover is not None and scene.cloud_cover > max_cloud:
        return False
    level = check_product(product)
    return level is None or scene.level is None or scene.level == level


# -- geometry --------------------------------------------------------------------------------------

def geometry_from_wkt(wkt: str, what: str) -> ogr.Geometry:
    geometry = ogr.CreateGeometryFromWkt(wkt) if wkt else None
    if geometry is None or geometry.IsEmpty():
        raise LabelMigrationError(f"The geometry of {what} is missing or not valid WKT.")
    return geometry


def repaired(geometry: ogr.Geometry, what: str, warn: WarnCallback) -> ogr.Geometry:
    """The geometry itself when valid, else its MakeValid repair (polygonal parts only), with a warning."""
    if geometry.IsValid():
        return geometry
    fixed = geometry.MakeValid()
    polygons = _polygonal_part(fixed) if fixed is not None else None
    if polygons is None or polygons.IsEmpty() or polygons.GetArea() == 0:
        raise LabelMigrationError(f"The footprint of {what} is an invalid polygon that cannot be repaired.")
    warn(f"The footprint of {what} was not a valid polygon (for example self-intersecting); it was repaired.")
    return polygons


def _polygonal_part(geometry: ogr.Geometry) -> Optional[ogr.Geometry]:
    flat = ogr.GT_Flatten(geometry.GetGeometryType())
    if flat in (ogr.wkbPolygon, ogr.wkbMultiPolygon):
        return geometry
    if flat == ogr.wkbGeometryCollection:
        parts = ogr.Geometry(ogr.wkbMultiPolygon)
        for index in range(geometry.GetGeometryCount()):
            part = _polygonal_part(geometry.GetGeometryRef(index))
            if part is not None:
                for polygon in _polygons(part):
                    parts.AddGeometry(polygon)
        return parts if parts.GetGeometryCount() else None
    return None


def _polygons(geometry: ogr.Geometry) -> List[ogr.Geometry]:
    if ogr.GT_Flatten(geometry.GetGeometryType()) == ogr.wkbPolygon:
        return [geometry]
    return [geometry.GetGeometryRef(i) for i in range(geometry.GetGeometryCount())]


def coverage_pct(footprint: ogr.Geometry, scene_wkt: Optional[str]) -> Optional[float]:
    """Share (0..100) of the footprint inside the scene footprint, by area on the ground."""
    if not scene_wkt:
        return None
    scene = ogr.CreateGeometryFromWkt(scene_wkt)
    if scene is None or scene.IsEmpty():
        return None
    if not scene.IsValid():
        scene = scene.MakeValid() or scene
    if not footprint.Intersects(scene):
        return 0.0
    srs = srs_from_user(WGS84)
    whole = area_m2(footprint, srs)
    common = footprint.Intersection(scene)
    if whole <= 0 or common is None or common.IsEmpty():
        return 0.0
    return round(min(100.0, 100.0 * area_m2(common, srs) / whole), 3)


def offset_days(scene_time: dt.datetime, label_date: Optional[LabelDate]) -> Optional[float]:
    """Scene time minus label date in days: whole days for a bare date, fractional for a time."""
    if label_date is None:
        return None
    if isinstance(label_date, dt.datetime):
        return round((scene_time - as_utc(label_date)).total_seconds() / 86400.0, 3)
    return float((scene_time.date() - label_date).days)


# -- the search ------------------------------------------------------------------------------------

def search_scenes(footprints: Sequence[FootprintQuery], backend: SearchBackend,
                  days_before: float = DEFAULT_DAYS_BEFORE, days_after: float = DEFAULT_DAYS_AFTER,
                  max_cloud: Optional[float] = DEFAULT_MAX_CLOUD, product: Optional[str] = DEFAULT_PRODUCT,
                  collection: Optional[str] = None, progress: Optional[ProgressCallback] = None,
                  is_cancelled: Optional[CancelCheck] = None, warn: Optional[WarnCallback] = None) -> List[Match]:
    """Scenes for each label footprint, ranked per label (rank 1 = best).

    Rank: coverage of the label descending, then cloud cover ascending, then |offset_days| ascending.
    Scenes whose footprint misses the label are dropped.
    """
    if not footprints:
        raise LabelMigrationError("There are no label footprints to search scenes for (the layer has no features).")
    if max_cloud is not None and not 0 <= max_cloud <= 100:
        raise LabelMigrationError(f"The maximum cloud cover must be within 0..100 %, not {max_cloud}.")
    check_window_days(days_before, days_after)
    level = check_product(product)
    warn = warn or (lambda _message: None)
    steps = Steps(progress, is_cancelled)
    prepared = [_prepare(query, days_before, days_after, warn) for query in footprints]
    matches: List[Match] = []
    for index, (query, geometry, window) in enumerate(prepared):
        steps.check()
        part = steps.sub(index / len(prepared), (index + 1) / len(prepared))
        scenes = backend.search(search_wkt(geometry), window.start, window.end, max_cloud, level, collection,
                                part.report, steps.cancelled)
        matches.extend(rank_matches(_matches_for(query, geometry, window, scenes, max_cloud, level)))
        part.report(1.0)
    for message in getattr(backend, "left_out", list)():  # products a local archive could not read
        warn(message)
    return matches


def check_window_days(days_before: float, days_after: float) -> None:
    """Refuse a search window reaching more than MAX_WINDOW_DAYS (or less than 0) days either side."""
    for side, days in (("before", days_before), ("after", days_after)):
        if not 0 <= days <= MAX_WINDOW_DAYS:  # also NaN
            raise LabelMigrationError(
                f"The search window may reach 0 to {MAX_WINDOW_DAYS} days {side} the label date "
                f"(DAYS_{side.upper()}), not {days:g}.")


def _prepare(query: FootprintQuery, days_before: float, days_after: float, warn: WarnCallback):
    what = f"label '{query.label}'"
    if query.date is None:
        raise LabelMigrationError(f"The {what} has no date; give a DATE or a DATE_FIELD that holds one.")
    geometry = repaired(geometry_from_wkt(query.geometry_wkt, what), what, warn)
    return query, geometry, SearchWindow.around(query.date, days_before, days_after)


def search_wkt(geometry: ogr.Geometry) -> str:
    """What is sent to catalogues: the convex hull (one simple polygon, short URLs); coverage is
    computed afterwards from the real footprint."""
    hull = geometry.ConvexHull()
    flat = ogr.GT_Flatten(hull.GetGeometryType())
    if flat != ogr.wkbPolygon:  # a degenerate (line-like) footprint: use its bounding box
        min_x, max_x, min_y, max_y = geometry.GetEnvelope()
        hull = ogr.CreateGeometryFromWkt(
            f"POLYGON(({min_x} {min_y},{max_x} {min_y},{max_x} {max_y},{min_x} {max_y},{min_x} {min_y}))")
    return hull.ExportToIsoWkt()


def _matches_for(query: FootprintQuery, geometry: ogr.Geometry, window: SearchWindow, scenes: Sequence[Scene],
                 max_cloud: Optional[float], level: Optional[str]) -> List[Match]:
    seen, matches = set(), []
    for scene in scenes:
        if scene.id in seen or not scene_passes(scene, window.start, window.end, max_cloud, level):
            continue
        seen.add(scene.id)
        coverage = coverage_pct(geometry, scene.footprint_wkt)
        if coverage == 0.0:
            continue
        matches.append(Match(query.label, query.date, scene, offset_days(scene.datetime, query.date), coverage))
    return matches


def rank_key(match: Match):
    coverage = match.coverage_pct if match.coverage_pct is not None else -1.0
    cloud = match.scene.cloud_cover if match.scene.cloud_cover is not None else math.inf
    offset = abs(match.offset_days) if match.offset_days is not None else math.inf
    return -coverage, cloud, offset, match.scene.datetime, match.scene.id


def rank_matches(matches: Sequence[Match]) -> List[Match]:
    """The matches of one label, best first, with rank 1..n set."""
    ordered = sorted(matches, key=rank_key)
    for rank, match in enumerate(ordered, start=1):
        match.rank = rank
    return ordered


def write_matches_csv(path: str, matches: Sequence[Match]) -> str:
    """The label-to-scene match table, one row per match, written atomically."""
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            for match in matches:
                writer.writerow(match.row())
    return path


def _blank(value: Optional[float]) -> object:
    return "" if value is None else value


_GDAL_RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".jp2")


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
