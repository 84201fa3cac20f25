"""search_scenes: the scenes of each label footprint from one backend, filtered, matched and ranked.

Backends only answer "which scenes intersect this shape in this window"; coverage, offsets and
ranking are computed here the same way for all of them, from the scenes' own footprints.
"""
import datetime as dt
import math
from typing import List, Optional, Sequence

from osgeo import ogr

from ..util.errors import LabelMigrationError
from ..util.progress import CancelCheck, ProgressCallback, Steps
from .base import (DEFAULT_DAYS_AFTER, DEFAULT_DAYS_BEFORE, DEFAULT_MAX_CLOUD, DEFAULT_PRODUCT, FootprintQuery,
                   SearchBackend, SearchWindow, check_product, check_window_days, scene_passes)
from .geometry import WarnCallback, coverage_pct, geometry_from_wkt, repaired, search_wkt
from .scene import LabelDate, Match, Scene
from .timestamps import as_utc


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


def _prepare(query: FootprintQuery, days_before: float, days_after: float, warn: WarnCallback):
    what = f"label '{query.label}'"
    if query.date is None:
        raise LabelMigrationError(f"The {what} has no date; give a DATE or a DATE_FIELD that holds one.")
    geometry = repaired(geometry_from_wkt(query.geometry_wkt, what), what, warn)
    return query, geometry, SearchWindow.around(query.date, days_before, days_after)


def offset_days(scene_time: dt.datetime, label_date: Optional[LabelDate]) -> Optional[float]:
    """Scene time minus label date in days: whole days for a bare date, fractional for a time."""
    if label_date is None:
        return None
    if isinstance(label_date, dt.datetime):
        return round((scene_time - as_utc(label_date)).total_seconds() / 86400.0, 3)
    return float((scene_time.date() - label_date).days)


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
